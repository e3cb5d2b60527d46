"""Verification catches every kind of edit to the stored ledger (both backends).

Each test first drops the append-only triggers, as an attacker with database access would:
the triggers are defence in depth, and verification must not depend on them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from steward.app import Application, ambient_token
from steward.ledger import PublicKey, leaf_hash


def drop_triggers(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER ledger_events_append_only ON ledger_events"))
        else:
            conn.execute(text("DROP TRIGGER ledger_events_no_update"))
            conn.execute(text("DROP TRIGGER ledger_events_no_delete"))


@pytest.fixture
def busy(app: Application) -> Application:
    """A home with ten events: init's two plus eight user creations."""
    admin = app.authenticate(ambient_token(app.settings))
    for index in range(8):
        app.identity.add_user(admin, f"user{index}", ["data_scientist"])
    assert app.audit.verify(admin).ok
    drop_triggers(app.store.engine)
    return app


def run(app: Application, sql: str, **params: object) -> None:
    with app.store.engine.begin() as conn:
        conn.execute(text(sql), params)


def verify(app: Application):  # type: ignore[no-untyped-def]
    return app.audit.verify(app.authenticate(ambient_token(app.settings)))


def test_an_intact_ledger_verifies_and_dropped_triggers_are_reported(busy: Application) -> None:
    # the fixture verified the intact ledger, then dropped the triggers as an attacker would:
    # the ledger itself still verifies, and the missing triggers are named
    result = verify(busy)
    assert result.events_checked == 10 and result.tree_size == 10
    assert not result.ok and result.details["check"] == "triggers"
    assert "ledger_events" in (result.problem or "")


def test_an_edited_payload_is_named_by_its_sequence_number(busy: Application) -> None:
    run(
        busy,
        "UPDATE ledger_events SET body = REPLACE(body, '\"data_scientist\"', '\"admin\"') "
        "WHERE seq = 7",
    )
    result = verify(busy)
    assert not result.ok and result.first_bad_seq == 7
    assert "does not match its recorded hash" in (result.problem or "")


def test_a_deleted_event_is_named(busy: Application) -> None:
    run(busy, "DELETE FROM ledger_events WHERE seq = 5")
    result = verify(busy)
    assert not result.ok and result.first_bad_seq == 5
    assert "missing" in (result.problem or "")


def test_a_deleted_last_event_is_named(busy: Application) -> None:
    run(busy, "DELETE FROM ledger_events WHERE seq = 10")
    result = verify(busy)
    assert not result.ok and result.first_bad_seq == 10


def test_two_swapped_events_are_named(busy: Application) -> None:
    # Move row 4 out of the way, put row 5 at 4 and the old 4 at 5: a reordering.
    run(busy, "UPDATE ledger_events SET seq = 1000 WHERE seq = 4")
    run(busy, "UPDATE ledger_events SET seq = 4 WHERE seq = 5")
    run(busy, "UPDATE ledger_events SET seq = 5 WHERE seq = 1000")
    result = verify(busy)
    assert not result.ok and result.first_bad_seq == 4
    assert "do not match the recorded body" in (result.problem or "")


def test_an_inserted_event_is_named(busy: Application) -> None:
    body = (
        '{"actor":"admin","payload":{"roles":["admin"],"user":"mallory"},"seq":11,'
        '"subject":"user:mallory","ts":"2026-01-15T09:31:00.000000Z","type":"user.created","v":1}'
    )
    with busy.store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger_events (seq, ts, type, actor, subject, body, leaf_hash) "
                "VALUES (11, '2026-01-15T09:31:00.000000Z', 'user.created', 'admin', "
                "'user:mallory', :body, :leaf)"
            ),
            {"body": body, "leaf": leaf_hash(body.encode())},
        )
    result = verify(busy)
    assert not result.ok and result.first_bad_seq == 11
    assert "not covered by the signed tree head" in (result.problem or "")


def test_an_event_rewritten_with_a_matching_hash_breaks_the_signed_root(
    busy: Application,
) -> None:
    with busy.store.engine.begin() as conn:
        body = conn.execute(text("SELECT body FROM ledger_events WHERE seq = 6")).scalar_one()
        forged = body.replace("data_scientist", "admin")
        conn.execute(
            text("UPDATE ledger_events SET body = :body, leaf_hash = :leaf WHERE seq = 6"),
            {"body": forged, "leaf": leaf_hash(forged.encode())},
        )
    result = verify(busy)
    assert not result.ok
    assert "do not hash to the signed root" in (result.problem or "")


def test_a_damaged_tree_head_signature_is_detected(busy: Application) -> None:
    with busy.store.engine.begin() as conn:
        signature = conn.execute(text("SELECT signature FROM ledger_head")).scalar_one()
        damaged = bytes([signature[0] ^ 1]) + bytes(signature[1:])
        conn.execute(text("UPDATE ledger_head SET signature = :s"), {"s": damaged})
    result = verify(busy)
    assert not result.ok and "invalid signature" in (result.problem or "")


def test_a_ledger_checked_against_another_key_fails(busy: Application, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    stranger = PublicKey(Ed25519PrivateKey.generate().public_key())
    result = busy.audit.verify(busy.authenticate(ambient_token(busy.settings)), stranger)
    assert not result.ok and "not by the trusted key" in (result.problem or "")


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE ledger_head SET frontier = :f",  # a rewritten history's frontier
        "UPDATE ledger_head SET mac = :f",
    ],
)
def test_appending_to_a_head_rewritten_without_the_key_is_refused(
    busy: Application, change: str
) -> None:
    from steward.errors import LedgerTampered

    with busy.store.engine.begin() as conn:
        frontier = conn.execute(text("SELECT frontier FROM ledger_head")).scalar_one()
    forged = bytes(b ^ 0x55 for b in frontier)[:32] if "frontier" in change else bytes(32)
    forged = forged + bytes(frontier)[32:] if "frontier" in change else forged
    run(busy, change, f=forged)
    before = verify(busy)
    with pytest.raises(LedgerTampered, match="changed outside Steward"):
        busy.identity.add_user(busy.authenticate(ambient_token(busy.settings)), "late", ["auditor"])
    assert verify(busy) == before  # nothing was appended
