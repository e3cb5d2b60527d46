"""Streamed drift detection equals ``detect`` on the whole window, whatever the batches; the
log's Parquet files stream into it with their model and time filters; bad input is refused
in one line."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl
import pyarrow.parquet as pq
import pytest

from steward.drift import ReferenceProfile, _numeric, _stream, detect
from steward.drift._parquet import detect_log, log_batches
from steward.drift._report import DriftReport
from steward.drift._stream import _Crossing, detect_stream
from steward.errors import InvalidInput
from steward.logs._frame import SCHEMA
from steward.samples import DRIFTED_INPUTS, drift_table

CATEGORICAL = [f"cat_{i}" for i in range(5)]


def _frame(n: int, seed: int, *, drift: bool) -> pl.DataFrame:
    return pl.DataFrame(drift_table(n, seed, drift=drift)).with_columns(
        pl.col(name).cast(pl.String) for name in CATEGORICAL
    )


def _same(streamed: DriftReport, whole: DriftReport) -> None:
    """Every field of every input equal: the KS statistic, its p-value, PSI and the shares
    exactly (the same counts and operations), the other floats to 1e-9 (sums in another
    order)."""
    assert streamed.settings == whole.settings
    assert [c.name for c in streamed.columns] == [c.name for c in whole.columns]
    for got, expected in zip(streamed.columns, whole.columns, strict=True):
        wanted = expected.to_dict()
        for field, value in got.to_dict().items():
            where = (got.name, field)
            if isinstance(value, float) and isinstance(wanted[field], float):
                exact = got.kind == "numeric" and field in {"statistic", "p_value", "psi"}
                if exact or field.startswith(("missing", "non_finite")):
                    assert value == wanted[field], where
                else:
                    assert value == pytest.approx(wanted[field], rel=1e-9, abs=1e-300), where
            else:
                assert value == wanted[field], where


def _counted(frame: pl.DataFrame, size: int, calls: list[int]) -> Callable[[], Iterator[Any]]:
    def batches() -> Iterator[pl.DataFrame]:
        calls.append(1)
        return (frame.slice(start, size) for start in range(0, frame.height, size))

    return batches


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("drift", [True, False])
def test_streaming_the_drift_table_equals_detect_on_the_whole_window(
    seed: int, drift: bool
) -> None:
    profile = ReferenceProfile.build(_frame(6_000, seed, drift=False))
    current = _frame(8_000, 500 + seed, drift=drift)
    whole = detect(profile, current)
    if drift:
        assert set(whole.drifted) == DRIFTED_INPUTS
    for size in (997, 3_000, current.height):
        calls: list[int] = []
        streamed = detect_stream(profile, _counted(current, size, calls))
        _same(streamed, whole)
        assert calls == [1, 1]  # W1 needed the second pass (the CDFs cross inside gaps)


def test_messy_data_in_tiny_batches_equals_the_whole_window() -> None:
    # Ties with reference values, repeated and constant references, NaN/inf/None, unseen and
    # missing categories, batches of one value, inputs with too few values: all in turn.
    rng = np.random.default_rng(21)
    for trial in range(160):
        n, m = (int(v) for v in rng.integers(1, 70, size=2))
        if trial % 40 == 0:  # past the exact p-value's 10,000
            n, m = 12_000, 9_000
        shape = trial % 4
        if shape == 0:
            a, b = rng.integers(0, 5, n) * 1.0, rng.integers(-1, 6, m) * 1.0
        elif shape == 1:
            a, b = rng.normal(size=n), rng.normal(0.3, 1.5, m)
        elif shape == 2:
            a, b = np.round(rng.normal(size=n), 1), np.round(rng.normal(0.1, 1, m), 2)
            b[: m // 3] = rng.choice(a, m // 3)
        else:
            a, b = np.full(n, 2.0), rng.integers(0, 4, m) * 1.0
        values: list[Any] = list(b)
        for j in rng.choice(m, size=min(m, 3), replace=False):
            values[j] = [math.nan, math.inf, None, -math.inf][int(rng.integers(0, 4))]
        labels: list[Any] = list(rng.choice(["a", "b", "c", "new", "none"], m))
        labels = [None if label == "none" else label for label in labels]
        reference = {"x": a, "c": list(rng.choice(["a", "b", "c"], n))}
        current = {"x": values, "c": labels}
        profile = ReferenceProfile.build(reference)
        min_rows = int(rng.integers(1, 40))
        whole = detect(profile, current, min_rows=min_rows)
        size = int(rng.integers(1, max(2, m // 2) + 1))

        def batches(size: int = size, current: dict[str, Any] = current) -> Iterator[Any]:
            for start in range(0, len(current["x"]), size):
                yield {name: column[start : start + size] for name, column in current.items()}

        _same(detect_stream(profile, batches, min_rows=min_rows, workers=1), whole)


def test_scipys_public_exact_pvalue_gets_a_sample_with_the_same_statistic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_numeric, "_EXACT", None)
    rng = np.random.default_rng(8)
    reference = {"x": np.round(rng.normal(size=400), 1)}
    current = np.round(rng.normal(0.2, 1, size=300), 1)
    profile = ReferenceProfile.build(reference)
    whole = detect(profile, {"x": current})
    assert whole.columns[0].p_value_method == "exact"
    streamed = detect_stream(profile, lambda: ({"x": current[i : i + 7]} for i in range(0, 300, 7)))
    _same(streamed, whole)


def test_the_second_pass_keeps_only_the_values_of_crossing_gaps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept: list[int] = []
    area = _Crossing.area

    def counting(self: _Crossing, values: Any, group: Any, points: Any) -> float:
        kept.append(int(values.size))
        return area(self, values, group, points)

    monkeypatch.setattr(_Crossing, "area", counting)
    rng = np.random.default_rng(3)
    profile = ReferenceProfile.build(
        {"same": rng.normal(size=20_000), "moved": rng.normal(size=20_000)}
    )
    current = {"same": rng.normal(size=200_000), "moved": rng.normal(0.5, 1, size=200_000)}
    whole = detect(profile, current)
    streamed = detect_stream(
        profile,
        lambda: (
            {k: v[i : i + 50_000] for k, v in current.items()} for i in range(0, 200_000, 50_000)
        ),
    )
    _same(streamed, whole)
    assert streamed.drifted == ("moved",)
    # One law: its CDFs cross some √K times, ~10 values a gap; a shifted one hardly at all.
    assert 0 < sum(kept) < 0.05 * 200_000 * 2, kept


def test_counts_move_to_int64_before_they_could_overflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_stream, "_INT32_MAX", 1_000)
    rng = np.random.default_rng(12)
    profile = ReferenceProfile.build({"x": np.round(rng.normal(size=3_000), 2)})
    current = np.round(rng.normal(0.1, 1, size=5_000), 2)
    streamed = detect_stream(
        profile, lambda: ({"x": current[i : i + 900]} for i in range(0, 5_000, 900))
    )
    _same(streamed, detect(profile, {"x": current}))


def test_batches_must_come_from_a_function_that_gives_them_again() -> None:
    profile = ReferenceProfile.build({"x": np.arange(100.0), "c": ["a", "b"] * 50})
    batch = {"x": np.arange(0.5, 60.5), "c": ["a"] * 60}
    with pytest.raises(InvalidInput, match="must be a function"):
        detect_stream(profile, [batch])  # type: ignore[arg-type]
    once = iter([batch])
    with pytest.raises(InvalidInput, match="second pass over the batches gave other values"):
        detect_stream(profile, lambda: once)
    with pytest.raises(InvalidInput, match="a current batch lacks 'c'"):
        detect_stream(profile, lambda: [{"x": batch["x"]}])
    with pytest.raises(InvalidInput, match="alpha"):
        detect_stream(profile, lambda: [batch], alpha=0.0)
    empty = detect_stream(profile, lambda: [])
    _same(empty, detect(profile, {"x": [], "c": []}))
    assert empty.not_enough_data == ("x", "c")


# --- the prediction log's Parquet files -------------------------------------------------

START = datetime(2026, 11, 30, tzinfo=UTC)
INPUTS = [f"num_{j:02d}" for j in range(20)] + CATEGORICAL


def _write_log(folder: Path, files: int, rows: int) -> list[dict[str, Any]]:
    """``files`` log-style Parquet files of ``rows`` records each (model credit@2, with every
    seventh record credit@1; one record a minute; some keys missing or null, as a client may
    send them); the records as dicts."""
    records: list[dict[str, Any]] = []
    for f in range(files):
        table = drift_table(rows, 40 + f, drift=True)
        batch: list[dict[str, Any]] = []
        for i in range(rows):
            inputs: dict[str, Any] = {name: table[name][i] for name in INPUTS}
            if i % 11 == 0:
                del inputs["num_01"]
            if i % 13 == 0:
                inputs["cat_1"] = None
            number = f * rows + i
            batch.append(
                {
                    "request_id": f"r{number}",
                    "time": START + timedelta(minutes=number),
                    "endpoint": "credit",
                    "model": "credit@1" if number % 7 == 0 else "credit@2",
                    "inputs": orjson.dumps(
                        inputs, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY
                    ).decode(),
                    "context": "{}",
                    "outputs": orjson.dumps({"prediction": "yes" if i % 3 else "no"}).decode(),
                    "latency_ms": 1.0,
                    "segment": f"s{f}",
                    "seq": i,
                    "hash": "0" * 64,
                }
            )
        pl.DataFrame(batch, schema=SCHEMA).write_parquet(
            folder / f"part-{f}.parquet", row_group_size=400
        )
        records.extend(batch)
    return records


def _expected(records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    decoded = [orjson.loads(r["inputs"]) for r in records]
    return {
        name: [row.get(name, math.nan if name.startswith("num") else None) for row in decoded]
        for name in INPUTS
    }


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("log")
    records = _write_log(folder, files=3, rows=2_000)
    return sorted(folder.glob("*.parquet")), records


def test_a_log_window_streamed_from_parquet_equals_detect_on_its_records(
    log: tuple[list[Path], list[dict[str, Any]]],
) -> None:
    paths, records = log
    since, until = START + timedelta(minutes=500), START + timedelta(minutes=5_500)
    chosen = [r for r in records if r["model"] == "credit@2" and since <= r["time"] < until]
    profile = ReferenceProfile.build(_frame(5_000, 1, drift=False))
    whole = detect(profile, _expected(chosen))
    streamed = detect_log(
        profile, paths, model="credit@2", since=since, until=until, batch_rows=777
    )
    _same(streamed, whole)
    assert set(streamed.drifted) == DRIFTED_INPUTS
    assert streamed.column("num_01").missing_current == pytest.approx(
        sum(1 for r in chosen if "num_01" not in orjson.loads(r["inputs"])) / len(chosen)
    )

    kinds = {name: column.kind for name, column in profile.columns.items()}
    frames = list(
        log_batches(paths, kinds, model="credit@2", since=since, until=until, batch_rows=777)
    )
    assert [f.height for f in frames[:-1]] == [777] * (len(frames) - 1)
    assert sum(f.height for f in frames) == len(chosen)
    assert frames[0].schema == pl.Schema(
        {name: pl.Float64 if kind == "numeric" else pl.String for name, kind in kinds.items()}
    )
    values = pl.concat(frames).get_column("num_05").to_list()
    assert values == [orjson.loads(r["inputs"])["num_05"] for r in chosen]  # exact floats


@pytest.mark.parametrize(
    ("filters", "wanted"),
    [
        ({}, lambda r: True),
        ({"model": "credit@1"}, lambda r: r["model"] == "credit@1"),
        (
            {"since": START + timedelta(minutes=5_990)},
            lambda r: r["time"] >= START + timedelta(minutes=5_990),
        ),
        (
            {"until": START + timedelta(minutes=3)},
            lambda r: r["time"] < START + timedelta(minutes=3),
        ),
        ({"model": "credit@9"}, lambda r: False),
    ],
)
def test_log_batches_keep_the_records_of_the_model_and_time_asked(
    log: tuple[list[Path], list[dict[str, Any]]],
    filters: dict[str, Any],
    wanted: Callable[[dict[str, Any]], bool],
) -> None:
    paths, records = log
    frames = list(
        log_batches(
            paths, {"cat_0": "categorical", "num_02": "numeric"}, batch_rows=5_000, **filters
        )
    )
    chosen = [r for r in records if wanted(r)]
    got = pl.concat(frames) if frames else pl.DataFrame({"cat_0": [], "num_02": []})
    assert got.height == len(chosen)
    assert got.get_column("num_02").to_list() == [
        orjson.loads(r["inputs"])["num_02"] for r in chosen
    ]


def test_row_groups_outside_the_time_asked_are_not_read(
    log: tuple[list[Path], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, _ = log
    asked: list[list[int]] = []
    iterate = pq.ParquetFile.iter_batches

    def recording(self: Any, *args: Any, **options: Any) -> Any:
        asked.append(list(options["row_groups"]))
        return iterate(self, *args, **options)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", recording)
    # Records 2,300 to 2,699: the second file (2,000 a file), its groups 0 and 1 (400 a group).
    since = START + timedelta(minutes=2_300)
    until = since + timedelta(minutes=400)
    frames = list(log_batches(paths, {"num_00": "numeric"}, since=since, until=until))
    assert sum(f.height for f in frames) == 400
    assert asked == [[0, 1]]


def test_the_outputs_column_can_be_read_too(log: tuple[list[Path], list[dict[str, Any]]]) -> None:
    paths, records = log
    frames = list(log_batches(paths[:1], {"prediction": "categorical"}, field="outputs"))
    assert pl.concat(frames).get_column("prediction").to_list() == [
        orjson.loads(r["outputs"])["prediction"] for r in records[:2_000]
    ]


def _one_file(folder: Path, texts: list[str | None]) -> Path:
    frame = pl.DataFrame(
        {
            "model": ["credit@2"] * len(texts),
            "time": [START] * len(texts),
            "inputs": texts,
        },
        schema={"model": pl.String, "time": SCHEMA["time"], "inputs": pl.String},
    )
    path = folder / "one.parquet"
    frame.write_parquet(path)
    return path


@pytest.mark.parametrize(
    ("texts", "columns", "options", "message"),
    [
        (['{"x": 2}', '{"x": 1'], {"x": "numeric"}, {}, "inputs holds text that is not JSON"),
        (["[1, 2]"], {"x": "numeric"}, {}, "inputs holds JSON that is not an object: '[1, 2]'"),
        (['{"x": "high"}'], {"x": "numeric"}, {}, "inputs key 'x' is not numeric"),
        (
            ['{"x": 1, "c": [1]}'],
            {"x": "numeric", "c": "categorical"},
            {},
            "key 'c' is not categorical",
        ),
        (['{"x": 1}'], {"x": "ordinal"}, {}, "unknown kind 'ordinal'"),
        (['{"x": 1}'], {"x": "numeric"}, {"batch_rows": 0}, "batch_rows"),
        (['{"x": 1}'], {"x": "numeric"}, {"since": datetime(2026, 1, 1)}, "timezone-aware"),
        (['{"x": 1}'], {"x": "numeric"}, {"field": "payload"}, "has no column 'payload'"),
        (['{"x": 1}'], {"x": "numeric"}, {"field": "time"}, "column 'time' is timestamp"),
    ],
)
def test_bad_log_data_is_refused_in_one_line(
    tmp_path: Path,
    texts: list[str | None],
    columns: dict[str, Any],
    options: dict[str, Any],
    message: str,
) -> None:
    path = _one_file(tmp_path, texts)
    with pytest.raises(InvalidInput) as caught:
        list(log_batches([path], columns, **options))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_missing_keys_nulls_and_booleans_read_as_detect_reads_them(tmp_path: Path) -> None:
    path = _one_file(tmp_path, ['{"x": true, "c": 2}', '{"x": null}', None, '{"c": "b", "y": 1}'])
    (frame,) = log_batches([path], {"x": "numeric", "c": "categorical"})
    assert frame.to_dict(as_series=False) == {
        "x": [1.0, None, None, None],
        "c": ["2", None, None, "b"],
    }
