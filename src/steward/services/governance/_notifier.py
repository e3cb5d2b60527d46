"""When queued webhook notifications are sent: the edge decides, the services only say so.

A governance call queues its notifications in the transaction of its change (the outbox in
``_webhooks.py``) and then tells its ``Notifier`` that some may be waiting. The CLI and the
SDK send them at once, one attempt each, before the command returns (``InlineDelivery``); a
server must not make a request wait on somebody else's webhook receiver, so it hands the work
to its own background loop (``DeferredDelivery``). Either way failures stay in the delivery
log and ``steward webhook deliver`` retries them with backoff.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from steward.domain import Delivery
    from steward.services.governance._webhooks import WebhookService

__all__ = ["DeferredDelivery", "InlineDelivery", "Notifier"]


class Notifier(Protocol):
    def notify(self) -> None:
        """Notifications may have been queued: see that they are sent (now or soon)."""


class InlineDelivery:
    """One attempt at every due delivery, right away, in the caller's thread (the CLI)."""

    def __init__(self, webhooks: WebhookService) -> None:
        self._webhooks = webhooks

    def notify(self) -> None:
        self._webhooks.deliver()


class DeferredDelivery:
    """Remembers that deliveries are waiting; a server's background loop sends them with
    ``run_pending`` (or waits for work with ``wait``). ``notify`` never does I/O, so a
    request thread returns as soon as its transaction has committed."""

    def __init__(self, webhooks: WebhookService) -> None:
        self._webhooks = webhooks
        self._waiting = threading.Event()

    def notify(self) -> None:
        self._waiting.set()

    @property
    def pending(self) -> bool:
        return self._waiting.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ``notify`` was called (``True``) or ``timeout`` seconds passed."""
        return self._waiting.wait(timeout)

    def run_pending(self) -> list[Delivery]:
        """Attempt the deliveries that are due, if any were announced; return them."""
        if not self._waiting.is_set():
            return []
        self._waiting.clear()  # before sending: a notify meanwhile is seen by the next round
        return self._webhooks.deliver()
