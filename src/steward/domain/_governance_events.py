"""Typed ledger events of governance: policies, approvals, waivers, comments, promotions,
refusals and webhooks (see ``_event_base`` for how fields become payload keys)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Self

from steward.domain._event_base import Event
from steward.domain._ledger import EventType
from steward.domain._policy import Approval, Comment, Waiver

__all__ = [
    "ApprovalRecorded",
    "AttemptRefused",
    "CommentAdded",
    "ModelPromoted",
    "PolicyApplied",
    "PolicyEndorsed",
    "WaiverGranted",
    "WebhookAdded",
    "WebhookRemoved",
]


@dataclass(frozen=True, slots=True)
class PolicyApplied(Event):
    """Event ``policy.applied``: ``steward policy apply`` recorded a new version of a policy.

    ``audit verify`` checks every applied policy against both of its hashes.

    :ivar policy: the policy's name.
    :ivar version: its new version number (from 1, per name).
    :ivar content_hash: the SHA-256 of the validated document's canonical JSON.
    :ivar source_hash: the SHA-256 of the YAML as given.
    :ivar selector: the models it governs (names, tiers, tags), as validated.
    :ivar priority: its priority among the policies selecting a model.
    """

    event_type: ClassVar[EventType] = EventType.POLICY_APPLIED

    policy: str
    version: int
    content_hash: str
    source_hash: str
    selector: dict[str, Any]
    priority: int


@dataclass(frozen=True, slots=True)
class _ApprovalEvent(Event):
    """An approval record as its event carries it: the record's content and its hash.

    :ivar id: the approval's id.
    :ivar subject: what was approved: ``model:NAME@N``, or ``policy:NAME@N`` for an
        endorsement.
    :ivar stage: the stage approved for (``staging``, ``production``; ``floor`` for an
        endorsement).
    :ivar user: the approver.
    :ivar roles: the approver's roles when approving, sorted.
    :ivar decision: ``approve`` or ``reject``.
    :ivar comment: the approver's comment (may be empty, except for a rejection).
    :ivar artifact: the bound model file (``sha256:…``; empty for an endorsement).
    :ivar evidence_hash: the hash of the bound evidence set (empty for an endorsement).
    :ivar policy_hash: the content hash of the bound policy.
    :ivar created_at: when the approval was made (ISO 8601, UTC).
    :ivar content_hash: the SHA-256 of the record's canonical content (every field above and
        below but this one).
    :ivar card_hash: the hash of the model-card fields the gate read; absent when empty.
    :ivar vouchers: the identities that created the approver or issued its token,
        transitively; absent when empty.
    :ivar token_id: the API token the approval was made with; absent when not known.
    :ivar token_reset_by: the admin whose token reset gave the approver that token; absent
        unless it did.
    """

    id: str
    subject: str
    stage: str
    user: str
    roles: tuple[str, ...]
    decision: str
    comment: str
    artifact: str
    evidence_hash: str
    policy_hash: str
    created_at: str
    content_hash: str
    # added after the first release: left out while at these values (see record_content)
    card_hash: str = ""
    vouchers: tuple[str, ...] = ()
    token_id: str | None = None
    token_reset_by: str | None = None

    @classmethod
    def of(cls, approval: Approval) -> Self:
        """The event recording ``approval`` (its ``content_hash`` set)."""
        return cls(**{f.name: getattr(approval, f.name) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class ApprovalRecorded(_ApprovalEvent):
    """Event ``approval.recorded``: ``steward approve`` or ``steward reject`` recorded an
    approval or a rejection of a model version, bound to what the approver saw.

    Its fields are the approval's, as ``record_content`` gives them, and its content hash;
    ``audit verify`` checks the stored approval against ``content_hash``.
    """

    event_type: ClassVar[EventType] = EventType.APPROVAL_RECORDED


@dataclass(frozen=True, slots=True)
class PolicyEndorsed(_ApprovalEvent):
    """Event ``policy.endorsed``: ``steward policy endorse`` endorsed a policy that relaxes
    the built-in packs.

    The endorsement is an approval record (fields as for ``approval.recorded``) whose
    ``subject`` is ``policy:NAME@N``, ``stage`` is ``floor`` and ``policy_hash`` is the
    policy's content hash; ``audit verify`` checks it like an approval.
    """

    event_type: ClassVar[EventType] = EventType.POLICY_ENDORSED


@dataclass(frozen=True, slots=True)
class WaiverGranted(Event):
    """Event ``waiver.granted``: ``steward waive`` set aside a waivable rule of a version's
    gate until a time. ``audit verify`` checks the stored waiver against ``content_hash``.

    :ivar id: the waiver's id.
    :ivar subject: the model version (``model:NAME@N``).
    :ivar rule: the waived rule's id (``evidence.fairness.…``).
    :ivar reason: why it is waived.
    :ivar granted_by: who waived it.
    :ivar expires_at: when the waiver lapses (ISO 8601, UTC).
    :ivar created_at: when it was granted.
    :ivar content_hash: the SHA-256 of the waiver's canonical content (every other field).
    """

    event_type: ClassVar[EventType] = EventType.WAIVER_GRANTED

    id: str
    subject: str
    rule: str
    reason: str
    granted_by: str
    expires_at: str
    created_at: str
    content_hash: str

    @classmethod
    def of(cls, waiver: Waiver) -> Self:
        """The event recording ``waiver`` (its ``content_hash`` set)."""
        return cls(**{f.name: getattr(waiver, f.name) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class CommentAdded(Event):
    """Event ``comment.added``: ``steward model comment`` added a remark to a model version.
    ``audit verify`` checks the stored comment against ``content_hash``.

    :ivar id: the comment's id.
    :ivar subject: the model version (``model:NAME@N``).
    :ivar user: who wrote it.
    :ivar text: the remark.
    :ivar created_at: when it was written.
    :ivar content_hash: the SHA-256 of the comment's canonical content (every other field).
    """

    event_type: ClassVar[EventType] = EventType.COMMENT_ADDED

    id: str
    subject: str
    user: str
    text: str
    created_at: str
    content_hash: str

    @classmethod
    def of(cls, comment: Comment) -> Self:
        """The event recording ``comment`` (its ``content_hash`` set)."""
        return cls(**{f.name: getattr(comment, f.name) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class ModelPromoted(Event):
    """Event ``model.promoted``: ``steward promote`` moved a model version to a stage (its
    gate passed, or the stage is ``archived``). ``audit verify`` replays these events to
    check every version's stage.

    :ivar model: the model's name.
    :ivar version: the version number.
    :ivar from_: the stage it left (key ``from``).
    :ivar to: the stage it entered.
    :ivar archived: the versions (``NAME@N``) moved out of production to make room.
    :ivar artifact: the promoted model file (``sha256:…``).
    :ivar decision: what the gate decided (``Decision.summary``: the policy's name, version
        and hash, the evidence set's hash, every rule's outcome, the failed rules, the
        built-in floor); ``null`` for ``archived``.
    """

    event_type: ClassVar[EventType] = EventType.MODEL_PROMOTED

    model: str
    version: int
    from_: str
    to: str
    archived: tuple[str, ...]
    artifact: str
    decision: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AttemptRefused(Event):
    """Event ``attempt.refused``: a governance attempt was refused and changed nothing but
    this record (decision 0018): an approval, rejection, waiver, promotion, policy application
    or endorsement, model card edit (a tier lowered by its author) or evidence reproduction.

    :ivar action: what was attempted (``approve``, ``promote``, ``policy.apply``…).
    :ivar target: what it was attempted on (a model version, a policy, a file).
    :ivar stage: the stage it was for, or ``null``.
    :ivar code: the refusal's error code (``forbidden``, ``not_found``, ``invalid_input``,
        ``refused``).
    :ivar reason: the refusal's message.
    :ivar failed: for a failed gate, the ids of the rules that failed; absent otherwise.
    :ivar policy: for a failed gate, the policy that decided (``name``, ``version``,
        ``content_hash``); absent otherwise.
    """

    event_type: ClassVar[EventType] = EventType.ATTEMPT_REFUSED

    action: str
    target: str
    stage: str | None
    code: str
    reason: str
    failed: tuple[str, ...] | None = None
    policy: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class WebhookAdded(Event):
    """Event ``webhook.added``: ``steward webhook add`` subscribed a URL to notifications
    (the signing secret is never ledgered).

    :ivar id: the webhook's id.
    :ivar url: where notifications are POSTed.
    :ivar events: the notification kinds it receives.
    """

    event_type: ClassVar[EventType] = EventType.WEBHOOK_ADDED

    id: str
    url: str
    events: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WebhookRemoved(Event):
    """Event ``webhook.removed``: ``steward webhook remove`` deactivated a webhook.

    :ivar id: the webhook's id.
    """

    event_type: ClassVar[EventType] = EventType.WEBHOOK_REMOVED

    id: str
