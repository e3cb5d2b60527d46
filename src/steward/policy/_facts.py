"""The facts a policy decision is made from, and the evidence set approvals are bound to."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from steward.domain import Approval, Evidence, Waiver

__all__ = [
    "CARD_BINDING",
    "OBSERVED_CHECKS",
    "Facts",
    "card_hash",
    "evidence_set_hash",
    "latest_evidence",
]

# The model-card fields a policy reads (documentation rules, selectors): an approval is bound
# to their values and lapses when any changes.
# Records that production monitoring keeps about a version (its runs and its reference): they
# observe the version, they do not judge it for a stage, so they are not part of the evidence
# set a decision reads and approvals are bound to — a monitor run must never make approvals
# lapse. What monitoring found reaches a gate through its open alerts instead.
OBSERVED_CHECKS = frozenset({"monitor", "monitoring.reference"})

CARD_BINDING = ("owner", "risk_tier", "description", "intended_use", "limitations", "tags")


@dataclass(frozen=True)
class Facts:
    """Everything a decision depends on, gathered by the services."""

    subject: str  # model:NAME@N
    author: str
    artifact: str
    features: tuple[str, ...]
    card: Mapping[str, Any]  # owner, risk_tier, description, intended_use, limitations, tags
    evidence: tuple[Evidence, ...]  # every record about the version
    pii_columns: tuple[str, ...]  # of the training dataset version
    dataset_evidence: tuple[Evidence, ...]  # the training dataset version's records
    approvals: tuple[Approval, ...]
    waivers: tuple[Waiver, ...]
    now: datetime
    # the id of the version's recorded split: only evidence judged on its test rows counts
    # (evidence on another dataset version informs, it does not pass a gate); None for a
    # version registered without a split
    split: str | None = None
    # each installed check's default parameters (JSON values): evidence counts only when
    # produced with the policy's values, or these where the policy is silent
    check_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # why the version's model file cannot be trusted (missing, or not matching its hash)
    artifact_problem: str | None = None
    # every identity that authored a version of the model (the author's word never counts)
    authors: tuple[str, ...] = ()
    # the version's open monitoring alerts: ``(alert id, severity, rule, monitor)``
    open_alerts: tuple[tuple[str, str, str, str], ...] = ()

    @property
    def card_hash(self) -> str:
        return card_hash(self.card)


def card_hash(card: Mapping[str, Any]) -> str:
    """SHA-256 over the card fields a policy reads (``CARD_BINDING``)."""
    bound = {name: card.get(name) for name in CARD_BINDING}
    data = json.dumps(bound, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def latest_evidence(records: tuple[Evidence, ...] | list[Evidence]) -> dict[str, Evidence]:
    """The newest record of each check (by time, then id); reproductions (re-runs by another
    identity, which attest to a record rather than replace it) are left out."""
    latest: dict[str, Evidence] = {}
    for record in sorted(records, key=lambda e: (e.created_at, e.id)):
        if record.reproduces is None:
            latest[record.check_id] = record
    return dict(sorted(latest.items()))


def evidence_set_hash(records: tuple[Evidence, ...] | list[Evidence]) -> str:
    """SHA-256 over the latest record of each check and the reproductions of those (ids and
    content hashes): a new evidence run or reproduction changes it, and with it every
    approval bound to the old set lapses."""
    latest = latest_evidence(records)
    current = {e.id for e in latest.values()}
    items = [[check, e.id, e.content_hash] for check, e in latest.items()]
    items += sorted(
        ["reproduction", e.id, e.content_hash]
        for e in records
        if e.reproduces is not None and e.reproduces in current
    )
    return hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).hexdigest()
