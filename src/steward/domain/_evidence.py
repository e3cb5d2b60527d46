"""Evidence: immutable results of checks, the facts that policies judge and auditors read."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from steward.domain._documents import plain

__all__ = ["Evidence", "EvidenceStatus", "Finding", "Severity", "evidence_content", "status_from"]


class Severity(IntEnum):
    """Ordered, so a policy can say "no finding at or above HIGH"."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            choices = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}: choose from {choices}") from None


class EvidenceStatus(StrEnum):
    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation of a check, with a severity and (optionally) the column it concerns."""

    code: str
    severity: Severity
    message: str
    column: str | None = None
    data: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.label,
            "message": self.message,
            "column": self.column,
            "data": self.data or {},
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Finding:
        return cls(
            code=raw["code"],
            severity=Severity.parse(raw["severity"]),
            message=raw["message"],
            column=raw.get("column"),
            data=raw.get("data") or None,
        )


def status_from(findings: tuple[Finding, ...]) -> EvidenceStatus:
    """FAILED with any HIGH or CRITICAL finding, WARNING with any LOW or MEDIUM, else PASSED."""
    worst = max((f.severity for f in findings), default=Severity.INFO)
    if worst >= Severity.HIGH:
        return EvidenceStatus.FAILED
    if worst >= Severity.LOW:
        return EvidenceStatus.WARNING
    return EvidenceStatus.PASSED


@dataclass(frozen=True, slots=True)
class Evidence:
    """An immutable check result about one subject (``dataset:NAME@N``, later ``model:…``).

    ``content_hash`` is the SHA-256 of the canonical encoding of every other field but the
    id and hash themselves; the ledger event that recorded it carries the same hash.

    ``provenance`` says what computed it: Steward's version, the check's class, the SHA-256
    of its source file and of its code as loaded in the computing process, the Python and
    library versions, the host. A record with ``inputs["reproduces"]`` is a reproduction:
    another identity's re-run of the record it names, with the same parameters and rows.
    """

    id: str
    subject: str
    check_id: str
    check_version: str
    status: EvidenceStatus
    params: dict[str, Any]
    inputs: dict[str, Any]
    metrics: dict[str, Any]
    findings: tuple[Finding, ...]
    artifacts: dict[str, str]
    created_at: str
    created_by: str
    content_hash: str
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def reproduces(self) -> str | None:
        """The id of the record this one reproduces, or ``None``."""
        value = self.inputs.get("reproduces")
        return value if isinstance(value, str) else None

    def content(self) -> dict[str, Any]:
        """The hashed content (everything but ``id`` and ``content_hash``)."""
        return evidence_content(
            subject=self.subject,
            check_id=self.check_id,
            check_version=self.check_version,
            status=self.status,
            params=self.params,
            inputs=self.inputs,
            metrics=self.metrics,
            findings=self.findings,
            artifacts=self.artifacts,
            created_at=self.created_at,
            created_by=self.created_by,
            provenance=self.provenance,
        )

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON document: every field (tuples in the free-form parts as lists,
        as they read back), and ``reproduces`` (or ``None``)."""
        return {
            "id": self.id,
            "subject": self.subject,
            "check_id": self.check_id,
            "check_version": self.check_version,
            "status": self.status.value,
            "params": plain(self.params),
            "inputs": plain(self.inputs),
            "metrics": plain(self.metrics),
            "findings": [f.to_dict() for f in self.findings],
            "artifacts": self.artifacts,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "content_hash": self.content_hash,
            "provenance": plain(self.provenance),
            "reproduces": self.reproduces,
        }


def evidence_content(
    *,
    subject: str,
    check_id: str,
    check_version: str,
    status: EvidenceStatus,
    params: dict[str, Any],
    inputs: dict[str, Any],
    metrics: dict[str, Any],
    findings: tuple[Finding, ...],
    artifacts: dict[str, str],
    created_at: str,
    created_by: str,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    content: dict[str, Any] = {
        "artifacts": artifacts,
        "check_id": check_id,
        "check_version": check_version,
        "created_at": created_at,
        "created_by": created_by,
        "findings": [f.to_dict() for f in findings],
        "inputs": inputs,
        "metrics": metrics,
        "params": params,
        "status": status.value,
        "subject": subject,
    }
    if provenance:  # records made before provenance was kept hash without it
        content["provenance"] = provenance
    return content
