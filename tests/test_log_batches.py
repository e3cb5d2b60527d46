"""The prediction log's batch records (one request's rows in one line, inputs by column):
written, read, compacted, found and verified like single records, on real files, and every
edit of a batch row detected in either form."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from steward.logs import (
    PredictionBatch,
    PredictionLog,
    PredictionRecord,
    SealedSegment,
    compact,
    find_requests,
    new_log_key,
    read_predictions,
    record_hash,
    record_time,
    redact,
    redact_columns,
    sealed_segments,
    verify_log,
)
from steward.logs._batch import explode, implode

T0 = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)


def _batch(first: int, rows: int, *, when: datetime | None = None) -> PredictionBatch:
    ids = [f"req-{first + at}" for at in range(rows)]
    return PredictionBatch(
        request_ids=ids,
        time=record_time(when or T0 + timedelta(milliseconds=first)),
        endpoint="credit",
        model="credit@2",
        inputs={
            "income": [1000.5 * (first + at) for at in range(rows)],
            "age": [30 + at if at != 1 else None for at in range(rows)],
            "name": [f"person {first + at}" for at in range(rows)],
        },
        contexts=[{"client": "test"} if at % 2 else {} for at in range(rows)],
        outputs=[
            {"prediction": at % 2, "probabilities": {"0": 0.25, "1": 0.75}} for at in range(rows)
        ],
        latency_ms=2.5,
    )


def _record(n: int) -> PredictionRecord:
    return PredictionRecord(
        request_id=f"req-{n}",
        time=record_time(T0 + timedelta(milliseconds=n)),
        endpoint="credit",
        model="credit@2",
        inputs={"age": 30, "income": 1000.5 * n, "name": f"person {n}"},
        context={},
        outputs={"prediction": 1, "probabilities": {"0": 0.25, "1": 0.75}},
        latency_ms=1.0,
    )


def _mixed(root: Path) -> SealedSegment:
    """One segment: a record (req-0), a batch of 3 (req-10..12), a 1-row batch (req-20), a
    record (req-30)."""
    sealed: list[SealedSegment] = []
    with PredictionLog(root, on_sealed=sealed.append) as log:
        log.submit([_record(0)]).result()
        log.submit([_batch(10, 3)]).result()
        log.submit([_batch(20, 1), _record(30)]).result()
    (segment,) = sealed
    return segment


def _anchors(root: Path) -> dict[str, tuple[int, str]]:
    return {s.segment_id: (s.count, s.digest) for s in sealed_segments(root)}


def _only(root: Path, pattern: str) -> Path:
    (path,) = root.glob(pattern)
    return path


IDS = ["req-0", "req-10", "req-11", "req-12", "req-20", "req-30"]


def test_a_batch_is_one_line_hashed_like_a_record_and_counted_once(tmp_path: Path) -> None:
    segment = _mixed(tmp_path)
    assert segment.count == 4  # lines: record, batch, batch, record
    lines = _lines(_only(tmp_path, "segments/*.jsonl"))
    batch = lines[1]
    assert batch["request_ids"] == ["req-10", "req-11", "req-12"]
    assert batch["inputs"]["age"] == [30, None, 32]  # column by column
    assert batch["seq"] == 1
    assert batch["hash"] == record_hash(_batch(10, 3), segment.segment_id, 1)
    document = {k: v for k, v in batch.items() if k != "hash"}
    expected = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert batch["hash"] == expected


def test_batch_rows_read_back_as_one_row_per_prediction_in_both_forms(tmp_path: Path) -> None:
    segment = _mixed(tmp_path)
    before = read_predictions(tmp_path, "credit")
    assert before.get_column("request_id").to_list() == IDS
    assert before.columns == list(read_predictions(tmp_path, "fraud").columns)
    assert "row" not in before.columns
    row = before.row(2, named=True)  # req-11: the batch's second row
    assert orjson.loads(row["inputs"]) == {"age": None, "income": 11005.5, "name": "person 11"}
    assert orjson.loads(row["context"]) == {"client": "test"}
    assert orjson.loads(row["outputs"])["prediction"] == 1
    assert (row["seq"], row["latency_ms"]) == (1, 2.5)
    (path,) = compact(tmp_path, segment)
    assert pl.read_parquet(path).get_column("row").to_list() == [None, 0, 1, 2, 0, None]
    after = read_predictions(tmp_path, "credit")
    assert after.equals(before)
    asked = [*IDS, "req-13", "nope"]
    assert find_requests(tmp_path, "credit", asked) == set(IDS)
    report = verify_log(tmp_path, _anchors(tmp_path))
    assert report.ok and (report.records, report.predictions) == (4, 6)


def test_batch_rows_read_the_same_as_records_of_the_same_predictions(tmp_path: Path) -> None:
    batch = _batch(10, 3)
    records = [
        PredictionRecord(
            request_id=rid,
            time=batch.time,
            endpoint=batch.endpoint,
            model=batch.model,
            inputs={name: values[at] for name, values in batch.inputs.items()},
            context=batch.contexts[at],
            outputs=batch.outputs[at],
            latency_ms=batch.latency_ms,
        )
        for at, rid in enumerate(batch.request_ids)
    ]
    with PredictionLog(tmp_path / "a") as log:
        log.submit([batch]).result()
    with PredictionLog(tmp_path / "b") as log:
        log.submit(records).result()
    content = ["request_id", "time", "endpoint", "model", "inputs", "context", "outputs"]
    a = read_predictions(tmp_path / "a", "credit").select(content)
    b = read_predictions(tmp_path / "b", "credit").select(content)
    assert a.equals(b)


def test_explode_then_implode_gives_the_line_back() -> None:
    line = {**_batch(5, 4).to_dict(), "segment": "s", "seq": 3, "hash": "h"}
    rows = explode(line)
    assert rows is not None and [r["row"] for r in rows] == [0, 1, 2, 3]
    assert implode(rows) == line
    assert implode(rows[:1] + rows[2:]) is None  # a row taken out: not one line's rows
    changed = [dict(r) for r in rows]
    changed[2]["model"] = "credit@3"
    assert implode(changed) is None
    assert explode({**line, "contexts": line["contexts"][:2]}) is None


def test_a_batch_refuses_rows_out_of_form() -> None:
    good: dict[str, Any] = {
        "request_ids": ["a", "b"],
        "time": record_time(T0),
        "endpoint": "credit",
        "model": "credit@1",
        "inputs": {"x": [1, 2]},
        "contexts": [{}, {}],
        "outputs": [{"prediction": 0}, {"prediction": 1}],
        "latency_ms": 1,
    }
    assert PredictionBatch(**good).latency_ms == 1.0
    bad: list[tuple[dict[str, Any], str]] = [
        ({"request_ids": []}, "at least one row"),
        ({"request_ids": ["a", ""]}, "non-empty strings"),
        ({"request_ids": ["a", 2]}, "non-empty strings"),
        ({"inputs": {"x": [1]}}, "one value per row"),
        ({"contexts": [{}]}, "contexts must hold one mapping per row"),
        ({"outputs": [{}, 3]}, "outputs must hold one mapping per row"),
        ({"time": "2026-03-14 12:00"}, "YYYY-MM-DD"),
        ({"model": "credit"}, "NAME@VERSION"),
        ({"latency_ms": float("nan")}, "finite"),
    ]
    for change, message in bad:
        with pytest.raises(ValueError, match=message):
            PredictionBatch(**{**good, **change})
    with pytest.raises(ValueError, match="endpoint"):
        PredictionBatch(**{**good, "endpoint": "../x"})
    with pytest.raises(TypeError):
        PredictionBatch(**{**good, "inputs": {"x": [object(), 1]}})


def test_redact_columns_hashes_as_redact_does_row_by_row() -> None:
    key = new_log_key()
    columns: dict[str, list[Any]] = {"name": ["Ana", None, "Ana"], "age": [30, 31, 32]}
    redacted = redact_columns(columns, {"name", "missing"}, key)
    assert redacted["age"] == [30, 31, 32]
    assert redacted["name"][1] is None and redacted["name"][0] == redacted["name"][2]
    assert redacted["name"][0] == redact({"name": "Ana"}, {"name"}, key)["name"]
    assert columns["name"][0] == "Ana"  # a copy
    with pytest.raises(ValueError, match="16 bytes"):
        redact_columns(columns, {"name"}, b"short")


# -- verification of batches --------------------------------------------------------------


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _rewrite(path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))


def test_verify_names_a_batch_edited_in_its_jsonl(tmp_path: Path) -> None:
    segment = _mixed(tmp_path)
    anchors = _anchors(tmp_path)
    path = _only(tmp_path, "segments/*.jsonl")
    lines = _lines(path)
    lines[1]["inputs"]["income"][2] = 1.0
    _rewrite(path, lines)
    (problem,) = verify_log(tmp_path, anchors).problems
    assert problem.startswith(
        f"segment {segment.segment_id} seq 1 (requests req-10, req-11, req-12): edited"
    )


def _edit_parquet(path: Path, change: Any) -> None:
    change(pl.read_parquet(path)).write_parquet(path)


def _replaced(request_id: str, column: str, text: str) -> Any:
    """An edit of a frame: ``column`` of the row of ``request_id`` set to ``text``."""
    return lambda frame: frame.with_columns(
        pl.when(pl.col("request_id") == request_id)
        .then(pl.lit(text))
        .otherwise(pl.col(column))
        .alias(column)
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(  # one row's input value
            _replaced("req-11", "inputs", '{"age":null,"income":1.0,"name":"person 11"}'),
            id="input",
        ),
        pytest.param(  # one row's answer
            _replaced("req-12", "outputs", '{"prediction":1,"probabilities":{"0":0.25,"1":0.75}}'),
            id="output",
        ),
        pytest.param(  # two rows' request ids swapped, their places kept
            lambda f: f.with_columns(
                pl.when(pl.col("request_id") == "req-10")
                .then(pl.lit("req-11"))
                .when(pl.col("request_id") == "req-11")
                .then(pl.lit("req-10"))
                .otherwise(pl.col("request_id"))
                .alias("request_id")
            ),
            id="swapped-ids",
        ),
        pytest.param(lambda f: f.filter(pl.col("request_id") != "req-11"), id="row-deleted"),
        pytest.param(lambda f: f.filter(pl.col("request_id") != "req-12"), id="last-row-deleted"),
        pytest.param(  # a row added to the batch, numbered as its next one
            lambda f: pl.concat(
                [
                    f.slice(0, 4),
                    f.slice(3, 1).with_columns(
                        pl.lit("req-13").alias("request_id"), pl.lit(3, pl.Int64).alias("row")
                    ),
                    f.slice(4),
                ]
            ),
            id="row-added",
        ),
        pytest.param(  # a batch row made to look like a single record
            lambda f: f.with_columns(
                pl.when(pl.col("request_id") == "req-20")
                .then(pl.lit(None, pl.Int64))
                .otherwise(pl.col("row"))
                .alias("row")
            ),
            id="row-number-dropped",
        ),
    ],
)
def test_verify_finds_every_edit_of_a_batch_in_its_parquet_file(
    tmp_path: Path, change: Any
) -> None:
    segment = _mixed(tmp_path)
    anchors = _anchors(tmp_path)
    (path,) = compact(tmp_path, segment)
    _edit_parquet(path, change)
    problems = verify_log(tmp_path, anchors).problems
    assert problems, "the edit went unnoticed"
    assert all(segment.segment_id in p for p in problems)
    assert any(" seq 1" in p or " seq 2" in p for p in problems)


def test_a_parquet_file_written_before_batches_still_reads_and_verifies(tmp_path: Path) -> None:
    sealed: list[SealedSegment] = []
    with PredictionLog(tmp_path, on_sealed=sealed.append) as log:
        log.submit([_record(n) for n in range(3)]).result()
    (path,) = compact(tmp_path, sealed[0])
    pl.read_parquet(path).drop("row").write_parquet(path)  # the earlier form
    assert "row" not in pl.read_parquet(path).columns
    frame = read_predictions(tmp_path, "credit")
    assert frame.get_column("request_id").to_list() == ["req-0", "req-1", "req-2"]
    assert find_requests(tmp_path, "credit", ["req-1"]) == {"req-1"}
    assert verify_log(tmp_path, _anchors(tmp_path)).ok


def test_raw_pii_of_a_batch_is_in_no_file_of_the_log(tmp_path: Path) -> None:
    key = new_log_key()
    batch = _batch(10, 3)
    redacted = PredictionBatch(
        request_ids=batch.request_ids,
        time=batch.time,
        endpoint=batch.endpoint,
        model=batch.model,
        inputs=redact_columns(batch.inputs, {"name"}, key),
        contexts=batch.contexts,
        outputs=batch.outputs,
        latency_ms=batch.latency_ms,
    )
    sealed: list[SealedSegment] = []
    with PredictionLog(tmp_path, on_sealed=sealed.append) as log:
        log.submit([redacted]).result()
    for stage in ("segment", "parquet"):
        if stage == "parquet":
            compact(tmp_path, sealed[0])
        for path in [p for p in tmp_path.rglob("*") if p.is_file()]:
            data = path.read_bytes()
            assert b"person 1" not in data, f"{stage}: {path}"
    names = read_predictions(tmp_path, "credit").get_column("inputs").to_list()
    assert all(orjson.loads(x)["name"].startswith("hmac-sha256:") for x in names)
    with PredictionLog(tmp_path / "control") as log:  # unredacted, the scan finds it
        log.submit([batch]).result()
    assert b"person 10" in _only(tmp_path, "control/segments/*.jsonl").read_bytes()


def test_a_segment_is_sealed_by_size_as_batches_are_large(tmp_path: Path) -> None:
    sealed: list[SealedSegment] = []
    size = len(_batch(0, 50)._body)
    with PredictionLog(tmp_path, on_sealed=sealed.append, max_bytes=3 * size) as log:
        for first in range(0, 500, 50):
            log.submit([_batch(first, 50)]).result()
    assert [s.count for s in sealed] == [3, 3, 3, 1]  # 3 lines reach the size, the rest at close
    files = [tmp_path / "segments" / f"{s.segment_id}.jsonl" for s in sealed]
    assert all(f.stat().st_size < 4 * size for f in files)
    report = verify_log(tmp_path, _anchors(tmp_path))
    assert report.ok and report.predictions == 500
    with pytest.raises(ValueError, match="max_bytes"):
        PredictionLog(tmp_path, max_bytes=0)


# -- compaction, column by column ---------------------------------------------------------

_MANGLED = {
    "an id that is not text": lambda f: f["request_ids"].__setitem__(1, 7),
    "no ids": lambda f: f.__setitem__("request_ids", []),
    "a column one value short": lambda f: f["inputs"]["age"].pop(),
    "a column that is not a list": lambda f: f["inputs"].__setitem__("age", 3),
    "a context that is not an object": lambda f: f["contexts"].__setitem__(0, "x"),
    "one output too many": lambda f: f["outputs"].append({}),
    "an output that is not an object": lambda f: f["outputs"].__setitem__(2, [1]),
    "a time of another form": lambda f: f.__setitem__("time", "2026-03-14 12:00:00"),
    "a latency that is a bool": lambda f: f.__setitem__("latency_ms", True),
    "a seq that is text": lambda f: f.__setitem__("seq", "1"),
    "no segment": lambda f: f.pop("segment"),
    "a model that is not text": lambda f: f.__setitem__("model", None),
    "inputs that are a list": lambda f: f.__setitem__("inputs", [1, 2, 3]),
}


def _line_of(batch: PredictionBatch) -> dict[str, Any]:
    line: dict[str, Any] = orjson.loads(orjson.dumps(batch.to_dict()))
    return {**line, "segment": "s", "seq": 1, "hash": "h"}


@pytest.mark.parametrize("mangle", sorted(_MANGLED))
def test_a_mangled_batch_line_adds_no_row_as_rows_of_fields_makes_none(mangle: str) -> None:
    from steward.logs._frame import Columns, rows_of_fields

    fields = _line_of(_batch(10, 3))
    _MANGLED[mangle](fields)
    assert rows_of_fields(fields) is None
    columns = Columns()
    assert columns.add_line(fields) is False
    assert len(columns) == 0


def test_columns_of_lines_are_the_rows_rows_of_fields_makes(tmp_path: Path) -> None:
    """The column-by-column path compaction takes gives the very rows (texts, types, order)
    the row-by-row one does, for batches of every shape and single records alike."""
    from steward.logs._frame import Columns, frame_of_rows, rows_of_fields

    empty = PredictionBatch(
        request_ids=["e-0", "e-1"],
        time=record_time(T0),
        endpoint="credit",
        model="credit@2",
        inputs={},
        contexts=[{}, {"nested": {"b": [1, 2.5, None], "a": "ü"}}],
        outputs=[{"prediction": 0.5}, {"prediction": -0.0}],
        latency_ms=3,
    )
    lines = [_line_of(_batch(10, 3)), _line_of(_batch(20, 1)), _line_of(empty)]
    lines.append({**orjson.loads(orjson.dumps(_record(5).to_dict())), "segment": "s", "seq": 4})
    lines[-1]["hash"] = "h"
    columns = Columns()
    rows: list[dict[str, Any]] = []
    for fields in lines:
        assert columns.add_line(fields)
        rows += rows_of_fields(fields) or []
    assert len(columns) == len(rows) == 7
    assert columns.frame().equals(frame_of_rows(rows))
    assert columns.frame().get_column("inputs").to_list()[0] == (
        '{"age":30,"income":10005.0,"name":"person 10"}'
    )


def test_compaction_runs_one_at_a_time_per_log(tmp_path: Path) -> None:
    """Each worker of a server may start a compaction: a second one waits for the first
    (the lock), then finds nothing left, instead of doing the same work beside it."""
    import subprocess
    import sys
    import time

    from steward.logs._compact import LOCK_NAME
    from steward.logs._segment import held_lock

    segment = _mixed(tmp_path)
    source = tmp_path / "segments" / f"{segment.segment_id}.jsonl"
    command = [sys.executable, "-m", "steward.logs", "compact", str(tmp_path)]
    with held_lock(tmp_path / LOCK_NAME):
        children = [subprocess.Popen(command, stderr=subprocess.PIPE) for _ in range(2)]
        time.sleep(3.0)  # long enough to start and compact, had they not waited
        assert all(child.poll() is None for child in children)
        assert source.exists() and not list(tmp_path.glob("parquet/**/*.parquet"))
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    assert not source.exists()
    (path,) = tmp_path.glob("parquet/**/*.parquet")
    assert pl.read_parquet(path).get_column("request_id").to_list() == IDS
    assert read_predictions(tmp_path, "credit").get_column("request_id").to_list() == IDS
    assert verify_log(tmp_path, _anchors(tmp_path)).ok
