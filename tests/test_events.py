"""Typed ledger events: one class per event type, every field documented, payloads that
round-trip exactly (so older ledgers keep verifying), and malformed payloads refused."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import steward.domain
from factories import credit_frame, credit_policy
from steward.app import Application
from steward.domain import (
    Actor,
    Approval,
    ApprovalRecorded,
    AttemptRefused,
    Comment,
    CommentAdded,
    Event,
    EventType,
    EvidenceEntry,
    LedgerEvent,
    LedgerStarted,
    ModelPromoted,
    ModelRegistered,
    ModelUnsafeLoad,
    PolicyEndorsed,
    RunFinished,
    TokenIssued,
    UserCreated,
    Waiver,
    WaiverGranted,
    parse_event,
    record_content,
)
from steward.errors import PermissionDenied, Refused
from steward.ledger import canonical_bytes
from steward.services import TrainingRequest
from steward.services._records import content_hash
from steward.services.audit._anchors import KINDS

AUDIT_MD = Path(__file__).resolve().parent.parent / "docs" / "audit.md"

EVENT_CLASSES: list[type[Event]] = [
    value
    for name in steward.domain.__all__
    if isinstance(value := getattr(steward.domain, name), type)
    and issubclass(value, Event)
    and hasattr(value, "event_type")
]


def _keys(cls: type[Any], *, required_only: bool = False) -> list[str]:
    return [
        f.name.removesuffix("_")
        for f in dataclasses.fields(cls)
        if not required_only or f.default is dataclasses.MISSING
    ]


def _sections() -> dict[str, str]:
    """docs/audit.md's text under each ``### `TYPE` `` heading."""
    parts = re.split(r"^### `([a-z_.]+)`\n", AUDIT_MD.read_text(), flags=re.M)
    return {parts[i]: parts[i + 1].split("\n## ")[0] for i in range(1, len(parts), 2)}


# --------------------------------------------------------------------------- completeness


def test_every_event_type_has_exactly_one_class() -> None:
    counts = Counter(cls.event_type for cls in EVENT_CLASSES)
    assert set(counts) == set(EventType)
    assert [t for t, n in counts.items() if n != 1] == []


def test_every_field_is_documented_in_its_class() -> None:
    for cls in [*EVENT_CLASSES, EvidenceEntry]:
        docs = "".join(inspect.getdoc(klass) or "" for klass in cls.__mro__)
        assert inspect.getdoc(cls), cls
        for field in dataclasses.fields(cls):
            assert f":ivar {field.name}:" in docs, (cls.__name__, field.name)


def test_every_field_is_named_in_docs_audit_md_under_its_event_heading() -> None:
    sections = _sections()
    assert set(sections) == {t.value for t in EventType}
    for cls in EVENT_CLASSES:
        text = sections[cls.event_type.value]
        assert f"`{cls.__name__}`" in text, cls.__name__
        for key in _keys(cls):
            assert re.search(rf"^- `{key}`:", text, flags=re.M), (cls.event_type.value, key)
    # the evidence entries: all their fields where they are recorded in full, the ones
    # always written where a dataset's validation and PII records are listed
    for key in _keys(EvidenceEntry):
        assert f"`{key}`" in sections[EventType.EVIDENCE_RECORDED.value], key
    for key in _keys(EvidenceEntry, required_only=True):
        assert f"`{key}`" in sections[EventType.DATASET_REGISTERED.value], key


def test_every_event_carrying_a_record_hash_anchors_a_kind_audit_verify_checks() -> None:
    anchoring = {cls for kind in KINDS for cls in kind.events}
    for cls in EVENT_CLASSES:
        names = set(_keys(cls))
        if "content_hash" in names or "evidence" in names:
            assert cls in anchoring, cls.__name__


# --------------------------------------------------------------------------- round trips


class _Pickled:
    """An estimator skops does not trust: registered as a pickle, loaded with trust."""

    def predict(self, x: Any) -> Any:
        return x


