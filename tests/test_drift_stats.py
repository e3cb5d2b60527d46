"""The drift engine's statistics equal scipy's, its profile round-trips, messy data gets a
clear answer, and its verdicts flag injected drift without false alarms."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from scipy import stats
from scipy.spatial import distance

from steward.drift import (
    ReferenceProfile,
    _numeric,
    adjust_p_values,
    categorical_statistics,
    detect,
    numeric_statistics,
)
from steward.errors import InvalidInput
from steward.samples import DRIFTED_INPUTS, drift_table

F64 = npt.NDArray[np.float64]


def _numeric_matches_scipy(a: F64, b: F64) -> None:
    found = numeric_statistics(np.sort(a), np.sort(b))
    expected = stats.ks_2samp(a, b)
    assert found.ks_statistic == expected.statistic
    assert found.ks_pvalue == pytest.approx(expected.pvalue, rel=1e-12, abs=0)
    w1 = stats.wasserstein_distance(a, b)
    assert found.wasserstein == pytest.approx(w1, rel=1e-10, abs=1e-300)


@pytest.mark.parametrize(
    ("n", "m", "shift"),
    [(1, 1, 0.0), (1, 7, 0.5), (8, 3, 0.0), (50, 50, 0.3), (300, 17, 1.0), (997, 1000, 0.1)],
)
def test_small_samples_use_the_exact_ks_pvalue_as_scipy_does(n: int, m: int, shift: float) -> None:
    rng = np.random.default_rng(n * 1000 + m)
    a, b = rng.normal(size=n), rng.normal(shift, 1.0, size=m)
    _numeric_matches_scipy(a, b)
    assert numeric_statistics(np.sort(a), np.sort(b)).method == "exact"


def test_the_exact_regime_ends_where_scipys_does() -> None:
    rng = np.random.default_rng(3)
    at_limit = numeric_statistics(np.sort(rng.normal(size=10_000)), np.sort(rng.normal(size=9)))
    past = numeric_statistics(np.sort(rng.normal(size=10_001)), np.sort(rng.normal(size=9)))
    assert (at_limit.method, past.method) == ("exact", "asymp")


@pytest.mark.parametrize(("n", "m"), [(20_000, 15_000), (50_000, 50_000), (12_000, 40)])
def test_large_samples_use_the_asymptotic_ks_pvalue_as_scipy_does(n: int, m: int) -> None:
    rng = np.random.default_rng(n + m)
    for shift in (0.0, 0.02, 0.3):
        a, b = rng.lognormal(0, 0.5, size=n), rng.lognormal(shift, 0.5, size=m)
        _numeric_matches_scipy(a, b)
    assert numeric_statistics(np.sort(a), np.sort(b)).method == "asymp"


@pytest.mark.parametrize("size", [40, 5_000, 30_000])
def test_heavy_ties_and_integer_data_count_as_scipy_counts_them(size: int) -> None:
    rng = np.random.default_rng(size)
    ints_a = rng.integers(0, 5, size=size).astype(np.float64)
    ints_b = rng.integers(0, 6, size=size + 3).astype(np.float64)
    _numeric_matches_scipy(ints_a, ints_b)
    rounded_a = np.round(rng.normal(size=size), 1)
    rounded_b = np.round(rng.normal(0.05, 1, size=size // 2 + 1), 1)
    _numeric_matches_scipy(rounded_a, rounded_b)
    constant = np.full(size, 2.0)
    _numeric_matches_scipy(constant, constant[: size // 3])
    _numeric_matches_scipy(constant, ints_b)


def test_many_random_shapes_and_tiny_windows_still_equal_scipy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Windows of 5 merged values make every window boundary fall inside tie groups.
    monkeypatch.setattr(_numeric, "_WINDOW", 5)
    rng = np.random.default_rng(11)
    for trial in range(400):
        n, m = (int(x) for x in rng.integers(1, 40, size=2))
        if trial % 2:
            a = rng.integers(0, 4, n).astype(np.float64)
            b = rng.integers(0, 4, m).astype(np.float64)
        else:
            a, b = rng.normal(size=n), rng.normal(0.5, 2, size=m)
        _numeric_matches_scipy(a, b)


def test_the_public_fallback_for_the_exact_pvalue_agrees() -> None:
    rng = np.random.default_rng(5)
    a, b = np.sort(rng.normal(size=300)), np.sort(rng.normal(0.2, 1, size=200))
    d, _ = _numeric.ks_wasserstein(a, b)
    assert _numeric._public_exact(a, b) == _numeric.ks_pvalue(d, a.size, b.size)


def test_psi_and_normalised_wasserstein_follow_their_formulas() -> None:
    rng = np.random.default_rng(2)
    a, b = np.sort(rng.normal(size=10_000)), np.sort(rng.normal(0.5, 1, size=8_000))
    found = numeric_statistics(a, b)
    assert found.wasserstein_normalised == found.wasserstein / np.std(a)
    edges = np.quantile(a, np.arange(1, 10) / 10, method="inverted_cdf")
    p = np.bincount(np.searchsorted(edges, a, side="left"), minlength=10) / a.size
    q = np.bincount(np.searchsorted(edges, b, side="left"), minlength=10) / b.size
    p, q = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    assert found.psi == pytest.approx(float(np.sum((q - p) * np.log(q / p))), rel=1e-12)
    constant = np.full(100, 1.0)
    assert numeric_statistics(constant, constant + 1).wasserstein_normalised == 1.0 / 0.001


def _counts(labels: list[str], numbers: list[int]) -> dict[str, int]:
    return dict(zip(labels, numbers, strict=True))


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        (_counts(["a", "b", "c"], [500, 300, 200]), _counts(["a", "b", "c"], [480, 330, 190])),
        (_counts(["a", "b"], [60, 40]), _counts(["a", "b"], [45, 55])),  # Yates applies
        (_counts(["a"], [10]), _counts(["a"], [7])),
        (_counts(["x", "y", "z"], [900, 90, 10]), _counts(["x", "new", "ünï"], [500, 300, 2])),
    ],
)
def test_categorical_statistics_equal_scipys(
    reference: dict[str, int], current: dict[str, int]
) -> None:
    found = categorical_statistics(reference, current)
    labels = list(reference) + [c for c in current if c not in reference]
    table = np.array([[reference.get(c, 0) for c in labels], [current.get(c, 0) for c in labels]])
    expected = stats.chi2_contingency(table)
    assert found.chi2_statistic == expected.statistic
    assert found.chi2_pvalue == expected.pvalue
    assert found.jensen_shannon == float(distance.jensenshannon(table[0], table[1]))
    assert found.categories == len(labels)
    unseen = sum(v for k, v in current.items() if k not in reference) / sum(current.values())
    assert found.unseen_share == unseen
    p, q = table[0] / table[0].sum(), table[1] / table[1].sum()
    p, q = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    assert found.psi == pytest.approx(float(np.sum((q - p) * np.log(q / p))), rel=1e-12)


def test_holm_adjustment_matches_the_step_down_procedure() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2])
    adjusted = adjust_p_values(p, "holm")
    # sorted 0.005, 0.01, 0.03, 0.04, 0.2 times 5, 4, 3, 2, 1, running maximum
    assert adjusted.tolist() == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.2], rel=1e-12)
    assert adjust_p_values(p, "bh").tolist() == stats.false_discovery_control(p).tolist()
    assert adjust_p_values(p, "none").tolist() == p.tolist()
    assert adjust_p_values([0.6, 0.7], "holm").tolist() == [1.0, 1.0]


def _messy_reference() -> dict[str, Any]:
    rng = np.random.default_rng(9)
    values = rng.normal(size=1_000)
    values[::50] = np.nan
    values[7] = np.inf
    labels: list[str | None] = [str(x) for x in rng.choice(["a", "A", "straße", "日本"], 1_000)]
    labels[::100] = [None] * 10
    return {
        "x": values,
        "n": [None if i % 10 == 0 else float(i) for i in range(1_000)],
        "flag": rng.integers(0, 2, 1_000).astype(bool),
        "city": labels,
        "code": rng.integers(0, 3, 1_000),
    }


def test_a_profile_keeps_messy_data_exactly_and_round_trips_bytes() -> None:
    profile = ReferenceProfile.build(_messy_reference(), kinds={"code": "categorical"})
    x = profile.columns["x"]
    assert x.kind == "numeric" and (x.missing, x.non_finite, x.rows) == (20, 1, 1_000)  # type: ignore[union-attr]
    city = profile.columns["city"]
    assert city.kind == "categorical"
    assert set(city.counts) == {"a", "A", "straße", "日本"} and city.missing == 10  # type: ignore[union-attr]
    assert set(profile.columns["code"].counts) == {"0", "1", "2"}  # type: ignore[union-attr]
    assert profile.columns["flag"].kind == "numeric"
    data = profile.to_bytes()
    again = ReferenceProfile.from_bytes(data)
    assert again.to_bytes() == data
    for name, column in profile.columns.items():
        copy = again.columns[name]
        assert vars(copy).keys() == vars(column).keys()
        for field, value in vars(column).items():
            if isinstance(value, np.ndarray):
                assert np.array_equal(value, getattr(copy, field)), (name, field)
            else:
                assert getattr(copy, field) == value, (name, field)


def test_a_profile_from_a_polars_frame_equals_one_from_numpy() -> None:
    rng = np.random.default_rng(4)
    values, labels = rng.normal(size=500), rng.choice(["p", "q"], 500)
    frame = pl.DataFrame({"v": values, "c": labels})
    assert (
        ReferenceProfile.build(frame).to_bytes()
        == ReferenceProfile.build({"v": values, "c": list(labels)}).to_bytes()
    )


@pytest.mark.parametrize(
    ("columns", "kinds", "message"),
    [
        ({}, None, "no column"),
        ({"x": np.array([])}, None, "'x' is empty"),
        ({"x": [None, None]}, None, "'x' has no usable value"),
        ({"x": np.array([np.nan, np.nan])}, None, "'x' has no usable value (all missing)"),
        ({"x": np.array([np.inf, np.nan])}, None, "all missing or infinite"),
        ({"x": [1.0, "a"]}, None, "mixes numbers and text"),
        ({"x": [1.0]}, {"x": "ordinal"}, "unknown kind 'ordinal'"),
        ({"x": [1.0]}, {"y": "numeric"}, "lacks: y"),
        ({"x": ["a", "b"]}, {"x": "numeric"}, "'x' is not numeric"),
    ],
)
def test_bad_reference_input_gets_one_clear_line(
    columns: dict[str, Any], kinds: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        ReferenceProfile.build(columns, kinds=kinds)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_bytes_that_are_not_a_profile_are_refused() -> None:
    data = ReferenceProfile.build({"x": np.arange(10.0)}).to_bytes()
    for broken in (b"", b"nonsense", data[:-8], data + b"\0" * 8, data[:20] + b"X" + data[21:]):
        with pytest.raises(InvalidInput, match="not a drift reference profile"):
            ReferenceProfile.from_bytes(broken)


def test_too_few_current_values_is_not_enough_data_never_a_pass() -> None:
    profile = ReferenceProfile.build(_messy_reference(), kinds={"code": "categorical"})
    empty: dict[str, list[float]] = {name: [] for name in profile.columns}
    report = detect(profile, empty)
    assert report.not_enough_data == tuple(profile.columns)
    assert report.drifted == () and report.tested == 0 and report.drifted_share is None
    result = report.column("x")
    assert result.status == "not_enough_data" and result.p_value is None
    assert result.reason == "0 finite current values, fewer than min_rows=30"
    few = {**{n: np.arange(100.0) for n in ("x", "n", "flag")}, "city": ["a"] * 100}
    few["x"] = np.array([np.nan] * 90 + [1.0] * 10)
    report = detect(profile, {**few, "code": [1] * 100})
    assert report.not_enough_data == ("x",) and report.tested == 4
    assert report.column("x").missing_current == 0.9
    assert report.to_dict()["columns"][0]["status"] == "not_enough_data"


def test_a_current_batch_must_have_the_profiles_columns() -> None:
    profile = ReferenceProfile.build({"a": np.arange(50.0), "b": np.arange(50.0)})
    with pytest.raises(InvalidInput, match=r"lacks 'b' and has 'c' not in the reference"):
        detect(profile, {"a": np.arange(50.0), "c": np.arange(50.0)})
    with pytest.raises(InvalidInput, match="unknown correction"):
        detect(profile, {"a": np.arange(50.0), "b": np.arange(50.0)}, correction="bonf")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="alpha"):
        detect(profile, {"a": np.arange(50.0), "b": np.arange(50.0)}, alpha=1.5)


# --- acceptance: injected drift is found, undrifted inputs raise no alarm -------------------


def test_every_injected_drift_is_flagged_and_null_inputs_stay_quiet_across_seeds() -> None:
    false_alarms = p_false_alarms = raw_below = null_tests = 0
    for seed in range(20):
        profile = ReferenceProfile.build(drift_table(12_000, seed, drift=False))
        current = drift_table(12_000, 1_000 + seed, drift=True)
        report = detect(profile, current)
        assert set(report.drifted) == DRIFTED_INPUTS, seed
        assert report.drifted_share == len(DRIFTED_INPUTS) / 25
        for result in report.columns:
            if result.name in DRIFTED_INPUTS:
                continue
            null_tests += 1
            false_alarms += result.drifted
            # The test alone (no effect threshold) must keep its promise too.
            p_false_alarms += (result.adjusted_p_value or 0.0) < 0.05
            raw_below += (result.p_value or 0.0) < 0.05
    assert null_tests == 18 * 20
    assert false_alarms / null_tests <= 0.05
    assert p_false_alarms / null_tests <= 0.05
    assert raw_below / null_tests <= 0.1  # uncorrected p-values are not anti-conservative


def test_a_random_split_of_one_population_raises_no_drift() -> None:
    rng = np.random.default_rng(78)
    population = pl.DataFrame(drift_table(40_000, 77, drift=False)).with_columns(
        pl.col(f"cat_{i}").cast(pl.String) for i in range(5)
    )
    order = rng.permutation(population.height)
    train, test = population[order[:30_000]], population[order[30_000:]]
    for correction in ("holm", "bh", "none"):
        report = detect(ReferenceProfile.build(train), test, correction=correction)
        assert report.drifted == () and report.tested == 25, correction
        assert all(math.isfinite(c.effect_size or math.nan) for c in report.columns), correction


@pytest.mark.parametrize("seed", range(5))
def test_the_sketch_brackets_the_exact_statistics_and_keeps_the_verdicts(seed: int) -> None:
    reference = pl.DataFrame(drift_table(60_000, 100 + seed, drift=False))
    current = pl.DataFrame(drift_table(40_000, 200 + seed, drift=True))
    profile = ReferenceProfile.build(reference)
    exact = detect(profile, current)
    sketched = detect(profile, current, method="sketch")
    assert sketched.drifted == exact.drifted
    assert set(exact.drifted) == DRIFTED_INPUTS
    assert sketched.settings.method == "sketch"
    for e, s in zip(exact.columns, sketched.columns, strict=True):
        if e.kind == "categorical":  # counts are exact either way
            assert s.statistic == pytest.approx(e.statistic, rel=1e-12)
            assert s.psi == pytest.approx(e.psi, rel=1e-12) and s.drifted == e.drifted
            continue
        assert s.p_value_method == "sketch" and e.p_value_method == "asymp"
        assert s.statistic is not None and e.statistic is not None
        assert s.statistic_upper is not None and s.wasserstein_error is not None
        assert s.statistic - 1e-12 <= e.statistic <= s.statistic_upper + 1e-12
        assert s.statistic_upper - s.statistic <= 2e-3  # about 1/10,000 of each CDF, ×2
        assert e.wasserstein is not None and s.wasserstein is not None
        assert abs(s.wasserstein - e.wasserstein) <= s.wasserstein_error + 1e-12
        assert s.psi == e.psi


def test_small_samples_are_compared_exactly_even_when_a_sketch_is_asked() -> None:
    profile = ReferenceProfile.build({"x": np.arange(5_000, dtype=float)})
    found = detect(profile, {"x": np.arange(3_000, dtype=float) + 0.5}, method="sketch")
    assert found.columns[0].p_value_method == "exact"
    with pytest.raises(InvalidInput, match="unknown method 'fast'"):
        detect(profile, {"x": np.arange(3_000, dtype=float)}, method="fast")  # type: ignore[arg-type]
