"""The prediction log: group commit, sealing, redaction, compaction, reading, verification,
recovery and retention, on real files."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from steward.errors import IntegrityError
from steward.logs import (
    PredictionLog,
    PredictionRecord,
    SealedSegment,
    compact,
    compact_all,
    find_requests,
    new_log_key,
    prune,
    read_predictions,
    record_hash,
    record_time,
    recover,
    redact,
    sealed_segments,
    segment_digest,
    unanchored,
    verify_log,
)

T0 = datetime(2026, 3, 14, 23, 59, 58, tzinfo=UTC)


def _record(
    n: int,
    *,
    endpoint: str = "credit",
    when: datetime | None = None,
    inputs: dict[str, Any] | None = None,
) -> PredictionRecord:
    return PredictionRecord(
        request_id=f"req-{n}",
        time=record_time(when or T0 + timedelta(milliseconds=n)),
        endpoint=endpoint,
        model="credit@2",
        inputs={"age": 30 + n % 40, "income": 1000.5 * n} if inputs is None else inputs,
        context={"client": "test"},
        outputs={"prediction": n % 2, "probabilities": {"0": 0.25, "1": 0.75}},
        latency_ms=1.25,
    )


def _anchors(root: Path) -> dict[str, tuple[int, str]]:
    return {s.segment_id: (s.count, s.digest) for s in sealed_segments(root)}


def _write(root: Path, records: list[PredictionRecord], **options: Any) -> list[SealedSegment]:
    sealed: list[SealedSegment] = []
    with PredictionLog(root, on_sealed=sealed.append, **options) as log:
        for record in records:
            log.submit([record]).result()
    return sealed


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _rewrite(path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))


def _only_segment(root: Path) -> Path:
    (path,) = (root / "segments").glob("*.jsonl")
    return path


# -- records and hashes -------------------------------------------------------------------


def test_record_hash_is_sha256_of_the_sorted_json_with_segment_and_seq() -> None:
    record = _record(7, inputs={"b": [1, 2.5, None], "a": {"z": "é", "y": True}})
    document = {**record.to_dict(), "segment": "20260101T000000000000Z-1-abcdef01", "seq": 42}
    expected = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert record_hash(record, "20260101T000000000000Z-1-abcdef01", 42) == expected


def test_record_refuses_fields_out_of_form() -> None:
    good = _record(1).to_dict()
    for field, value in [
        ("endpoint", "Credit"),
        ("endpoint", "../etc"),
        ("time", "2026-03-14T10:00:00Z"),
        ("model", "credit"),
        ("latency_ms", float("nan")),
        ("latency_ms", -1.0),
        ("request_id", ""),
    ]:
        with pytest.raises(ValueError, match=field):
            PredictionRecord(**{**good, field: value})
    with pytest.raises(TypeError):
        PredictionRecord(**{**good, "inputs": {"x": object()}})
    with pytest.raises(ValueError, match="aware"):
        record_time(datetime(2026, 1, 1))


def test_record_time_is_utc_with_microseconds() -> None:
    paris = timezone(timedelta(hours=1))
    assert record_time(datetime(2026, 1, 2, 4, 4, 5, 7, tzinfo=paris)) == (
        "2026-01-02T03:04:05.000007Z"
    )


# -- the writer ---------------------------------------------------------------------------


def test_group_commit_resolves_every_future_and_flushes_less_than_once_per_record(
    tmp_path: Path,
) -> None:
    per_thread, threads = 40, 16
    futures: list[Future[None]] = []
    lock = threading.Lock()
    with PredictionLog(tmp_path) as log:

        def work(worker: int) -> None:
            for i in range(per_thread):
                future = log.submit([_record(worker * 1000 + i)])
                with lock:
                    futures.append(future)
                future.result(timeout=10)

        pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        assert all(f.done() and f.exception() is None for f in futures)
        assert log.records == per_thread * threads
        assert log.batches < log.records
    frame = read_predictions(tmp_path, "credit")
    assert frame.height == per_thread * threads
    assert frame.get_column("request_id").n_unique() == frame.height
    assert verify_log(tmp_path, _anchors(tmp_path)).ok


def test_a_submission_gets_consecutive_seqs_in_one_segment(tmp_path: Path) -> None:
    with PredictionLog(tmp_path, max_records=4) as log:
        log.submit([_record(0)]).result()
        log.submit([_record(n) for n in range(1, 6)]).result()  # too big for what is left
    segments = sealed_segments(tmp_path)
    assert [s.count for s in segments] == [1, 5]
    lines = _lines(tmp_path / "segments" / f"{segments[1].segment_id}.jsonl")
    assert [line["seq"] for line in lines] == [0, 1, 2, 3, 4]
    assert [line["request_id"] for line in lines] == [f"req-{n}" for n in range(1, 6)]


def test_rotation_by_count_seals_each_segment_with_its_manifest(tmp_path: Path) -> None:
    sealed = _write(tmp_path, [_record(n) for n in range(25)], max_records=10)
    assert [s.count for s in sealed] == [10, 10, 5]
    assert sealed == sealed_segments(tmp_path)
    assert [s.segment_id for s in sealed] == sorted(s.segment_id for s in sealed)
    for segment in sealed:
        path = tmp_path / "segments" / f"{segment.segment_id}.jsonl"
        lines = _lines(path)
        assert segment.digest == segment_digest(line["hash"] for line in lines)
        assert segment.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert segment.endpoints == ("credit",)
        assert segment.first_time == lines[0]["time"] and segment.last_time == lines[-1]["time"]
        manifest = orjson.loads((tmp_path / "sealed" / f"{segment.segment_id}.json").read_bytes())
        assert SealedSegment.from_dict(manifest) == segment
    assert unanchored(tmp_path, [sealed[0].segment_id]) == sealed[1:]


def test_rotation_by_age_seals_an_idle_segment(tmp_path: Path) -> None:
    sealed: list[SealedSegment] = []
    with PredictionLog(tmp_path, max_age_seconds=0.1, on_sealed=sealed.append) as log:
        log.submit([_record(1)]).result()
        opened = log.segment_id
        assert opened is not None
        deadline = time.monotonic() + 5
        while not sealed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [(s.segment_id, s.count) for s in sealed] == [(opened, 1)]
        assert log.segment_id is None
        log.submit([_record(2)]).result()  # a new segment
    assert [s.count for s in sealed] == [1, 1]


def test_a_failing_on_sealed_callback_is_kept_and_the_writer_goes_on(tmp_path: Path) -> None:
    def refuse(segment: SealedSegment) -> None:
        raise RuntimeError(f"ledger down for {segment.segment_id}")

    with PredictionLog(tmp_path, max_records=2, on_sealed=refuse) as log:
        for n in range(5):
            log.submit([_record(n)]).result()
    assert log.sealed == 3
    assert [type(e) for e in log.errors] == [RuntimeError] * 3
    assert len(unanchored(tmp_path, [])) == 3  # anchored on the next start instead


def test_a_slow_on_sealed_callback_does_not_hold_up_commits(tmp_path: Path) -> None:
    release = threading.Event()
    called: list[str] = []

    def anchor(segment: SealedSegment) -> None:
        called.append(segment.segment_id)
        release.wait(10)

    log = PredictionLog(tmp_path, max_records=1, on_sealed=anchor)
    try:
        for n in range(5):  # each fills a segment; the first callback is still waiting
            log.submit([_record(n)]).result(timeout=5)
        assert called == [sealed_segments(tmp_path)[0].segment_id]
    finally:
        release.set()
        log.close()
    assert called == [s.segment_id for s in sealed_segments(tmp_path)]  # close waited for them
    assert len(called) == 5


def test_a_failed_write_fails_its_futures_and_the_writer_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "log"
    root.write_text("a file where the log's folder should be")
    with PredictionLog(root) as log:
        with pytest.raises(NotADirectoryError):
            log.submit([_record(1)]).result(timeout=5)
        root.unlink()
        log.submit([_record(2)]).result(timeout=5)
    assert find_requests(root, "credit", ["req-1", "req-2"]) == {"req-2"}


def test_a_failed_flush_fails_every_unsettled_record_and_cuts_it_from_the_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import steward.logs._writer as writer

    real = writer.sync  # type: ignore[attr-defined]
    failing = threading.Event()

    def flaky(fd: int) -> None:
        if failing.is_set():
            failing.clear()
            raise OSError(5, "Input/output error")
        real(fd)

    monkeypatch.setattr(writer, "sync", flaky)  # the disk failing, not our code
    with PredictionLog(tmp_path) as log:
        log.submit([_record(1)]).result(timeout=5)
        failing.set()
        with pytest.raises(OSError, match="Input/output"):
            log.submit([_record(2)]).result(timeout=5)
        assert log.segment_id is None  # the segment it was in is sealed without it
        log.submit([_record(3)]).result(timeout=5)
    assert [s.count for s in sealed_segments(tmp_path)] == [1, 1]
    assert find_requests(tmp_path, "credit", ["req-1", "req-2", "req-3"]) == {"req-1", "req-3"}
    assert verify_log(tmp_path, _anchors(tmp_path)).ok


def test_append_writes_in_the_callers_thread_and_its_ticket_settles_once_flushed(
    tmp_path: Path,
) -> None:
    with PredictionLog(tmp_path) as log:
        assert log.append([]) == 0 and log.outcome(0) is None  # nothing: settled at once
        first = log.append([_record(1)])
        second = log.append([_record(2), _record(3)])
        assert (first, second) == (1, 2)
        path = tmp_path / "segments" / f"{log.segment_id}.jsonl"
        assert len(_lines(path)) == 3  # on the file before any flush settled it
        log.wait(second).result(timeout=5)
        assert log.settled >= second and log.outcome(first) is None
        with pytest.raises(ValueError, match="not settled"):
            log.outcome(second + 1)
    assert log.batches >= 1 and log.records == 3


def test_records_of_one_request_made_at_once_equal_records_made_one_by_one() -> None:
    when = record_time(T0)
    rows: list[dict[str, Any]] = [
        {"age": 31, "income": 1.5},
        {"age": None, "income": float("1e300")},
        {"name": "Zoë", "income": -0.0},
    ]
    outputs = [{"prediction": n, "probabilities": {"0": 0.5, "1": 0.5}} for n in range(3)]
    contexts: list[dict[str, Any]] = [{}, {"sex": "f"}, {"id": "hmac-sha256:ab"}]
    ids = ["a1", "b2", "c3"]
    made = PredictionRecord.rows(
        request_ids=ids,
        time=when,
        endpoint="credit",
        model="credit@2",
        inputs=rows,
        contexts=contexts,
        outputs=outputs,
        latency_ms=2,
    )
    one_by_one = [
        PredictionRecord(i, when, "credit", "credit@2", r, c, o, 2)
        for i, r, c, o in zip(ids, rows, contexts, outputs, strict=True)
    ]
    assert made == one_by_one
    assert [record_hash(r, "s", n) for n, r in enumerate(made)] == [
        record_hash(r, "s", n) for n, r in enumerate(one_by_one)
    ]
    with pytest.raises(ValueError, match="request_id"):  # a bad row is named as one would be
        PredictionRecord.rows(
            request_ids=["a1", ""],
            time=when,
            endpoint="credit",
            model="credit@2",
            inputs=rows[:2],
            contexts=contexts[:2],
            outputs=outputs[:2],
            latency_ms=2,
        )
    with pytest.raises(ValueError, match="one request id"):
        PredictionRecord.rows(
            request_ids=ids,
            time=when,
            endpoint="credit",
            model="credit@2",
            inputs=rows[:2],
            contexts=contexts,
            outputs=outputs,
            latency_ms=2,
        )


def test_compaction_runs_as_a_module_in_a_process_of_its_own(tmp_path: Path) -> None:
    (segment,) = _write(tmp_path, [_record(n) for n in range(3)])
    command = [sys.executable, "-m", "steward.logs", "compact", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "segments" / f"{segment.segment_id}.jsonl").exists()
    assert read_predictions(tmp_path, "credit").height == 3
    assert verify_log(tmp_path, _anchors(tmp_path)).ok
    usage = subprocess.run(
        [sys.executable, "-m", "steward.logs", "tidy"], capture_output=True, text=True
    )
    assert usage.returncode == 2 and "usage: python -m steward.logs compact ROOT" in usage.stderr
    # it runs below the workers' CPU priority: background work, under load they come first
    probe = "import os, sys; from steward.logs.__main__ import main; "
    probe += "before = os.nice(0); main(['compact', sys.argv[1]]); print(os.nice(0) - before)"
    light = tmp_path / "light"
    _write(light, [_record(n) for n in range(3)])
    lowered = subprocess.run(
        [sys.executable, "-c", probe, str(light)], capture_output=True, text=True, timeout=120
    )
    assert lowered.stdout.strip() == "10", lowered.stderr
    assert not list((light / "segments").glob("*.jsonl"))
    # ... but not past its backlog: more segments waiting than BACKLOG, it runs beside them
    from steward.logs._segment import BACKLOG

    behind = tmp_path / "behind"
    sealed = _write(behind, [_record(n) for n in range(BACKLOG + 1)], max_records=1)
    assert len(sealed) == BACKLOG + 1
    watch = "import os, sys; import steward.logs._compact as C; "
    watch += "from steward.logs.__main__ import main; real = C.compact; seen = []; "
    watch += "C.compact = lambda root, s: (seen.append(os.nice(0)), real(root, s))[1]; "
    watch += "main(['compact', sys.argv[1]]); print(seen)"
    kept = subprocess.run(
        [sys.executable, "-c", watch, str(behind)], capture_output=True, text=True, timeout=120
    )
    # behind, the first segment at the workers' priority; caught up (BACKLOG left), below it
    assert kept.stdout.strip() == str([0] + [10] * BACKLOG), kept.stderr
    assert not list((behind / "segments").glob("*.jsonl"))
    assert read_predictions(behind, "credit").height == BACKLOG + 1
    assert verify_log(behind, _anchors(behind)).ok


def test_a_lowered_compaction_that_falls_behind_again_stops_for_one_at_full_priority(
    tmp_path: Path,
) -> None:
    """Under a load that does not let up, a niced child gets almost no CPU: once more than
    BACKLOG segments wait again, it stops, and the server starts one at the workers'
    priority (``ServerState._compact``), which compacts them all."""
    from steward.logs import compaction_behind
    from steward.logs._segment import BACKLOG

    _write(tmp_path, [_record(0)])
    probe = f"""
