"""Records kept outside the ledger (dataset versions, evidence, runs, model versions, model
cards, applied policies, approvals, waivers, comments, endpoint deployment states) and model
stages checked against the ledger.

Each such record keeps a content hash, and the ledger event that created it (for a model
card: that last changed it) carries the same hash. ``check_records`` recomputes every
record's hash from its stored fields and compares it with both, so editing a record — even
with its stored hash rewritten — is detected, as is a record with no ledger event (inserted)
or a ledger event whose record is gone (deleted).

What is checked is a table, ``KINDS``: one entry per kind of record, saying which events
anchor it, what each of those events recorded about it, and how its stored rows are read and
rehashed. One loop walks the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from steward.domain import (
    AlertChanged,
    ApprovalRecorded,
    CommentAdded,
    DatasetRegistered,
    DeploymentChanged,
    Event,
    EvidenceRecorded,
    ModelPromoted,
    ModelRegistered,
    ModelUpdated,
    MonitorApplied,
    MonitorRan,
    PolicyApplied,
    PolicyEndorsed,
    RunFinished,
    RunStatus,
    Stage,
    WaiverGranted,
    parse_event,
    record_content,
    run_content,
)
from steward.policy import document_hash
from steward.services._records import content_hash
from steward.store import Reader

__all__ = ["KINDS", "AnchoredKind", "RecordProblem", "check_records"]

# A record's key (``dataset:NAME@N``, ``approval:ID``…) and the values its event recorded.
Anchor = tuple[str, tuple[str, ...]]
# A stored record: its key, how a message names it, its stored content hash, and the values
# recomputed from its stored fields (one per value its event recorded, in the same order).
Stored = tuple[str, str, str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class RecordProblem:
    seq: int | None
    problem: str


@dataclass(frozen=True, slots=True)
class AnchoredKind:
    """One kind of record kept outside the ledger and anchored in it.

    ``events`` are the typed events that anchor it (of a record anchored twice, as a model
    card each edit re-anchors, the later event counts); ``anchors`` says what one such event
    recorded, for each record it anchors; ``records`` lists the stored records. A stored
    record matches its anchor when the values recomputed from it equal the recorded ones and
    its stored hash equals the first of them.
    """

    events: tuple[type[Event], ...]
    anchors: Callable[[Any], Iterable[Anchor]]
    records: Callable[[Reader], Iterable[Stored]]


def _hashed(key: str, label: str, stored: str | None, content: dict[str, Any]) -> Stored:
    return key, label, stored or "", (content_hash(content),)


def _policy_anchor(event: PolicyApplied) -> Iterator[Anchor]:
    yield f"policy:{event.policy}@{event.version}", (event.content_hash, event.source_hash)


def _policies(reader: Reader) -> Iterator[Stored]:
    for policy in reader.policy_versions():
        source = hashlib.sha256(policy.source.encode("utf-8")).hexdigest()
        label = f"policy {policy.name}@{policy.version}"
        yield policy.subject, label, policy.content_hash, (document_hash(policy.document), source)


def _dataset_anchor(event: DatasetRegistered) -> Iterator[Anchor]:
    yield f"dataset:{event.dataset}@{event.version}", (event.content_hash,)


def _datasets(reader: Reader) -> Iterator[Stored]:
    for v in reader.dataset_versions():
        yield _hashed(f"dataset:{v.ref}", f"dataset version {v.ref}", v.content_hash, v.content())


def _evidence_anchors(
    event: DatasetRegistered | EvidenceRecorded | MonitorRan,
) -> Iterator[Anchor]:
    for entry in event.evidence:
        yield f"evidence:{entry.id}", (entry.content_hash,)


def _evidence(reader: Reader) -> Iterator[Stored]:
    for e in reader.evidence_for():
        label = f"evidence {e.id} ({e.check_id} on {e.subject})"
        yield _hashed(f"evidence:{e.id}", label, e.content_hash, e.content())


def _version_anchor(event: ModelRegistered) -> Iterator[Anchor]:
    yield f"model:{event.model}@{event.version}", (event.content_hash,)


def _versions(reader: Reader) -> Iterator[Stored]:
    for v in reader.model_versions():
        yield _hashed(v.subject, f"model version {v.ref}", v.content_hash, v.record())


def _card_anchor(event: ModelRegistered | ModelUpdated) -> Iterator[Anchor]:
    if event.card_hash:  # a later version of a model does not touch its card
        yield f"card:{event.model}", (event.card_hash,)


def _cards(reader: Reader) -> Iterator[Stored]:
    for m in reader.models():
        yield _hashed(f"card:{m.name}", f"model card of {m.name}", m.content_hash, m.content())


def _record_anchor(kind: str) -> Callable[[Any], Iterator[Anchor]]:
    """The anchor of an approval, waiver or comment: its event carries its id and hash."""

    def anchor(
        event: ApprovalRecorded | PolicyEndorsed | WaiverGranted | CommentAdded,
    ) -> Iterator[Anchor]:
        yield f"{kind}:{event.id}", (event.content_hash,)

    return anchor


def _approvals(reader: Reader) -> Iterator[Stored]:
    for a in reader.approvals():
        label = f"approval {a.id} of {a.subject}"
        yield _hashed(f"approval:{a.id}", label, a.content_hash, record_content(a))


def _waivers(reader: Reader) -> Iterator[Stored]:
    for w in reader.waivers():
        label = f"waiver {w.id} of {w.subject}"
        yield _hashed(f"waiver:{w.id}", label, w.content_hash, record_content(w))


def _comments(reader: Reader) -> Iterator[Stored]:
    for c in reader.comments():
        label = f"comment {c.id} on {c.subject}"
        yield _hashed(f"comment:{c.id}", label, c.content_hash, record_content(c))


def _run_anchor(event: RunFinished) -> Iterator[Anchor]:
    yield f"run:{event.run}", (event.content_hash,)


def _runs(reader: Reader) -> Iterator[Stored]:
    for run in reader.runs(limit=None):
        if run.status is RunStatus.RUNNING:
            continue  # a draft: sealed, and anchored, when it finishes
        content = run_content(run, reader.run_metrics(run.id))
        yield _hashed(f"run:{run.id}", f"run {run.id} ({run.name})", run.content_hash, content)


def _deployment_anchor(event: DeploymentChanged) -> Iterator[Anchor]:
    yield f"deployment:{event.id}", (event.content_hash,)


def _deployments(reader: Reader) -> Iterator[Stored]:
    for d in reader.deployments():
        label = f"endpoint {d.endpoint} state {d.seq}"
        yield _hashed(f"deployment:{d.id}", label, d.content_hash, d.content())


def _monitor_anchor(event: MonitorApplied) -> Iterator[Anchor]:
    yield f"monitor:{event.id}", (event.content_hash,)


def _monitors(reader: Reader) -> Iterator[Stored]:
    for m in reader.monitors():
        label = f"monitor {m.name}@{m.version}"
        yield _hashed(f"monitor:{m.id}", label, m.content_hash, m.content())


def _alert_anchor(event: AlertChanged | MonitorRan) -> Iterator[Anchor]:
    if isinstance(event, MonitorRan):
        for entry in event.alerts:
            yield f"alert:{entry.id}", (entry.content_hash,)
    else:
        yield f"alert:{event.id}", (event.content_hash,)


def _alerts(reader: Reader) -> Iterator[Stored]:
    for a in reader.alert_states():
        label = f"alert {a.alert} state {a.seq}"
        yield _hashed(f"alert:{a.id}", label, a.content_hash, a.content())


# In the order records are checked (the first problem found is the one reported).
KINDS: tuple[AnchoredKind, ...] = (
    AnchoredKind((PolicyApplied,), _policy_anchor, _policies),
    AnchoredKind((DatasetRegistered,), _dataset_anchor, _datasets),
    AnchoredKind((DatasetRegistered, EvidenceRecorded, MonitorRan), _evidence_anchors, _evidence),
    AnchoredKind((ModelRegistered,), _version_anchor, _versions),
    AnchoredKind((ModelRegistered, ModelUpdated), _card_anchor, _cards),
    AnchoredKind((ApprovalRecorded, PolicyEndorsed), _record_anchor("approval"), _approvals),
    AnchoredKind((WaiverGranted,), _record_anchor("waiver"), _waivers),
    AnchoredKind((CommentAdded,), _record_anchor("comment"), _comments),
    AnchoredKind((RunFinished,), _run_anchor, _runs),
    AnchoredKind((DeploymentChanged,), _deployment_anchor, _deployments),
    AnchoredKind((MonitorApplied,), _monitor_anchor, _monitors),
    AnchoredKind((MonitorRan, AlertChanged), _alert_anchor, _alerts),
)


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
    expected: dict[str, tuple[int, tuple[str, ...]]] = {}
    # Stages move only through ledgered promotions; replaying them gives each version's stage.
    stages: dict[str, tuple[int, str]] = {}
    types = {cls.event_type.value for kind in KINDS for cls in kind.events}
    for event in reader.events_of_types(*sorted(types), ModelPromoted.event_type.value):
        try:
            typed = parse_event(event)
        except ValueError as exc:
            return 0, RecordProblem(event.seq, f"{exc} (a record's anchor is unreadable)")
        if isinstance(typed, ModelPromoted):
            stages[f"model:{typed.model}@{typed.version}"] = (event.seq, typed.to)
            for ref in typed.archived:
                stages[f"model:{ref}"] = (event.seq, Stage.ARCHIVED.value)
        for kind in KINDS:
            if isinstance(typed, kind.events):
                for key, recorded in kind.anchors(typed):
                    expected[key] = (event.seq, recorded)

    checked = 0
    seen: set[str] = set()
    for kind in KINDS:
        for key, label, stored, found in kind.records(reader):
            checked += 1
            seen.add(key)
            anchor = expected.get(key)
            if anchor is None:
                return checked, RecordProblem(None, f"{label} has no ledger event (inserted)")
            seq, recorded = anchor
            if found != recorded or stored != recorded[0]:
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
    missing = sorted(set(expected) - seen, key=lambda k: (expected[k][0], k))
    if missing:
        seq = expected[missing[0]][0]
        return checked, RecordProblem(
            seq, f"{missing[0]} recorded by event {seq} is gone (deleted)"
        )
    return checked, None
