"""Rows of approvals, waivers, comments, webhooks and deliveries, as frozen domain objects."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, Table, insert, select, update

from steward.domain import Approval, Comment, Delivery, Waiver, Webhook
from steward.store._schema import approvals, comments, waivers, webhook_deliveries, webhooks

__all__ = [
    "approvals_for",
    "comments_for",
    "deliveries",
    "insert_approval",
    "insert_comment",
    "insert_delivery",
    "insert_waiver",
    "insert_webhook",
    "set_webhook_active",
    "update_delivery",
    "waivers_for",
    "webhooks_list",
]

T = TypeVar("T")


def _approval(row: Row[Any]) -> Approval:
    return Approval(
        id=row.id,
        subject=row.subject,
        stage=row.stage,
        user=row.user_name,
        roles=tuple(json.loads(row.roles)),
        decision=row.decision,
        comment=row.comment,
        artifact=row.artifact,
        evidence_hash=row.evidence_hash,
        policy_hash=row.policy_hash,
        created_at=row.created_at,
        card_hash=row.card_hash,
        vouchers=tuple(json.loads(row.vouchers)),
        token_id=row.token_id,
        token_reset_by=row.token_reset_by,
        content_hash=row.content_hash,
    )


def insert_approval(conn: Connection, approval: Approval) -> None:
    conn.execute(
        insert(approvals).values(
            id=approval.id,
            subject=approval.subject,
            stage=approval.stage,
            user_name=approval.user,
            roles=json.dumps(list(approval.roles)),
            decision=approval.decision,
            comment=approval.comment,
            artifact=approval.artifact,
            evidence_hash=approval.evidence_hash,
            policy_hash=approval.policy_hash,
            created_at=approval.created_at,
            content_hash=approval.content_hash,
            card_hash=approval.card_hash,
            vouchers=json.dumps(list(approval.vouchers)),
            token_id=approval.token_id,
            token_reset_by=approval.token_reset_by,
        )
    )


def _about(
    conn: Connection, table: Table, subject: str | None, build: Callable[[Row[Any]], T]
) -> list[T]:
    """Rows of ``table`` about ``subject`` (every one if None), oldest first."""
    query = select(table).order_by(table.c.created_at, table.c.id)
    if subject is not None:
        query = query.where(table.c.subject == subject)
    return [build(row) for row in conn.execute(query)]


def approvals_for(conn: Connection, subject: str | None) -> list[Approval]:
    return _about(conn, approvals, subject, _approval)


def _waiver(row: Row[Any]) -> Waiver:
    return Waiver(
        id=row.id,
        subject=row.subject,
        rule=row.rule,
        reason=row.reason,
        granted_by=row.granted_by,
        expires_at=row.expires_at,
        created_at=row.created_at,
        content_hash=row.content_hash,
    )


def insert_waiver(conn: Connection, waiver: Waiver) -> None:
    conn.execute(
        insert(waivers).values(
            id=waiver.id,
            subject=waiver.subject,
            rule=waiver.rule,
            reason=waiver.reason,
            granted_by=waiver.granted_by,
            expires_at=waiver.expires_at,
            created_at=waiver.created_at,
            content_hash=waiver.content_hash,
        )
    )


def waivers_for(conn: Connection, subject: str | None) -> list[Waiver]:
    return _about(conn, waivers, subject, _waiver)


def insert_comment(conn: Connection, comment: Comment) -> None:
    conn.execute(
        insert(comments).values(
            id=comment.id,
            subject=comment.subject,
            user_name=comment.user,
            text=comment.text,
            created_at=comment.created_at,
            content_hash=comment.content_hash,
        )
    )


def _comment(row: Row[Any]) -> Comment:
    return Comment(
        id=row.id,
        subject=row.subject,
        user=row.user_name,
        text=row.text,
        created_at=row.created_at,
        content_hash=row.content_hash,
    )


def comments_for(conn: Connection, subject: str | None) -> list[Comment]:
    return _about(conn, comments, subject, _comment)


def _webhook(row: Row[Any]) -> Webhook:
    return Webhook(
        id=row.id,
        url=row.url,
        secret=row.secret,
        events=tuple(json.loads(row.events)),
        created_by=row.created_by,
        created_at=row.created_at,
        active=bool(row.active),
    )


def insert_webhook(conn: Connection, hook: Webhook) -> None:
    conn.execute(
        insert(webhooks).values(
            id=hook.id,
            url=hook.url,
            secret=hook.secret,
            events=json.dumps(list(hook.events)),
            created_by=hook.created_by,
            created_at=hook.created_at,
            active=hook.active,
        )
    )


def webhooks_list(conn: Connection, *, active_only: bool = False) -> list[Webhook]:
    query = select(webhooks).order_by(webhooks.c.created_at, webhooks.c.id)
    if active_only:
        query = query.where(webhooks.c.active.is_(True))
    return [_webhook(row) for row in conn.execute(query)]


def set_webhook_active(conn: Connection, hook_id: str, active: bool) -> bool:
    result = conn.execute(update(webhooks).where(webhooks.c.id == hook_id).values(active=active))
    return bool(result.rowcount)


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event=row.event,
        body=row.body,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status=row.last_status,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def insert_delivery(conn: Connection, delivery: Delivery) -> None:
    conn.execute(
        insert(webhook_deliveries).values(
            id=delivery.id,
            webhook_id=delivery.webhook_id,
            event=delivery.event,
            body=delivery.body,
            state=delivery.state,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_status=delivery.last_status,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
        )
    )


def deliveries(
    conn: Connection, *, state: str | None = None, due_by: str | None = None
) -> list[Delivery]:
    """Deliveries in creation order (``state``; ``due_by``: next attempt at or before)."""
    query = select(webhook_deliveries).order_by(
        webhook_deliveries.c.created_at, webhook_deliveries.c.id
    )
    if state is not None:
        query = query.where(webhook_deliveries.c.state == state)
    if due_by is not None:
        query = query.where(webhook_deliveries.c.next_attempt_at <= due_by)
    return [_delivery(row) for row in conn.execute(query)]


def update_delivery(conn: Connection, delivery: Delivery) -> None:
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery.id)
        .values(
            state=delivery.state,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_status=delivery.last_status,
            last_error=delivery.last_error,
            delivered_at=delivery.delivered_at,
        )
    )