def _serve(app: Application, eli: Actor, ref: str) -> None:
    """Deploy ``ref``, log and label a prediction, anchor and prune its segment."""
    from datetime import date

    from steward.logs import PredictionLog, PredictionRecord, record_time

    app.identity.issue_token(eli, scopes=["predict:credit"])
    app.deployments.deploy(eli, ref, "credit")
    app.deployments.record_enforcement(
        eli, "credit", ref, allowed=False, action="refuse", serving=None, reason="a test"
    )
    sealed: list[Any] = []
    with PredictionLog(app.predictions.root, on_sealed=sealed.append) as log:
        record = PredictionRecord(
            request_id="r1",
            time=record_time(),
            endpoint="credit",
            model=ref,
            inputs={"income": 1.0},
            context={},
            outputs={"prediction": 1},
            latency_ms=1.0,
        )
        log.submit([record]).result()
    (segment,) = sealed
    assert app.predictions.anchor(eli, segment)
    assert not app.predictions.anchor(eli, segment)  # once
    app.predictions.label(eli, "credit", [{"request_id": "r1", "label": 1}])
    assert app.predictions.prune(eli, 183, today=date(2099, 1, 1)) == [segment.segment_id]
    _monitor(app, eli, ref)


def _anchor(app: Application, actor: Actor, segment: Any) -> None:
    app.predictions.anchor(actor, segment)


def _monitor(app: Application, eli: Actor, ref: str) -> None:
    """Apply a monitor, feed its endpoint drifted traffic, run it (an alert), answer it."""
    from steward.logs import PredictionLog, PredictionRecord, record_time

    monitor = (
        "format: steward.monitor/v1\nname: watch\nendpoint: credit\nwindow: {rows: 100}\n"
        "alerts: [{name: drift, when: input_drift, severity: high}]\n"
    )
    app.monitoring.apply(eli, monitor, "watch.yaml")
    rows = 60
    records = PredictionRecord.rows(
        request_ids=[f"m{i}" for i in range(rows)],
        time=record_time(),
        endpoint="credit",
        model=ref,
        inputs=[{"income": 1e6 + i, "debts": 1, "region": "north"} for i in range(rows)],
        contexts=[{} for _ in range(rows)],
        outputs=[{"prediction": 1, "probabilities": {"0": 0.2, "1": 0.8}} for _ in range(rows)],
        latency_ms=1.0,
    )
    with PredictionLog(app.predictions.root, on_sealed=lambda s: _anchor(app, eli, s)) as log:
        log.submit(records).result()
    (alert,) = app.monitoring.run(eli, "watch").raised
    app.alerts.acknowledge(eli, alert.id, "looking")


