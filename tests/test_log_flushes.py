"""Flushes made by the prediction log's caller (``begin_flush`` / ``end_flush``), and the
server's group commit over them (``LogBatcher``): through Linux AIO from an event loop, and
through the log's sync thread where no AIO flush is offered. Real files, real ``fdatasync``
(the kernel's, asynchronously), a real event loop."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from steward.logs import PredictionLog, find_requests, sealed_segments, verify_log
from steward.logs._open import CallerFlush
from steward.serving._batching import KernelSync, LogBatcher
from test_prediction_log import _anchors, _record

linux = pytest.mark.skipif(sys.platform != "linux", reason="Linux AIO is Linux's")


def test_in_caller_mode_the_sync_thread_leaves_flushing_to_the_caller(tmp_path: Path) -> None:
    with PredictionLog(tmp_path) as log:
        log.flush_by_caller(True)
        ticket = log.append([_record(1)])
        time.sleep(0.3)  # the sync thread would have flushed long ago
        assert log.settled < ticket
        log.flush_by_caller(False)  # handed back: the thread flushes what waits
        log.wait(ticket).result(timeout=5)
        assert log.outcome(ticket) is None


def test_a_caller_flush_settles_only_what_was_written_before_it_began(tmp_path: Path) -> None:
    import os

    with PredictionLog(tmp_path) as log:
        log.flush_by_caller(True)
        assert log.begin_flush(os.fdatasync) is None  # nothing written: nothing to flush
        first = log.append([_record(1)])
        submitted: list[int] = []
        flush = log.begin_flush(submitted.append)
        assert flush is not None and flush.target == first and len(submitted) == 1
        second = log.append([_record(2)])  # after the flush began: not covered by it
        os.fdatasync(submitted[0])  # what the kernel does for an AIO fdsync
        log.end_flush(flush, None)
        assert log.settled == first < second and log.outcome(first) is None
        again = log.begin_flush(os.fdatasync)
        assert again is not None and again.target == second
        log.end_flush(again, None)
        assert log.settled == second


def test_a_failed_caller_flush_fails_what_waits_and_cuts_it_from_the_segment(
    tmp_path: Path,
) -> None:
    import os

    with PredictionLog(tmp_path) as log:
        log.flush_by_caller(True)
        kept = log.append([_record(1)])
        flush = log.begin_flush(os.fdatasync)
        assert flush is not None
        log.end_flush(flush, None)
        lost = log.append([_record(2)])
        failing = log.begin_flush(lambda fd: None)
        assert failing is not None
        log.end_flush(failing, OSError(5, "Input/output error"))  # as the disk reports it
        assert isinstance(log.outcome(lost), OSError) and log.outcome(kept) is None
        assert log.segment_id is None  # the segment it was in is sealed without it
    assert find_requests(tmp_path, "credit", ["req-1", "req-2"]) == {"req-1"}
    assert verify_log(tmp_path, _anchors(tmp_path)).ok


def test_a_rotation_waiting_for_the_sync_thread_is_left_to_it(tmp_path: Path) -> None:
    with PredictionLog(tmp_path, max_records=1) as log:
        log.flush_by_caller(True)
        ticket = log.append([_record(1)])  # fills its segment: retired to the sync thread
        assert log.begin_flush(lambda fd: None) is None or log.settled >= ticket
        log.wait(ticket).result(timeout=5)  # the sync thread flushed, settled and sealed it
        assert log.outcome(ticket) is None
    assert [s.count for s in sealed_segments(tmp_path)] == [1]


def test_while_the_sync_thread_flushes_a_rotated_segment_no_caller_flush_may_settle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller's flush of the new segment must not settle the tickets of the rotated one
    before the sync thread's flush of it returned."""
    import os

    import steward.logs._writer as writer

    real = writer.sync  # type: ignore[attr-defined]
    entered, disk = threading.Event(), threading.Event()

    def slow(fd: int) -> None:  # a slow disk, not our code
        entered.set()
        disk.wait(10)
        real(fd)

    monkeypatch.setattr(writer, "sync", slow)
    with PredictionLog(tmp_path, max_records=2) as log:
        log.flush_by_caller(True)
        log.append([_record(1)])
        rotated = log.append([_record(2)])  # fills its segment: the sync thread flushes it
        assert entered.wait(5)
        fresh = log.append([_record(3)])  # in a new segment, open
        assert log.begin_flush(os.fdatasync) is None  # held off: the thread is flushing
        waited = log.after_thread_flush()
        assert not waited.done() and log.settled < rotated
        disk.set()
        waited.result(timeout=5)
        assert log.outcome(rotated) is None
        flush = log.begin_flush(os.fdatasync)
        if flush is not None:  # unless the thread's cycle covered it too
            log.end_flush(flush, None)
        log.wait(fresh).result(timeout=5)
        assert log.outcome(fresh) is None


async def _score(batcher: LogBatcher, requests: int) -> None:
    async def one(n: int) -> None:
        await asyncio.sleep(0)
        await batcher.write([_record(n)])

    await asyncio.gather(*(one(n) for n in range(requests)))


@pytest.mark.parametrize("kernel", [pytest.param(True, marks=linux), False])
def test_concurrent_requests_share_flushes_and_each_record_is_kept_once(
    tmp_path: Path, kernel: bool
) -> None:
    log = PredictionLog(tmp_path)

    async def run() -> bool:
        batcher = LogBatcher(log, kernel_sync=kernel)
        try:
            await _score(batcher, 300)
            return batcher.kernel_sync
        finally:
            batcher.close()

    used_kernel = asyncio.run(run())
    assert used_kernel is kernel  # the kernel's AIO, where asked for (this Linux has it)
    assert log.settled == 300 and all(log.outcome(t) is None for t in range(1, 301))
    assert log.batches < 300  # group commit: flushes shared between requests
    log.close()
    ids = [f"req-{n}" for n in range(300)]
    assert find_requests(tmp_path, "credit", ids) == set(ids)
    assert sum(s.count for s in sealed_segments(tmp_path)) == 300  # each record once
    assert verify_log(tmp_path, _anchors(tmp_path)).ok


@linux
def test_a_request_returns_only_once_its_flush_completed(tmp_path: Path) -> None:
    """Every write's await ends after a flush that began after it was written."""
    log = PredictionLog(tmp_path)
    began: list[int] = []
    real = log.begin_flush

    def noted(submit: Callable[[int], None]) -> CallerFlush | None:
        flush = real(submit)
        if flush is not None:
            began.append(flush.target)
        return flush

    log.begin_flush = noted  # type: ignore[method-assign]  # observe, change nothing

    async def run() -> None:
        batcher = LogBatcher(log)
        try:
            for n in range(20):
                await batcher.write([_record(n)])
                assert log.settled >= n + 1 and began and began[-1] >= n + 1
        finally:
            batcher.close()

    asyncio.run(run())
    log.close()


@linux
def test_the_kernel_reports_a_flush_of_a_closed_descriptor_as_an_error(tmp_path: Path) -> None:
    import os

    async def run() -> OSError | None:
        loop = asyncio.get_running_loop()
        sync = KernelSync(loop)
        fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
        try:
            try:
                sync.fdsync(fd, lambda error: None)
            except OSError as error:  # refused at submission (EBADF)
                return error
            return None
        finally:
            sync.close()

    assert isinstance(asyncio.run(run()), OSError)
