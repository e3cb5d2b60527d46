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
    ApprovalRecorded,
    AttemptRefused,
    Comment,
    CommentAdded,
    Decision,
    ModelPromoted,
    ModelVersion,
    Permission,
    Stage,
    Waiver,
    WaiverGranted,
)
from steward.errors import InvalidInput, NotFound, PermissionDenied, Refused, StewardError
from steward.services._access import require
from steward.services._records import new_approval, record_event, sealed_record
from steward.services.governance._notifier import Notifier
from steward.services.governance._policies import GATED_STAGES, PolicyService
from steward.services.governance._webhooks import queue_notifications
from steward.services.models._service import ModelService, resolve_model
from steward.store import Store
from steward.types import utc_iso

__all__ = ["MAX_WAIVER_DAYS", "GovernanceService", "refused_attempt"]

T = TypeVar("T")
MAX_WAIVER_DAYS = 365
STAGES = ("staging", "production", "archived")


def _not_the_author(
    actor: Actor, version: ModelVersion, doing: str, authors: tuple[str, ...] = ()
) -> None:
    if version.created_by == actor.name:
        raise PermissionDenied(
            f"{actor.name} is the author of {version.ref} and may not {doing} "
            "(segregation of duties)",
            details={"actor": actor.name, "reason": "author"},
        )
    if actor.name in authors:
        raise PermissionDenied(
            f"{actor.name} authored the model {version.ref} derives from and may not {doing} "
            "(segregation of duties)",
            details={"actor": actor.name, "reason": "author"},
        )


class GovernanceService:
    def __init__(
        self, store: Store, models: ModelService, policies: PolicyService, notifier: Notifier
    ) -> None:
        self._store = store
        self._models = models
        self._policies = policies
        self._notifier = notifier

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
        _not_the_author(actor, version, f"{decision} it", self._models.authors(actor, version))
        decided = self._policies.decide(actor, version, stage)
        with self._store.write(actor) as tx:
            approval = new_approval(
                tx,
                actor,
                subject=version.subject,
                stage=stage,
                decision=decision,
                comment=comment,
                artifact=version.artifact,
                evidence_hash=decided.evidence_hash,
                policy_hash=decided.policy_hash,
                card_hash=decided.card_hash,
            )
            tx.add_approval(approval)
            record_event(tx, ApprovalRecorded.of(approval), subject=approval.subject)
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

        require(actor, Permission.POLICY_WAIVE, "waive policy rules")
        if not reason.strip():
            raise InvalidInput("a waiver needs a reason")
        version = self._models.get(actor, ref)
        _not_the_author(actor, version, "waive its rules", self._models.authors(actor, version))
        until = _expiry(expires)
        now = self._store.now()
        if until <= now:
            raise InvalidInput(f"the waiver would expire at {utc_iso(until)}, which has passed")
        if until > now + timedelta(days=MAX_WAIVER_DAYS):
            raise InvalidInput(f"a waiver lasts at most {MAX_WAIVER_DAYS} days")
        # Only a rule the gate produces for this version, and marks waivable, can be waived:
        # a waiver on a made-up id, or on a rule waivable under another policy, is refused.
        produced: dict[str, bool] = {}
        for decision in self._policies.decide_stages(actor, version, GATED_STAGES).values():
            for outcome in decision.rules:
                produced[outcome.id] = produced.get(outcome.id, True) and outcome.waivable
        if rule not in produced:
            raise InvalidInput(
                f"the gates of {version.ref} have no rule {rule!r} (`steward gate "
                f"{version.ref} --stage STAGE` lists them)",
                details={"field": "rule"},
            )
        if not produced[rule]:
            waivable = sorted(r for r, ok in produced.items() if ok)
            raise InvalidInput(
                f"rule {rule!r} of {version.ref} is not waivable (waivable: "
                f"{', '.join(waivable) or 'none'})",
                details={"field": "rule"},
            )
        with self._store.write(actor) as tx:
            waiver = sealed_record(
                Waiver(
                    id=uuid.uuid4().hex,
                    subject=version.subject,
                    rule=rule,
                    reason=reason.strip(),
                    granted_by=actor.name,
                    expires_at=utc_iso(until),
                    created_at=utc_iso(tx.now),
                )
            )
            tx.add_waiver(waiver)
            record_event(tx, WaiverGranted.of(waiver), subject=waiver.subject)
        return waiver

    # --- comments ------------------------------------------------------------------------

    def comment(self, actor: Actor, ref: str, text: str) -> Comment:
        require(actor, Permission.MODEL_COMMENT, "comment on model versions")
        if not text.strip():
            raise InvalidInput("a comment needs text")
        version = self._models.get(actor, ref)
        with self._store.write(actor) as tx:
            comment = sealed_record(
                Comment(
                    id=uuid.uuid4().hex,
                    subject=version.subject,
                    user=actor.name,
                    text=text.strip(),
                    created_at=utc_iso(tx.now),
                )
            )
            tx.add_comment(comment)
            record_event(tx, CommentAdded.of(comment), subject=comment.subject)
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
        with self._store.write(actor) as tx:
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
                promoted = ModelPromoted(
                    model=version.name,
                    version=version.version,
                    from_=version.stage.value,
                    to=target.value,
                    archived=tuple(archived),
                    artifact=version.artifact,
                    decision=decision.summary() if decision else None,
                )
                record_event(tx, promoted, subject=version.subject)
                queue_notifications(
                    tx,
                    "version.promoted",
                    {
                        "model": version.ref,
                        "from": promoted.from_,
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
        """Tell the notifier that notifications may have been queued (see ``_notifier.py``);
        failures stay in the delivery log and are retried by ``webhook deliver``."""
        self._notifier.notify()

    def _refusal(
        self, actor: Actor, action: str, ref: str, stage: str | None, exc: StewardError
    ) -> None:
        refused_attempt(self._store, actor, action, ref, stage, exc)


def refused_attempt(
    store: Store, actor: Actor, action: str, ref: str, stage: str | None, exc: StewardError
) -> None:
    """Ledger a refused governance attempt (``attempt.refused``; decision 0018), and queue
    the notifications a refused promotion sends."""
    decision = exc.details.get("decision")
    failed = [r["id"] for r in decision["rules"] if r["outcome"] == "fail"] if decision else []
    refused = AttemptRefused(
        action=action,
        target=ref,
        stage=stage,
        code=exc.code,
        reason=exc.message,
        failed=tuple(failed) if decision else None,
        policy=decision["policy"] if decision else None,
    )
    # Recorded under the actor's name without re-checking its token: a refusal of someone
    # whose token was revoked mid-command is still worth keeping.
    with store.write(actor.name) as tx:
        record_event(tx, refused, subject=_subject_of(ref))
        if decision and action == "promote":
            queue_notifications(
                tx,
                "gate.failed",
                {"model": ref, "stage": stage, "failed": failed, "by": actor.name},
            )
            if any(r.startswith("approvals.") for r in failed):
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
    if not ref or ref.startswith(("model:", "policy:", "endpoint:")):
        return ref
    return f"model:{ref}"


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
            f"{{expires}} {text!r} is not a date (2026-12-31) or an ISO 8601 time",
            details={"field": "expires"},
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(
            f"{{expires}} {text!r} has no time zone (add Z or +00:00)", details={"field": "expires"}
        )
    return moment.astimezone(UTC)
