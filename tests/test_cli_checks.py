"""``steward check …`` and ``steward evidence list`` as a user meets them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import SecretStr
from sklearn.linear_model import LogisticRegression

import steward
from conftest import CLI_DANA, CliSeed, Run, add_cli_user
from factories import credit_frame
from steward.app import Application
from steward.settings import Settings

# every command of this module's tests runs embedded, then over STEWARD_URL
pytestmark = pytest.mark.both_modes


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The CLI on SQLite; the evidence service runs on both backends in test_models' style."""
    return f"sqlite:///{tmp_path / 'store.db'}"


def _trained(run: Run, settings: Settings) -> dict[str, Any]:
    """dana, and her credit-model trained on credit.csv without the default checks."""
    dana = add_cli_user(run, "dana", "data_scientist")
    path = settings.home.parent / "credit.csv"
    credit_frame().to_csv(path, index=False)
    args = ["--name", "credit", "--target", "approved", "--sensitive", "group"]
    assert run("dataset", "register", str(path), *args, token=dana).code == 0
    result = run(
        "train", "--dataset", "credit", "--name", "credit-model", "--no-checks", token=dana
    )
    assert result.code == 0, result.stderr
    return {"dana": dana}


@pytest.fixture
def cli_seed(request: pytest.FixtureRequest) -> CliSeed:
    if "trained" in request.fixturenames:
        return CliSeed("cli-checks-trained", _trained)
    return CLI_DANA if "dana" in request.fixturenames else CliSeed("initialised-by-cli")


@pytest.fixture
def dana(initialised: Run, cli_seeded: dict[str, Any]) -> str:
    return str(cli_seeded["dana"])


@pytest.fixture
def trained(initialised: Run, dana: str) -> Run:
    return initialised


def _counts(settings: Settings) -> tuple[int, int]:
    with Application.open(settings) as app, app.store.read() as reader:
        return reader.event_count(), len(reader.evidence_for())


def test_check_run_records_ledgered_evidence_with_plots(
    trained: Run, dana: str, settings: Settings
) -> None:
    result = trained(
        "check", "run", "credit-model@1", "--check", "performance", "--json", token=dana
    )
    assert result.code == 0, result.stderr
    (record,) = result.json()
    assert record["check_id"] == "performance" and record["subject"] == "model:credit-model@1"
    assert set(record["artifacts"]) == {"calibration.png", "confusion_matrix.png"}
    assert (
        record["inputs"]["split"]
        == trained("model", "show", "credit-model", "--json").json()["split"]["id"]
    )
    with Application.open(settings) as app:
        for key in record["artifacts"].values():
            assert app.artifacts.get_bytes(key).startswith(b"\x89PNG")
        actor = app.authenticate(dana)
        (event,) = app.audit.log(actor, limit=1, type_="evidence.recorded")
    assert event.payload["evidence"][0]["content_hash"] == record["content_hash"]
    listed = trained("evidence", "list", "credit-model", "--json").json()
    assert [e["id"] for e in listed] == [record["id"]]
    assert trained("audit", "verify").code == 0


def test_evidence_save_writes_the_records_files_hash_checked(
    trained: Run, dana: str, settings: Settings, tmp_path: Path
) -> None:
    result = trained(
        "check", "run", "credit-model@1", "--check", "performance", "--json", token=dana
    )
    (record,) = result.json()
    saved = trained("evidence", "save", "credit-model@1", record["id"], "--to", str(tmp_path / "p"))
    assert saved.code == 0, saved.stderr
    paths = sorted(Path(line) for line in saved.stdout.split())
    assert [p.name for p in paths] == [
        "performance-calibration.png",
        "performance-confusion_matrix.png",
    ]
    with Application.open(settings) as app:
        for path in paths:
            key = record["artifacts"][path.name.removeprefix("performance-")]
            assert path.read_bytes() == app.artifacts.get_bytes(key)
    missing = trained("evidence", "save", "credit-model@1", "f" * 32, "--to", str(tmp_path))
    assert missing.code == 2 and "is not a record about credit-model@1" in missing.stderr
    assert list(tmp_path.glob("*.png")) == []


