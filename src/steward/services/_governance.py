"""Approvals, rejections, waivers, comments and stage transitions.

Every one of these is a ledgered state change, and every refusal of one is ledgered too: an
``attempt.refused`` event says who tried what on which version, and why it was refused —
no permission, the version's own author approving, a gate that failed, a version that does
not exist. The refused change itself leaves nothing behind (decision 0018).

``promote`` evaluates the gate and moves the stage in one transaction, holding a lock on the
model, so concurrent promotions are serialized and each sees the stage the previous one left:
one production version per model, the previous one archived.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from steward.domain import (
    Actor,
    Approval,
    Comment,
    Decision,
    EventType,
    ModelVersion,
    Permission,
    Stage,
    Waiver,
)
from steward.errors import InvalidInput, NotFound, PermissionDenied, Refused, StewardError
from steward.services._access import require
from steward.services._models import ModelService, resolve_model
from steward.services._policies import GATED_STAGES, PolicyService
from steward.services._records import content_hash
from steward.services._webhooks import queue_notifications
from steward.store import Store
from steward.types import utc_iso

__all__ = [
    "MAX_WAIVER_DAYS",
    "GovernanceService",
    "approval_content",
    "comment_content",
    "waiver_content",
]

T = TypeVar("T")
MAX_WAIVER_DAYS = 365
STAGES = ("staging", "production", "archived")


def approval_content(approval: Approval) -> dict[str, Any]:
    return {
        "id": approval.id,
        "subject": approval.subject,
        "stage": approval.stage,
        "user": approval.user,
        "roles": list(approval.roles),
        "decision": approval.decision,
        "comment": approval.comment,
        "artifact": approval.artifact,
        "evidence_hash": approval.evidence_hash,
        "policy_hash": approval.policy_hash,
        "created_at": approval.created_at,
    }


def waiver_content(waiver: Waiver) -> dict[str, Any]:
    return {
        "id": waiver.id,
        "subject": waiver.subject,
        "rule": waiver.rule,
        "reason": waiver.reason,
        "granted_by": waiver.granted_by,
        "expires_at": waiver.expires_at,
        "created_at": waiver.created_at,
    }


def comment_content(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "subject": comment.subject,
        "user": comment.user,
        "text": comment.text,
        "created_at": comment.created_at,
    }


class GovernanceService:
    def __init__(self, store: Store, models: ModelService, policies: PolicyService) -> None:
        self._store = store
        self._models = models
        self._policies = policies

    # --- approvals -----------------------------------------------------------------------

    def approve(self, actor: Actor, ref: str, stage: str, comment: str = "") -> Approval:
        """Approve version ``ref`` for ``stage``, bound to its current model file, evidence
        set and governing policy."""
        return self._guarded(
            actor, "approve", ref, stage, lambda: self._vote(actor, ref, stage, "approve", comment)
        )

    def reject(self, actor: Actor, ref: str, stage: str, comment: str) -> Approval:
        """Reject version ``ref`` for ``stage`` with a reason (blocks until its content changes)."""
        return self._guarded(
            actor, "reject", ref, stage, lambda: self._vote(actor, ref, stage, "reject", comment)
        )

    def _vote(self, actor: Actor, ref: str, stage: str, decision: str, comment: str) -> Approval:
        doing = "approve model versions" if decision == "approve" else "reject model versions"
        require(actor, Permission.MODEL_APPROVE, doing)
        if stage not in GATED_STAGES:
            raise InvalidInput(
                f"unknown stage {stage!r}: approvals are for {', '.join(GATED_STAGES)}"
            )
        if decision == "reject" and not comment.strip():
            raise InvalidInput("a rejection needs a comment saying why")
        version = self._models.get(actor, ref)
        if version.created_by == actor.name:
            raise PermissionDenied(
                f"{actor.name} is the author of {version.ref} and may not {decision} it "
                "(segregation of duties)",
                details={"actor": actor.name, "reason": "author"},
            )
        decided, _ = self._policies.gate(actor, version.ref, stage)
        with self._store.write(actor.name) as tx:
            approval = Approval(
                id=uuid.uuid4().hex,
                subject=version.subject,
                stage=stage,
                user=actor.name,
                roles=tuple(sorted(r.value for r in actor.roles)),
                decision=decision,
                comment=comment.strip(),
                artifact=version.artifact,
                evidence_hash=decided.evidence_hash,
                policy_hash=decided.policy_hash,
                created_at=utc_iso(tx.now),
            )
            digest = content_hash(approval_content(approval))
            tx.add_approval(approval, digest)
            tx.record(
                EventType.APPROVAL_RECORDED,
                subject=version.subject,
                payload={**approval_content(approval), "content_hash": digest},
            )
            if decision == "reject":
                queue_notifications(
                    tx,
                    "version.rejected",
                    {
                        "model": version.ref,
                        "stage": stage,
                        "by": actor.name,
                        "comment": approval.comment,
                    },
                )
        return approval

    # --- waivers -------------------------------------------------------------------------

    def waive(self, actor: Actor, ref: str, rule: str, reason: str, expires: str) -> Waiver:
        """Set aside waivable rule ``rule`` for version ``ref`` until ``expires`` (a date or
        an ISO 8601 time, at most a year away)."""
        return self._guarded(
            actor, "waive", ref, None, lambda: self._waive(actor, ref, rule, reason, expires)
        )

    def _waive(self, actor: Actor, ref: str, rule: str, reason: str, expires: str) -> Waiver:
        import fnmatch

        require(actor, Permission.POLICY_WAIVE, "waive policy rules")
        if not reason.strip():
            raise InvalidInput("a waiver needs a reason")
        version = self._models.get(actor, ref)
        if version.created_by == actor.name:
            raise PermissionDenied(
                f"{actor.name} is the author of {version.ref} and may not waive its rules "
                "(segregation of duties)",
                details={"actor": actor.name, "reason": "author"},
            )
        until = _expiry(expires)
        now = self._store.now()
        if until <= now:
            raise InvalidInput(f"the waiver would expire at {utc_iso(until)}, which has passed")
        if until > now + timedelta(days=MAX_WAIVER_DAYS):
            raise InvalidInput(f"a waiver lasts at most {MAX_WAIVER_DAYS} days")
        model = self._models.model(actor, version.name)
        governing = self._policies.governing(actor, model)
        patterns = [p for rules in governing.policy.stages.values() for p in rules.waivable]
        if not any(fnmatch.fnmatchcase(rule, p) for p in patterns):
            allowed = ", ".join(patterns) or "none"
            raise InvalidInput(
                f"rule {rule!r} is not waivable under policy {governing.label} "
                f"(waivable: {allowed})"
            )
        with self._store.write(actor.name) as tx:
            waiver = Waiver(
                id=uuid.uuid4().hex,
                subject=version.subject,
                rule=rule,
                reason=reason.strip(),
                granted_by=actor.name,
                expires_at=utc_iso(until),
                created_at=utc_iso(tx.now),
            )
            digest = content_hash(waiver_content(waiver))
            tx.add_waiver(waiver, digest)
            tx.record(
                EventType.WAIVER_GRANTED,
                subject=version.subject,
                payload={**waiver_content(waiver), "content_hash": digest},
            )
        return waiver

    # --- comments ------------------------------------------------------------------------

    def comment(self, actor: Actor, ref: str, text: str) -> Comment:
        require(actor, Permission.MODEL_COMMENT, "comment on model versions")
        if not text.strip():
            raise InvalidInput("a comment needs text")
        version = self._models.get(actor, ref)
        with self._store.write(actor.name) as tx:
            comment = Comment(
                id=uuid.uuid4().hex,
                subject=version.subject,
                user=actor.name,
                text=text.strip(),
                created_at=utc_iso(tx.now),
            )
            digest = content_hash(comment_content(comment))
            tx.add_comment(comment, digest)
            tx.record(
                EventType.COMMENT_ADDED,
                subject=version.subject,
                payload={**comment_content(comment), "content_hash": digest},
            )
        return comment

    def history(self, actor: Actor, ref: str) -> dict[str, Any]:
        """A version's approvals, waivers and comments, oldest first."""
        version = self._models.get(actor, ref)
        with self._store.read() as reader:
            return {
                "approvals": reader.approvals(version.subject),
                "waivers": reader.waivers(version.subject),
                "comments": reader.comments(version.subject),
            }

    # --- promotion -----------------------------------------------------------------------

    def promote(self, actor: Actor, ref: str, stage: str) -> tuple[ModelVersion, Decision | None]:
        """Move version ``ref`` to ``stage`` if its gate passes (``archived`` needs no gate).
        Gate, stage change, archiving the previous production version and the ledger event
        happen in one transaction; a failing gate raises ``Refused`` (exit 1) and changes
        nothing but the ledgered refusal."""
        return self._guarded(actor, "promote", ref, stage, lambda: self._promote(actor, ref, stage))

    def _promote(self, actor: Actor, ref: str, stage: str) -> tuple[ModelVersion, Decision | None]:
        require(actor, Permission.MODEL_PROMOTE, "promote model versions")
        if stage not in STAGES:
            raise InvalidInput(f"unknown stage {stage!r}: use {', '.join(STAGES)}")
        target = Stage(stage)
        named = self._models.get(actor, ref)  # exists? (NotFound otherwise)
        failed: Decision | None = None
        with self._store.write(actor.name) as tx:
            tx.lock(f"model:{named.name}")
            version = resolve_model(tx, named.ref)  # re-read under the lock
            if version.stage is target:
                return version, None
            decision = None
            if target is not Stage.ARCHIVED:
                decision = self._policies.decide(actor, version, stage)
                if not decision.allowed:
                    failed = decision
            if failed is None:
                archived = []
                if target is Stage.PRODUCTION:
                    for current in tx.versions_in_stage(version.name, Stage.PRODUCTION):
                        tx.set_stage(current.name, current.version, Stage.ARCHIVED)
                        archived.append(current.ref)
                tx.set_stage(version.name, version.version, target)
                payload = {
                    "model": version.name,
                    "version": version.version,
                    "from": version.stage.value,
                    "to": target.value,
                    "archived": archived,
                    "artifact": version.artifact,
                    "decision": decision.summary() if decision else None,
                }
                tx.record(EventType.MODEL_PROMOTED, subject=version.subject, payload=payload)
                queue_notifications(
                    tx,
                    "version.promoted",
                    {
                        "model": version.ref,
                        "from": payload["from"],
                        "to": stage,
                        "archived": archived,
                        "by": actor.name,
                    },
                )
                moved = resolve_model(tx, version.ref)
                return moved, decision
        assert failed is not None
        raise Refused(
            f"{named.ref} may not enter {stage}: {len(failed.failed)} rule(s) fail — "
            + "; ".join(f"{r.id}: {r.reason}" for r in failed.failed[:3]),
            details={"decision": failed.to_dict()},
        )

    # --- refusals ------------------------------------------------------------------------

    def _guarded(
        self, actor: Actor, action: str, ref: str, stage: str | None, work: Callable[[], T]
    ) -> T:
        try:
            return work()
        except StewardError as exc:
            if isinstance(exc, PermissionDenied | Refused | InvalidInput | NotFound):
                self._refusal(actor, action, ref, stage, exc)
            raise
        finally:
            self._notify()

    def _notify(self) -> None:
        """One attempt at the notifications just queued; failures stay in the delivery log
        and are retried by ``steward webhook deliver``."""
        from steward.services._webhooks import WebhookService

        WebhookService(self._store).deliver()

    def _refusal(
        self, actor: Actor, action: str, ref: str, stage: str | None, exc: StewardError
    ) -> None:
        payload: dict[str, Any] = {
            "action": action,
            "target": ref,
            "stage": stage,
            "code": exc.code,
            "reason": exc.message,
        }
        decision = exc.details.get("decision")
        if decision:
            payload["failed"] = [r["id"] for r in decision["rules"] if r["outcome"] == "fail"]
            payload["policy"] = decision["policy"]
        subject = _subject_of(ref)
        with self._store.write(actor.name) as tx:
            tx.record(EventType.ATTEMPT_REFUSED, subject=subject, payload=payload)
            if decision and action == "promote":
                queue_notifications(
                    tx,
                    "gate.failed",
                    {"model": ref, "stage": stage, "failed": payload["failed"], "by": actor.name},
                )
                if any(r.startswith("approvals.") for r in payload["failed"]):
                    queue_notifications(
                        tx,
                        "approval.requested",
                        {
                            "model": ref,
                            "stage": stage,
                            "needed": {
                                r["id"]: r["reason"]
                                for r in decision["rules"]
                                if r["id"].startswith("approvals.") and r["outcome"] == "fail"
                            },
                            "requested_by": actor.name,
                        },
                    )


def _subject_of(ref: str) -> str:
    return f"model:{ref}" if ref and not ref.startswith("model:") else ref


def _expiry(text: str) -> datetime:
    """A waiver's end: an ISO date (the end of that day, UTC) or an ISO time with a zone."""
    from datetime import UTC, date

    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None and len(text) == 10:
        return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"--expires {text!r} is not a date (2026-12-31) or an ISO 8601 time"
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"--expires {text!r} has no time zone (add Z or +00:00)")
    return moment.astimezone(UTC)
