"""Content hashes of immutable records, building records with their hash, and recording a
typed ledger event."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from steward.domain import (
    Approval,
    Comment,
    DatasetVersion,
    Evidence,
    Finding,
    Waiver,
    evidence_content,
    record_content,
    status_from,
)
from steward.ledger import canonical_bytes

if TYPE_CHECKING:
    from steward.domain import Actor, Event, LedgerEvent
    from steward.store import Writer

__all__ = [
    "content_hash",
    "make_evidence",
    "new_approval",
    "record_event",
    "sealed_record",
    "sealed_version",
]

R = TypeVar("R", Approval, Waiver, Comment)


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of a record's canonical encoding: the value its ledger event carries."""
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def make_evidence(
    *,
    subject: str,
    check_id: str,
    check_version: str,
    params: dict[str, Any],
    inputs: dict[str, Any],
    metrics: dict[str, Any],
    findings: tuple[Finding, ...],
    created_at: str,
    created_by: str,
    artifacts: dict[str, str] | None = None,
) -> Evidence:
    status = status_from(findings)
    fields: dict[str, Any] = {
        "subject": subject,
        "check_id": check_id,
        "check_version": check_version,
        "status": status,
        "params": params,
        "inputs": inputs,
        "metrics": metrics,
        "findings": findings,
        "artifacts": artifacts or {},
        "created_at": created_at,
        "created_by": created_by,
    }
    digest = content_hash(evidence_content(**fields))
    return Evidence(id=uuid.uuid4().hex, content_hash=digest, **fields)


def sealed_version(version: DatasetVersion) -> DatasetVersion:
    """The version with its ``content_hash`` filled in."""
    return replace(version, content_hash=content_hash(version.content()))


def sealed_record(record: R) -> R:
    """An approval, waiver or comment with its ``content_hash`` filled in (of
    ``record_content``: what its ledger event carries, with that hash)."""
    return replace(record, content_hash=content_hash(record_content(record)))


def record_event(tx: Writer, event: Event, *, subject: str | None) -> LedgerEvent:
    """Append ``event`` as the transaction's ledger event: its type, and its payload as the
    typed event writes it (``Writer.record``)."""
    return tx.record(event.event_type, subject=subject, payload=event.payload())


def new_approval(
    tx: Writer,
    actor: Actor,
    *,
    subject: str,
    stage: str,
    decision: str,
    comment: str,
    artifact: str,
    evidence_hash: str,
    policy_hash: str,
    card_hash: str = "",
) -> Approval:
    """An approval (or rejection, or endorsement) by ``actor`` made in ``tx``, carrying the
    actor's credentials (who vouched for them, the token used, a reset) and its content
    hash."""
    from steward.services.identity._service import credentials
    from steward.types import utc_iso

    vouchers, reset_by = credentials(tx, actor)
    approval = Approval(
        id=uuid.uuid4().hex,
        subject=subject,
        stage=stage,
        user=actor.name,
        roles=tuple(sorted(r.value for r in actor.roles)),
        decision=decision,
        comment=comment.strip(),
        artifact=artifact,
        evidence_hash=evidence_hash,
        policy_hash=policy_hash,
        created_at=utc_iso(tx.now),
        card_hash=card_hash,
        vouchers=vouchers,
        token_id=actor.token_id,
        token_reset_by=reset_by,
    )
    return sealed_record(approval)
