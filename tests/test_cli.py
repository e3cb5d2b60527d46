"""The command line as a user meets it: exit codes, one-line errors, --json documents."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Run
from steward.settings import Settings


@pytest.mark.both_modes
def test_init_then_whoami_works_at_once(initialised: Run) -> None:
    result = initialised("whoami", "--json")
    assert result.code == 0
    document = result.json()
    assert isinstance(document, dict)
    assert document["name"] == "admin" and document["roles"] == ["admin"]


def test_init_twice_is_a_usage_error_with_one_line(initialised: Run) -> None:
    result = initialised("init")
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and "already a Steward home" in result.stderr


@pytest.mark.both_modes
def test_a_data_scientist_adding_a_user_gets_exit_3_and_nothing_changes(
    initialised: Run,
) -> None:
    created = initialised("user", "add", "dana", "--role", "data_scientist", "--json")
    token = created.json()["token"]
    before = initialised("audit", "log", "--json", "--limit", "100").stdout
    result = initialised("user", "add", "eve", "--role", "admin", token=token)
    assert result.code == 3
    assert "may not add users" in result.stderr and result.stderr.count("\n") == 1
    assert initialised("audit", "log", "--json", "--limit", "100").stdout == before
    names = [u["name"] for u in initialised("user", "list", "--json").json()]
    assert names == ["admin", "dana"]


@pytest.mark.both_modes
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("user", "add", "carl", "--role", "wizard"), 2, "unknown role 'wizard'"),
        (("user", "add", "admin", "--role", "steward"), 2, "already exists"),
        (("user", "add", "x"), 2, "Missing option"),
        (("audit", "proof", "999"), 2, "no ledger event 999"),
        (("token", "revoke", "ffffffffffff"), 2, "no API token"),
    ],
)
def test_bad_input_exits_2_with_a_reason(
    initialised: Run, args: tuple[str, ...], code: int, message: str
) -> None:
    result = initialised(*args)
    assert result.code == code
    assert message in result.stderr


@pytest.mark.both_modes
@pytest.mark.parametrize("token", ["garbage", "stw_000000000000_" + "A" * 43])
def test_an_invalid_token_exits_3(initialised: Run, token: str) -> None:
    result = initialised("whoami", token=token)
    assert result.code == 3 and "invalid API token" in result.stderr


@pytest.mark.both_modes
def test_a_revoked_token_exits_3(initialised: Run) -> None:
    created = initialised("user", "add", "sam", "--role", "steward", "--json").json()
    token = created["token"]
    token_id = token.split("_")[1]
    assert initialised("token", "revoke", token_id).code == 0
    result = initialised("whoami", token=token)
    assert result.code == 3 and "revoked" in result.stderr


def test_login_saves_a_checked_token(initialised: Run, settings: Settings) -> None:
    created = initialised("user", "add", "sam", "--role", "auditor", "--json").json()
    token = created["token"]
    assert initialised("login", "not-a-token").code == 3
    assert initialised("login", token).code == 0
    assert settings.token_path.read_text().strip() == token
    assert initialised("whoami", "--json").json()["name"] == "sam"


def test_a_folder_that_is_not_a_home_exits_2(cli: Run, settings: Settings) -> None:
    settings.home.mkdir()
    result = cli("whoami")
    assert result.code == 2 and "is not a Steward home" in result.stderr


@pytest.mark.both_modes
def test_json_output_is_one_document_and_nothing_else(initialised: Run) -> None:
    for args in (
        ("whoami", "--json"),
        ("user", "list", "--json"),
        ("token", "list", "--json"),
        ("audit", "verify", "--json"),
        ("audit", "log", "--json"),
        ("audit", "head", "--json"),
        ("audit", "proof", "1", "--json"),
        ("db", "status", "--json"),
    ):
        result = initialised(*args)
        assert result.code == 0, (args, result.stderr)
        json.loads(result.stdout)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # edits the SQLite file itself
def test_audit_verify_exits_1_and_names_an_edited_event(
    initialised: Run, settings: Settings
) -> None:
    initialised("user", "add", "sam", "--role", "auditor")
    db = sqlite3.connect(settings.home / "steward.db")
    db.execute("DROP TRIGGER ledger_events_no_update")
    db.execute("UPDATE ledger_events SET body = REPLACE(body, 'auditor', 'admin') WHERE seq = 3")
    db.commit()
    db.close()
    result = initialised("audit", "verify")
    assert result.code == 1
    assert "TAMPERED at event 3" in result.stdout
    document = initialised("audit", "verify", "--json").json()
    assert document["first_bad_seq"] == 3 and document["ok"] is False


def test_an_exported_ledger_verifies_offline_with_the_standard_library(
    initialised: Run, settings: Settings, tmp_path: Path
) -> None:
    initialised("user", "add", "sam", "--role", "auditor")
    export = tmp_path / "ledger.jsonl"
    assert initialised("audit", "export", "--out", str(export)).code == 0
    verifier = Path(__file__).parents[1] / "src" / "steward" / "ledger" / "verify_export.py"
    key = settings.signing_key_path.with_suffix(".pub")
    ok = subprocess.run(
        [sys.executable, "-S", "-I", str(verifier), str(export), "--public-key", str(key)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK: 3 events")
    data = bytearray(export.read_bytes())
    data[len(data) // 2] ^= 0x20
    export.write_bytes(bytes(data))
    tampered = subprocess.run(
        [sys.executable, "-S", "-I", str(verifier), str(export), "--public-key", str(key)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert tampered.returncode == 1


def test_a_store_at_an_older_schema_is_refused_naming_db_upgrade(
    initialised: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from steward.store import KNOWN_REVISIONS, _engine

    # Pretend this Steward is a release ahead, so the store's schema is a known older one.
    monkeypatch.setattr(_engine, "KNOWN_REVISIONS", (*KNOWN_REVISIONS, "0099_next"))
    monkeypatch.setattr(_engine, "SCHEMA_HEAD", "0099_next")
    result = initialised("user", "add", "late", "--role", "auditor")
    assert result.code == 2
    assert "run `steward db upgrade`" in result.stderr and result.stderr.count("\n") == 1
    monkeypatch.undo()
    assert "late" not in initialised("user", "list").stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/steward", "unsupported database 'mysql'"),
        ("not a url", "invalid database URL"),
    ],
)
def test_an_unusable_database_url_is_a_one_line_usage_error(
    initialised: Run, monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setattr(Settings, "database_url", property(lambda self: url))
    result = initialised("whoami")
    assert result.code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_db_upgrade_brings_an_older_store_to_the_current_schema(
    initialised: Run, settings: Settings
) -> None:
    from steward.store import KNOWN_REVISIONS, make_engine, migrate

    engine = make_engine(settings.database_url)
    migrate(engine, KNOWN_REVISIONS[-2])  # as if written by the previous release
    engine.dispose()
    refused = initialised("whoami")
    assert refused.code == 2 and "run `steward db upgrade`" in refused.stderr
    status = initialised("db", "status", "--json")
    assert status.code == 1 and status.json()["current"] == KNOWN_REVISIONS[-2]
    upgraded = initialised("db", "upgrade")
    assert upgraded.code == 0 and "upgraded the store" in upgraded.stdout
    assert initialised("whoami").code == 0
    assert initialised("audit", "verify").code == 0


def test_db_status_and_upgrade_report_the_schema(initialised: Run) -> None:
    status = initialised("db", "status", "--json").json()
    assert status["ok"] is True
    upgraded = initialised("db", "upgrade")
    assert upgraded.code == 0 and "already at schema" in upgraded.stdout


def test_the_installed_entry_point_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "steward", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("steward ")


def test_an_unreachable_postgres_server_is_a_one_line_error(
    initialised: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/steward"
    monkeypatch.setattr(Settings, "database_url", property(lambda self: url))
    result = initialised("whoami")
    assert result.code == 2
    assert "cannot reach the store" in result.stderr and result.stderr.count("\n") == 1


def test_a_missing_signing_key_is_named_and_nothing_is_written(
    initialised: Run, settings: Settings
) -> None:
    before = initialised("audit", "log", "--json", "--limit", "100").stdout
    settings.signing_key_path.unlink()
    result = initialised("user", "add", "kim", "--role", "auditor")
    assert result.code == 2 and "no ledger signing key" in result.stderr
    assert initialised("audit", "log", "--json", "--limit", "100").stdout == before
