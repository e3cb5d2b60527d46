from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from steward.settings import Settings


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("HOME", "DB_URL", "ARTIFACTS_URL", "TOKEN", "URL", "SIGNING_KEY"):
        monkeypatch.delenv(f"STEWARD_{name}", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.home == tmp_path / ".steward"
    assert settings.database_url == f"sqlite:///{tmp_path / '.steward' / 'steward.db'}"
    assert settings.artifacts_location == str(tmp_path / ".steward" / "artifacts")
    assert settings.signing_key_path == tmp_path / ".steward" / "keys" / "ledger_ed25519.pem"
    assert settings.token is None and settings.url is None


def test_environment_variables_with_the_steward_prefix_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STEWARD_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("STEWARD_DB_URL", "postgresql+psycopg://u@db/steward")
    monkeypatch.setenv("STEWARD_ARTIFACTS_URL", "s3://bucket/steward")
    monkeypatch.setenv("STEWARD_TOKEN", "stw_secret")
    settings = Settings()
    assert settings.home == tmp_path / "h"
    assert settings.database_url == "postgresql+psycopg://u@db/steward"
    assert settings.artifacts_location == "s3://bucket/steward"
    assert settings.token is not None and settings.token.get_secret_value() == "stw_secret"
    assert "stw_secret" not in repr(settings)


def test_explicit_values_override_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STEWARD_HOME", str(tmp_path / "from-env"))
    assert Settings(home=tmp_path / "given").home == tmp_path / "given"


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(colour="blue")  # type: ignore[call-arg]


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(ValidationError):
        settings.home = Path("/elsewhere")
