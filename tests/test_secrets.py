"""Secrets at rest are sealed: a webhook's signing secret is never in the database in plain
form, nor the prediction log's hashing key in the home; they open only under the home's
secrets key (or the mounted one), and a sealed value moved elsewhere does not open."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from steward.app import Application, InitResult
from steward.domain import Actor
from steward.errors import IntegrityError
from steward.services._secrets import PREFIX, SecretBox
from steward.settings import Settings


def test_a_webhook_secret_is_sealed_in_the_database_and_signs_with_the_plain_one(
    app: Application, admin: Actor, settings: Settings
) -> None:
    hook = app.webhooks.add(admin, "http://127.0.0.1:9/hook", [])
    other = app.webhooks.add(admin, "http://127.0.0.1:9/other", [])
    with app.store.engine.connect() as conn:
        rows: dict[str, str] = dict(conn.execute(text("SELECT id, secret FROM webhooks")).all())
    assert rows[hook.id].startswith(PREFIX) and hook.secret not in rows[hook.id]
    if settings.database_url.startswith("sqlite"):
        stored = Path(settings.database_url.removeprefix("sqlite:///")).read_bytes()
        assert hook.secret.encode() not in stored
    box = app.secrets
    assert box.open(rows[hook.id], context=f"webhook:{hook.id}").decode() == hook.secret
    with pytest.raises(IntegrityError, match="does not open"):  # moved to another row
        box.open(rows[hook.id], context=f"webhook:{other.id}")
    wrong = SecretBox(settings.home / "another.key")
    with pytest.raises(IntegrityError, match="does not open"):
        wrong.open(rows[hook.id], context=f"webhook:{hook.id}")


def test_the_log_key_is_sealed_in_the_home_and_a_key_kept_before_sealing_still_reads(
    app: Application, home: InitResult, settings: Settings
) -> None:
    key = app.predictions.log_key()
    path = settings.home / "keys" / "prediction_log.key"
    stored = path.read_bytes()
    assert len(key) == 32 and stored.startswith(PREFIX.encode()) and key not in stored
    assert app.predictions.log_key() == key  # the same key every time
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(settings.secrets_key_path.stat().st_mode & 0o777) == "0o600"
    path.write_bytes(b"k" * 32)  # a home from before sealing: its raw key is read as it is
    with Application.open(settings) as again:
        assert again.predictions.log_key() == b"k" * 32


def test_a_mounted_secrets_key_is_the_one_used_and_a_bad_one_is_named(
    settings: Settings, home: InitResult, tmp_path: Path
) -> None:
    mounted = tmp_path / "mounted.key"
    mounted.write_bytes(b"m" * 32)
    chosen = settings.model_copy(update={"secrets_key": mounted})
    with Application.open(chosen) as app:
        hook = app.webhooks.add(app.authenticate(home.token), "http://127.0.0.1:9/h", [])
        with app.store.engine.connect() as conn:
            sealed = conn.execute(text("SELECT secret FROM webhooks")).scalar_one()
    assert SecretBox(mounted).open(sealed, context=f"webhook:{hook.id}").decode() == hook.secret
    assert not (settings.home / "keys" / "secrets.key").exists()
    mounted.write_bytes(b"short")
    with pytest.raises(Exception, match="is not 32 bytes"):
        SecretBox(mounted).seal(b"x", context="c")
