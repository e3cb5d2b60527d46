"""The evidence registration records: validation against the contract, and the PII scan."""

from __future__ import annotations

from typing import Any

from steward.domain import Dataset, DatasetVersion, Finding, Severity

__all__ = ["contract_source", "entities", "first_version_findings", "pii_findings"]


def entities() -> tuple[str, ...]:
    from steward.data import ENTITIES

    return ENTITIES


def contract_source(dataset: Dataset | None, previous: DatasetVersion | None) -> str | None:
    if dataset is not None and dataset.contract is not None:
        return "dataset contract"
    return previous.ref if previous else None


def first_version_findings(
    previous: DatasetVersion | None, contract: dict[str, Any] | None
) -> tuple[Finding, ...]:
    if contract is None:
        return (
            Finding(
                "contract_established",
                Severity.INFO,
                "first version: its schema becomes the contract later versions are checked against",
            ),
        )
    return ()


def pii_findings(scan: Any) -> tuple[Finding, ...]:
    findings = []
    for found in scan.findings:
        if found.source == "values":
            findings.append(
                Finding(
                    "pii_values",
                    Severity.HIGH,
                    f"column {found.column!r} holds {found.entity} values "
                    f"({found.matched} of {found.sampled} sampled cells, e.g. {found.example})",
                    column=found.column,
                    data={
                        "entity": found.entity,
                        "share": round(found.share, 4),
                        "sampled": found.sampled,
                        "example": found.example,
                    },
                )
            )
        else:
            findings.append(
                Finding(
                    "pii_column_name",
                    Severity.LOW,
                    f"column {found.column!r} is named like {found.entity}; its values do not "
                    "confirm it",
                    column=found.column,
                    data={"entity": found.entity},
                )
            )
    if scan.truncated:
        findings.append(
            Finding(
                "pii_scan_truncated",
                Severity.MEDIUM,
                "the PII scan hit its time budget; some columns were not scanned",
            )
        )
    return tuple(findings)
