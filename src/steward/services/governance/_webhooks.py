"""Webhooks: notifications of governance events, HMAC-signed, retried with backoff, logged.

A notification is queued in the same transaction as the change it reports (an outbox), so a
change is never reported without having happened, nor lost when a receiver is down. Sending
is separate: right after the command that queued it (one attempt), then by
``steward webhook deliver`` for the deliveries that are due, each failure doubling the wait
(``BASE_DELAY`` seconds, then twice that...) until ``MAX_ATTEMPTS`` attempts have failed.

Each delivery is a JSON POST with the headers ``X-Steward-Event``, ``X-Steward-Delivery`` and
``X-Steward-Signature: sha256=HEX``, the HMAC-SHA256 of the exact body under the webhook's
secret (shown once, when the webhook is added).

Events: ``approval.requested`` (a promotion was refused for want of approvals),
``gate.failed`` (a promotion was refused by its gate), ``version.promoted``,
``version.rejected``, ``monitor.alert`` (a monitor run raised an alert whose rule notifies).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from steward.domain import Actor, Delivery, Permission, Webhook, WebhookAdded, WebhookRemoved
from steward.errors import InvalidInput, NotFound
from steward.services._access import require
from steward.services._records import record_event
from steward.services._secrets import SecretBox
from steward.store import Store, Writer
from steward.types import utc_iso

__all__ = [
    "BASE_DELAY",
    "EVENTS",
    "MAX_ATTEMPTS",
    "WebhookService",
    "queue_notifications",
    "signature",
]

EVENTS = (
    "approval.requested",
    "gate.failed",
    "version.promoted",
    "version.rejected",
    "monitor.alert",
)
MAX_ATTEMPTS = 5
BASE_DELAY = 30.0  # seconds before the second attempt; doubles after each failure
TIMEOUT = 5.0


def signature(secret: str, body: bytes) -> str:
    """The ``X-Steward-Signature`` header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def queue_notifications(tx: Writer, event: str, data: dict[str, Any]) -> int:
    """Queue ``event`` for every active webhook subscribed to it (inside ``tx``)."""
    now = utc_iso(tx.now)
    queued = 0
    for hook in tx.webhooks(active_only=True):
        if event not in hook.events:
            continue
        delivery_id = uuid.uuid4().hex
        body = json.dumps(
            {"id": delivery_id, "event": event, "created_at": now, "data": data},
            sort_keys=True,
            separators=(",", ":"),
        )
        tx.queue_delivery(
            Delivery(
                id=delivery_id,
                webhook_id=hook.id,
                event=event,
                body=body,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                last_status=None,
                last_error=None,
                created_at=now,
                delivered_at=None,
            )
        )
        queued += 1
    return queued


class WebhookService:
    """Webhook secrets are stored sealed (``SecretBox``: the database never holds one in
    plain form) and opened only to sign a delivery."""

    def __init__(self, store: Store, box: SecretBox | None = None) -> None:
        self._store = store
        self._box = box

    def _sealed(self, hook: Webhook) -> str:
        assert self._box is not None
        return self._box.seal(hook.secret.encode("utf-8"), context=f"webhook:{hook.id}")

    def _secret(self, hook: Webhook) -> str:
        if self._box is None:
            return hook.secret
        return self._box.open(hook.secret, context=f"webhook:{hook.id}").decode("utf-8")

    def add(self, actor: Actor, url: str, events: list[str]) -> Webhook:
        """Subscribe ``url`` to ``events`` (default: all); the secret is in the result only."""
        require(actor, Permission.WEBHOOK_MANAGE, "manage webhooks")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidInput(f"webhook URL {url!r} is not an http(s) URL")
        chosen = list(dict.fromkeys(events)) or list(EVENTS)
        unknown = [e for e in chosen if e not in EVENTS]
        if unknown:
            raise InvalidInput(f"unknown event(s) {', '.join(unknown)}: use {', '.join(EVENTS)}")
        with self._store.write(actor) as tx:
            hook = Webhook(
                id=uuid.uuid4().hex,
                url=url,
                secret=secrets.token_urlsafe(32),
                events=tuple(chosen),
                created_by=actor.name,
                created_at=utc_iso(tx.now),
            )
            stored = hook if self._box is None else replace(hook, secret=self._sealed(hook))
            tx.add_webhook(stored)
            added = WebhookAdded(id=hook.id, url=url, events=hook.events)
            record_event(tx, added, subject=f"webhook:{hook.id}")
        return hook

    def remove(self, actor: Actor, hook_id: str) -> None:
        require(actor, Permission.WEBHOOK_MANAGE, "manage webhooks")
        with self._store.write(actor) as tx:
            if not any(h.id == hook_id and h.active for h in tx.webhooks()):
                raise NotFound(f"no active webhook {hook_id!r}")
            tx.set_webhook_active(hook_id, False)
            record_event(tx, WebhookRemoved(id=hook_id), subject=f"webhook:{hook_id}")

    def list_webhooks(self, actor: Actor) -> list[Webhook]:
        require(actor, Permission.WEBHOOK_MANAGE, "manage webhooks")
        with self._store.read() as reader:
            return reader.webhooks()

    def log(self, actor: Actor) -> list[Delivery]:
        """Every delivery, oldest first: the delivery log."""
        require(actor, Permission.WEBHOOK_MANAGE, "read the webhook delivery log")
        with self._store.read() as reader:
            return reader.deliveries()

    def deliver(self, actor: Actor | None = None) -> list[Delivery]:
        """Attempt every pending delivery that is due; return them as they ended up.
        ``actor`` is checked when given (the command); the services deliver on their own
        right after queueing."""
        if actor is not None:
            require(actor, Permission.WEBHOOK_MANAGE, "deliver webhook notifications")
        now = self._store.now()
        with self._store.read() as reader:
            due = reader.deliveries(state="pending", due_by=utc_iso(now))
            hooks = {h.id: h for h in reader.webhooks()}
        done = []
        for delivery in due:
            hook = hooks[delivery.webhook_id]
            status, error = _post(replace(hook, secret=self._secret(hook)), delivery)
            attempts = delivery.attempts + 1
            if error is None:
                updated = replace(
                    delivery,
                    state="delivered",
                    attempts=attempts,
                    last_status=status,
                    last_error=None,
                    delivered_at=utc_iso(self._store.now()),
                )
            else:
                delay = timedelta(seconds=BASE_DELAY * 2 ** (attempts - 1))
                updated = replace(
                    delivery,
                    state="failed" if attempts >= MAX_ATTEMPTS or not hook.active else "pending",
                    attempts=attempts,
                    last_status=status,
                    last_error=error,
                    next_attempt_at=utc_iso(now + delay),
                )
            with self._store.write("@webhooks") as tx:
                tx.update_delivery(updated)
            done.append(updated)
        return done


def _post(hook: Webhook, delivery: Delivery) -> tuple[int | None, str | None]:
    """``(HTTP status, error)``: error ``None`` for a 2xx answer."""
    body = delivery.body.encode("utf-8")
    # http(s) only: checked when the webhook is added
    request = urllib.request.Request(  # noqa: S310
        hook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "steward-webhooks",
            "X-Steward-Event": delivery.event,
            "X-Steward-Delivery": delivery.id,
            "X-Steward-Signature": signature(hook.secret, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return int(response.status), None
    except urllib.error.HTTPError as exc:
        return int(exc.code), f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:300]