import os, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_prediction_log import _record, _write
import steward.logs._compact as C
from steward.logs.__main__ import BACKLOG, main
real, done = C.compact, []
def compact(root, segment):
    written = real(root, segment)
    done.append(segment)
    if len(done) == 1:  # the load goes on: more segments sealed than BACKLOG
        _write(root, [_record(100 + n) for n in range(BACKLOG + 1)], max_records=1)
    return written
C.compact = compact
before = os.nice(0)
main(["compact", sys.argv[1]])
print(os.nice(0) - before, len(done))
"""
    stopped = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert stopped.stdout.strip() == "10 1", stopped.stderr  # niced, then stopped
    assert len(list((tmp_path / "segments").glob("*.jsonl"))) == BACKLOG + 1
    assert compaction_behind(tmp_path)  # what makes a server start the next child at once
    command = [sys.executable, "-m", "steward.logs", "compact", str(tmp_path)]
    assert subprocess.run(command, capture_output=True, timeout=120).returncode == 0
    assert not list((tmp_path / "segments").glob("*.jsonl"))
    assert not compaction_behind(tmp_path)
    assert read_predictions(tmp_path, "credit").height == BACKLOG + 2
    assert verify_log(tmp_path, _anchors(tmp_path)).ok


def test_compaction_takes_segments_sealed_while_it_runs_and_stops_when_told(
    tmp_path: Path,
) -> None:
    from steward.logs import compact_all

    _write(tmp_path, [_record(0)])
    asked: list[int] = []

    def more_arrive() -> bool:
        asked.append(1)
        if len(asked) == 1:  # sealed while the first is being compacted
            _write(tmp_path, [_record(10), _record(11)], max_records=1)
        return True

    compact_all(tmp_path, more_arrive)
    assert len(asked) == 3 and not list((tmp_path / "segments").glob("*.jsonl"))
    assert read_predictions(tmp_path, "credit").height == 3
    _write(tmp_path, [_record(20), _record(21), _record(22)], max_records=1)
    told: list[int] = []

    def once() -> bool:
        told.append(1)
        return len(told) < 2  # one, then stop

    compact_all(tmp_path, once)
    assert len(list((tmp_path / "segments").glob("*.jsonl"))) == 2
    compact_all(tmp_path)
    assert read_predictions(tmp_path, "credit").height == 6
    assert verify_log(tmp_path, _anchors(tmp_path)).ok


def test_submit_after_close_is_refused_and_nothing_is_created_before_the_first_record(
    tmp_path: Path,
) -> None:
    log = PredictionLog(tmp_path / "log")
    assert log.submit([]).result() is None
    log.close()
    log.close()
    assert not (tmp_path / "log").exists()
    with pytest.raises(RuntimeError, match="closed"):
        log.submit([_record(1)])
    with pytest.raises(TypeError):
        PredictionLog(tmp_path).submit([{"request_id": "x"}])  # type: ignore[list-item]


# -- redaction ----------------------------------------------------------------------------


def test_redact_keyed_hashes_pii_so_equal_values_join() -> None:
    key = new_log_key()
    values = {"ssn": "123-45-6789", "zip": 2139, "age": 41, "email": None}
    first = redact(values, {"ssn", "zip", "email", "absent"}, key)
    assert first["age"] == 41 and first["email"] is None and "absent" not in first
    assert first["ssn"].startswith("hmac-sha256:") and len(first["ssn"]) == 12 + 64
    assert redact({"ssn": "123-45-6789"}, {"ssn"}, key)["ssn"] == first["ssn"]
    assert redact({"ssn": "123-45-6789"}, {"ssn"}, new_log_key())["ssn"] != first["ssn"]
    assert redact({"zip": "2139"}, {"zip"}, key)["zip"] != first["zip"]  # the type counts
    assert values["ssn"] == "123-45-6789"  # a copy
    with pytest.raises(ValueError, match="16 bytes"):
        redact(values, {"ssn"}, b"short")


def test_raw_pii_is_in_no_file_of_the_log_after_compaction(tmp_path: Path) -> None:
    key = new_log_key()
    secrets = ["zq-123-45-6789", "alice.zq@example.org", "Zq Smithfield"]
    records = [
        _record(
            n,
            inputs=redact(
                {"ssn": secrets[0], "email": secrets[1], "age": 40 + n}, {"ssn", "email"}, key
            ),
        )
        for n in range(30)
    ]
    records = [
        PredictionRecord(**{**r.to_dict(), "context": redact({"name": secrets[2]}, {"name"}, key)})
        for r in records
    ]
    _write(tmp_path, records, max_records=10)
    assert compact_all(tmp_path)
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.suffix == ".parquet" for path in files)
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            for form in (secret.encode(), orjson.dumps(secret), secret.encode("utf-16-le")):
                assert form not in data, (path, secret)
    # Parquet pages are compressed: check what they decode to as well.
    text = read_predictions(tmp_path, "credit").write_csv()
    assert "hmac-sha256:" in text
    assert not any(secret in text for secret in secrets)


# -- compaction ---------------------------------------------------------------------------


def _two_days_two_endpoints() -> list[PredictionRecord]:
    return [
        _record(n, endpoint="credit" if n % 2 else "fraud", when=T0 + timedelta(seconds=n))
        for n in range(6)
    ]


def test_compaction_writes_one_file_per_endpoint_and_day_and_removes_the_jsonl(
    tmp_path: Path,
) -> None:
    (segment,) = _write(tmp_path, _two_days_two_endpoints())
    paths = compact(tmp_path, segment)
    relative = [p.relative_to(tmp_path / "parquet").as_posix() for p in paths]
    assert relative == sorted(
        f"endpoint={e}/day={d}/{segment.segment_id}.parquet"
        for e in ("credit", "fraud")
        for d in ("2026-03-14", "2026-03-15")
    )
    assert not (tmp_path / "segments" / f"{segment.segment_id}.jsonl").exists()
    frame = pl.read_parquet(paths[0])
    assert frame.schema["time"] == pl.Datetime("us", "UTC")
    assert orjson.loads(frame.item(0, "outputs"))["probabilities"] == {"0": 0.25, "1": 0.75}
    credit = read_predictions(tmp_path, "credit")
    assert credit.get_column("request_id").to_list() == ["req-1", "req-3", "req-5"]
    assert verify_log(tmp_path, _anchors(tmp_path)).ok


def test_compaction_run_again_rewrites_the_same_files_and_never_duplicates(
    tmp_path: Path,
) -> None:
    (segment,) = _write(tmp_path, _two_days_two_endpoints())
    source = tmp_path / "segments" / f"{segment.segment_id}.jsonl"
    sealed_bytes = source.read_bytes()
    first = compact(tmp_path, segment.segment_id)
    before = read_predictions(tmp_path, "fraud")
    assert compact(tmp_path, segment.segment_id) == first  # already compacted
    # A compaction cut short after its Parquet files, before removing the .jsonl:
    source.write_bytes(sealed_bytes)
    assert read_predictions(tmp_path, "fraud").equals(before)
    assert verify_log(tmp_path, _anchors(tmp_path)).ok
    assert compact_all(tmp_path) == first
    assert not source.exists()
    assert read_predictions(tmp_path, "fraud").equals(before)
    assert sorted(p for p in (tmp_path / "parquet").rglob("*") if p.is_file()) == first


def test_compaction_refuses_a_segment_changed_since_its_seal(tmp_path: Path) -> None:
    (segment,) = _write(tmp_path, [_record(n) for n in range(3)])
    path = _only_segment(tmp_path)
    lines = _lines(path)
    lines[1]["endpoint"] = "../../etc"
    _rewrite(path, lines)
    with pytest.raises(IntegrityError, match=segment.segment_id):
        compact(tmp_path, segment)
    with pytest.raises(IntegrityError):
        compact_all(tmp_path)
    assert path.exists() and not (tmp_path / "parquet").exists()
    with pytest.raises(ValueError, match="not sealed"):
        compact(tmp_path, "20260101T000000000000Z-1-00000000")
    with pytest.raises(ValueError, match="invalid segment id"):
        compact(tmp_path, "../segments/x")


# -- reading ------------------------------------------------------------------------------


def test_read_predictions_filters_by_time_across_both_forms_in_time_order(
    tmp_path: Path,
) -> None:
    first = _write(tmp_path, [_record(n, when=T0 + timedelta(seconds=n)) for n in range(0, 6, 2)])
    compact(tmp_path, first[0])
    with PredictionLog(tmp_path) as log:  # an open segment is read too
        log.submit([_record(n, when=T0 + timedelta(seconds=n)) for n in range(1, 6, 2)]).result()
        frame = read_predictions(tmp_path, "credit")
        assert frame.get_column("request_id").to_list() == [f"req-{n}" for n in range(6)]
        paris = timezone(timedelta(hours=1))
        window = read_predictions(
            tmp_path,
            "credit",
            since=(T0 + timedelta(seconds=1)).astimezone(paris),
            until=T0 + timedelta(seconds=4),
        )
        assert window.get_column("request_id").to_list() == ["req-1", "req-2", "req-3"]
        assert read_predictions(tmp_path, "fraud").height == 0
    with pytest.raises(ValueError, match="endpoint"):
        read_predictions(tmp_path, "Credit")


def test_find_requests_answers_many_ids_from_both_forms(tmp_path: Path) -> None:
    segments = _write(tmp_path, [_record(n) for n in range(40)], max_records=20)
    compact(tmp_path, segments[0])  # req-0..19 in Parquet, req-20..39 in .jsonl
    asked = [f"req-{n}" for n in range(0, 5000, 3)]
    assert find_requests(tmp_path, "credit", asked) == {f"req-{n}" for n in range(0, 40, 3)}
    assert find_requests(tmp_path, "fraud", asked) == set()
    assert find_requests(tmp_path, "credit", []) == set()


# -- verification -------------------------------------------------------------------------


def _verified_log(tmp_path: Path, n: int = 8) -> tuple[SealedSegment, dict[str, tuple[int, str]]]:
    (segment,) = _write(tmp_path, [_record(k) for k in range(n)])
    return segment, _anchors(tmp_path)


def test_verify_passes_a_clean_log_and_counts_open_segments_apart(tmp_path: Path) -> None:
    _, anchors = _verified_log(tmp_path)
    with PredictionLog(tmp_path) as log:
        log.submit([_record(100)]).result()
        report = verify_log(tmp_path, anchors)
        assert report.problems == ()
        assert (report.records, report.segments, report.open_segments) == (8, 1, 1)
    assert verify_log(tmp_path, _anchors(tmp_path)).to_dict()["ok"] is True


def test_verify_names_a_record_edited_in_its_jsonl(tmp_path: Path) -> None:
    segment, anchors = _verified_log(tmp_path)
    path = _only_segment(tmp_path)
    lines = _lines(path)
    lines[3]["inputs"]["income"] = 1.0
    _rewrite(path, lines)
    (problem,) = verify_log(tmp_path, anchors).problems
    assert f"segment {segment.segment_id} seq 3 (request req-3): edited" in problem


def test_verify_names_a_record_edited_and_rehashed_from_the_sealed_hashes(
    tmp_path: Path,
) -> None:
    segment, anchors = _verified_log(tmp_path)
    path = _only_segment(tmp_path)
    lines = _lines(path)
    lines[5]["outputs"]["prediction"] = 1 - lines[5]["outputs"]["prediction"]
    del lines[5]["hash"]
    lines[5]["hash"] = hashlib.sha256(
        orjson.dumps(lines[5], option=orjson.OPT_SORT_KEYS)
    ).hexdigest()
    _rewrite(path, lines)
    (problem,) = verify_log(tmp_path, anchors).problems
    assert "seq 5 (request req-5): edited (its hash was rewritten" in problem
    (tmp_path / "sealed" / f"{segment.segment_id}.hashes").unlink()
    (problem,) = verify_log(tmp_path, anchors).problems
    assert "digest" in problem and segment.segment_id in problem


def test_verify_names_a_record_edited_in_its_parquet_file(tmp_path: Path) -> None:
    segment, anchors = _verified_log(tmp_path)
    (path,) = compact(tmp_path, segment)
    frame = pl.read_parquet(path)
    edited = frame.with_columns(
        pl.when(pl.col("seq") == 2)
        .then(pl.lit('{"age":99,"income":2001.0}'))
        .otherwise(pl.col("inputs"))
        .alias("inputs")
    )
    edited.write_parquet(path)
    (problem,) = verify_log(tmp_path, anchors).problems
    assert f"segment {segment.segment_id} seq 2 (request req-2): edited" in problem


def test_verify_names_deleted_and_duplicated_records(tmp_path: Path) -> None:
    segment, anchors = _verified_log(tmp_path)
    path = _only_segment(tmp_path)
    lines = _lines(path)
    _rewrite(path, [*lines[:2], *lines[4:], lines[6]])
    problems = verify_log(tmp_path, anchors).problems
    assert problems == (
        f"segment {segment.segment_id} seq 6: duplicated (requests req-6, req-6)",
        f"segment {segment.segment_id} seq 2-3: deleted",
    )
    _rewrite(path, lines[:-1])  # the last record: only the anchored count knows it
    assert verify_log(tmp_path, anchors).problems == (
        f"segment {segment.segment_id} seq 7: deleted",
    )


def test_verify_reports_a_deleted_segment_a_wrong_digest_and_a_missing_anchor(
    tmp_path: Path,
) -> None:
    segment, anchors = _verified_log(tmp_path)
    wrong = {segment.segment_id: (segment.count, "0" * 64)}
    assert verify_log(tmp_path, wrong).problems == (
        f"segment {segment.segment_id}: its manifest differs from its anchor",
        f"segment {segment.segment_id}: the digest of its records differs from its anchor",
    )
    (problem,) = verify_log(tmp_path, {}).problems
    assert problem == f"segment {segment.segment_id}: sealed but not anchored in the ledger"
    _only_segment(tmp_path).unlink()
    (problem,) = verify_log(tmp_path, anchors).problems
    assert problem.startswith(f"segment {segment.segment_id}: anchored with 8 records")
    assert "gone" in problem
    (tmp_path / "sealed" / f"{segment.segment_id}.json").unlink()  # the manifest too
    assert verify_log(tmp_path, anchors).problems == (problem,)


def test_verify_reports_an_unreadable_parquet_file(tmp_path: Path) -> None:
    segment, anchors = _verified_log(tmp_path)
    (path,) = compact(tmp_path, segment)
    path.write_bytes(b"PAR1 not really")
    problems = verify_log(tmp_path, anchors).problems
    assert problems[0].endswith(f"{segment.segment_id}.parquet (unreadable): not a record")
    assert problems[1] == f"segment {segment.segment_id} seq 0-7: deleted"


def test_prune_removes_whole_old_segments_and_verify_accepts_them(tmp_path: Path) -> None:
    old = _write(tmp_path, [_record(n, when=T0 - timedelta(days=3)) for n in range(3)])
    straddling = _write(tmp_path, _two_days_two_endpoints())
    compact_all(tmp_path)
    anchors = _anchors(tmp_path)
    assert prune(tmp_path, date(2026, 3, 15)) == [old[0].segment_id]  # the other ends on the 15th
    assert not (tmp_path / "parquet" / "endpoint=credit" / "day=2026-03-11").exists()
    assert verify_log(tmp_path, anchors, pruned=[old[0].segment_id]).ok
    assert not verify_log(tmp_path, anchors).ok
    assert prune(tmp_path, date(2026, 3, 16)) == [straddling[0].segment_id]
    assert not (tmp_path / "parquet" / "endpoint=credit").exists()
    assert sealed_segments(tmp_path) == []
    assert verify_log(tmp_path, anchors, pruned=list(anchors)).ok


# -- recovery -----------------------------------------------------------------------------


def _dead_segment(
    root: Path, segment_id: str, records: list[PredictionRecord], tail: bytes
) -> Path:
    """A segment as a writer killed mid-write leaves it: complete lines, then ``tail``."""
    lines = [
        orjson.dumps(
            {
                **record.to_dict(),
                "segment": segment_id,
                "seq": seq,
                "hash": record_hash(record, segment_id, seq),
            }
        )
        + b"\n"
        for seq, record in enumerate(records)
    ]
    path = root / "segments" / f"{segment_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines) + tail)
    return path


@pytest.mark.parametrize("tail", [b'{"request_id": "req-9", "ti', b'{"request_id"\n', b""])
def test_recover_cuts_a_torn_last_line_and_seals_once(tmp_path: Path, tail: bytes) -> None:
    segment_id = "20260314T235958000000Z-4242-0badc0de"
    path = _dead_segment(tmp_path, segment_id, [_record(n) for n in range(5)], tail)
    sealed: list[SealedSegment] = []
    (segment,) = recover(tmp_path, on_sealed=sealed.append)
    assert sealed == [segment] and (segment.segment_id, segment.count) == (segment_id, 5)
    assert path.read_bytes().endswith(b"}\n") and len(_lines(path)) == 5
    assert recover(tmp_path) == []
    assert verify_log(tmp_path, _anchors(tmp_path)).ok


def test_recover_removes_a_segment_with_no_complete_record(tmp_path: Path) -> None:
    path = _dead_segment(tmp_path, "20260314T235958000000Z-4242-00000001", [], b'{"req')
    assert recover(tmp_path) == []
    assert not path.exists()


def test_recover_leaves_a_live_segment_alone_and_seals_each_dead_one_once(
    tmp_path: Path,
) -> None:
    dead = [
        _dead_segment(tmp_path, f"20260314T23595800000{k}Z-4242-0000000{k}", [_record(k)], b"")
        for k in range(6)
    ]
    with PredictionLog(tmp_path) as log:
        log.submit([_record(99)]).result()
        results: list[list[SealedSegment]] = []
        pool = [
            threading.Thread(target=lambda: results.append(recover(tmp_path))) for _ in range(4)
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        recovered = Counter(s.segment_id for found in results for s in found)
        assert recovered == Counter(path.stem for path in dead)
        assert log.segment_id is not None and log.segment_id not in recovered
    assert len(sealed_segments(tmp_path)) == 7
    assert verify_log(tmp_path, _anchors(tmp_path)).ok


def test_verify_reports_an_unsealed_segment_whose_writer_is_gone(tmp_path: Path) -> None:
    segment_id = "20260314T235958000000Z-4242-0badc0de"
    _dead_segment(tmp_path, segment_id, [_record(1)], b"")
    (problem,) = verify_log(tmp_path, {}).problems
    assert problem == f"segment {segment_id}: not sealed and no writer holds it (run recover)"


@pytest.mark.slow
def test_every_acknowledged_record_survives_kill_9_exactly_once(tmp_path: Path) -> None:
    helper = Path(__file__).with_name("_log_writer_proc.py")
    child = subprocess.Popen(
        [sys.executable, str(helper), str(tmp_path), "6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    acknowledged: list[str] = []
    watchdog = threading.Timer(60, child.kill)  # never hang the suite on a stuck child
    watchdog.start()
    try:
        assert child.stdout is not None
        for line in _lines_of(child.stdout, 1500, deadline=time.monotonic() + 20):
            acknowledged.append(line)
        assert recover(tmp_path) == []  # every unsealed segment has a live writer
    finally:
        child.send_signal(signal.SIGKILL)
        rest, errors = child.communicate(timeout=10)
        watchdog.cancel()
    assert child.returncode == -signal.SIGKILL, errors.decode()
    # Ids printed before the kill are durable too; a cut-off last line is not an id.
    acknowledged += [line for line in rest.decode().split("\n")[:-1] if line]
    assert len(acknowledged) >= 1500

    recover(tmp_path)
    compact_all(tmp_path)
    assert list((tmp_path / "segments").glob("*.jsonl")) == []
    logged = Counter(
        request_id
        for endpoint in ("credit", "fraud")
        for request_id in read_predictions(tmp_path, endpoint).get_column("request_id")
    )
    assert {request_id: logged[request_id] for request_id in acknowledged} == dict.fromkeys(
        acknowledged, 1
    )
    assert max(logged.values()) == 1
    report = verify_log(tmp_path, _anchors(tmp_path))
    assert report.problems == ()
    assert report.records == sum(logged.values()) and report.segments > 1


def _lines_of(stream: Any, count: int, *, deadline: float) -> Iterator[str]:
    for _ in range(count):
        assert time.monotonic() < deadline, "the writer process printed too little"
        line = stream.readline()
        assert line, "the writer process ended"
        yield line.decode().strip()


def test_records_in_the_log_are_not_readable_by_others(tmp_path: Path) -> None:
    _write(tmp_path, [_record(1)])
    compact_all(tmp_path)
    for path in tmp_path.rglob("*"):
        mode = path.stat().st_mode & 0o777
        assert mode & 0o077 == 0, (path, oct(mode))


def test_workers_starting_at_once_all_get_the_one_whole_redaction_key(app: Any) -> None:
    # Each server worker reads (or creates) the key as it starts; none may read a key
    # another is still writing (an empty key fails every scored request).
    start = threading.Barrier(12)
    keys: list[bytes] = []

    def worker() -> None:
        start.wait()
        keys.append(app.predictions.log_key())

    pool = [threading.Thread(target=worker) for _ in range(12)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert len(keys) == 12 and len(set(keys)) == 1 and len(keys[0]) == 32
    folder = app.predictions._key_path.parent
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    assert app.predictions._key_path.stat().st_mode & 0o777 == 0o600
