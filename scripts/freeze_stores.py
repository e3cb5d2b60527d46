"""Write tests/data/stores/: one small SQLite store per schema revision, with rows.

    .venv/bin/python scripts/freeze_stores.py             # every revision
    .venv/bin/python scripts/freeze_stores.py 0009_x      # only the new one

For each revision R (oldest first) a home is filled with what a team had recorded by then —
users and tokens (0001), a dataset (0002), a run (0003), a trained model (0004), a policy
(0005), a comment and a webhook (0006), evidence, an approval, a promotion and an admin's
token reset (0007 on), a deployment (0008 on), a monitor and its run (0009 on) — through the
services, then its store is migrated down to R (Alembic's downgrades) and frozen as
``R/steward.db`` with the home's public key and ``facts.json`` (the admin's token, what was
recorded). Each store records only what R's tables hold in full (a record with a column
added after R would lose it in the downgrade). ``tests/test_frozen_stores.py`` upgrades each
copy to head and audits it, so a migration that loses or changes recorded rows is caught. No
artifacts are kept (the store is what is upgraded), so the files stay small. Deterministic
data, random keys and tokens: rerunning rewrites every file."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steward.app import Application, initialize
from steward.services import TrainingRequest
from steward.settings import Settings
from steward.store import make_engine, migrate

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "stores"

POLICY = """\
format: steward.policy/v1
name: frozen
selector:
  names: ["frozen-*"]
stages:
  staging:
    documentation: [owner]
"""


def revisions() -> list[str]:
    """Every schema revision, oldest first."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import steward.store

    config = Config()
    config.set_main_option(
        "script_location", str(Path(steward.store.__file__).parent / "migrations")
    )
    script = ScriptDirectory.from_config(config)
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _frame(rows: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    income = rng.normal(50, 15, rows)
    group = rng.choice(["a", "b"], rows)
    return pd.DataFrame(
        {
            "income": income,
            "debts": rng.integers(0, 6, rows),
            "group": group,
            "approved": ((income - 50) / 15 + rng.normal(0, 1, rows) > 0).astype(int),
        }
    )


def record(app: Application, admin_token: str, level: int) -> dict[str, Any]:
    """What the team records by revision number ``level``; returns the facts to check."""
    admin = app.authenticate(admin_token)
    people = {}
    for name, role in (
        ("dana", "data_scientist"),
        ("eli", "ml_engineer"),
        ("sofia", "steward"),
        ("sam", "steward"),
    ):
        people[name] = app.authenticate(app.identity.add_user(admin, name, [role])[1])
    dana = people["dana"]
    facts: dict[str, Any] = {"users": ["admin", *people]}
    if level >= 2:
        app.datasets.register(dana, _frame(), name="credit", target="approved")
        facts["dataset"] = "credit@1"
    if level >= 3:
        run = app.runs.start(dana, "exploration", params={"alpha": 0.5}, tags={"team": "risk"})
        app.runs.log_metrics(dana, run.id, [("auc", 0.71, 0)])
        facts["run"] = app.runs.finish(dana, run.id).id
    if level >= 4:
        request = TrainingRequest(dataset="credit", name="frozen-model", checks=False)
        facts["model"] = app.training.train(dana, request).version.ref
    if level >= 5:
        app.policies.apply(people["sofia"], POLICY, "frozen.yaml")
        facts["policy"] = "frozen@1"
    if level >= 6:
        app.governance.comment(people["sofia"], facts["model"], "reviewed")
        app.webhooks.add(people["sofia"], "http://127.0.0.1:9/hook", ["gate.failed"])
        facts["comments"] = ["reviewed"]
    if level >= 7:  # evidence and approvals have columns from 0007 on
        app.evidence.run(dana, facts["model"], ["performance"])
        app.governance.approve(people["sofia"], facts["model"], "staging", "fine")
        app.governance.promote(people["eli"], facts["model"], "staging")
        app.identity.issue_token(admin, "dana")  # a reset: her other tokens are revoked
        facts["stage"] = "staging"
    if level >= 8:  # deployments and labels from 0008 on
        app.deployments.deploy(people["eli"], facts["model"], "frozen", stage="staging")
        facts["endpoint"] = "frozen"
    if level >= 9:  # monitors, their runs and alert states from 0009 on
        monitor = (
            "format: steward.monitor/v1\nname: frozen-watch\nendpoint: frozen\n"
            "window: {rows: 100}\nalerts: [{name: drift, when: input_drift}]\n"
        )
        app.monitoring.apply(people["eli"], monitor, "frozen-watch.yaml")
        app.monitoring.run(people["eli"], "frozen-watch")
        facts["monitor"] = "frozen-watch@1"
    return facts


def freeze(revision: str, level: int, folder: Path) -> None:
    settings = Settings(home=folder / "home")
    made = initialize(settings)
    with Application.open(settings) as app:
        facts = record(app, made.token, level)
    engine = make_engine(settings.database_url)
    try:
        migrate(engine, revision)
    finally:
        engine.dispose()
    target = OUT / revision
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with sqlite3.connect(settings.home / "steward.db") as source:
        source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with sqlite3.connect(target / "steward.db") as frozen:
        with sqlite3.connect(settings.home / "steward.db") as source:
            source.backup(frozen)
        frozen.execute("PRAGMA journal_mode=DELETE")
        frozen.execute("PRAGMA page_size=1024")  # most tables hold a row or none
        frozen.execute("VACUUM")
    shutil.copy(settings.signing_key_path.with_suffix(".pub"), target / "ledger_ed25519.pub")
    facts = {"revision": revision, "token": made.token, **facts}
    (target / "facts.json").write_text(json.dumps(facts, indent=2) + "\n")


def main(only: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    known = revisions()
    for stale in OUT.iterdir():
        if stale.is_dir() and stale.name not in known:
            shutil.rmtree(stale)
    for revision in known:
        if only and revision not in only:
            continue
        level = int(revision.split("_", 1)[0])
        with tempfile.TemporaryDirectory() as folder:
            freeze(revision, level, Path(folder))
        size = (OUT / revision / "steward.db").stat().st_size
        print(f"{revision}: {size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
