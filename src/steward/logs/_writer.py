"""The writer: one background thread, group commit, rotation and sealing.

``submit`` only queues. The writer thread takes everything queued at once, appends it to the
open segment in one ``write``, flushes it to the disk once (``fdatasync``) and then resolves
the futures of the whole batch: while it waits for the disk, new submissions queue up and
become the next batch, so the number of disk flushes grows with the disk's latency, not with
the request rate. Before taking a batch smaller than the last one (plus what queued during
its flush), the writer waits up to half a flush (at most 2 ms) for the callers it just
answered: without that, concurrent callers settle into two groups that alternate, each
waiting out the other's flush, and get half the throughput. A future that resolves without
an exception means its records are durable: they survive a kill of the process (and, with
``fsync=True``, a power loss).

Sealing (manifest, then the lock is released) happens on the writer thread; ``on_sealed``
runs on a thread of its own, so the caller's ledger write and compaction never stall commits.

Exactly-once rests on three things: a record is written once, by the only thread that writes
the segment; a future resolves only after the flush that covers its records returned; and
recovery removes only bytes no flush covered (a torn last line), never a complete record.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType

from steward.logs._layout import (
    fsync_dir,
    make_dirs,
    new_segment_id,
    segment_path,
    segments_dir,
    sync,
    write_all,
)
from steward.logs._record import PredictionRecord, canonical_bytes
from steward.logs._segment import SealedSegment, SegmentState, seal

__all__ = ["PredictionLog"]

_MAX_GATHER_SECONDS = 0.002
_Submission = tuple[tuple[PredictionRecord, ...], Future[None]]


class _Open:
    """The writer thread's open segment: its locked descriptor and what sealing needs."""

    def __init__(self, root: Path) -> None:
        self.state = SegmentState(new_segment_id())
        folder = segments_dir(root)
        make_dirs(folder)
        final = segment_path(root, self.state.segment_id)
        # Locked before it has its name: recovery in another process globs *.jsonl and must
        # never find a live segment unlocked (it would seal or delete it under the writer).
        tmp = folder / f".{final.name}.tmp"
        self.fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(tmp, final)
            fsync_dir(folder)
        except BaseException:
            os.close(self.fd)
            tmp.unlink(missing_ok=True)
            raise
        self.path = final
        self.opened = time.monotonic()

    @property
    def count(self) -> int:
        return len(self.state.hashes)


