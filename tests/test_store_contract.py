"""The store's contract, attacked on both backends: the ledger rule (no state change commits
without its event, and a refused block leaves nothing), the integrity errors a writer maps,
and what readers answer for rows that do not exist."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import select

from steward.domain import (
    AlertState,
    AlertStatus,
    AppliedPolicy,
    Approval,
    Comment,
    DatasetVersion,
    Deployment,
    EndpointStatus,
    EventType,
    Evidence,
    EvidenceStatus,
    MetricPoint,
    MissingPolicy,
    Model,
    ModelVersion,
    Monitor,
    RiskTier,
    Role,
    Route,
    Run,
    RunStatus,
    Stage,
    TableSchema,
    User,
    Waiver,
    Webhook,
)
from steward.errors import AlreadyExists, InternalError
from steward.store import Reader, Store, Writer
from steward.store._schema import metadata

TS = "2026-01-15T09:30:00.000Z"
HASH = "0" * 64
ARTIFACT = "sha256:" + "a" * 64


# --------------------------------------------------------------------------- values


def dataset_version(version: int) -> DatasetVersion:
    return DatasetVersion(
        name="credit",
        version=version,
        fingerprint=f"{version:064d}",
        artifact=ARTIFACT,
        rows=10,
        schema=TableSchema(()),
        profile={},
        target=None,
        sensitive=(),
        missing=MissingPolicy(),
        pii_columns=(),
        source={},
        created_at=TS,
        created_by="tester",
        content_hash=HASH,
    )


def evidence(evidence_id: str) -> Evidence:
    return Evidence(
        id=evidence_id,
        subject="dataset:credit@1",
        check_id="schema",
        check_version="1",
        status=EvidenceStatus.PASSED,
        params={},
        inputs={},
        metrics={},
        findings=(),
        artifacts={},
        created_at=TS,
        created_by="tester",
        content_hash=HASH,
    )


def run(run_id: str) -> Run:
    return Run(
        id=run_id,
        name="train",
        parent_id=None,
        status=RunStatus.RUNNING,
        actor="tester",
        started_at=TS,
        ended_at=None,
        params={},
        tags={},
        code={},
        environment={},
        inputs=(),
        artifacts={},
    )


def model(name: str) -> Model:
    return Model(
        name=name,
        owner="tester",
        risk_tier=RiskTier.MINIMAL,
        description="",
        intended_use="",
        limitations="",
        tags={},
        created_at=TS,
        created_by="tester",
        updated_at=TS,
        content_hash=HASH,
    )


def model_version(version: int) -> ModelVersion:
    return ModelVersion(
        name="m",
        version=version,
        run_id=None,
        artifact=ARTIFACT,
        format="skops",
        task="binary",
        template=None,
        params={},
        signature={},
        metrics={},
        datasets=(),
        split=None,
        features=(),
        target=None,
        sensitive=(),
        sensitive_features=(),
        excluded={},
        tuning=None,
        created_at=TS,
        created_by="tester",
        content_hash=HASH,
    )


def policy(version: int) -> AppliedPolicy:
    return AppliedPolicy("p", version, {}, "", TS, "tester", HASH)


def approval(approval_id: str) -> Approval:
    return Approval(
        id=approval_id,
        subject="model:m@1",
        stage="staging",
        user="alice",
        roles=("steward",),
        decision="approve",
        comment="",
        artifact=ARTIFACT,
        evidence_hash=HASH,
        policy_hash=HASH,
        created_at=TS,
        content_hash=HASH,
    )


def webhook(hook_id: str) -> Webhook:
    return Webhook(hook_id, "https://example.test/hook", "secret", ("*",), "tester", TS)


def _alice(reader: Reader) -> User:
    found = reader.user("alice")
    assert found is not None
    return found


# --------------------------------------------------------------------------- the store


@pytest.fixture
def empty(empty_store: Store) -> Store:
    return empty_store


@pytest.fixture
def store(empty: Store) -> Store:
    """A store holding one row of every kind a writer's change refers to, in one event."""
    with empty.write("tester") as tx:
        alice = tx.add_user("alice", frozenset({Role.STEWARD}))
        tx.add_token("tok-1", alice, HASH)
        tx.add_dataset("credit")
        tx.add_dataset_version(dataset_version(1))
        tx.add_evidence(evidence("ev-1"))
        tx.add_run(run("run-1"))
        tx.add_model(model("m"))
        tx.add_model_version(model_version(1))
        tx.add_policy(policy(1))
        tx.add_webhook(webhook("hook-1"))
        tx.record(EventType.LEDGER_STARTED, subject=None, payload={})
    return empty


def snapshot(store: Store) -> dict[str, list[str]]:
    """Every row of every table, to show that a refused block left nothing behind."""
    with store.engine.connect() as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for table in metadata.sorted_tables
        }