def test_a_changed_evidence_record_is_detected(trained: Run, dana: str, settings: Settings) -> None:
    assert trained("check", "run", "credit-model", token=dana).code == 0
    connection = sqlite3.connect(settings.home / "steward.db")
    try:
        connection.execute("DROP TRIGGER evidence_no_update")
        connection.execute(
            "UPDATE evidence SET metrics = REPLACE(metrics, '\"accuracy\":0.', '\"accuracy\":1.')"
        )
        connection.commit()
    finally:
        connection.close()
    verified = trained("audit", "verify")
    assert verified.code == 1 and "evidence" in verified.stdout + verified.stderr


def test_train_runs_the_default_checks_unless_told_not_to(trained: Run, dana: str) -> None:
    result = trained("train", "--dataset", "credit", "--name", "credit-model", token=dana)
    assert result.code == 0 and "performance: passed" in result.stdout
    listed = trained("evidence", "list", "credit-model@2", "--json").json()
    assert {e["check_id"] for e in listed} == {
        "data",
        "explainability",
        "fairness",
        "performance",
        "privacy",
        "robustness",
    }
    assert trained("evidence", "list", "credit-model@1", "--json").json() == []


@pytest.mark.usefixtures("third_party")
def test_a_third_party_check_runs_through_the_cli(trained: Run, dana: str) -> None:
    listed = trained("check", "list", "--json").json()
    assert [c["id"] for c in listed] == [
        "acme.positive_rate",
        "data",
        "explainability",
        "fairness",
        "performance",
        "privacy",
        "robustness",
    ]
    result = trained(
        "check", "run", "credit-model", "--check", "acme.positive_rate", "--json", token=dana
    )
    assert result.code == 0, result.stderr
    (record,) = result.json()
    assert record["check_id"] == "acme.positive_rate" and 0 < record["metrics"]["positive_rate"] < 1


def test_bad_requests_exit_2_and_write_nothing(trained: Run, dana: str, settings: Settings) -> None:
    before = _counts(settings)
    unknown = trained("check", "run", "credit-model", "--check", "nope", token=dana)
    assert unknown.code == 2 and "no check 'nope'" in unknown.stderr
    missing = trained("check", "run", "ghost", token=dana)
    assert missing.code == 2 and "no model named 'ghost'" in missing.stderr
    assert _counts(settings) == before

    frame = credit_frame().dropna()
    fitted = LogisticRegression().fit(frame[["debts"]], frame["approved"])
    as_dana = Settings(home=settings.home, token=SecretStr(dana))
    steward.register_model(fitted, name="hand-made", settings=as_dana)
    before = _counts(settings)
    nosplit = trained("check", "run", "hand-made", token=dana)
    assert nosplit.code == 2 and "has no recorded split" in nosplit.stderr
    assert _counts(settings) == before


def test_check_parameters_from_the_command_line(trained: Run, dana: str) -> None:
    result = trained(
        "check", "run", "credit-model", "--check", "fairness", "--check", "performance",
        "--param", "fairness.attributes=group", "--param", "fairness.min_group_size=10",
        "--param", "performance.bootstrap=20", "--param", "performance.seed=3",
        "--json", token=dana,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    fairness, performance = result.json()
    assert fairness["params"]["attributes"] == "group"
    assert fairness["params"]["min_group_size"] == 10
    assert list(fairness["metrics"]["attributes"]) == ["group"]
    assert performance["params"] == {
        "bootstrap": 20,
        "confidence": 0.95,
        "seed": 3,
        "calibration_bins": 10,
        "suspicious_score": 0.99,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--check", "fairness", "--param", "fairness.attributes=[group, age]"],
            "sensitive attribute(s) age not declared on the dataset of credit-model@1",
        ),
        (["--check", "fairness", "--param", "fairness.colour=red"], "has no parameter 'colour'"),
        (
            ["--check", "fairness", "--param", "fairness.bins=many"],
            "fairness.bins must be an integer in [2, inf), not 'many'",
        ),
        (["--check", "fairness", "--param", "performance.seed=1"], "check(s) not run: performance"),
        (["--param", "nope.x=1"], "no check 'nope'"),
        (["--param", "bins=4"], "write CHECK.NAME=VALUE"),
    ],
    ids=["missing-attribute", "unknown-param", "wrong-type", "not-run", "unknown-check", "form"],
)
def test_bad_check_parameters_exit_2_and_write_nothing(
    trained: Run, dana: str, settings: Settings, args: list[str], message: str
) -> None:
    before = _counts(settings)
    result = trained("check", "run", "credit-model", *args, token=dana)
    assert result.code == 2, result.stdout + result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _counts(settings) == before


