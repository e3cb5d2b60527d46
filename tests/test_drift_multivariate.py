"""Multivariate drift by PCA reconstruction error: its PCA equals scikit-learn's, a clean
window raises no alarm, a change in the correlation between inputs is caught where no
per-input test sees it, and the reference round-trips through bytes."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from sklearn.decomposition import PCA

from steward.drift import ReferenceProfile, detect
from steward.drift._multivariate import (
    CategoricalEncoding,
    MultivariateReference,
    NumericEncoding,
    reconstruction_drift,
)
from steward.errors import InvalidInput
from steward.samples import drift_table

F64 = npt.NDArray[np.float64]
Table = dict[str, Any]


def _correlated(n: int, rho: float, seed: int) -> Table:
    """Two standard normal inputs with correlation ``rho``, four independent ones and a
    categorical one: every marginal is the same whatever ``rho``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    table: Table = {"x": x, "y": rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)}
    for j in range(4):
        table[f"z{j}"] = rng.normal(2.0, 3.0, size=n)
    levels = np.array(["a", "b", "c", "d"], dtype=object)
    table["c"] = levels[rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])]
    return table


def _encoded(table: Table, reference: Table) -> F64:
    """The standardised encoding, computed independently: numeric inputs by numpy with NaN
    for missing (clipped to the reference's range), categorical inputs by polars' value
    counts over the reference."""
    columns = []
    for name, values in reference.items():
        current = table[name]
        if np.asarray(values).dtype.kind == "f":
            ref = np.asarray(values, dtype=np.float64)
            ref = np.where(np.isfinite(ref), ref, np.nan)
            mean, std = np.nanmean(ref), np.nanstd(ref)
            cur = np.clip(np.asarray(current, dtype=np.float64), np.nanmin(ref), np.nanmax(ref))
            z = (cur - mean) / (std if std > 0 else 1.0)
            columns.append(np.where(np.isfinite(cur), z, 0.0))
        else:
            counts = pl.Series(list(values), dtype=pl.String).value_counts(name="n")
            share = {row[0]: row[1] / len(values) for row in counts.iter_rows()}
            ref_shares = np.array([share[v] for v in values])
            mean, std = ref_shares.mean(), ref_shares.std()
            cur_shares = np.array([share.get(v, 0.0) for v in current])
            columns.append((cur_shares - mean) / (std if std > 0 else 1.0))
    return np.column_stack(columns)


@pytest.mark.parametrize("which", ["correlated", "drift_table"])
def test_the_pca_equals_scikit_learns_components_variance_and_reconstruction(which: str) -> None:
    if which == "correlated":
        reference, window = _correlated(4000, 0.8, 1), _correlated(700, 0.8, 2)
    else:
        reference, window = drift_table(4000, 1, drift=False), drift_table(700, 2, drift=True)
    built = MultivariateReference.build(reference)
    matrix = _encoded(reference, reference)
    np.testing.assert_allclose(built.encode(reference), matrix, rtol=0, atol=1e-12)

    sklearn = PCA(n_components=0.65, svd_solver="full").fit(matrix)
    k = sklearn.n_components_
    assert built.components.shape == (k, len(reference))
    # Up to sign (each axis' largest loading is made positive, as svd_flip does).
    signs = np.sign(np.sum(built.components * sklearn.components_, axis=1))
    np.testing.assert_allclose(
        built.components, signs[:, None] * sklearn.components_, rtol=0, atol=1e-9
    )
    assert np.all(signs == 1)
    np.testing.assert_allclose(built.explained_variance[:k], sklearn.explained_variance_, 1e-10)
    np.testing.assert_allclose(
        built.explained_variance_ratio[:k], sklearn.explained_variance_ratio_, 1e-10
    )

    current = _encoded(window, reference)
    np.testing.assert_allclose(built.encode(window), current, rtol=0, atol=1e-12)
    rebuilt = sklearn.inverse_transform(sklearn.transform(current))
    expected = float(np.linalg.norm(current - rebuilt, axis=1).mean())
    found = reconstruction_drift(built, window)
    assert found.error == pytest.approx(expected, rel=1e-9)
    assert found.components == k
    assert found.inputs == len(reference)