# --------------------------------------------------------------------------- the ledger rule

# One change per state-changing method of ``Writer``, valid on the seeded store and in this
# order (each case commits before the next runs).
CHANGES: dict[str, Callable[[Writer], object]] = {
    "add_user": lambda tx: tx.add_user("bob", frozenset({Role.AUDITOR})),
    "add_token": lambda tx: tx.add_token("tok-2", _alice(tx), HASH),
    "revoke_token": lambda tx: tx.revoke_token("tok-1"),
    "add_dataset": lambda tx: tx.add_dataset("other"),
    "add_dataset_version": lambda tx: tx.add_dataset_version(dataset_version(2)),
    "set_datasheet": lambda tx: tx.set_datasheet("credit", {"motivation": "a test"}),
    "set_contract": lambda tx: tx.set_contract("credit", {"columns": {}}),
    "add_evidence": lambda tx: tx.add_evidence(evidence("ev-2")),
    "add_run": lambda tx: tx.add_run(run("run-2")),
    "add_metrics": lambda tx: tx.add_metrics("run-1", [MetricPoint("loss", 0.5, 0, TS)]),
    "finish_run": lambda tx: tx.finish_run("run-1", RunStatus.FINISHED, TS, HASH),
    "add_model": lambda tx: tx.add_model(model("m2")),
    "update_model": lambda tx: tx.update_model(replace(model("m"), description="changed")),
    "add_model_version": lambda tx: tx.add_model_version(model_version(2)),
    "set_stage": lambda tx: tx.set_stage("m", 1, Stage.STAGING),
    "add_approval": lambda tx: tx.add_approval(approval("ap-1")),
    "add_waiver": lambda tx: tx.add_waiver(
        Waiver("wv-1", "model:m@1", "rule", "why", "alice", TS, TS, content_hash=HASH)
    ),
    "add_comment": lambda tx: tx.add_comment(
        Comment("cm-1", "model:m@1", "alice", "a remark", TS, content_hash=HASH)
    ),
    "add_webhook": lambda tx: tx.add_webhook(webhook("hook-2")),
    "set_webhook_active": lambda tx: tx.set_webhook_active("hook-1", False),
    "add_policy": lambda tx: tx.add_policy(policy(2)),
    "add_deployment": lambda tx: tx.add_deployment(
        Deployment(
            "dp-1",
            "credit",
            1,
            "deploy",
            (Route("m@1", 100, "stable"),),
            "production",
            EndpointStatus.ACTIVE,
            "",
            None,
            TS,
            "alice",
            content_hash=HASH,
        )
    ),
    "set_labels": lambda tx: tx.set_labels("credit", {"r1": 1}),
    "add_monitor": lambda tx: tx.add_monitor(
        Monitor("mn-1", "watch", 1, "credit", {"format": "steward.monitor/v1"}, "", "t", "alice")
    ),
    "add_alert_state": lambda tx: tx.add_alert_state(
        AlertState(
            "as-1",
            "al-1",
            1,
            AlertStatus.OPEN,
            "watch@1",
            "credit",
            "m@1",
            "drift",
            "high",
            "inputs drifted",
            "ev-1",
            ({"action": "notify", "outcome": "requested"},),
            "",
            "t",
            "alice",
        )
    ),
}

# Writer methods that change no ledgered state: the event itself, a lock, and the webhook
# outbox (working state; the change a delivery reports has its own event).
NOT_CHANGES = {"record", "lock", "queue_delivery", "update_delivery"}


def test_every_state_changing_writer_method_is_attacked_here() -> None:
    own = {
        name
        for name, _ in inspect.getmembers(Writer, inspect.isfunction)
        if not name.startswith("_") and not hasattr(Reader, name)
    }
    assert own - NOT_CHANGES == set(CHANGES)


def test_each_change_without_its_event_is_refused_and_leaves_nothing(store: Store) -> None:
    events = 1
    for name, change in CHANGES.items():
        before = snapshot(store)
        refused = pytest.raises(InternalError, match="without its ledger event")
        with refused, store.write("tester") as tx:
            change(tx)
        assert snapshot(store) == before, f"{name} left rows behind"

        # and with its event, the same change commits (so the refusal above was the rule's)
        with store.write("tester") as tx:
            change(tx)
            tx.record(EventType.LEDGER_STARTED, subject=name, payload={})
        events += 1
        after = snapshot(store)
        changed = {table for table in after if after[table] != before[table]}
        assert changed - {"ledger_events", "ledger_head"}, f"{name} changed nothing"
        with store.read() as reader:
            assert reader.event_count() == events


def test_a_block_that_raises_after_recording_leaves_neither_change_nor_event(
    store: Store,
) -> None:
    before = snapshot(store)
    with pytest.raises(RuntimeError, match="later failure"), store.write("tester") as tx:
        tx.add_user("bob", frozenset({Role.AUDITOR}))
        tx.record(EventType.USER_CREATED, subject="user:bob", payload={})
        raise RuntimeError("a later failure")
    assert snapshot(store) == before


