"""Content hashes of immutable records, and building evidence with its hash."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from steward.domain import (
    DatasetVersion,
    Evidence,
    Finding,
    evidence_content,
    status_from,
)
from steward.ledger import canonical_bytes

if TYPE_CHECKING:
    from collections.abc import Callable

    from steward.domain import Actor, Approval, Comment, EventType, Waiver
    from steward.store import Writer

__all__ = ["content_hash", "ledgered", "make_evidence", "new_approval", "sealed_version"]


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
    actor's credentials: who vouched for them, the token used, a reset."""
    from steward.domain import Approval
    from steward.services.identity._service import credentials
    from steward.types import utc_iso

    vouchers, reset_by = credentials(tx, actor)
    return Approval(
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


def ledgered(
    tx: Writer,
    event: EventType,
    record: Approval | Waiver | Comment,
    add: Callable[[Any, str], None],
) -> None:
    """Store ``record`` with its content hash (``add``) and append its ledger event, which
    carries the record's content and that hash (what ``audit verify`` checks)."""
    from steward.domain import record_content

    content = record_content(record)
    digest = content_hash(content)
    add(record, digest)
    tx.record(event, subject=record.subject, payload={**content, "content_hash": digest})