def test_check_run_judges_a_version_on_another_dataset_version(
    trained: Run, dana: str, settings: Settings, tmp_path: Path
) -> None:
    fresh = credit_frame(rows=300, seed=11)  # new applications, same columns
    path = tmp_path / "fresh.csv"
    fresh.to_csv(path, index=False)
    args = ["--name", "credit-fresh", "--target", "approved", "--sensitive", "group"]
    assert trained("dataset", "register", str(path), *args, token=dana).code == 0
    result = trained(
        "check", "run", "credit-model@1", "--dataset", "credit-fresh@1",
        "--check", "performance", "--check", "data", "--json", token=dana,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    performance, data = result.json()
    assert performance["inputs"]["dataset"]["ref"] == "credit-fresh@1"
    assert performance["inputs"]["split"] is None and performance["inputs"]["rows"] == "all"
    assert performance["metrics"]["rows"] == 300
    model = steward.load_model(
        "credit-model@1", settings=Settings(home=settings.home, token=SecretStr(dana))
    )
    from sklearn.metrics import accuracy_score, roc_auc_score

    loaded = pd.read_csv(path)
    x = loaded.drop(columns=["approved", "group"])
    assert performance["metrics"]["roc_auc"] == pytest.approx(
        roc_auc_score(loaded["approved"], model.predict_proba(x)[:, 1]), abs=1e-12
    )
    assert performance["metrics"]["accuracy"] == accuracy_score(
        loaded["approved"], model.predict(x)
    )
    assert data["metrics"]["datasets"] == ["credit-fresh@1"]

    lacking = tmp_path / "lacking.csv"
    fresh.drop(columns=["income"]).to_csv(lacking, index=False)
    assert trained("dataset", "register", str(lacking), "--name", "lacking", token=dana).code == 0
    before = _counts(settings)
    refused = trained("check", "run", "credit-model@1", "--dataset", "lacking", token=dana)
    assert (
        refused.code == 2 and "lacks column(s) income that credit-model@1 needs" in refused.stderr
    )
    assert _counts(settings) == before


def test_an_auditor_cannot_record_evidence(trained: Run, settings: Settings) -> None:
    auditor = trained("user", "add", "audrey", "--role", "auditor", "--json").json()
    before = _counts(settings)
    refused = trained("check", "run", "credit-model", token=str(auditor["token"]))
    assert refused.code == 3 and "evidence:write" in refused.stderr
    assert _counts(settings) == before


def test_the_data_check_links_the_datasets_evidence(
    trained: Run, dana: str, tmp_path: Path
) -> None:
    result = trained("check", "run", "credit-model", "--check", "data", "--json", token=dana)
    assert result.code == 0, result.stderr
    (record,) = result.json()
    shown = trained("dataset", "show", "credit@1", "--json").json()
    dataset_ids = {e["id"] for e in shown["evidence"]}
    assert {e["id"] for e in record["metrics"]["evidence"]} == dataset_ids
    assert record["status"] == "passed" and record["metrics"]["datasets"] == ["credit@1"]

    changed = tmp_path / "credit2.csv"
    credit_frame().drop(columns=["debts"]).to_csv(changed, index=False)
    args = ["--name", "credit", "--target", "approved", "--sensitive", "group"]
    assert trained("dataset", "register", str(changed), *args, token=dana).code == 0
    assert (
        trained(
            "train", "--dataset", "credit@2", "--name", "credit-model", "--no-checks", token=dana
        ).code
        == 0
    )
    failed = trained("check", "run", "credit-model@2", "--check", "data", "--json", token=dana)
    (record,) = failed.json()
    assert record["status"] == "failed"
    assert record["findings"][0]["severity"] == "high"
    assert "data.validation on credit@2 failed" in record["findings"][0]["message"]