def test_the_reference_errors_are_out_of_fold_and_its_band_is_mean_plus_minus_3_std() -> None:
    reference = _correlated(3000, 0.7, 5)
    built = MultivariateReference.build(reference, chunk_rows=200, seed=11)
    matrix = _encoded(reference, reference)
    k = built.components.shape[0]
    # Ten folds from one random order (seed); each fold's rows reconstructed by the
    # leading k right singular vectors of the other folds' rows (numpy's SVD on the rows).
    order = np.random.default_rng(11).permutation(3000)
    fold = np.empty(3000, dtype=np.int64)
    fold[order] = np.arange(3000) % 10
    errors = np.empty(3000)
    for f in range(10):
        _, _, vt = np.linalg.svd(matrix[fold != f], full_matrices=False)
        rows = matrix[fold == f]
        errors[fold == f] = np.linalg.norm(rows - rows @ vt[:k].T @ vt[:k], axis=1)
    chunks = errors[order[:3000]].reshape(15, 200).mean(axis=1)
    np.testing.assert_allclose(built.chunk_errors, chunks, rtol=1e-9)
    assert built.error_std == pytest.approx(errors.std(ddof=1), rel=1e-9)
    middle, spread = chunks.mean(), chunks.std(ddof=1)
    assert built.lower_threshold == pytest.approx(middle - 3 * spread, rel=1e-9)
    assert built.upper_threshold == pytest.approx(middle + 3 * spread, rel=1e-9)
    assert built.sampling_error == pytest.approx(errors.std(ddof=1) / np.sqrt(200), rel=1e-9)
    # A window smaller than a chunk is judged by a band widened by √(chunk_rows / rows).
    lower, upper = built.thresholds(50)
    assert upper - middle == pytest.approx(3 * spread * 2.0, rel=1e-9)
    assert built.thresholds(5000) == built.thresholds(200)
    assert lower == pytest.approx(max(0.0, middle - 6 * spread), rel=1e-9)


def test_a_clean_test_split_raises_at_most_one_false_alarm_in_20_seeds() -> None:
    alarms = []
    for seed in range(20):
        table = drift_table(12_000, 1000 + seed, drift=False)
        order = np.random.default_rng(seed).permutation(12_000)
        train = {name: values[order[:10_000]] for name, values in table.items()}
        test = {name: values[order[10_000:]] for name, values in table.items()}
        found = reconstruction_drift(MultivariateReference.build(train, seed=seed), test)
        assert found.status == "ok"
        alarms.append(found.drifted)
    assert sum(alarms) <= 1, f"{sum(alarms)} false alarms in 20 clean splits"


@pytest.mark.parametrize("rho", [0.0, -0.8])
def test_a_change_in_correlation_alone_is_flagged_where_no_single_input_drifts(
    rho: float,
) -> None:
    reference = _correlated(10_000, 0.8, 21)
    built = MultivariateReference.build(reference)
    profile = ReferenceProfile.build(reference)
    same = _correlated(2000, 0.8, 22)
    changed = _correlated(2000, rho, 22)  # the same draws: only y's dependence on x moves
    assert detect(profile, same).drifted == ()
    assert detect(profile, changed).drifted == ()
    assert not reconstruction_drift(built, same).drifted
    found = reconstruction_drift(built, changed)
    assert found.drifted
    assert found.error is not None and found.error > found.upper_threshold
    assert found.reason is not None and "above the upper threshold" in found.reason


def test_the_drift_tables_drifted_side_is_flagged_and_its_clean_side_is_not() -> None:
    built = MultivariateReference.build(drift_table(10_000, 31, drift=False))
    clean = reconstruction_drift(built, drift_table(2000, 32, drift=False))
    drifted = reconstruction_drift(built, drift_table(2000, 32, drift=True))
    assert (clean.drifted, drifted.drifted) == (False, True)
    assert drifted.unseen_share is not None and drifted.unseen_share > 0  # cat_3's new levels
    assert clean.unseen_share == 0.0


def _with_gaps(n: int, seed: int) -> Table:
    table = _correlated(n, 0.8, seed)
    rng = np.random.default_rng(seed + 1)
    x = table["x"].copy()
    x[rng.random(n) < 0.05] = np.nan
    x[:3] = [np.inf, -np.inf, np.nan]
    c = table["c"].copy()
    c[rng.random(n) < 0.05] = None
    table["x"], table["c"] = x, c
    return table


