"""Identities and access: init, users, roles, tokens, permission checks (both backends)."""

from __future__ import annotations

import ast
import json
import stat
from pathlib import Path
from typing import Any

import pytest

import steward
from conftest import StepClock
from factories import snapshot
from steward.app import Application, InitResult, ambient_token, initialize, open_session
from steward.domain import Role
from steward.errors import (
    AlreadyExists,
    AuthenticationError,
    InvalidInput,
    NotAStewardHome,
    NotFound,
    PermissionDenied,
)
from steward.settings import Settings


def test_init_creates_a_private_key_a_private_token_and_an_admin(
    settings: Settings, home: InitResult, app: Application
) -> None:
    key_mode = stat.S_IMODE(settings.signing_key_path.stat().st_mode)
    token_mode = stat.S_IMODE(settings.token_path.stat().st_mode)
    assert key_mode == 0o600
    assert token_mode == 0o600
    assert settings.token_path.read_text().strip() == home.token
    actor = app.authenticate(ambient_token(app.settings))
    assert actor.name == "admin" and actor.roles == frozenset({Role.ADMIN})
    marker = json.loads(settings.marker_path.read_text())
    assert marker["format"] == "steward.home/v1"


def test_init_refuses_an_existing_home_unless_forced(
    settings: Settings, home: InitResult, clock: StepClock
) -> None:
    with pytest.raises(AlreadyExists, match="--force"):
        initialize(settings, clock=clock)
    from steward.app._reinit import store_label

    again = initialize(settings, force=True, clock=clock, confirm=store_label(settings))
    assert again.key_id != home.key_id
    with Application.open(settings) as app:
        actor = app.authenticate(again.token)
        with pytest.raises(AuthenticationError):
            app.authenticate(home.token)
        assert app.audit.verify(actor).ok


def test_init_refuses_a_non_empty_folder_that_is_not_a_home(tmp_path: Any) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="not empty and is not a Steward home"):
        initialize(Settings(home=folder))
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["project"]


def test_a_folder_that_is_not_a_home_is_refused(tmp_path: Any) -> None:
    with pytest.raises(NotAStewardHome, match="not a Steward home"):
        Application.open(Settings(home=tmp_path))
    with pytest.raises(NotAStewardHome, match="does not exist"):
        Application.open(Settings(home=tmp_path / "nowhere"))


def test_admin_adds_users_with_roles_and_each_gets_a_working_token(app: Application) -> None:
    admin = app.authenticate(ambient_token(app.settings))
    user, token = app.identity.add_user(admin, "sam", ["steward", "auditor"])
    assert user.roles == frozenset({Role.STEWARD, Role.AUDITOR})
    actor = app.authenticate(token)
    assert actor.name == "sam"
    assert [u.name for u in app.identity.list_users(admin)] == ["admin", "sam"]
    (event,) = app.audit.log(admin, limit=1)
    assert event.type == "user.created" and event.actor == "admin"
    assert event.payload["roles"] == ["auditor", "steward"]


@pytest.mark.parametrize(
    ("name", "roles", "error", "message"),
    [
        ("carol", ["wizard"], InvalidInput, "unknown role 'wizard'"),
        ("carol", [], InvalidInput, "at least one role"),
        ("Carol!", ["steward"], InvalidInput, "invalid user name"),
        ("admin", ["steward"], AlreadyExists, "already exists"),
    ],
)
def test_bad_user_input_is_refused_and_nothing_is_written(
    app: Application, name: str, roles: list[str], error: type[Exception], message: str
) -> None:
    admin = app.authenticate(ambient_token(app.settings))
    before = snapshot(app)
    with pytest.raises(error, match=message):
        app.identity.add_user(admin, name, roles)
    assert snapshot(app) == before


