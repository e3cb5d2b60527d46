"""Group commit across a worker's concurrent requests, on the event loop's side.

A request's records are written to the log by the event loop's own thread
(``PredictionLog.append``: encoding and a ``write`` to the page cache, no hand-off). The
flush to the disk is submitted by the loop too, to the kernel's asynchronous I/O
(``KernelSync``: Linux AIO's ``fdsync``, through caio), and its completion arrives on an
eventfd the loop watches: no thread of ours waits for the disk, so none contends with the
model for the interpreter (decision 0045). One flush is in flight at a time; it covers every
record written before it began, and the records written meanwhile go in the next one, so the
number of flushes follows the disk's latency, not the request rate.

Where the kernel offers no AIO flush (another OS, a sandbox refusing ``io_setup``, a file
system refusing ``fdsync``), the log's sync thread flushes, and the loop asks the log to tell
it when the highest ticket it waits for settles: one thread-to-loop callback per flush,
however many requests it covers. Either way a request's await ends only when its records are
durable (or raises the error that failed them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["KernelSync", "LogBatcher"]

_log = logging.getLogger("steward.serving")


class KernelSync:
    """``fdatasync`` submitted to Linux AIO from an event loop's thread, its completion read
    from the AIO context's eventfd by the same loop. Raises ``OSError`` where the kernel or
    the platform offers none."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            from caio import linux_aio
        except ImportError as error:  # not Linux
            raise OSError(f"no Linux AIO here: {error}") from None
        try:
            self._context = linux_aio.Context(8)
        # io_setup refused: a sandbox, a limit of the kernel, a kernel without it
        except (SystemError, OSError, ValueError, NotImplementedError, RuntimeError) as error:
            raise OSError(f"Linux AIO refused: {error}") from None
        self._operation = linux_aio.Operation
        self._loop = loop
        self._in_flight: dict[int, Any] = {}  # kept alive until completed
        loop.add_reader(self._context.fileno, self._drain)

    def fdsync(self, fd: int, done: Callable[[OSError | None], None]) -> None:
        """Start flushing ``fd``'s data to the disk; ``done(None or the error)`` is called on
        the loop's thread once the kernel completed it. ``OSError`` when not submitted."""
        operation = self._operation.fdsync(fd)
        key = id(operation)

        def completed(_: int) -> None:
            self._in_flight.pop(key, None)
            try:
                operation.get_value()
            except SystemError as error:  # caio's report of the kernel's errno
                done(OSError(f"flushing the prediction log failed: {error}"))
                return
            done(None)

        operation.set_callback(completed)
        try:
            submitted = self._context.submit(operation)
        except (SystemError, ValueError, OverflowError, RuntimeError) as error:  # io_submit's
            raise OSError(f"the kernel refused the flush: {error}") from None
        if submitted != 1:
            raise OSError("the kernel did not take the flush")
        self._in_flight[key] = operation

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):  # completions coalesced: none to read
            self._context.poll()
        while self._context.process_events():
            pass

    def close(self) -> None:
        self._loop.remove_reader(self._context.fileno)


class LogBatcher:
    """Waits for the prediction log's flushes on behalf of one event loop's requests (not
    thread-safe: the loop's own coroutines only). ``kernel_sync=False``: the log's sync
    thread flushes, as where no AIO flush is offered."""

    def __init__(self, log: Any, *, kernel_sync: bool = True) -> None:
        self._log = log
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._watching = False  # the sync thread is to settle what waits
        self._flush: Any = None  # our flush in flight
        self._starting = False  # a flush (or a watch) is to start in this pass of the loop
        self._kernel: KernelSync | None = None
        self._kernel_wanted = kernel_sync and log.fsync

    async def write(self, records: list[Any]) -> None:
        """Return once ``records`` are durable."""
        log = self._log
        loop = asyncio.get_running_loop()
        if self._kernel_wanted:  # before the first append: its flush is ours too
            self._kernel_for(loop)
        ticket = log.append(records)  # OSError: nothing of it was kept
        if ticket <= log.settled:
            error = log.outcome(ticket)
            if error is not None:
                raise error
            return
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append((ticket, done))
        self._progress(loop)
        await done

    def close(self) -> None:
        """Stop watching the AIO context (the log's own ``close`` flushes what is left)."""
        if self._kernel is not None:
            self._kernel.close()
            self._kernel = None
            self._log.flush_by_caller(False)

    @property
    def kernel_sync(self) -> bool:
        """Whether flushes go through the kernel's AIO (else the log's sync thread)."""
        return self._kernel is not None

    # -- what settles the waiting tickets ---------------------------------------------

    def _progress(self, loop: asyncio.AbstractEventLoop) -> None:
        """Make sure something will settle what waits: our flush, or the sync thread. The
        flush starts once the loop has run what is ready now, so that the requests scored in
        one pass of the loop share it."""
        if self._flush is not None or self._watching or self._starting:
            return
        self._starting = True
        loop.call_soon(self._start, loop)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._starting = False
        if not self._waiting:
            return
        kernel = self._kernel  # made by the first write, if the kernel offers it
        if kernel is not None:
            try:
                self._flush = self._log.begin_flush(lambda fd: kernel.fdsync(fd, self._flushed))
            except OSError as error:  # refused at submission: the sync thread from now on
                _log.warning("Linux AIO refused a flush (%s): the log's thread flushes", error)
                self.close()
            if self._flush is not None:
                return
        self._watch(loop)

    def _kernel_for(self, loop: asyncio.AbstractEventLoop) -> KernelSync | None:
        if self._kernel is None and self._kernel_wanted:
            self._kernel_wanted = False  # tried once per process
            try:
                self._kernel = KernelSync(loop)
            except OSError as error:
                _log.warning("no Linux AIO flush (%s): the prediction log's thread flushes", error)
                return None
            self._log.flush_by_caller(True)
        return self._kernel

    def _flushed(self, error: OSError | None) -> None:  # on the loop, from KernelSync
        flush, self._flush = self._flush, None
        self._log.end_flush(flush, error)
        self._release(asyncio.get_running_loop())

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait for the sync thread: for the highest ticket waiting, when it flushes for
        us; for its flush (a rotation, say) to end, when we flush and it holds us off."""
        self._watching = True
        highest = max(ticket for ticket, _ in self._waiting)

        def settled(_: Future[None]) -> None:  # in the log's sync thread (or here, at once)
            loop.call_soon_threadsafe(self._watched, loop)

        log = self._log
        waited = log.after_thread_flush() if self._kernel is not None else log.wait(highest)
        waited.add_done_callback(settled)

    def _watched(self, loop: asyncio.AbstractEventLoop) -> None:
        self._watching = False
        self._release(loop)

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        log = self._log
        settled = log.settled
        waiting = []
        for ticket, done in self._waiting:
            if ticket > settled:
                waiting.append((ticket, done))
                continue
            if done.done():  # the request was cancelled (its client went away)
                continue
            error = log.outcome(ticket)
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(None)
        self._waiting = waiting
        if waiting:
            self._progress(loop)
