"""The store conformance suite: every test here runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from steward.domain import EventType, Role
from steward.errors import AlreadyExists, InternalError, InvalidInput, SchemaOutOfDate
from steward.ledger import Signer
from steward.store import KNOWN_REVISIONS, SCHEMA_HEAD, Store, make_engine, migrate
from steward.store import _engine as engine_module
from steward.store._schema import ledger_events, metadata


@pytest.fixture
def store(empty_store: Store) -> Store:
    return empty_store


def test_schema_head_constant_matches_the_migration_scripts() -> None:
    config = Config()
    config.set_main_option(
        "script_location", str(Path(engine_module.__file__).parent / "migrations")
    )
    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_current_head() == SCHEMA_HEAD
    ordered = [rev.revision for rev in scripts.walk_revisions()][::-1]
    assert tuple(ordered) == KNOWN_REVISIONS


def test_migrated_database_matches_the_table_definitions(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_opening_an_empty_database_says_to_run_init(db_url: str) -> None:
    with pytest.raises(SchemaOutOfDate, match="run `steward init`"):
        Store.open(db_url)


def test_opening_an_older_schema_names_db_upgrade_and_changes_nothing(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend this code is one release ahead: the store's revision is then a known older one.
    monkeypatch.setattr(engine_module, "KNOWN_REVISIONS", (*KNOWN_REVISIONS, "0099_future"))
    monkeypatch.setattr(engine_module, "SCHEMA_HEAD", "0099_future")
    with pytest.raises(SchemaOutOfDate, match="run `steward db upgrade`"):
        Store.open(db_url)
    assert engine_module.current_revision(store.engine) == SCHEMA_HEAD


def test_opening_a_newer_schema_says_to_upgrade_steward(store: Store, db_url: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999_from_the_future'"))
    with pytest.raises(SchemaOutOfDate, match="upgrade Steward"):
        Store.open(db_url)


def test_users_round_trip_as_frozen_domain_objects(store: Store) -> None:
    with store.write("tester") as tx:
        created = tx.add_user("alice", frozenset({Role.STEWARD, Role.AUDITOR}))
        tx.record(EventType.USER_CREATED, subject="user:alice", payload={"user": "alice"})
    with store.read() as reader:
        loaded = reader.user("alice")
        assert reader.users() == [loaded]
    assert loaded == created
    assert loaded is not None and loaded.created_at.tzinfo is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.name = "mallory"  # type: ignore[misc]


def test_duplicate_user_is_refused_and_the_transaction_rolls_back(store: Store) -> None:
    with store.write("tester") as tx:
        tx.add_user("alice", frozenset({Role.STEWARD}))
        tx.record(EventType.USER_CREATED, subject="user:alice", payload={})
    with pytest.raises(AlreadyExists), store.write("tester") as tx:
        tx.add_user("alice", frozenset({Role.ADMIN}))
    with store.read() as reader:
        assert [u.roles for u in reader.users()] == [frozenset({Role.STEWARD})]
        assert reader.event_count() == 1


def test_a_state_change_without_a_ledger_event_cannot_commit(store: Store) -> None:
    with pytest.raises(InternalError, match="without its ledger event"), store.write("t") as tx:
        tx.add_user("alice", frozenset({Role.STEWARD}))
    with store.read() as reader:
        assert reader.users() == []
        assert reader.event_count() == 0


def test_a_transaction_records_at_most_one_event(store: Store) -> None:
    with pytest.raises(InternalError, match="one ledger event"), store.write("t") as tx:
        tx.record(EventType.LEDGER_STARTED, subject=None, payload={})
        tx.record(EventType.LEDGER_STARTED, subject=None, payload={})
    with store.read() as reader:
        assert reader.event_count() == 0
        assert reader.head() is None


def test_an_event_that_cannot_be_encoded_rolls_back_its_change(store: Store) -> None:
    with pytest.raises(InvalidInput, match="cannot be recorded"), store.write("t") as tx:
        tx.add_user("alice", frozenset({Role.STEWARD}))
        tx.record(EventType.USER_CREATED, subject=None, payload={"score": float("nan")})
    with store.read() as reader:
        assert reader.users() == []


def test_appends_are_gapless_and_each_re_signs_the_head(store: Store, signer: Signer) -> None:
    for index in range(5):
        with store.write("t") as tx:
            event = tx.record(EventType.LEDGER_STARTED, subject=f"s{index}", payload={"i": index})
            assert event.seq == index + 1
    with store.read() as reader:
        head = reader.head()
        rows = list(reader.event_rows())
    assert [row[0] for row in rows] == [1, 2, 3, 4, 5]
    assert head is not None and head.size == 5
    assert signer.public_key.verify_tree_head(head)


@pytest.mark.parametrize("statement", ["UPDATE", "DELETE"])
def test_database_triggers_refuse_changing_ledger_rows(store: Store, statement: str) -> None:
    with store.write("t") as tx:
        tx.record(EventType.LEDGER_STARTED, subject=None, payload={})
    query = (
        update(ledger_events).values(actor="mallory")
        if statement == "UPDATE"
        else ledger_events.delete()
    )
    with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(query)
    with store.read() as reader:
        rows = list(reader.event_rows())
    assert len(rows) == 1 and rows[0][3] == "t"


def test_reads_return_the_latest_committed_events(store: Store) -> None:
    with store.write("alice") as tx:
        tx.record(EventType.LEDGER_STARTED, subject="x", payload={"a": 1})
    with store.read() as reader:
        events = reader.events(limit=10)
        assert [e.payload for e in events] == [{"a": 1}]
        assert reader.event(1) == events[0]
        assert reader.event(2) is None
        assert reader.events(limit=10, type_="user.created") == []
        assert reader.events(limit=10, subject="x") == events
    with store.engine.connect() as conn:
        assert conn.execute(select(ledger_events.c.actor)).scalar_one() == "alice"


def test_a_store_at_the_previous_schema_is_refused_then_upgraded(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, KNOWN_REVISIONS[-2])
    with pytest.raises(SchemaOutOfDate, match="run `steward db upgrade`"):
        Store.open(db_url)
    migrate(engine)
    assert engine_module.current_revision(engine) == SCHEMA_HEAD
    Store.open(db_url).close()
    migrate(engine, "base")  # and every migration can be undone
    assert engine_module.current_revision(engine) is None
    engine.dispose()
