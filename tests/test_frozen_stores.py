"""A store frozen at every schema revision (``tests/data/stores``, written by
``scripts/freeze_stores.py``) upgrades to this Steward's schema with what it recorded intact,
and its ledger verifies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from steward.app import Application, upgrade_store
from steward.app._home import HOME_FORMAT
from steward.domain import Stage
from steward.settings import Settings
from steward.store import KNOWN_REVISIONS, SCHEMA_HEAD

FROZEN = Path(__file__).parent / "data" / "stores"


def test_every_schema_revision_has_a_frozen_store() -> None:
    """Adding a migration means running ``scripts/freeze_stores.py`` (and committing it)."""
    assert sorted(p.name for p in FROZEN.iterdir() if p.is_dir()) == sorted(KNOWN_REVISIONS)


def _home(revision: str, folder: Path) -> tuple[Settings, dict[str, Any]]:
    """A home around the frozen store: the marker, the public key, a copy of the database."""
    frozen = FROZEN / revision
    settings = Settings(home=folder / "home")
    (settings.home / "keys").mkdir(parents=True)
    settings.marker_path.write_text(json.dumps({"format": HOME_FORMAT}) + "\n")
    shutil.copy(frozen / "ledger_ed25519.pub", settings.signing_key_path.with_suffix(".pub"))
    shutil.copy(frozen / "steward.db", settings.home / "steward.db")
    return settings, json.loads((frozen / "facts.json").read_text())


@pytest.mark.parametrize("revision", sorted(KNOWN_REVISIONS))
def test_a_frozen_store_upgrades_to_head_keeps_its_records_and_verifies(
    revision: str, tmp_path: Path
) -> None:
    settings, facts = _home(revision, tmp_path)
    assert facts["revision"] == revision
    assert upgrade_store(settings) == (revision, SCHEMA_HEAD)
    with Application.open(settings) as app:
        admin = app.authenticate(facts["token"])
        verified = app.audit.verify(admin)
        assert verified.ok, verified.problem
        assert sorted(u.name for u in app.identity.list_users(admin)) == sorted(facts["users"])
        if "dataset" in facts:
            assert app.datasets.get(admin, facts["dataset"]).ref == facts["dataset"]
        if "run" in facts:
            assert app.runs.get(admin, facts["run"]).params == {"alpha": 0.5}
        if "model" in facts:
            version = app.models.get(admin, facts["model"])
            assert version.stage is Stage(facts.get("stage", "none"))
            comments = app.governance.history(admin, version.ref)["comments"]
            assert [c.text for c in comments] == facts.get("comments", [])
        if "endpoint" in facts:
            (route,) = app.deployments.current(admin, facts["endpoint"]).routes
            assert route.version == facts["model"]
        if "policy" in facts:
            policy = app.policies.get(admin, "frozen")
            assert f"{policy.name}@{policy.version}" == facts["policy"]
    assert upgrade_store(settings) == (SCHEMA_HEAD, SCHEMA_HEAD)  # nothing left to do