def test_the_reference_round_trips_through_bytes_exactly_and_deterministically() -> None:
    reference = _with_gaps(3000, 41)
    built = MultivariateReference.build(reference, chunk_rows=250, seed=3)
    data = built.to_bytes()
    assert MultivariateReference.build(reference, chunk_rows=250, seed=3).to_bytes() == data
    from_polars = MultivariateReference.build(pl.DataFrame(reference), chunk_rows=250, seed=3)
    assert from_polars.to_bytes() == data  # the same data from another source: the same bytes
    read = MultivariateReference.from_bytes(data)
    assert read.to_bytes() == data
    for name in ("components", "explained_variance", "chunk_errors"):
        assert np.array_equal(getattr(read, name), getattr(built, name))
    assert (read.error_std, read.rows, read.variance, read.chunk_rows, read.seed) == (
        built.error_std,
        built.rows,
        built.variance,
        built.chunk_rows,
        built.seed,
    )
    for ours, theirs in zip(read.inputs, built.inputs, strict=True):
        assert (ours.name, ours.kind, ours.mean, ours.scale, ours.missing) == (
            theirs.name,
            theirs.kind,
            theirs.mean,
            theirs.scale,
            theirs.missing,
        )
    window = _with_gaps(800, 42)
    assert reconstruction_drift(read, window) == reconstruction_drift(built, window)
    json.dumps(reconstruction_drift(read, window).to_dict(), allow_nan=False)


def _header(data: bytes) -> tuple[dict[str, Any], int]:
    (length,) = struct.unpack_from("<Q", data, 8)
    return json.loads(data[16 : 16 + length]), 16 + length


def _with_header(data: bytes, header: Any) -> bytes:
    _, end = _header(data)
    arrays = data[end + (-end % 8) :]
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    start = 16 + len(text)
    return b"STWMVREF" + struct.pack("<Q", len(text)) + text + b"\0" * (-start % 8) + arrays


def _corruptions(data: bytes) -> dict[str, bytes]:
    header, end = _header(data)
    arrays = end + (-end % 8)
    flipped = bytearray(data)
    flipped[arrays + 3] ^= 0x40  # inside the first component
    nan = bytearray(data)
    nan[-8:] = struct.pack("<d", float("nan"))  # the last chunk error
    variance = {**header, "variance": 0.99}
    counts = json.loads(json.dumps(header))
    categorical = next(e for e in counts["inputs"] if e["kind"] == "categorical")
    categorical["counts"][0] += 1
    fewer = {**header, "components": header["components"] - 1}
    return {
        "empty": b"",
        "magic": b"NOTMVREF" + data[8:],
        "truncated": data[:-8],
        "trailing": data + b"\0" * 8,
        "header_not_json": data[:16] + b"~" + data[17:],
        "header_not_an_object": _with_header(data, [header]),
        "format": _with_header(data, {**header, "format": 2}),
        "flipped_component_bit": bytes(flipped),
        "nan_chunk_error": bytes(nan),
        "variance_that_keeps_other_components": _with_header(data, variance),
        "category_counts_not_adding_up": _with_header(data, counts),
        "component_count": _with_header(data, fewer),
        "pickle": b"\x80\x04\x95" + data[3:],
    }


_CORRUPTIONS = [
    "empty",
    "magic",
    "truncated",
    "trailing",
    "header_not_json",
    "header_not_an_object",
    "format",
    "flipped_component_bit",
    "nan_chunk_error",
    "variance_that_keeps_other_components",
    "category_counts_not_adding_up",
    "component_count",
    "pickle",
]


@pytest.mark.parametrize("how", _CORRUPTIONS)
def test_corrupted_bytes_are_refused_with_one_line(how: str) -> None:
    data = MultivariateReference.build(_correlated(400, 0.8, 0), chunk_rows=50).to_bytes()
    assert sorted(_corruptions(data)) == sorted(_CORRUPTIONS)
    with pytest.raises(InvalidInput, match="not a multivariate drift reference") as caught:
        MultivariateReference.from_bytes(_corruptions(data)[how])
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("rows", [0, 1, 29])
def test_a_window_smaller_than_min_rows_is_not_enough_data(rows: int) -> None:
    built = MultivariateReference.build(_correlated(2000, 0.8, 51))
    window = {name: values[:rows] for name, values in _correlated(50, 0.8, 52).items()}
    found = reconstruction_drift(built, window)
    assert (found.status, found.drifted, found.rows, found.error) == (
        "not_enough_data",
        False,
        rows,
        None,
    )
    assert found.reason == f"{rows} current row{'s' if rows != 1 else ''}, fewer than min_rows=30"
    assert found.to_dict()["error_band"] is None
    assert reconstruction_drift(built, window, min_rows=1).status == (
        "ok" if rows else "not_enough_data"
    )


