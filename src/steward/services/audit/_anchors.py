"""Records kept outside the ledger (dataset versions, evidence, runs, model versions, model
cards, applied policies, approvals, waivers, comments) and model stages checked against the
ledger.

Each such record keeps a content hash, and the ledger event that created it (for a model
card: that last changed it) carries the same hash. ``check_records`` recomputes every
record's hash from its stored fields and compares it with both, so editing a record — even
with its stored hash rewritten — is detected, as is a record with no ledger event (inserted)
or a ledger event whose record is gone (deleted).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from steward.domain import EventType, RunStatus, Stage, record_content, run_content
from steward.policy import document_hash
from steward.services._records import content_hash
from steward.store import Reader

__all__ = ["RecordProblem", "check_records"]


@dataclass(frozen=True, slots=True)
class RecordProblem:
    seq: int | None
    problem: str


def check_records(reader: Reader) -> tuple[int, RecordProblem | None]:
    """``(records checked, first problem or None)``: identities (users, roles, tokens)
    first, then every other record."""
    from steward.services.identity._ledger import check_identities

    identities, problem = check_identities(reader)
    if problem is not None:
        return identities, problem
    checked, problem = _check_other_records(reader)
    return identities + checked, problem


def _check_other_records(reader: Reader) -> tuple[int, RecordProblem | None]:
    expected: dict[str, tuple[int, str]] = {}
    sources: dict[str, str] = {}
    for event in reader.events_of_types(EventType.DATASET_REGISTERED.value):
        payload = event.payload
        expected[f"dataset:{payload['dataset']}@{payload['version']}"] = (
            event.seq,
            payload["content_hash"],
        )
        for item in payload.get("evidence", []):
            expected[f"evidence:{item['id']}"] = (event.seq, item["content_hash"])
    for event in reader.events_of_types(EventType.EVIDENCE_RECORDED.value):
        for item in event.payload["evidence"]:
            expected[f"evidence:{item['id']}"] = (event.seq, item["content_hash"])
    for event in reader.events_of_types(EventType.RUN_FINISHED.value):
        expected[f"run:{event.payload['run']}"] = (event.seq, event.payload["content_hash"])
    # A model card changes; the latest event about it holds the hash of its current content.
    card_events = (EventType.MODEL_REGISTERED.value, EventType.MODEL_UPDATED.value)
    for event in reader.events_of_types(*card_events):
        payload = event.payload
        if event.type == EventType.MODEL_REGISTERED.value:
            expected[f"model:{payload['model']}@{payload['version']}"] = (
                event.seq,
                payload["content_hash"],
            )
        if payload.get("card_hash"):
            expected[f"card:{payload['model']}"] = (event.seq, payload["card_hash"])

    for event in reader.events_of_types(EventType.POLICY_APPLIED.value):
        payload = event.payload
        expected[f"policy:{payload['policy']}@{payload['version']}"] = (
            event.seq,
            payload["content_hash"],
        )
        sources[f"policy:{payload['policy']}@{payload['version']}"] = payload["source_hash"]

    kinds = {
        EventType.APPROVAL_RECORDED.value: "approval",
        EventType.POLICY_ENDORSED.value: "approval",
        EventType.WAIVER_GRANTED.value: "waiver",
        EventType.COMMENT_ADDED.value: "comment",
    }
    for event in reader.events_of_types(*kinds):
        expected[f"{kinds[event.type]}:{event.payload['id']}"] = (
            event.seq,
            event.payload["content_hash"],
        )
    # Stages move only through ledgered promotions; replaying them gives each version's stage.
    stages: dict[str, tuple[int, str]] = {}
    for event in reader.events_of_types(EventType.MODEL_PROMOTED.value):
        payload = event.payload
        stages[f"model:{payload['model']}@{payload['version']}"] = (event.seq, payload["to"])
        for ref in payload.get("archived", []):
            stages[f"model:{ref}"] = (event.seq, Stage.ARCHIVED.value)

    checked = 0
    seen: set[str] = set()
    records = [
        (f"dataset:{v.ref}", f"dataset version {v.ref}", v.content_hash, v.content())
        for v in reader.dataset_versions()
    ] + [
        (
            f"evidence:{e.id}",
            f"evidence {e.id} ({e.check_id} on {e.subject})",
            e.content_hash,
            e.content(),
        )
        for e in reader.evidence_for()
    ]
    records += [
        (v.subject, f"model version {v.ref}", v.content_hash, v.record())
        for v in reader.model_versions()
    ]
    records += [
        (f"card:{m.name}", f"model card of {m.name}", m.content_hash, m.content())
        for m in reader.models()
    ]
    records += [
        (f"approval:{a.id}", f"approval {a.id} of {a.subject}", h, record_content(a))
        for a, h in reader.approvals_hashed()
    ]
    records += [
        (f"waiver:{w.id}", f"waiver {w.id} of {w.subject}", h, record_content(w))
        for w, h in reader.waivers_hashed()
    ]
    records += [
        (f"comment:{c.id}", f"comment {c.id} on {c.subject}", h, record_content(c))
        for c, h in reader.comments_hashed()
    ]
    for run in reader.runs(limit=None):
        if run.status is RunStatus.RUNNING:
            continue  # a draft: sealed, and anchored, when it finishes
        records.append(
            (
                f"run:{run.id}",
                f"run {run.id} ({run.name})",
                run.content_hash or "",
                run_content(run, reader.run_metrics(run.id)),
            )
        )
    for policy in reader.policy_versions():
        checked += 1
        seen.add(policy.subject)
        anchor = expected.get(policy.subject)
        label = f"policy {policy.name}@{policy.version}"
        if anchor is None:
            return checked, RecordProblem(None, f"{label} has no ledger event (inserted)")
        source = hashlib.sha256(policy.source.encode("utf-8")).hexdigest()
        if (
            document_hash(policy.document) != anchor[1]
            or policy.content_hash != anchor[1]
            or source != sources.get(policy.subject)
        ):
            return checked, RecordProblem(
                anchor[0],
                f"{label} does not match the content recorded by event {anchor[0]} (edited)",
            )
    for key, label, stored, content in records:
        checked += 1
        seen.add(key)
        actual = content_hash(content)
        anchor = expected.get(key)
        if anchor is None:
            return checked, RecordProblem(None, f"{label} has no ledger event (inserted)")
        seq, recorded = anchor
        if actual != recorded or stored != recorded:
            return checked, RecordProblem(
                seq, f"{label} does not match the content recorded by event {seq} (edited)"
            )
    for version in reader.model_versions():
        moved = stages.get(version.subject)
        stage = moved[1] if moved else Stage.NONE.value
        if version.stage.value != stage:
            registered = expected.get(version.subject)
            at = moved[0] if moved else registered[0] if registered else None
            how = (
                f"the ledger (event {moved[0]}) left it in {stage}"
                if moved
                else "no ledgered transition"
            )
            return checked, RecordProblem(
                at,
                f"model version {version.ref} is in stage {version.stage.value}, but {how} "
                "(edited)",
            )
    missing = sorted(set(expected) - seen, key=lambda k: expected[k][0])
    if missing:
        seq = expected[missing[0]][0]
        return checked, RecordProblem(
            seq, f"{missing[0]} recorded by event {seq} is gone (deleted)"
        )
    return checked, None