def test_a_writer_kept_past_its_block_refuses_changes_and_events(store: Store) -> None:
    with store.write("tester") as tx:
        pass  # reading only: commits with no event
    before = snapshot(store)
    with pytest.raises(InternalError, match="has ended"):
        tx.add_user("bob", frozenset({Role.AUDITOR}))
    with pytest.raises(InternalError, match="has ended"):
        tx.record(EventType.USER_CREATED, subject="user:bob", payload={})
    assert snapshot(store) == before
    with store.write("tester") as later:  # and the store is as usable as before
        later.add_user("carol", frozenset({Role.AUDITOR}))
        later.record(EventType.USER_CREATED, subject="user:carol", payload={})
    with store.read() as reader:
        assert reader.user("carol") is not None
        assert reader.user("bob") is None


def test_a_refused_block_leaves_its_writer_ended(store: Store) -> None:
    refused = pytest.raises(InternalError, match="without its ledger event")
    with refused, store.write("tester") as tx:
        tx.add_dataset("other")
    with pytest.raises(InternalError, match="has ended"):
        tx.record(EventType.LEDGER_STARTED, subject=None, payload={})


# --------------------------------------------------------------------------- integrity errors

# Each mapped conflict: a change that repeats a seeded row, and the message it must raise.
CONFLICTS: dict[str, tuple[Callable[[Writer], object], str]] = {
    "user": (
        lambda tx: tx.add_user("alice", frozenset({Role.ADMIN})),
        "user 'alice' already exists",
    ),
    "dataset": (lambda tx: tx.add_dataset("credit"), "dataset 'credit' already exists"),
    "dataset version": (
        lambda tx: tx.add_dataset_version(dataset_version(1)),
        "dataset version credit@1 already exists",
    ),
    "model": (lambda tx: tx.add_model(model("m")), "model 'm' already exists"),
    "model version": (
        lambda tx: tx.add_model_version(model_version(1)),
        "model version m@1 already exists",
    ),
    "policy": (lambda tx: tx.add_policy(policy(1)), "policy p@1 already exists"),
}


def test_each_mapped_integrity_violation_is_its_steward_error_and_writes_nothing(
    store: Store,
) -> None:
    for kind, (conflict, message) in CONFLICTS.items():
        before = snapshot(store)
        with pytest.raises(AlreadyExists) as raised, store.write("tester") as tx:
            conflict(tx)
            tx.record(EventType.LEDGER_STARTED, subject=kind, payload={})
        assert str(raised.value) == message, kind
        assert raised.value.code == "already_exists"
        assert type(raised.value.__cause__).__name__ == "IntegrityError", kind
        assert snapshot(store) == before, f"a refused {kind} left rows behind"


def test_a_caught_conflict_leaves_the_rest_of_its_transaction_usable(store: Store) -> None:
    # On PostgreSQL a failed statement aborts its transaction: the savepoint is what lets
    # a writer that caught the conflict carry on.
    for index, (kind, (conflict, message)) in enumerate(CONFLICTS.items()):
        before = snapshot(store)
        with store.write("tester") as tx:
            with pytest.raises(AlreadyExists, match=message):
                conflict(tx)
            tx.add_user(f"user-{index}", frozenset({Role.AUDITOR}))
            tx.record(EventType.USER_CREATED, subject=kind, payload={})
        after = snapshot(store)
        changed = {table for table in after if after[table] != before[table]}
        assert changed == {"users", "user_roles", "ledger_events", "ledger_head"}, kind


def test_a_caught_conflict_still_counts_as_a_change(store: Store) -> None:
    # The rule is kept conservatively: a block that attempted a change must record.
    refused = pytest.raises(InternalError, match="without its ledger event")
    with refused, store.write("tester") as tx, pytest.raises(AlreadyExists):
        tx.add_dataset("credit")


# --------------------------------------------------------------------------- readers

MISSING: dict[str, Callable[[Reader], object]] = {
    "user": lambda r: r.user("nobody"),
    "token": lambda r: r.token("tok-none"),
    "token_secret": lambda r: r.token_secret("tok-none"),
    "dataset": lambda r: r.dataset("nothing"),
    "dataset_version of an unknown dataset": lambda r: r.dataset_version("nothing", 1),
    "dataset_version of an unknown number": lambda r: r.dataset_version("credit", 99),
    "dataset_version_by_fingerprint": lambda r: r.dataset_version_by_fingerprint("credit", "f"),
    "evidence": lambda r: r.evidence("ev-none"),
    "run": lambda r: r.run("run-none"),
    "model": lambda r: r.model("nothing"),
    "model_version of an unknown model": lambda r: r.model_version("nothing", 1),
    "model_version of an unknown number": lambda r: r.model_version("m", 99),
    "policy": lambda r: r.policy("nothing"),
    "policy of an unknown number": lambda r: r.policy("p", 99),
    "event": lambda r: r.event(99),
}

