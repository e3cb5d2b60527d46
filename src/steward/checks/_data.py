"""``data``: the evidence about the model's training data, linked to the model version.

Lists the dataset version's own evidence (contract validation, PII scan), each by id, status
and content hash, so a policy judging the model can require that its data passed too. A failed
dataset record is a high finding on the model, a warning a low one.
"""

from __future__ import annotations

from typing import ClassVar

from steward.checks._base import Capabilities, Check, CheckContext
from steward.checks._params import ParameterConstraints
from steward.domain import Evidence, EvidenceStatus, Finding, Severity

__all__ = ["Data"]


class Data(Check):
    id = "data"
    version = "1"
    capabilities = Capabilities(tasks=frozenset({"binary", "multiclass", "regression"}))
    produces = ()
    parameter_constraints: ClassVar[ParameterConstraints] = {}  # no parameters

    def __init__(self) -> None:
        pass

    def run(self, context: CheckContext) -> Evidence:
        refusal = self.capabilities.refuses(context.version)
        if refusal is not None:
            return context.not_applicable(self, refusal)
        if not context.dataset_evidence:
            return context.not_applicable(self, "no evidence recorded about the dataset")
        records = sorted(context.dataset_evidence, key=lambda e: (e.subject, e.check_id, e.id))
        datasets = sorted({e.subject.removeprefix("dataset:") for e in records})
        findings = []
        for record in records:
            severity = {
                EvidenceStatus.FAILED: Severity.HIGH,
                EvidenceStatus.WARNING: Severity.LOW,
            }.get(record.status)
            if severity is not None:
                findings.append(
                    Finding(
                        "dataset_evidence",
                        severity,
                        f"{record.check_id} on {record.subject.removeprefix('dataset:')} "
                        f"{record.status.value} ({len(record.findings)} finding(s))",
                        data={"evidence": record.id},
                    )
                )
        metrics = {
            "datasets": datasets,
            "evidence": [
                {
                    "id": record.id,
                    "subject": record.subject,
                    "check_id": record.check_id,
                    "status": record.status.value,
                    "content_hash": record.content_hash,
                }
                for record in records
            ],
        }
        return context.evidence(self, metrics=metrics, findings=tuple(findings))
