"""Group commit across a worker's concurrent requests, on the event loop's side.

A request's records are written to the log by the event loop's own thread
(``PredictionLog.append``: encoding and a ``write`` to the page cache, no hand-off); only the
flush to the disk happens on the log's sync thread. Each request then waits for its ticket to
settle. The loop asks the log to tell it when the highest ticket it waits for settles — one
thread-to-loop callback per flush, however many requests it covers — and then answers every
request whose ticket is settled; a request's await ends only when its records are durable
(or raises the error that failed them).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

__all__ = ["LogBatcher"]


class LogBatcher:
    """Waits for the prediction log's flushes on behalf of one event loop's requests (not
    thread-safe: the loop's own coroutines only)."""

    def __init__(self, log: Any) -> None:
        self._log = log
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._watching = False

    async def write(self, records: list[Any]) -> None:
        """Return once ``records`` are durable."""
        log = self._log
        ticket = log.append(records)  # OSError: nothing of it was kept
        if ticket <= log.settled:
            error = log.outcome(ticket)
            if error is not None:
                raise error
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append((ticket, done))
        if not self._watching:
            self._watch(loop)
        await done

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        self._watching = True
        highest = max(ticket for ticket, _ in self._waiting)

        def settled(_: Future[None]) -> None:  # in the log's sync thread (or here, at once)
            loop.call_soon_threadsafe(self._release, loop)

        self._log.wait(highest).add_done_callback(settled)

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        self._watching = False
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
            self._watch(loop)