EMPTY: dict[str, Callable[[Reader], object]] = {
    "tokens": lambda r: r.tokens("nobody"),
    "dataset_versions": lambda r: r.dataset_versions("nothing"),
    "evidence_for": lambda r: r.evidence_for("dataset:nothing@1"),
    "runs_named": lambda r: r.runs_named("nothing"),
    "runs": lambda r: r.runs(parent_id="run-1"),
    "run_metrics": lambda r: r.run_metrics("run-none"),
    "model_versions": lambda r: r.model_versions("nothing"),
    "versions_in_stage": lambda r: r.versions_in_stage("m", Stage.PRODUCTION),
    "policy_versions": lambda r: r.policy_versions("nothing"),
    "approvals": lambda r: r.approvals("model:nothing@1"),
    "waivers": lambda r: r.waivers("model:nothing@1"),
    "comments": lambda r: r.comments("model:nothing@1"),
    "deliveries": lambda r: r.deliveries(state="pending"),
    "events of a type": lambda r: r.events(limit=10, type_="user.created"),
    "events_of_types": lambda r: r.events_of_types("user.created"),
    "events_about": lambda r: r.events_about("nothing", "ledger.started"),
}


def test_readers_answer_none_for_a_missing_row_and_an_empty_list_for_no_match(
    store: Store,
) -> None:
    with store.read() as reader:
        for name, lookup in MISSING.items():
            assert lookup(reader) is None, name
        for name, listing in EMPTY.items():
            assert listing(reader) == [], name


def test_an_empty_ledger_has_no_head_and_no_events(empty: Store) -> None:
    with empty.read() as reader:
        assert reader.head() is None
        assert reader.event_count() == 0
        assert reader.events(limit=10) == []
        assert list(reader.event_rows()) == []
        assert reader.leaf_hashes(10) == []


FOUND: dict[str, Callable[[Reader], object]] = {
    "user": lambda r: r.user("alice"),
    "token": lambda r: r.token("tok-1"),
    "dataset": lambda r: r.dataset("credit"),
    "dataset_version": lambda r: r.dataset_version("credit", 1),
    "evidence": lambda r: r.evidence("ev-1"),
    "run": lambda r: r.run("run-1"),
    "model": lambda r: r.model("m"),
    "model_version": lambda r: r.model_version("m", 1),
    "policy": lambda r: r.policy("p"),
    "webhook": lambda r: r.webhooks()[0],
    "event": lambda r: r.event(1),
    "head": lambda r: r.head(),
}


def test_readers_return_frozen_values_that_do_not_share_state_with_the_store(
    store: Store,
) -> None:
    with store.read() as reader:
        for name, lookup in FOUND.items():
            value = lookup(reader)
            assert dataclasses.is_dataclass(value), name
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(value, dataclasses.fields(value)[0].name, None)
        found = reader.dataset("credit")
        listed = reader.users()
    assert found is not None
    found.datasheet["edited"] = "behind the store's back"
    listed.clear()
    with store.read() as reader:
        assert reader.dataset("credit") == replace(found, datasheet={})
        assert [user.name for user in reader.users()] == ["alice"]


def test_listings_keep_their_documented_order(store: Store) -> None:
    with store.write("tester") as tx:
        tx.add_user("carol", frozenset({Role.AUDITOR}))
        tx.add_user("bob", frozenset({Role.AUDITOR}))
        tx.add_model_version(model_version(3))
        tx.add_model_version(model_version(2))
        tx.add_run(replace(run("run-0"), started_at="2026-01-15T09:29:00.000Z"))
        tx.record(EventType.LEDGER_STARTED, subject="a", payload={})
    for subject in ("b", "c"):
        with store.write("tester") as tx:
            tx.record(EventType.LEDGER_STARTED, subject=subject, payload={})
    with store.read() as reader:
        assert [u.name for u in reader.users()] == ["alice", "bob", "carol"]
        assert [v.version for v in reader.model_versions("m")] == [1, 2, 3]
        assert [v.version for v in reader.model_versions()] == [1, 3, 2]  # as stored
        assert [r.id for r in reader.runs()] == ["run-1", "run-0"]  # newest first
        assert [r.id for r in reader.runs_named("train")] == ["run-0", "run-1"]
        assert [e.subject for e in reader.events(limit=2)] == ["b", "c"]  # newest, oldest first
        assert [e.seq for e in reader.events_of_types("ledger.started")] == [1, 2, 3, 4]
        assert reader.leaf_hashes(4) == [row[6] for row in reader.event_rows()]