def test_unseen_categories_and_missing_values_get_their_defined_encoding() -> None:
    reference = _with_gaps(3000, 61)
    built = MultivariateReference.build(reference)
    x, c = built.inputs[0], built.inputs[-1]
    assert isinstance(x, NumericEncoding) and isinstance(c, CategoricalEncoding)
    finite = reference["x"][np.isfinite(reference["x"])]
    assert x.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert x.missing == int(np.count_nonzero(~np.isfinite(reference["x"])))
    assert c.missing == sum(v is None for v in reference["c"])

    window = _correlated(100, 0.8, 62)
    window["x"] = window["x"].copy()
    window["x"][:10] = np.nan
    window["x"][10] = np.inf
    window["c"] = window["c"].copy()
    window["c"][:5] = "never seen"
    window["c"][5:8] = None
    matrix = built.encode(window)
    assert np.all(matrix[:11, 0] == 0.0)  # imputed with the reference mean
    assert np.allclose(matrix[:5, -1], (0.0 - c.mean) / c.scale)
    assert np.allclose(matrix[5:8, -1], (c.missing / 3000 - c.mean) / c.scale)
    found = reconstruction_drift(built, window)
    assert found.status == "ok" and found.error is not None and np.isfinite(found.error)
    assert found.unseen_share == pytest.approx(5 / 100)
    assert found.missing_share == pytest.approx((11 + 3) / (100 * 7))
    missing_reference = x.missing + c.missing
    assert found.missing_share_reference == pytest.approx(missing_reference / (3000 * 7))
    # Many values suddenly missing pull every row towards the centre: drift, below the band.
    gaps = {name: values.copy() for name, values in _correlated(2000, 0.8, 63).items()}
    for name in ("x", "y", "z0", "z1", "z2"):
        gaps[name][:1500] = np.nan
    below = reconstruction_drift(built, gaps)
    assert below.drifted and below.reason is not None and "below" in below.reason


def test_bad_inputs_and_settings_are_refused_with_one_line() -> None:
    table = _correlated(1200, 0.8, 71)
    built = MultivariateReference.build(table)
    cases: list[tuple[Any, str]] = [
        (lambda: MultivariateReference.build({"x": table["x"]}), "at least 2 input columns"),
        (lambda: MultivariateReference.build(table, {"nope": "numeric"}), "lacks: nope"),
        (lambda: MultivariateReference.build(table, {"x": "ordinal"}), "unknown kind"),
        (lambda: MultivariateReference.build(table, variance=1.0), "variance"),
        (lambda: MultivariateReference.build(table, chunk_rows=0), "chunk_rows"),
        (lambda: MultivariateReference.build(table, chunk_rows=700), "at least 2 chunks"),
        (
            lambda: MultivariateReference.build({**table, "x": table["x"][:-1]}),
            "'x' has 1199 values, 'y' has 1200",
        ),
        (
            lambda: MultivariateReference.build({**table, "x": np.full(1200, np.nan)}),
            "no usable value",
        ),
        (
            lambda: MultivariateReference.build({"a": np.ones(1200), "b": np.zeros(1200)}),
            "constant",
        ),
        (lambda: reconstruction_drift(built, {"x": table["x"]}), "lacks"),
        (lambda: reconstruction_drift(built, {**table, "extra": table["x"]}), "'extra' not in"),
        (lambda: reconstruction_drift(built, table, min_rows=0), "min_rows"),
        (lambda: reconstruction_drift(built, {**table, "x": table["c"]}), "not numeric"),
    ]
    for call, message in cases:
        with pytest.raises(InvalidInput, match=message) as caught:
            call()
        assert "\n" not in str(caught.value)


def test_one_extreme_row_does_not_raise_an_alarm_but_a_shifted_window_does() -> None:
    reference = drift_table(5000, 81, drift=False)
    window = drift_table(600, 82, drift=False)
    built = MultivariateReference.build(reference)
    assert not reconstruction_drift(built, window).drifted
    typo = {name: np.array(values, copy=True) for name, values in window.items()}
    typo["num_07"][3] = 1e9  # a unit error in one row of a real table
    assert not reconstruction_drift(built, typo).drifted
    shifted = {name: np.array(values, copy=True) for name, values in window.items()}
    shifted["num_07"] = shifted["num_07"] + 10 * np.std(reference["num_07"])
    assert reconstruction_drift(built, shifted).drifted
