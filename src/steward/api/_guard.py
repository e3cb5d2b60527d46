"""Who may call the API: strict bearer authentication, and a limit on failed attempts.

A process keeps the identities its tokens stood for (``ServerState.authenticate``: no
database round trip on the scoring path, emptied when the ledger moves) and, on every API
call, checks the token has not been revoked since (one indexed read), so a revocation made
through any process is refused at once by all of them. A client address that sends
``LIMIT`` tokens that do not authenticate within ``WINDOW_SECONDS`` is answered 429 until
the window has passed, whatever token it sends: guessing tokens costs a sliding window per
address (asking without a token guesses nothing and is not counted).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from steward.errors import AuthenticationError, RateLimited

if TYPE_CHECKING:
    from steward.domain import Actor

__all__ = ["LIMIT", "WINDOW_SECONDS", "FailureLimiter", "authenticate"]

LIMIT = 10
WINDOW_SECONDS = 60.0
_MAX_CLIENTS = 10_000


class FailureLimiter:
    """Failed authentications per client address, in a sliding window (one per process)."""

    def __init__(self, limit: int = LIMIT, window: float = WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """``RateLimited`` while ``client`` is over the limit."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(client)
            if failures is None:
                return
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if not failures:
                del self._failures[client]
                return
            if len(failures) >= self.limit:
                retry = max(1, int(failures[0] + self.window - now) + 1)
                raise RateLimited(
                    f"too many failed authentications from {client}: retry in {retry} s",
                    details={"retry_after": retry},
                )

    def failed(self, client: str) -> None:
        with self._lock:
            if len(self._failures) >= _MAX_CLIENTS and client not in self._failures:
                self._failures.clear()  # bounded memory under a spray of addresses
            self._failures.setdefault(client, deque()).append(time.monotonic())


def authenticate(
    state: Any, limiter: FailureLimiter, token: str | None, client: str
) -> tuple[Actor, int]:
    """The actor of ``token``, strictly, for an API call from ``client``, and the ledger's
    head sequence read with its revocation check."""
    limiter.check(client)
    try:
        actor: Actor = state.authenticate(token)
        head: int = state.app.identity.still_active(actor)
    except AuthenticationError:
        if token:  # a token that does not authenticate; asking without one guesses nothing
            limiter.failed(client)
        raise
    return actor, head
