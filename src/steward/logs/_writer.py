"""The writer: appends in the caller's thread, group commit in a sync thread, rotation and
sealing.

``append`` encodes a submission and writes it to the open segment at once, in the caller's
thread (a ``write`` to the page cache: microseconds), and returns its *ticket*, a number that
grows by one per submission. One sync thread makes what was written durable: it notes the
highest ticket written, flushes the segment to the disk once (``fdatasync``), and settles
every ticket up to that one; whatever is appended while it waits for the disk is covered by
its next flush, so the number of flushes grows with the disk's latency, not with the request
rate. A settled ticket is durable (its records survive a kill of the process and, with
``fsync=True``, a power loss) or failed (its records were cut from the file again).

Why the caller writes: a server's event loop handing each request to a writer thread pays
for two interpreter-lock hand-offs and the encoding done on the other thread; on two cores
that cost more than the model. Here the loop thread encodes and writes, and the sync thread
holds the interpreter only to note a number and settle.

Even that costs a server: a thread back from ``fdatasync`` waits for the interpreter while the
loop runs a model whose native code releases and retakes it hundreds of times a request, and
each release wakes the waiter in vain (measured: ~24 futile wake-ups and ~1 ms of CPU per
request). So the caller may flush instead (:meth:`PredictionLog.flush_by_caller`): it submits
the flush to the kernel (``begin_flush``; the server uses Linux AIO's ``fdsync``), is told of
its completion by its own event loop, and settles (``end_flush``); the sync thread then only
rotates, ages and seals segments.

Sealing (flush, manifest, then the lock is released) happens on the sync thread; ``on_sealed``
runs on a thread of its own, so the caller's ledger write and compaction never stall commits.

Exactly-once rests on three things: a record is written once, under the lock that orders
every write of the segment; a ticket settles as durable only after a flush that began after
its write returned; and recovery removes only bytes no flush covered (a torn last line), never
a complete record. A failed flush fails every unsettled ticket and cuts each segment they were
in back to its last flush, then sealed: no record of a failed submission stays in a sealed
segment.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any

from steward.logs._batch import PredictionBatch
from steward.logs._layout import sync, write_all
from steward.logs._open import CallerFlush, OpenSegment, advance
from steward.logs._record import PredictionRecord, canonical_bytes
from steward.logs._segment import SealedSegment, seal

__all__ = ["PredictionLog"]

Record = PredictionRecord | PredictionBatch  # a line of a segment

_FAILURES_KEPT = 1024  # failed ticket ranges remembered for outcome()


class PredictionLog:
    """The durable prediction log of one process (one per server worker, made after any fork).

    ``root`` is the log's folder (shared by every worker); a segment is sealed when it
    holds ``max_records`` records or ``max_bytes`` bytes (a batch record of many rows is
    large; a segment may pass it by one submission), or is ``max_age_seconds`` old (checked
    also while idle), and by :meth:`close`. ``on_sealed`` is called with each segment
    sealed, in order, from a thread of its own (so a slow ledger write or compaction never
    holds up commits; :meth:`close` waits for it): the caller anchors ``(segment_id, count,
    digest)`` in the ledger. Its exceptions are kept in :attr:`errors` and stop nothing
    (the caller finds the segment again with :func:`~steward.logs.unanchored` on its next
    start). ``fsync=False`` skips the flush to the disk (tests and benchmarks only: records
    then survive a killed process, not a power loss). Nothing is created until the first
    record is submitted.
    """

    def __init__(
        self,
        root: Path,
        *,
        max_records: int = 100_000,
        max_bytes: int = 64 << 20,
        max_age_seconds: float = 300.0,
        on_sealed: Callable[[SealedSegment], None] | None = None,
        fsync: bool = True,
    ) -> None:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        if not max_age_seconds > 0:
            raise ValueError("max_age_seconds must be positive")
        self.root = Path(root)
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds
        self.on_sealed = on_sealed
        self.fsync = fsync
        self._cond = threading.Condition()
        self._open: OpenSegment | None = None
        self._retired: list[OpenSegment] = []  # full or old segments: to flush and seal
        self._written = 0  # the last ticket handed out
        self._settled = 0  # every ticket up to this one is durable or failed
        self._failed: list[tuple[int, int, BaseException]] = []  # (after, up to, why)
        self._waiters: list[tuple[int, Future[None]]] = []
        self._closing = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._failure: BaseException | None = None
        self._errors: list[BaseException] = []
        self._notifier: threading.Thread | None = None
        self._sealed_queue: queue.SimpleQueue[SealedSegment | None] = queue.SimpleQueue()
        self._batches = 0
        self._records = 0
        self._sealed = 0
        self._caller_flushes = False
        self._cycling = False  # the sync thread is flushing: a caller's flush must wait
        self._cycle_waiters: list[Future[None]] = []
        self._thread_done = False

    # -- the callers' side --------------------------------------------------------------

    def append(self, records: Sequence[Record]) -> int:
        """Write ``records`` (in order, consecutively in one segment) now, in this thread,
        and return their ticket: they are durable once :attr:`settled` reaches it and
        :meth:`outcome` says so (or use :meth:`wait`). Thread-safe. Raises ``OSError`` when
        the write failed (nothing of it stays), ``RuntimeError`` after :meth:`close`, after
        the writer failed, or in a process forked from the one that started it;
        ``TypeError`` for something not a :class:`PredictionRecord` or a
        :class:`PredictionBatch` (one record each). Nothing to write: 0,
        always settled.
        """
        batch = tuple(records)
        for record in batch:
            if not isinstance(record, PredictionRecord | PredictionBatch):
                raise TypeError(f"not a PredictionRecord: {type(record).__name__}")
        if not batch:
            return 0
        due: list[tuple[int, Future[None]]] = []
        with self._cond:
            self._check_usable()
            current = self._open
            if current is not None and current.count + len(batch) > self.max_records:
                self._retire()  # whole submissions only; a segment takes at least one
                current = None
            if current is None:
                current = OpenSegment(self.root)  # OSError: nothing was written
                self._open = current
            self._write(current, batch)
            self._written += 1
            ticket = self._written
            self._records += len(batch)
            if current.count >= self.max_records or current.state.size >= self.max_bytes:
                self._retire()
            if not self.fsync:  # written is as durable as it gets
                due = self._settle(ticket, None)
            if not self._caller_flushes:
                self._cond.notify()
        for _, future in due:
            _resolve(future, None)
        return ticket

    def submit(self, records: Sequence[Record]) -> Future[None]:
        """:meth:`append` ``records`` and return a future that resolves to ``None`` when they
        are durable, or to the write's exception. From an event loop: ``await
        asyncio.wrap_future(log.submit(records))``. Thread-safe. Raises as :meth:`append`
        does, except for a failed write, which is the future's exception.
        """
        try:
            ticket = self.append(records)
        except OSError as error:
            failed: Future[None] = Future()
            failed.set_exception(error)
            return failed
        return self.wait(ticket)

    def wait(self, ticket: int) -> Future[None]:
        """A future that resolves when ``ticket`` settles: to ``None`` when durable, else to
        the exception that failed it. It resolves in the sync thread (or at once)."""
        future: Future[None] = Future()
        with self._cond:
            if ticket > self._settled:
                self._waiters.append((ticket, future))
                return future
        _resolve(future, self.outcome(ticket))
        return future

    def outcome(self, ticket: int) -> BaseException | None:
        """For a settled ``ticket``: ``None`` when its records are durable, else why they are
        not. ``ValueError`` for a ticket not settled yet."""
        with self._cond:
            if ticket > self._settled:
                raise ValueError(f"ticket {ticket} is not settled yet")
            for after, up_to, why in reversed(self._failed):
                if after < ticket <= up_to:
                    return why
            return None

    # -- flushes made by the caller ------------------------------------------------------

    def flush_by_caller(self, on: bool = True) -> None:
        """``on``: from now on the caller flushes what it appends (:meth:`begin_flush`, then
        :meth:`end_flush`: an event loop submitting the flush to the kernel's asynchronous
        I/O, say), and the sync thread flushes only a segment it rotates, ages out or seals;
        ``False`` hands every flush back to the sync thread."""
        with self._cond:
            self._caller_flushes = on
            self._cond.notify()

    def begin_flush(self, submit: Callable[[int], None]) -> CallerFlush | None:
        """Start a flush of the open segment: ``submit(fd)`` is called holding the log's
        lock (so the descriptor is still this segment's) and must start the flush without
        waiting for it; call :meth:`end_flush` once it completed. ``None`` when there is
        nothing for the caller to flush: every ticket is settled, or the sync thread has a
        flush to make or is making one, which the caller must let end first (use
        :meth:`after_thread_flush`).
        Raises what ``submit`` raises, having changed nothing."""
        with self._cond:
            current = self._open
            if (
                self._closing
                or self._failure is not None
                or self._retired
                or self._cycling  # its target may hold tickets of a segment it is flushing
                or current is None
                or self._written <= self._settled
                or not current.unflushed
            ):
                return None
            flush = CallerFlush(current, self._written, current.state.checkpoint())
            submit(current.fd)
            return flush

    def after_thread_flush(self) -> Future[None]:
        """A future resolved once the sync thread has finished the flush it is making or is
        due to make (a rotation, an ageing, a close), at once when it has none: what to wait
        for when :meth:`begin_flush` returned ``None``."""
        future: Future[None] = Future()
        with self._cond:
            due = self._cycling or self._retired or self._closing
            if due and not self._thread_done and self._thread is not None:
                self._cycle_waiters.append(future)
                return future
        future.set_result(None)
        return future

    def end_flush(self, flush: CallerFlush, error: OSError | None) -> None:
        """Settle the tickets ``flush`` covered: durable; or, after ``error``, failed with
        every ticket not settled yet, their records cut from the segment again, as after a
        failed flush of the sync thread."""
        if error is not None:
            self._failed_flush(error, [])
            return
        with self._cond:
            advance(flush.segment, flush.checkpoint)
            due = self._settle(flush.target, None)
        for _, future in due:
            _resolve(future, None)

    @property
    def settled(self) -> int:
        """Every ticket up to this one is durable or failed (see :meth:`outcome`)."""
        return self._settled

    def close(self) -> None:
        """Flush what was written, seal the open segment, stop the writer. Idempotent."""
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
        """Group commits so far: each flushed to the disk once for every submission since
        the one before."""
        return self._batches

    @property
    def records(self) -> int:
        """Records written so far."""
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

    # -- under the lock ---------------------------------------------------------------------

    def _check_usable(self) -> None:
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

    def _write(self, current: OpenSegment, batch: tuple[Record, ...]) -> None:
        segment_id = current.state.segment_id
        seq = current.count
        parts: list[bytes] = []
        added: list[tuple[str, str, str]] = []
        sha256 = hashlib.sha256
        for record in batch:
            body = canonical_bytes(record, segment_id, seq)
            digest = sha256(body).hexdigest()
            parts.append(b'%s,"hash":"%s"}\n' % (body[:-1], digest.encode()))
            added.append((digest, record.time, record.endpoint))
            seq += 1
        data = b"".join(parts)
        try:
            write_all(current.fd, data)
        except OSError:
            try:  # a part may have reached the file: cut it off again
                os.ftruncate(current.fd, current.state.size)
            except OSError as error:
                self._errors.append(error)
                current.torn = True  # never sealed by this process: recovery trims it
            self._retire()
            raise
        state = current.state
        for record_hash, when, endpoint in added:
            state.add(record_hash, when, endpoint)
        state.wrote(data)

    def _retire(self) -> None:
        """Hand the open segment to the sync thread, to flush and seal; the next append
        opens a new one."""
        if self._open is not None:
            self._retired.append(self._open)
            self._open = None
            self._cond.notify()

    def _settle(self, up_to: int, error: BaseException | None) -> list[tuple[int, Future[None]]]:
        """Mark every ticket up to ``up_to`` settled (durable, or failed by ``error``); the
        waiters now due, for the caller to resolve outside the lock."""
        after = self._settled
        if up_to <= after:
            return []
        self._settled = up_to
        if error is not None:
            self._failed.append((after, up_to, error))
            del self._failed[:-_FAILURES_KEPT]
        else:
            self._batches += 1
        if not self._waiters:
            return []
        due = [w for w in self._waiters if w[0] <= up_to]
        if due:
            self._waiters = [w for w in self._waiters if w[0] > up_to]
        return due

    # -- the sync thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while self._cycle():
                pass
            self._cycle_done(last=True)
        except BaseException as failure:  # a fault of the writer itself: fail, never hang
            with self._cond:
                self._failure = failure
                due = self._settle(self._written, failure)
                due += self._waiters
                self._waiters = []
                segments = [*self._retired, *([self._open] if self._open else [])]
                self._retired, self._open = [], None
            for _, future in due:
                _resolve(future, failure)
            for segment in segments:  # unsealed: recovery seals them
                os.close(segment.fd)
            self._cycle_done(last=True)
            raise

    def _cycle(self) -> bool:
        """Flush and settle what was written, seal what was retired; ``False`` once closed
        and done."""
        with self._cond:
            while not (
                self._closing
                or self._retired
                or (self._written > self._settled and not self._caller_flushes)
                or self._aged()
            ):
                self._cond.wait(self._until_rotation())
            if self._open is not None and (self._closing or self._aged()):
                self._retire()
            target = self._written
            retired, self._retired = self._retired, []
            current = self._open
            flushed = current.state.checkpoint() if current and current.unflushed else None
            closing = self._closing
            self._cycling = True
        try:
            try:
                if self.fsync:
                    for segment in retired:
                        if segment.unflushed:
                            sync(segment.fd)
                    if flushed is not None and current is not None:
                        sync(current.fd)
            except OSError as error:
                self._failed_flush(error, retired)
                return not closing
            with self._cond:
                if current is not None and flushed is not None:
                    advance(current, flushed)
                due = self._settle(target, None)
            for _, future in due:
                _resolve(future, None)
        finally:
            self._cycle_done()
        for segment in retired:
            self._seal(segment)
        return not closing

    def _cycle_done(self, *, last: bool = False) -> None:
        with self._cond:
            self._cycling = False
            self._thread_done = self._thread_done or last
            waiters, self._cycle_waiters = self._cycle_waiters, []
        for future in waiters:
            _resolve(future, None)

    def _failed_flush(self, error: OSError, retired: list[OpenSegment]) -> None:
        """A flush failed: fail every unsettled ticket, and cut each segment that may hold
        their records back to its last flush and seal that."""
        with self._cond:
            segments = [*retired, *self._retired, *([self._open] if self._open else [])]
            self._retired, self._open = [], None
            due = self._settle(self._written, error)
        for _, future in due:
            _resolve(future, error)
        for segment in segments:
            self._abandon(segment)

    def _abandon(self, segment: OpenSegment) -> None:
        try:
            os.ftruncate(segment.fd, segment.flushed[1])
            segment.state.restore(segment.flushed)
            sync(segment.fd)
        except OSError as error:
            self._errors.append(error)
            os.close(segment.fd)  # unsealed: recovery seals it
            return
        self._seal(segment)

    def _aged(self) -> bool:
        wait = self._until_rotation()
        return wait is not None and wait <= 0

    def _until_rotation(self) -> float | None:
        current = self._open
        if current is None:
            return None
        return current.opened + self.max_age_seconds - time.monotonic()

    def _seal(self, segment: OpenSegment) -> None:
        if segment.count == 0:  # its only write failed: nothing to keep
            segment.path.unlink(missing_ok=True)
            os.close(segment.fd)
            return
        if segment.torn:
            os.close(segment.fd)  # its tail is unknown: recovery trims and seals it
            return
        try:
            sealed = seal(self.root, segment.state)
        except OSError as error:
            self._errors.append(error)
            return
        finally:
            os.close(segment.fd)  # the lock goes only after the manifest is written
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


def _resolve(future: Future[Any], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
