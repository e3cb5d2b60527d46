"""What the policy engine decides from, and what it answers.

``Decision`` is the engine's answer for one version and target stage: every rule with its
outcome (pass, fail, waived) and a reason a person can read. ``Approval`` and ``Waiver`` are
the human inputs; an approval is bound to the content it approved (model artifact, evidence
set, policy) and lapses when any of them changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "AppliedPolicy",
    "Approval",
    "Comment",
    "Decision",
    "Delivery",
    "Outcome",
    "RuleOutcome",
    "Waiver",
    "Webhook",
    "record_content",
]


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    WAIVED = "waived"


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """One rule's result. ``id`` is stable (``evidence.fairness``, ``approvals.steward``...);
    a waiver names it."""

    id: str
    outcome: Outcome
    reason: str
    waivable: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "waivable": self.waivable,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether ``subject`` may enter ``stage`` under the policy, rule by rule."""

    subject: str
    stage: str
    policy: str
    policy_version: int
    policy_hash: str
    artifact: str
    evidence_hash: str
    rules: tuple[RuleOutcome, ...]
    # the built-in pack of the model's risk tier and how it bore on the decision: enforced
    # as a floor under an applied policy, or relaxed (and by whom)
    floor: dict[str, Any] | None = None
    # the hash of the model-card fields the decision read (approvals are bound to it)
    card_hash: str = ""

    @property
    def allowed(self) -> bool:
        return all(rule.outcome is not Outcome.FAIL for rule in self.rules)

    @property
    def failed(self) -> tuple[RuleOutcome, ...]:
        return tuple(rule for rule in self.rules if rule.outcome is Outcome.FAIL)

    def summary(self) -> dict[str, Any]:
        """What a ledger event keeps of the decision: the policy and every rule's outcome."""
        return {
            "policy": self.policy,
            "policy_version": self.policy_version,
            "policy_hash": self.policy_hash,
            "evidence_hash": self.evidence_hash,
            "allowed": self.allowed,
            "rules": {rule.id: rule.outcome.value for rule in self.rules},
            "failed": {rule.id: rule.reason for rule in self.failed},
            "floor": self.floor,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "stage": self.stage,
            "allowed": self.allowed,
            "policy": {
                "name": self.policy,
                "version": self.policy_version,
                "content_hash": self.policy_hash,
            },
            "artifact": self.artifact,
            "evidence_hash": self.evidence_hash,
            "floor": self.floor,
            "rules": [rule.to_dict() for rule in self.rules],
        }


@dataclass(frozen=True, slots=True)
class Approval:
    """A person's approval (or rejection) of a version for a stage, bound to what they saw:
    the model file, the evidence set, the policy, and the model card (``card_hash``).

    The approver's credentials are kept with it: ``vouchers`` are the identities that
    created the approver or issued the token they approved with, transitively (an approval
    vouched for by the version's author counts for nothing); ``token_reset_by`` names the
    admin whose token reset the approval was made with (flagged on the gate report).

    The subject is a model version (``model:NAME@N``) or, for endorsing a policy that
    relaxes a built-in pack (stage ``floor``), an applied policy (``policy:NAME@N``).
    """

    id: str
    subject: str
    stage: str
    user: str
    roles: tuple[str, ...]
    decision: str  # "approve" or "reject"
    comment: str
    artifact: str
    evidence_hash: str
    policy_hash: str
    created_at: str
    card_hash: str = ""
    vouchers: tuple[str, ...] = ()
    token_id: str | None = None
    token_reset_by: str | None = None
    # the SHA-256 of record_content(self), set when the approval is made (not hashed itself)
    content_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The approval's JSON document: ``record_content`` (what its ledger event carries)."""
        return record_content(self)


@dataclass(frozen=True, slots=True)
class Waiver:
    """Rule ``rule`` does not block ``subject`` until ``expires_at`` (ISO 8601, UTC)."""

    id: str
    subject: str
    rule: str
    reason: str
    granted_by: str
    expires_at: str
    created_at: str
    content_hash: str = ""  # of record_content(self), set when granted

    def to_dict(self) -> dict[str, Any]:
        """The waiver's JSON document: ``record_content`` (what its ledger event carries)."""
        return record_content(self)


@dataclass(frozen=True, slots=True)
class AppliedPolicy:
    """A policy document as applied: numbered per name, hashed, never changed."""

    name: str
    version: int
    document: dict[str, Any]  # the validated policy, defaults filled in
    source: str  # the YAML as given
    applied_at: str
    applied_by: str
    content_hash: str  # SHA-256 of the document's canonical JSON

    @property
    def subject(self) -> str:
        return f"policy:{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The policy's JSON document; a built-in pack is version 0 (``built_in``), with
        ``applied_at`` ``None``; ``source`` is the YAML as given."""
        return {
            "name": self.name,
            "version": self.version,
            "built_in": self.version == 0,
            "content_hash": self.content_hash,
            "applied_at": self.applied_at or None,
            "applied_by": self.applied_by,
            "document": self.document,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Comment:
    """A remark on a model version, kept with it (and ledgered)."""

    id: str
    subject: str
    user: str
    text: str
    created_at: str
    content_hash: str = ""  # of record_content(self), set when written

    def to_dict(self) -> dict[str, Any]:
        """The comment's JSON document: ``record_content`` (what its ledger event carries)."""
        return record_content(self)


@dataclass(frozen=True, slots=True)
class Webhook:
    """A subscription: ``events`` are POSTed to ``url``, signed with ``secret`` (HMAC-SHA256)."""

    id: str
    url: str
    secret: str
    events: tuple[str, ...]
    created_by: str
    created_at: str
    active: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The subscription's JSON document, without the secret (shown once, when added)."""
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "created_by": self.created_by,
            "created_at": self.created_at,
            "active": self.active,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification to one webhook, and how sending it went."""

    id: str
    webhook_id: str
    event: str
    body: str
    state: str  # pending, delivered, failed
    attempts: int
    next_attempt_at: str
    last_status: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None

    def to_dict(self) -> dict[str, Any]:
        """The delivery's JSON document (not the body sent); ``webhook`` is its id."""
        return {
            "id": self.id,
            "webhook": self.webhook_id,
            "event": self.event,
            "state": self.state,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "delivered_at": self.delivered_at,
        }


# Fields added to approvals after the first release, with the value older records have:
# left out of the hashed content when at that value, so older records still verify.
_LATER_FIELDS: dict[str, Any] = {
    "card_hash": "",
    "vouchers": [],
    "token_id": None,
    "token_reset_by": None,
}


def record_content(record: Approval | Waiver | Comment) -> dict[str, Any]:
    """The fields of an approval, waiver or comment as JSON data, its ``content_hash`` left
    out: what that hash covers and its ledger event carries (with the hash)."""
    content = {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in asdict(record).items()
        if k != "content_hash"
    }
    if isinstance(record, Approval):
        for name, absent in _LATER_FIELDS.items():
            if content[name] == absent:
                del content[name]
    return content
