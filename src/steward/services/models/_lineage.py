"""A model version's lineage: version → parents → run (and its trials) → datasets → split →
ledger."""

from __future__ import annotations

from typing import Any

from steward.domain import EventType, ModelVersion, Ref
from steward.store import Reader

__all__ = ["model_lineage"]


def model_lineage(reader: Reader, version: ModelVersion) -> dict[str, Any]:
    """The lineage document of ``version``, read in one snapshot."""
    run = reader.run(version.run_id) if version.run_id else None
    trials = reader.runs(parent_id=run.id, limit=None) if run else []
    datasets = []
    for item in version.datasets:
        parsed = Ref.parse(item["ref"])
        found = reader.dataset_version(parsed.name, parsed.version or 0)
        datasets.append(
            {
                "ref": item["ref"],
                "fingerprint": item["fingerprint"],
                "rows": found.rows if found else None,
                "content_hash": found.content_hash if found else None,
                "source": found.source if found else None,
            }
        )
    parents = []
    for parent_ref in version.parents:
        parsed = Ref.parse(parent_ref)
        parent = reader.model_version(parsed.name, parsed.version or 0)
        parents.append(
            {
                "ref": parent_ref,
                "artifact": parent.artifact if parent else None,
                "content_hash": parent.content_hash if parent else None,
                "run": parent.run_id if parent else None,
            }
        )
    subjects = _subjects(version, run.id if run else None) | {f"model:{p}" for p in version.parents}
    events = [
        {"seq": e.seq, "type": e.type, "subject": e.subject, "ts": e.ts}
        for e in reader.events_of_types(
            EventType.MODEL_REGISTERED.value,
            EventType.RUN_FINISHED.value,
            EventType.DATASET_REGISTERED.value,
        )
        if e.subject in subjects
    ]
    document: dict[str, Any] = {
        "model": version.ref,
        "artifact": version.artifact,
        "format": version.format,
        "content_hash": version.content_hash,
        "created_by": version.created_by,
        "created_at": version.created_at,
        "run": None,
        "parents": parents,
        "mitigation": version.params.get("mitigation"),
        "tuning": version.tuning,
        "datasets": datasets,
        "split": version.split,
        "ledger": events,
    }
    if run is not None:
        document["run"] = {
            "id": run.id,
            "name": run.name,
            "status": run.status.value,
            "actor": run.actor,
            "git": run.code.get("git"),
            "python": run.environment.get("python"),
            "content_hash": run.content_hash,
            "trials": len(trials),
        }
    return document


def _subjects(version: ModelVersion, run_id: str | None) -> set[str]:
    subjects = {version.subject, *(f"dataset:{d['ref']}" for d in version.datasets)}
    if version.split:
        subjects.add(f"dataset:{version.split['dataset']['ref']}")
    if run_id:
        subjects.add(f"run:{run_id}")
    return subjects