def test_a_data_scientist_cannot_add_users_and_the_store_is_unchanged(app: Application) -> None:
    admin = app.authenticate(ambient_token(app.settings))
    _, token = app.identity.add_user(admin, "dana", ["data_scientist"])
    dana = app.authenticate(token)
    before = snapshot(app)
    with pytest.raises(PermissionDenied, match="dana \\(data_scientist\\) may not add users"):
        app.identity.add_user(dana, "eve", ["admin"])
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "no API token"),
        ("", "no API token"),
        ("hunter2", "malformed"),
        ("stw_000000000000_" + "A" * 43, "unknown to this store"),
    ],
)
def test_invalid_tokens_do_not_authenticate(
    app: Application, token: str | None, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(AuthenticationError, match=message):
        app.identity.authenticate(token)


def test_a_token_with_a_wrong_secret_does_not_authenticate(
    app: Application, home: InitResult
) -> None:
    forged = home.token[:-4] + ("AAAA" if not home.token.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthenticationError, match="does not match"):
        app.identity.authenticate(forged)


def test_a_revoked_token_stops_working_and_the_revocation_is_ledgered(
    app: Application,
) -> None:
    admin = app.authenticate(ambient_token(app.settings))
    _, token = app.identity.add_user(admin, "sam", ["steward"])
    sam = app.authenticate(token)
    revoked = app.identity.revoke_token(admin, sam.token_id or "")
    assert not revoked.active
    with pytest.raises(AuthenticationError, match="revoked"):
        app.authenticate(token)
    with pytest.raises(AlreadyExists, match="already revoked"):
        app.identity.revoke_token(admin, sam.token_id or "")
    (event,) = app.audit.log(admin, limit=1)
    assert event.type == "token.revoked" and event.payload["token_id"] == sam.token_id


def test_users_issue_their_own_tokens_but_not_others(app: Application) -> None:
    admin = app.authenticate(ambient_token(app.settings))
    _, token = app.identity.add_user(admin, "sam", ["steward"])
    sam = app.authenticate(token)
    record, second = app.identity.issue_token(sam, "sam")
    assert app.authenticate(second).token_id == record.id
    with pytest.raises(PermissionDenied):
        app.identity.issue_token(sam, "admin")
    with pytest.raises(PermissionDenied):
        app.identity.revoke_token(sam, admin.token_id or "")
    with pytest.raises(NotFound):
        app.identity.issue_token(admin, "ghost")
    assert {t.id for t in app.identity.list_tokens(sam, "sam")} == {sam.token_id, record.id}


def test_tokens_are_stored_only_as_hashes(app: Application, home: InitResult) -> None:
    admin = app.authenticate(ambient_token(app.settings))
    _, token = app.identity.add_user(admin, "sam", ["steward"])
    dump = json.dumps(snapshot(app))
    secret_part = token.split("_", 2)[2]
    assert secret_part not in dump
    assert home.token.split("_", 2)[2] not in dump


def test_the_application_never_falls_back_to_an_ambient_identity(
    settings: Settings, home: InitResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The home has a saved token and STEWARD_TOKEN is set: a server edge that passes a missing
    # header on must still be refused, not act as the home's admin.
    monkeypatch.setenv("STEWARD_TOKEN", home.token)
    assert settings.token_path.read_text().strip() == home.token
    with Application.open(Settings(home=settings.home, db_url=settings.db_url)) as app:
        assert app.settings.token is not None
        for missing in (None, "", "   "):
            with pytest.raises(AuthenticationError, match="no API token"):
                app.authenticate(missing)
        assert app.authenticate(home.token).name == "admin"
    # The local session is where the ambient chain lives: argument, environment, saved token.
    with open_session(Settings(home=settings.home, db_url=settings.db_url)) as (_, actor):
        assert actor.name == "admin"


AMBIENT = {"open_session", "ambient_token", "read_saved_token", "load_settings", "token_path"}


def _names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    found |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found |= {alias.name for alias in node.names}
    return found


def test_no_server_side_code_path_reaches_the_ambient_chain() -> None:
    """Services, the application itself and every server edge (model server, API, UI, monitor
    scheduler) name none of the ambient chain's parts, nor ``Settings.token``: only the CLI,
    the SDK and the demo (local sessions) may."""
    package = Path(steward.__file__).parent
    server_side = [package / "app" / "_application.py"]
    for layer in ("services", "api", "ui", "serving", "monitoring"):
        server_side += sorted((package / layer).rglob("*.py"))
    for path in server_side:
        names = _names(path)
        assert not names & AMBIENT, f"{path.relative_to(package)} uses {sorted(names & AMBIENT)}"
        text = path.read_text()
        assert "settings.token" not in text and "STEWARD_TOKEN" not in text, path
    # and the ambient chain itself is in one module
    readers = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if any(needle in path.read_text() for needle in ("read_saved_token(", "token.get_secret"))
    ]
    assert readers == ["app/_home.py"]
