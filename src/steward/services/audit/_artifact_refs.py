"""Every artifact the store references, and hashing them all (``audit verify --artifacts``).

The records that name artifacts are anchored in the ledger by their content hashes (see
``_anchors.py``), so once they verify, the keys they hold are the ones that were recorded;
what is left to check is that the artifact store still holds those bytes. A key is hashed
once however many records name it; a problem is reported with the first record naming it, in
the order below (model files before the runs that produced them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from steward.artifacts import ArtifactStore
from steward.errors import InvalidInput, NotFound
from steward.store import Reader

__all__ = ["ArtifactCheck", "ArtifactRef", "artifact_references", "check_artifacts"]

# (artifacts checked, artifacts to check, bytes hashed, bytes to hash)
ArtifactProgress = Callable[[int, int, int, int], None]


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """Record ``record`` (a subject such as ``model:credit@1``) names artifact ``key``."""

    key: str
    record: str
    label: str


def artifact_references(reader: Reader) -> dict[str, list[ArtifactRef]]:
    """Each artifact key the store's records name, with the records naming it, in order:
    model versions (model file, split document), dataset versions (canonical Parquet),
    evidence (plots, explanation backgrounds, the model file judged), runs (their logged and
    attached artifacts), approvals (the model file approved)."""
    refs: dict[str, list[ArtifactRef]] = {}

    def add(key: object, record: str, label: str) -> None:
        if isinstance(key, str) and key:
            refs.setdefault(key, []).append(ArtifactRef(key, record, label))

    for version in reader.model_versions():
        add(version.artifact, version.subject, f"the model file of model version {version.ref}")
        if version.split:
            add(
                version.split.get("artifact"),
                version.subject,
                f"the split document of model version {version.ref}",
            )
    for dataset in reader.dataset_versions():
        add(dataset.artifact, dataset.subject, f"the table of dataset version {dataset.ref}")
    for record in reader.evidence_for():
        where = f"evidence {record.id} ({record.check_id} on {record.subject})"
        for name, key in sorted(record.artifacts.items()):
            add(key, f"evidence:{record.id}", f"{name!r} of {where}")
        add(record.inputs.get("model_artifact"), f"evidence:{record.id}", f"the model of {where}")
    for run in reader.runs(limit=None):
        for name, key in sorted(run.artifacts.items()):
            add(key, f"run:{run.id}", f"{name!r} of run {run.id} ({run.name})")
    for approval in reader.approvals():
        add(
            approval.artifact,
            f"approval:{approval.id}",
            f"the model file approved by approval {approval.id} of {approval.subject}",
        )
    return refs


@dataclass(frozen=True, slots=True)
class ArtifactCheck:
    """The outcome of hashing every referenced artifact."""

    referenced: int
    references: int
    checked: int = 0
    bytes_hashed: int = 0
    missing: int = 0
    mismatched: int = 0
    first: dict[str, Any] | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "referenced": self.referenced,
            "references": self.references,
            "checked": self.checked,
            "bytes_hashed": self.bytes_hashed,
            "missing": self.missing,
            "mismatched": self.mismatched,
            "first_problem": self.first,
        }


def check_artifacts(
    refs: dict[str, list[ArtifactRef]],
    artifacts: ArtifactStore,
    progress: ArtifactProgress | None = None,
) -> ArtifactCheck:
    """Hash every artifact in ``refs`` (streamed, one read of each file) and count the missing
    and mismatching ones; the problem named is the first in reference order.

    Sizes are read first (a missing file is found then, without hashing), so the progress
    reports bytes: ``progress(checked, total, bytes hashed, total bytes)``.
    """
    sizes: dict[str, int | None] = {}
    problems: dict[str, str] = {}
    for key in refs:
        try:
            sizes[key] = artifacts.size(key)
        except NotFound:
            sizes[key], problems[key] = None, "missing"
        except InvalidInput:
            sizes[key], problems[key] = None, "is not an artifact key"
    total_bytes = sum(size for size in sizes.values() if size is not None)
    done = 0
    hashed = 0

    def advance(count: int) -> None:
        nonlocal hashed
        hashed += count
        if progress is not None:
            progress(done, len(refs), hashed, total_bytes)

    if progress is not None:
        progress(0, len(refs), 0, total_bytes)
    for key, size in sizes.items():
        if size is not None:
            problem = artifacts.problem(key, progress=advance)
            if problem is not None:
                problems[key] = problem
        done += 1
        if progress is not None:
            progress(done, len(refs), hashed, total_bytes)
    missing = sum(1 for p in problems.values() if p == "missing")
    counted = ArtifactCheck(
        referenced=len(refs),
        references=sum(len(named) for named in refs.values()),
        checked=done,
        bytes_hashed=hashed,
        missing=missing,
        mismatched=len(problems) - missing,
    )
    first_key = next((key for key in refs if key in problems), None)
    if first_key is None:
        return counted
    ref = refs[first_key][0]
    problem = problems[first_key]
    how = {
        "missing": "is missing from the artifact store (deleted)",
        "does not match its hash": "does not match its hash (swapped, edited or damaged)",
    }.get(problem, problem)
    others = len(problems) - 1
    more = f"; {others} more artifact(s) are missing or mismatching" if others else ""
    return replace(
        counted,
        first={
            "key": first_key,
            "problem": problem,
            "record": ref.record,
            "referenced_by": ref.label,
        },
        problem=f"artifact {first_key}, {ref.label}, {how}{more}",
    )
