"""Rollback: each home witnesses the latest signed tree head it has seen, outside the store,
and refuses a store that does not extend it (both backends).

An attacker restores an older copy of the store (its events and signed head are genuine, only
old), or rewinds the ledger in place, or lets another home write a different history over a
restored copy; the home that saw the newer ledger refuses to open it, to write to it, and
``audit verify`` names it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from conftest import Run
from steward.app import Application, InitResult, ambient_token
from steward.errors import IntegrityError, LedgerTampered
from steward.services.audit._witness import Witness, home_witness
from steward.settings import Settings

Restore = Callable[[], None]


def witnessed_size(settings: Settings) -> int:
    document = json.loads((settings.home / "witness.json").read_text())
    return int(document["tree_head"]["tree_size"])


def add_users(settings: Settings, *names: str) -> None:
    with Application.open(settings) as app:
        admin = app.authenticate(ambient_token(app.settings))
        for name in names:
            app.identity.add_user(admin, name, ["auditor"])


@pytest.fixture
def snapshot(settings: Settings, home: InitResult) -> Iterator[Callable[[], Restore]]:
    """``snapshot()`` copies the whole store (a backup); calling what it returns puts that
    copy back in place of the store (a restore). The application must be closed."""
    made: list[str] = []
    pg = os.environ.get("STEWARD_TEST_PG_URL")
    admin = create_engine(pg, isolation_level="AUTOCOMMIT") if settings.db_url and pg else None

    def take() -> Restore:
        if settings.db_url is None:
            backup = settings.home.parent / f"backup-{uuid.uuid4().hex[:8]}"
            backup.mkdir()
            for path in settings.home.glob("steward.db*"):
                shutil.copy2(path, backup / path.name)

            def restore_file() -> None:
                for path in settings.home.glob("steward.db*"):
                    path.unlink()
                for path in backup.iterdir():
                    shutil.copy2(path, settings.home / path.name)

            return restore_file
        assert admin is not None
        name = make_url(settings.db_url).database
        copy = f"{name}_backup_{len(made)}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))
        made.append(copy)

        def restore_database() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{copy}"'))

        return restore_database

    yield take
    if admin is not None:
        with admin.connect() as conn:
            for copy in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        admin.dispose()


def second_home(settings: Settings, where: Path) -> Settings:
    """Another home on the same store, with the same key and token but its own witness."""
    shutil.copytree(
        settings.home, where, ignore=shutil.ignore_patterns("witness.json", "steward.db*")
    )
    return Settings(home=where, db_url=settings.database_url)


def test_init_witnesses_the_new_ledger_in_a_private_file(
    settings: Settings, home: InitResult
) -> None:
    path = settings.home / "witness.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["format"] == "steward.witness/v1"
    assert document["tree_head"]["tree_size"] == 2  # ledger.started, the admin's user.created
    assert document["tree_head"]["key_id"] == home.key_id
    assert not [p for p in settings.home.iterdir() if p.name.startswith(".witness")]


def test_closing_the_application_advances_the_witness_not_each_append(
    settings: Settings, home: InitResult
) -> None:
    with Application.open(settings) as app:
        admin = app.authenticate(ambient_token(app.settings))
        app.identity.add_user(admin, "ana", ["auditor"])
        app.identity.add_user(admin, "bo", ["auditor"])
        assert witnessed_size(settings) == 2
    assert witnessed_size(settings) == 4


def test_an_older_copy_of_the_store_is_refused_when_the_application_opens(
    settings: Settings, home: InitResult, snapshot: Callable[[], Restore], cli: Run
) -> None:
    restore = snapshot()  # a backup with 2 events
    add_users(settings, "ana", "bo", "cy")
    assert witnessed_size(settings) == 5
    witnessed_at = json.loads((settings.home / "witness.json").read_text())["witnessed_at"]
    restore()
    with pytest.raises(LedgerTampered, match="holds 2 events, fewer than the 5 events") as caught:
        Application.open(settings)
    assert witnessed_at in caught.value.message and "\n" not in caught.value.message
    assert caught.value.details["witnessed"]["tree_size"] == 5
    result = cli("audit", "verify")
    assert result.code == 1
    assert "fewer than the 5 events this home witnessed" in result.stderr
    assert result.stderr.count("\n") == 1
    assert cli("whoami").code == 1
    assert witnessed_size(settings) == 5  # a refused store never moves the witness back


def _rewind(app: Application, size: int, head: dict[str, Any]) -> None:
    """Put the ledger back to ``size`` events under head row ``head``, in place (an attacker
    with database access restoring the ledger part of an older copy)."""
    with app.store.engine.begin() as conn:
        if app.store.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER ledger_events_append_only ON ledger_events"))
        else:
            conn.execute(text("DROP TRIGGER ledger_events_no_delete"))
        conn.execute(text("DELETE FROM ledger_events WHERE seq > :size"), {"size": size})
        conn.execute(
            text(
                "UPDATE ledger_head SET tree_size = :tree_size, root_hash = :root_hash, "
                "frontier = :frontier, timestamp = :timestamp, key_id = :key_id, "
                "signature = :signature, mac = :mac WHERE id = 1"
            ),
            head,
        )


def _head_row(app: Application) -> dict[str, Any]:
    with app.store.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT tree_size, root_hash, frontier, timestamp, key_id, signature, mac "
                "FROM ledger_head"
            )
        ).one()
    return dict(row._mapping)


def test_a_store_rewound_after_opening_is_refused_before_the_first_write(
    settings: Settings, home: InitResult
) -> None:
    with Application.open(settings) as app:
        old = _head_row(app)
    add_users(settings, "ana", "bo", "cy")
    with Application.open(settings) as app:  # opens on the intact store
        _rewind(app, 2, old)
        with pytest.raises(LedgerTampered, match="fewer than the 5 events this home witnessed"):
            app.identity.add_user(
                app.authenticate(ambient_token(app.settings)), "mallory", ["admin"]
            )
        with app.store.read() as reader:
            assert reader.event_count() == 2  # nothing was appended to the old ledger
        result = app.audit.verify(
            app.authenticate(ambient_token(app.settings)), witness=home_witness(settings)
        )
    assert not result.ok and result.details["check"] == "witness"
    assert result.first_bad_seq == 3
    assert witnessed_size(settings) == 5


def test_each_home_sharing_a_store_keeps_its_own_witness(
    settings: Settings, home: InitResult, snapshot: Callable[[], Restore], tmp_path: Path
) -> None:
    other = second_home(settings, tmp_path / "home-b")
    add_users(other, "ana", "bo")  # home b witnesses 4 events; home a still 2
    assert (witnessed_size(settings), witnessed_size(other)) == (2, 4)
    with Application.open(settings):  # a's witness is extended by b's appends
        pass
    assert witnessed_size(settings) == 4
    restore = snapshot()
    add_users(other, "cy")
    assert (witnessed_size(settings), witnessed_size(other)) == (4, 5)
    restore()  # back to 4 events: as far as home a has seen, nothing was lost
    with Application.open(settings):
        pass
    with pytest.raises(LedgerTampered, match="fewer than the 5 events this home witnessed"):
        Application.open(other)


def test_a_different_history_over_a_restored_copy_is_refused_and_verify_names_the_range(
    settings: Settings, home: InitResult, snapshot: Callable[[], Restore], tmp_path: Path
) -> None:
    restore = snapshot()  # 2 events
    add_users(settings, "ana", "bo", "cy")  # home a witnesses 5
    restore()
    other = second_home(settings, tmp_path / "home-b")  # a home that never saw those
    add_users(other, "mallory", "eve", "trent", "zed")  # 6 events, signed by the real key
    with pytest.raises(LedgerTampered, match="does not extend the 5 events this home witnessed"):
        Application.open(settings)
    with Application.open(other) as app:
        result = app.audit.verify(
            app.authenticate(ambient_token(app.settings)), witness=home_witness(settings)
        )
    assert not result.ok and result.details["check"] == "witness"
    assert "(events 1..4 differ from those witnessed)" in (result.problem or "")


def test_verify_advances_the_witness_after_a_full_check(
    settings: Settings, home: InitResult, tmp_path: Path
) -> None:
    other = second_home(settings, tmp_path / "home-b")
    add_users(other, "ana")
    witness = Witness(tmp_path / "auditor-witness.json")
    with Application.open(other) as app:
        actor = app.authenticate(ambient_token(app.settings))
        first = app.audit.verify(actor, witness=witness)
        assert first.ok and first.details["witness"]["tree_size"] == 3
        app.identity.add_user(actor, "bo", ["auditor"])
        again = app.audit.verify(actor, witness=witness)
    assert again.ok and again.details["witness"]["tree_size"] == 4
    assert stat.S_IMODE(witness.path.stat().st_mode) == 0o600


def test_a_damaged_witness_is_refused_and_a_deleted_one_is_trusted_on_first_use(
    settings: Settings, home: InitResult
) -> None:
    path = settings.home / "witness.json"
    document = json.loads(path.read_text())
    document["tree_head"]["root_hash"] = "00" * 32
    path.write_text(json.dumps(document))
    with pytest.raises(IntegrityError, match=r"witness file .* is damaged"):
        Application.open(settings)
    path.unlink()  # the documented limit: whoever can delete the witness resets it
    add_users(settings, "ana")
    assert witnessed_size(settings) == 3


def test_the_witness_never_moves_backwards(settings: Settings, home: InitResult) -> None:
    add_users(settings, "ana", "bo")
    witness = home_witness(settings)
    current = witness.read()
    assert current is not None and current.size == 4
    with Application.open(settings) as app, app.store.read() as reader:
        head = reader.head()
    assert head is not None
    older = Witness(settings.home.parent / "older.json")
    assert older.record(head, current.tree(), "now") is not None
    assert witness.record(head, current.tree(), "later") is None  # not larger: unchanged
    assert witness.read() == current


def test_audit_verify_json_shows_the_witnessed_head(initialised: Run) -> None:
    initialised("user", "add", "sam", "--role", "auditor")
    document = initialised("audit", "verify", "--json").json()
    assert document["ok"] is True and document["check"] is None
    assert document["witness"]["tree_size"] == 3