def _every_kind_of_event(app: Application, admin: Actor) -> list[LedgerEvent]:
    """A home's ledger after a flow that writes every event type (and the variants of those
    whose payload leaves keys out)."""
    people: dict[str, Actor] = {}
    for name, role in (
        ("dana", "data_scientist"),
        ("eli", "ml_engineer"),
        ("sofia", "steward"),
        ("sam", "steward"),
        ("audra", "auditor"),
    ):
        _, token = app.identity.add_user(admin, name, [role])
        people[name] = app.authenticate(token)
    dana, sofia = people["dana"], people["sofia"]
    extra, _ = app.identity.issue_token(dana)
    app.identity.revoke_token(dana, extra.id)
    app.identity.issue_token(admin, "audra")  # a reset
    app.datasets.register(
        dana, credit_frame(), name="credit", target="approved", sensitive=["group"]
    )
    app.datasets.update_datasheet(dana, "credit", {"motivation": "lending"})
    app.datasets.set_contract(dana, "credit", app.datasets.contract(dana, "credit@1"), "c.yaml")
    request = TrainingRequest(dataset="credit", name="credit-model", trials=2, checks=False)
    ref = app.training.train(dana, request).version.ref
    app.evidence.run(dana, ref, ["performance", "fairness"])
    app.evidence.reproduce(people["eli"], ref, ["performance"])
    app.models.update(dana, "credit-model", {"description": "a lending model"})
    scratch = app.runs.start(dana, "scratch")
    app.runs.fail(dana, scratch.id, "the machine went away")
    with pytest.raises(PermissionDenied, match="policy:manage"):
        app.policies.apply(dana, credit_policy(0.99), "credit.yaml")
    app.policies.apply(sofia, credit_policy(0.99), "credit.yaml")
    app.policies.endorse(people["sam"], "credit")
    with pytest.raises(Refused) as refused:
        app.governance.promote(people["eli"], ref, "production")
    failed = [r["id"] for r in refused.value.details["decision"]["rules"] if r["outcome"] == "fail"]
    for steward_ in ("sofia", "sam"):
        app.governance.approve(people[steward_], ref, "production", "fine")
    app.governance.comment(sofia, ref, "noted")
    for rule in failed:
        if rule.startswith("evidence.fairness"):
            app.governance.waive(sofia, ref, rule, "accepted for now", "2026-06-01")
    app.governance.promote(people["eli"], ref, "production")
    _serve(app, people["eli"], ref)
    app.governance.reject(sofia, ref, "staging", "not for staging")
    app.governance.promote(people["eli"], ref, "archived")
    hook = app.webhooks.add(admin, "http://127.0.0.1:9/hook", [])
    app.webhooks.remove(admin, hook.id)
    odd = app.models.register_estimator(dana, _Pickled(), name="odd", trust_pickle=True)
    app.models.load(dana, odd.ref, trust_pickle=True)
    assert app.audit.verify(admin).ok
    with app.store.read() as reader:
        return reader.events_of_types(*(t.value for t in EventType))


def test_every_event_of_a_home_round_trips_through_its_class_byte_for_byte(
    app: Application, admin: Actor
) -> None:
    events = _every_kind_of_event(app, admin)
    assert {e.type for e in events} == {t.value for t in EventType}
    for event in events:
        typed = parse_event(event)
        assert typed.event_type.value == event.type
        assert typed.payload() == event.payload, event.type
        assert canonical_bytes(typed.payload()) == canonical_bytes(event.payload)
        assert type(typed).from_payload(typed.payload()) == typed
    by_type = {t: [parse_event(e) for e in events if e.type == t.value] for t in EventType}
    # the variants that leave keys out were written too
    finished = [e for e in by_type[EventType.RUN_FINISHED] if isinstance(e, RunFinished)]
    assert {(e.name is None, e.reason is None) for e in finished} == {
        (True, True),  # a training run finished
        (False, True),  # a tuning trial, recorded whole
        (True, False),  # `steward run fail`
    }
    refusals = [e for e in by_type[EventType.ATTEMPT_REFUSED] if isinstance(e, AttemptRefused)]
    assert {e.failed is None for e in refusals} == {True, False}
    promoted = [e for e in by_type[EventType.MODEL_PROMOTED] if isinstance(e, ModelPromoted)]
    assert [(e.from_, e.to, e.decision is None) for e in promoted] == [
        ("none", "production", False),
        ("production", "archived", True),
    ]
    registered = [e for e in by_type[EventType.MODEL_REGISTERED] if isinstance(e, ModelRegistered)]
    assert {e.format for e in registered} == {"skops", "pickle"}

    # approvals, waivers and comments carry the content hash their event recorded
    recorded = {
        typed.id: typed.content_hash
        for typed in map(parse_event, events)
        if isinstance(typed, ApprovalRecorded | PolicyEndorsed | WaiverGranted | CommentAdded)
    }
    with app.store.read() as reader:
        stored: list[Approval | Waiver | Comment] = [
            *reader.approvals(),
            *reader.waivers(),
            *reader.comments(),
        ]
    assert {record.id: record.content_hash for record in stored} == recorded
    for record in stored:
        assert record.content_hash == content_hash(record_content(record))
    for approval in (r for r in stored if isinstance(r, Approval)):
        payload = ApprovalRecorded.of(approval).payload()
        assert payload == {**record_content(approval), "content_hash": approval.content_hash}


