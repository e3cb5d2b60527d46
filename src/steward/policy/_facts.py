"""The facts a policy decision is made from, and the evidence set approvals are bound to."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from steward.domain import Approval, Evidence, Waiver

__all__ = ["Facts", "evidence_set_hash", "latest_evidence"]


@dataclass(frozen=True)
class Facts:
    """Everything a decision depends on, gathered by the services."""

    subject: str  # model:NAME@N
    author: str
    artifact: str
    features: tuple[str, ...]
    card: Mapping[str, Any]  # owner, description, intended_use, limitations
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


def latest_evidence(records: tuple[Evidence, ...] | list[Evidence]) -> dict[str, Evidence]:
    """The newest record of each check (by time, then id)."""
    latest: dict[str, Evidence] = {}
    for record in sorted(records, key=lambda e: (e.created_at, e.id)):
        latest[record.check_id] = record
    return dict(sorted(latest.items()))


def evidence_set_hash(records: tuple[Evidence, ...] | list[Evidence]) -> str:
    """SHA-256 over the latest record of each check (id and content hash): a new evidence run
    changes it, and with it every approval bound to the old set lapses."""
    items = [[check, e.id, e.content_hash] for check, e in latest_evidence(records).items()]
    return hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).hexdigest()