class PredictionLog:
    """The durable prediction log of one process (one per server worker, made after any fork).

    ``root`` is the log's folder (shared by every worker); a segment is sealed when it holds
    ``max_records`` records or is ``max_age_seconds`` old (checked also while idle), and by
    :meth:`close`. ``on_sealed`` is called with each segment sealed, in order, from a thread
    of its own (so a slow ledger write or compaction never holds up commits; :meth:`close`
    waits for it): the caller anchors ``(segment_id, count, digest)`` in the ledger. Its
    exceptions are kept in :attr:`errors` and stop nothing (the caller finds the segment
    again with :func:`~steward.logs.unanchored` on its next start). ``fsync=False`` skips
    the flush to the disk (tests and benchmarks only: records then survive a killed process,
    not a power loss). Nothing is created until the first record is submitted.
    """

    def __init__(
        self,
        root: Path,
        *,
        max_records: int = 100_000,
        max_age_seconds: float = 300.0,
        on_sealed: Callable[[SealedSegment], None] | None = None,
        fsync: bool = True,
    ) -> None:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        if not max_age_seconds > 0:
            raise ValueError("max_age_seconds must be positive")
        self.root = Path(root)
        self.max_records = max_records
        self.max_age_seconds = max_age_seconds
        self.on_sealed = on_sealed
        self.fsync = fsync
        self._cond = threading.Condition()
        self._queue: list[_Submission] = []
        self._closing = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._failure: BaseException | None = None
        self._errors: list[BaseException] = []
        self._notifier: threading.Thread | None = None
        self._sealed_queue: queue.SimpleQueue[SealedSegment | None] = queue.SimpleQueue()
        self._open: _Open | None = None
        self._batches = 0
        self._records = 0
        self._sealed = 0
        self._expected = 0  # submissions likely to be queued for the next batch
        self._wake_at = 1  # how many queued submissions the waiting writer needs
        self._last_flush = 0.0

    # -- the callers' side --------------------------------------------------------------

    def submit(self, records: Sequence[PredictionRecord]) -> Future[None]:
        """Queue ``records`` (in order, consecutively in one segment); return at once a future
        that resolves to ``None`` when they are durable, or to the write's exception. From an
        event loop: ``await asyncio.wrap_future(log.submit(records))``. Thread-safe. A future
        cancelled before the writer takes it is not written. Raises ``RuntimeError`` after
        :meth:`close`, after the writer failed, or in a process forked from the one that
        started the writer; ``TypeError`` for something not a :class:`PredictionRecord`.
        """
        batch = tuple(records)
        for record in batch:
            if not isinstance(record, PredictionRecord):
                raise TypeError(f"not a PredictionRecord: {type(record).__name__}")
        future: Future[None] = Future()
        if not batch:
            future.set_result(None)
            return future
        with self._cond:
            if self._closing:
                raise RuntimeError("the prediction log is closed")
            if self._failure is not None:
                raise RuntimeError("the prediction log's writer failed") from self._failure
            if self._thread is None:
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="steward-prediction-log", daemon=True
                )
                self._thread.start()
            elif self._pid != os.getpid():
                raise RuntimeError("a PredictionLog cannot cross a fork: make one per process")
            self._queue.append((batch, future))
            if len(self._queue) >= self._wake_at:
                self._cond.notify()
        return future

    def close(self) -> None:
        """Write what is queued, seal the open segment, stop the writer. Idempotent."""
        with self._cond:
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        notifier = self._notifier
        if notifier is not None and notifier is not threading.current_thread():
            self._sealed_queue.put(None)
            notifier.join()
            self._notifier = None

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def batches(self) -> int:
        """Group commits so far: each wrote one batch and flushed it once."""
        return self._batches

    @property
    def records(self) -> int:
        """Records written (and flushed) so far."""
        return self._records

    @property
    def sealed(self) -> int:
        """Segments sealed so far by this log."""
        return self._sealed

    @property
    def segment_id(self) -> str | None:
        """The open segment's id (``None`` before the first record and after sealing)."""
        current = self._open
        return None if current is None else current.state.segment_id

    @property
    def errors(self) -> tuple[BaseException, ...]:
        """Exceptions from sealing or from ``on_sealed``, oldest first (kept, not raised)."""
        return tuple(self._errors)

    # -- the writer thread ----------------------------------------------------------------

    def _run(self) -> None:
        batch: list[_Submission] = []
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._closing:
                        wait = self._until_rotation()
                        if wait is not None and wait <= 0:
                            break
                        self._cond.wait(wait)
                    self._gather()
                    batch, self._queue = self._queue, []
                    closing = self._closing
                if batch:
                    self._write(batch)
                    batch = []
                wait = self._until_rotation()
                if self._open is not None and (closing or (wait is not None and wait <= 0)):
                    self._seal()
                if closing:
                    return
        except BaseException as failure:  # a fault of the writer itself: fail, never hang
            with self._cond:
                self._failure = failure
                batch += self._queue
                self._queue = []
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            if self._open is not None:
                os.close(self._open.fd)  # unsealed: recovery seals it
                self._open = None
            raise

    def _gather(self) -> None:
        """Wait a little (at most half a flush) for the submitters just answered to come back,
        so concurrent callers share one flush instead of settling into two alternating
        groups, each waiting out the other's flush. Called holding the condition."""
        if self._closing or not self._queue or len(self._queue) >= self._expected:
            return
        deadline = time.monotonic() + min(_MAX_GATHER_SECONDS, self._last_flush / 2)
        self._wake_at = self._expected  # one wake-up, not one per submission
        try:
            while len(self._queue) < self._expected and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)
        finally:
            self._wake_at = 1

    def _until_rotation(self) -> float | None:
        current = self._open
        if current is None:
            return None
        return current.opened + self.max_age_seconds - time.monotonic()

    def _write(self, batch: list[_Submission]) -> None:
        ready = [item for item in batch if item[1].set_running_or_notify_cancel()]
        while ready:
            try:
                if self._open is None:
                    self._open = _Open(self.root)
            except OSError as error:
                for _, future in ready:
                    future.set_exception(error)
                return
            current = self._open
            # Whole submissions only; a segment takes at least one, however large.
            room = self.max_records - current.count
            take = 0
            while take < len(ready):
                size = len(ready[take][0])
                if size > room and not (take == 0 and current.count == 0):
                    break
                room -= size
                take += 1
            if take == 0:
                self._seal()
                continue
            chunk, ready = ready[:take], ready[take:]
            self._commit(current, chunk)
            if self._open is current and current.count >= self.max_records:
                self._seal()

    def _commit(self, current: _Open, chunk: list[_Submission]) -> None:
        segment_id = current.state.segment_id
        seq = current.count
        parts: list[bytes] = []
        added: list[tuple[str, str, str]] = []
        for records, _ in chunk:
            for record in records:
                body = canonical_bytes(record, segment_id, seq)
                digest = hashlib.sha256(body).hexdigest()
                parts.append(b'%s,"hash":"%s"}\n' % (body[:-1], digest.encode()))
                added.append((digest, record.time, record.endpoint))
                seq += 1
        data = b"".join(parts)
        started = time.monotonic()
        try:
            write_all(current.fd, data)
            if self.fsync:
                sync(current.fd)
        except OSError as error:
            for _, future in chunk:
                future.set_exception(error)
            self._abandon(current)
            return
        for record_hash, when, endpoint in added:
            current.state.add(record_hash, when, endpoint)
        current.state.wrote(data)
        self._last_flush = time.monotonic() - started
        self._batches += 1
        self._records += len(added)
        for _, future in chunk:
            future.set_result(None)
        with self._cond:
            self._expected = len(chunk) + len(self._queue)

    def _abandon(self, current: _Open) -> None:
        """After a failed write or flush, never write the segment again: cut it back to what
        was flushed and seal that; if even that fails, leave it to recovery."""
        self._open = None
        try:
            os.ftruncate(current.fd, current.state.size)
            sync(current.fd)
        except OSError as error:
            self._errors.append(error)
            os.close(current.fd)
            return
        if current.count == 0:
            current.path.unlink(missing_ok=True)
            os.close(current.fd)
            return
        self._open = current
        self._seal()

    def _seal(self) -> None:
        current = self._open
        if current is None:
            return
        self._open = None
        try:
            sealed = seal(self.root, current.state)
        except OSError as error:
            self._errors.append(error)
            return
        finally:
            os.close(current.fd)  # the lock goes only after the manifest is written
        self._sealed += 1
        if self.on_sealed is not None:
            if self._notifier is None:
                self._notifier = threading.Thread(
                    target=self._notify, name="steward-prediction-log-sealed", daemon=True
                )
                self._notifier.start()
            self._sealed_queue.put(sealed)

    def _notify(self) -> None:
        """The callback thread: ``on_sealed`` may take its time (a ledger write, a
        compaction) without holding up the commits of the writer thread."""
        callback = self.on_sealed
        while (sealed := self._sealed_queue.get()) is not None:
            try:
                if callback is not None:
                    callback(sealed)
            except Exception as error:
                self._errors.append(error)