# --------------------------------------------------------------------------- older ledgers


@pytest.mark.parametrize(
    ("cls", "payload"),
    [
        # before token fingerprints were kept
        (UserCreated, {"user": "dana", "roles": ["data_scientist"], "token_id": "t1"}),
        (TokenIssued, {"user": "dana", "token_id": "t2"}),
        # after `init --force`
        (
            LedgerStarted,
            {
                "key_id": "k",
                "public_key": "ab",
                "schema": "0009",
                "steward_version": "0.1",
                "replaces": {"store": "s", "tree_size": 4, "root_hash": "cd", "by": "admin"},
            },
        ),
        # an approval from before cards, vouchers and tokens were bound
        (
            ApprovalRecorded,
            {
                "id": "a1",
                "subject": "model:m@1",
                "stage": "production",
                "user": "sofia",
                "roles": ["steward"],
                "decision": "approve",
                "comment": "",
                "artifact": "sha256:00",
                "evidence_hash": "e",
                "policy_hash": "p",
                "created_at": "2026-01-01T00:00:00Z",
                "content_hash": "h",
            },
        ),
        (
            RunFinished,
            {
                "run": "r",
                "status": "failed",
                "metrics": 0,
                "inputs": [],
                "artifacts": {},
                "content_hash": "h",
                "reason": "killed",
                "by": "admin",
            },
        ),
    ],
)
def test_a_payload_with_keys_left_out_reads_back_and_writes_the_same(
    cls: type[Event], payload: dict[str, Any]
) -> None:
    typed = cls.from_payload(payload)
    assert typed.payload() == payload


def test_a_field_at_its_default_is_left_out_and_any_other_value_is_written() -> None:
    entry = EvidenceEntry(id="e", check_id="pii", status="pass", content_hash="h")
    assert entry.payload() == {"id": "e", "check_id": "pii", "status": "pass", "content_hash": "h"}
    differs = dataclasses.replace(entry, code_matches_source=False, reproduces="e0")
    assert differs.payload()["code_matches_source"] is False
    assert differs.payload()["reproduces"] == "e0"
    refused = AttemptRefused(action="promote", target="m@1", stage=None, code="c", reason="r")
    assert refused.payload()["stage"] is None  # no default: always written
    assert "failed" not in refused.payload()
    assert dataclasses.replace(refused, failed=()).payload()["failed"] == []
    promoted = ModelPromoted("m", 1, "none", "staging", (), "sha256:00", None)
    assert promoted.payload()["from"] == "none" and "from_" not in promoted.payload()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"user": "dana", "roles": ["x"]}, "no 'token_id'"),
        ({"user": "dana", "roles": "x", "token_id": "t"}, "'roles' should be a list"),
        ({"user": 7, "roles": [], "token_id": "t"}, "'user' should be a str"),
        ({"user": "dana", "roles": [1], "token_id": "t"}, r"'roles\[0\]' should be a str"),
    ],
)
def test_a_malformed_payload_is_refused_naming_the_key(
    payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        UserCreated.from_payload(payload)


def test_a_boolean_is_not_a_number_and_unknown_keys_are_ignored() -> None:
    base = {"model": "m", "version": 1, "format": "pickle"}
    with pytest.raises(ValueError, match="'version' should be an int"):
        ModelUnsafeLoad.from_payload({**base, "version": True})
    assert ModelUnsafeLoad.from_payload({**base, "later": 1}).payload() == base


def test_parse_event_names_the_event_of_an_unknown_type_or_bad_payload() -> None:
    def event(type_: str, payload: dict[str, Any]) -> LedgerEvent:
        return LedgerEvent(7, "ts", type_, "admin", None, payload, "{}", b"")

    with pytest.raises(ValueError, match="event 7: unknown event type 'nope'"):
        parse_event(event("nope", {}))
    with pytest.raises(ValueError, match="event 7: TokenRevoked: the payload has no 'user'"):
        parse_event(event("token.revoked", {"token_id": "t"}))
