"""Content hashes of immutable records, and building evidence with its hash."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from typing import Any

from steward.domain import (
    DatasetVersion,
    Evidence,
    Finding,
    evidence_content,
    status_from,
)
from steward.ledger import canonical_bytes

__all__ = ["content_hash", "make_evidence", "sealed_version"]


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
