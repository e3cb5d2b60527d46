"""Integrity beyond the ledger rows (both backends): artifacts swapped or deleted behind the
store, guard triggers dropped or disabled, loose key files, and file modes whatever the umask.

Each test plays an attacker with database or file access and shows the change refused or
detected.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import steward
from conftest import Run, Seed, Seeded, StepClock, sdk_seed
from factories import credit_frame
from steward.app import Application, ambient_token, initialize
from steward.artifacts import ArtifactStore
from steward.errors import InvalidInput
from steward.services.audit._witness import home_witness
from steward.settings import Settings
from steward.store import EXPECTED_TRIGGERS, check_triggers

# --------------------------------------------------------------------------- artifacts


def _file_of(app: Application, key: str) -> Path:
    digest = key.removeprefix("sha256:")
    return Path(app.settings.artifacts_location) / "sha256" / digest[:2] / digest[2:4] / digest


def _trained(settings: Settings) -> dict[str, Any]:
    dataset = steward.register_dataset(
        credit_frame(), name="credit", target="approved", sensitive=["group"]
    )
    version = steward.train(checks=False, dataset=dataset.ref, name="credit-model")
    with Application.open(Settings()) as app:
        app.evidence.run(
            app.authenticate(ambient_token(app.settings)), version.ref, ["performance"]
        )
    return {"ref": version.ref}


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> Seed:
    if "trained" in request.fixturenames:
        return sdk_seed("integrity-trained", _trained)
    return Seed("initialised")


@pytest.fixture
def trained(sdk_env: Settings, seeded: Seeded) -> str:
    """A dataset version, a trained model version (its run holds the split and the model
    file) and performance evidence with its plots."""
    return str(seeded.facts["ref"])


def test_verify_artifacts_hashes_every_reference_and_names_a_swapped_or_deleted_one(
    trained: str, sdk_env: Settings, cli: Run
) -> None:
    with Application.open(Settings()) as app:
        actor = app.authenticate(ambient_token(app.settings))
        version = app.models.get(actor, trained)
        intact = app.audit.verify(actor, artifacts=app.artifacts)
        assert intact.ok, intact.problem
        counts = intact.details["artifacts"]
        # model file, split document, dataset table, and at least one plot
        assert counts["referenced"] >= 4 and counts["checked"] == counts["referenced"]
        assert counts["references"] > counts["referenced"]  # the run names the model file too
        assert counts["missing"] == counts["mismatched"] == 0
        assert app.audit.verify(actor).details["artifacts"] is None  # only when asked

        model_file = _file_of(app, version.artifact)
        original = model_file.read_bytes()
        model_file.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # swapped
        result = app.audit.verify(actor, artifacts=app.artifacts)
        assert not result.ok and result.details["check"] == "artifacts"
        assert version.artifact in (result.problem or "")
        assert f"model version {version.ref}" in (result.problem or "")
        assert "does not match its hash" in (result.problem or "")
        assert result.details["artifacts"]["mismatched"] == 1
        assert result.details["artifacts"]["first_problem"]["record"] == version.subject
        assert app.artifacts.problem(version.artifact) == "does not match its hash"

        model_file.unlink()  # deleted
        assert app.artifacts.problem(version.artifact) == "missing"
        (plot,) = [
            key
            for record in app.evidence.list_evidence(actor, version.ref)
            for name, key in record.artifacts.items()
            if name == "confusion_matrix.png"
        ]
        _file_of(app, plot).unlink()
        result = app.audit.verify(actor, artifacts=app.artifacts)
        assert not result.ok and "is missing from the artifact store" in (result.problem or "")
        assert version.artifact in (result.problem or "")  # the model file comes first
        assert result.details["artifacts"]["missing"] == 2
        assert "1 more artifact(s)" in (result.problem or "")

    refused = cli("audit", "verify", "--artifacts")
    assert refused.code == 1
    assert f"TAMPERED at artifact store: artifact {version.artifact}" in refused.stdout
    document = cli("audit", "verify", "--artifacts", "--json").json()
    assert document["ok"] is False and document["check"] == "artifacts"
    assert document["artifacts"]["missing"] == 2
    assert cli("audit", "verify").code == 0  # without --artifacts, files are not read


def test_artifact_problem_streams_the_file(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "artifacts"))
    data = os.urandom(3 * (1 << 20) + 5)
    key = store.put_bytes(data)
    chunks: list[int] = []
    assert store.problem(key, progress=chunks.append) is None
    assert sum(chunks) == len(data) and max(chunks) <= 1 << 20
    assert store.problem("sha256:" + hashlib.sha256(b"never stored").hexdigest()) == "missing"
    with pytest.raises(InvalidInput):
        store.problem("../../etc/passwd")


# --------------------------------------------------------------------------- triggers


def test_a_migrated_store_has_exactly_the_expected_guard_triggers(app: Application) -> None:
    with app.store.read() as reader:
        assert check_triggers(reader).problem is None
        if app.store.dialect == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        names = {name for (name,) in reader._conn.exec_driver_sql(query)}
    assert names == set(EXPECTED_TRIGGERS[app.store.dialect])
    result = app.audit.verify(app.authenticate(ambient_token(app.settings)))
    assert result.ok and result.details["triggers_checked"] == len(names)


@pytest.mark.parametrize(
    ("table", "sqlite", "postgresql"),
    [
        ("ledger_events", "ledger_events_no_update", "ledger_events_no_truncate"),
        ("dataset_versions", "dataset_versions_no_delete", "dataset_versions_immutable"),
        ("runs", "runs_sealed", "runs_sealed"),
        ("model_versions", "model_versions_frozen", "model_versions_frozen"),
        ("approvals", "approvals_no_delete", "approvals_no_delete"),
    ],
)
def test_audit_verify_names_a_dropped_trigger(
    app: Application, table: str, sqlite: str, postgresql: str
) -> None:
    name = postgresql if app.store.dialect == "postgresql" else sqlite
    on = f" ON {table}" if app.store.dialect == "postgresql" else ""
    with app.store.engine.begin() as conn:
        conn.execute(text(f"DROP TRIGGER {name}{on}"))
    result = app.audit.verify(app.authenticate(ambient_token(app.settings)))
    assert not result.ok and result.details["check"] == "triggers"
    assert result.problem == (
        f"database trigger {name} on {table} is missing (dropped): the table is no longer "
        "guarded in the database"
    )


def test_a_disabled_or_neutered_trigger_is_named(app: Application) -> None:
    actor = app.authenticate(ambient_token(app.settings))
    with app.store.engine.begin() as conn:
        if app.store.dialect == "postgresql":
            conn.execute(text("ALTER TABLE evidence DISABLE TRIGGER evidence_immutable"))
        else:  # SQLite cannot disable one: recreate it doing nothing
            conn.execute(text("DROP TRIGGER evidence_no_update"))
            conn.execute(
                text(
                    "CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence BEGIN "
                    "SELECT 1; END"
                )
            )
    result = app.audit.verify(actor)
    assert not result.ok and result.details["check"] == "triggers"
    expected = "is disabled" if app.store.dialect == "postgresql" else "(rewritten)"
    assert "evidence" in (result.problem or "") and expected in (result.problem or "")
    if app.store.dialect == "postgresql":
        with app.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE evidence ENABLE TRIGGER evidence_immutable"))
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION steward_immutable_row() RETURNS trigger "
                    "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"
                )
            )
        result = app.audit.verify(actor)
        assert "runs function steward_immutable_row" in (result.problem or "")
        assert "(replaced)" in (result.problem or "")


def test_the_command_line_exits_1_naming_a_dropped_trigger(app: Application, cli: Run) -> None:
    name = "policies_no_update"
    on = " ON policies" if app.store.dialect == "postgresql" else ""
    with app.store.engine.begin() as conn:
        conn.execute(text(f"DROP TRIGGER {name}{on}"))
    result = cli("audit", "verify")
    assert result.code == 1
    assert f"TAMPERED at database triggers: database trigger {name} on policies" in result.stdout
    document = cli("audit", "verify", "--json").json()
    assert document["check"] == "triggers"


# --------------------------------------------------------------------------- keys and modes


def test_a_signing_key_others_may_read_is_refused_before_any_write(
    app: Application, settings: Settings, cli: Run
) -> None:
    key = settings.signing_key_path
    key.chmod(0o640)
    with app.store.read() as reader:
        before = reader.event_count()
    with pytest.raises(InvalidInput, match="chmod 600") as caught:
        app.identity.add_user(app.authenticate(ambient_token(app.settings)), "kim", ["auditor"])
    assert str(key) in caught.value.message and "mode 0640" in caught.value.message
    result = cli("user", "add", "kim", "--role", "auditor")
    assert result.code == 2 and result.stderr.count("\n") == 1
    assert f"run `chmod 600 {key}`" in result.stderr
    with app.store.read() as reader:
        assert reader.event_count() == before


def test_init_refuses_a_mounted_signing_key_others_may_read(
    settings: Settings, tmp_path: Path, clock: StepClock
) -> None:
    from steward.ledger import generate_key_file

    mounted = tmp_path / "secrets" / "ledger.pem"
    generate_key_file(mounted)
    mounted.chmod(0o644)
    shared = settings.model_copy(update={"signing_key": mounted})
    with pytest.raises(InvalidInput, match=r"mode 0644.*chmod 600"):
        initialize(shared, clock=clock)
    assert not settings.home.exists()
    mounted.chmod(0o600)
    assert initialize(shared, clock=clock).key_id


def _modes(home: Path) -> dict[str, str]:
    """Each path under ``home`` and its mode; folders end with a slash."""
    return {
        str(p.relative_to(home)): oct(stat.S_IMODE(p.stat().st_mode)) + ("/" if p.is_dir() else "")
        for p in home.rglob("*")
    }


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_everything_steward_writes_in_the_home_is_private_whatever_the_umask(
    settings: Settings, clock: StepClock, open_umask: None, tmp_path: Path
) -> None:
    initialize(settings, clock=clock)
    export = tmp_path / "ledger.jsonl"
    with Application.open(settings, clock=clock) as app:
        actor = app.authenticate(ambient_token(app.settings))
        _, token = app.identity.add_user(actor, "dana", ["data_scientist"])
        app.artifacts.put_bytes(b"a model file")
        source = tmp_path / "notes.txt"
        source.write_text("run notes")
        dana = app.authenticate(token)
        run = app.runs.start(dana, "with an artifact")
        app.runs.log_artifact(dana, run.id, source)
        app.runs.finish(dana, run.id)
        app.audit.export(actor, export)
        assert app.audit.verify(actor, witness=home_witness(settings)).ok
        modes = _modes(settings.home)  # while open: the SQLite store's WAL files exist
        if settings.db_url is None:
            assert {"steward.db", "steward.db-wal", "steward.db-shm"} <= set(modes)
    modes.update(_modes(settings.home))  # and after closing (the witness advanced)
    assert {"token", "steward.json", "witness.json", "keys/ledger_ed25519.pem"} <= set(modes)
    assert "keys/ledger_ed25519.pub" in modes
    assert any(path.startswith("artifacts/sha256/") for path in modes)
    assert {path: mode for path, mode in modes.items() if mode not in ("0o600", "0o700/")} == {}
    assert oct(stat.S_IMODE(settings.home.stat().st_mode)) == "0o700"
    assert oct(stat.S_IMODE(export.stat().st_mode)) == "0o600"
