"""Training, the registry and safe loading, as a data scientist uses them (both backends)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sqlalchemy import text
from threadpoolctl import threadpool_limits

import steward
from conftest import Seed, Seeded, sdk_seed
from factories import credit_frame
from steward.app import Application, ambient_token
from steward.domain import MissingPolicy, RunStatus
from steward.errors import IntegrityError, InvalidInput, NotFound, Refused
from steward.ml import TEMPLATES, TRUSTED_TYPES, dump_skops, fit_staged, load_skops
from steward.samples import LOANAPP_SENSITIVE, LOANAPP_TARGET, loanapp
from steward.settings import Settings


def _credit(settings: Settings) -> dict[str, Any]:
    version = steward.register_dataset(
        credit_frame(), name="credit", target="approved", sensitive=["group"]
    )
    return {"credit": version.ref}


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> Seed:
    """dana and the credit dataset she registered, for the tests that take ``credit``."""
    if "credit" in request.fixturenames:
        return sdk_seed("models-credit", _credit)
    return Seed("initialised")


@pytest.fixture
def credit(sdk_env: Settings, seeded: Seeded) -> str:
    return str(seeded.facts["credit"])


def _artifact_path(settings: Settings, key: str) -> Path:
    digest = key.removeprefix("sha256:")
    matches = list(Path(settings.artifacts_location).rglob(f"*{digest}*"))
    assert len(matches) == 1, matches
    return matches[0]


def test_a_trained_model_reproduces_its_recorded_test_metrics_exactly(
    sdk_env: Settings,
) -> None:
    steward.register_dataset(
        loanapp(), name="loans", target=LOANAPP_TARGET, sensitive=list(LOANAPP_SENSITIVE)
    )
    version = steward.train(checks=False, dataset="loans@1", name="loan-approval", seed=11)
    model = steward.load_model("loan-approval@1")
    x, y, a = steward.load_split("loan-approval@1", "test")
    proba = model.predict_proba(x)
    predicted = model.predict(x)
    recorded = version.metrics["test"]
    # recomputed independently with scikit-learn on the rows load_split returns
    assert roc_auc_score(y, proba[:, 1]) == recorded["roc_auc"]
    assert accuracy_score(y, predicted) == recorded["accuracy"]
    assert f1_score(y, predicted) == recorded["f1"]
    assert log_loss(y, proba) == recorded["log_loss"]
    assert version.split is not None
    assert len(x) == version.split["sizes"]["test"] == round(1989 * 0.2)
    assert list(a.columns) == ["race", "sex"]
    assert not {"race", "sex"} & set(x.columns)
    assert list(x.columns) == list(version.features)
    assert version.signature["output"]["classes"] == [0, 1]


@pytest.mark.parametrize("template", ["hgb", "forest", "xgboost", "lightgbm"])
def test_tree_templates_tune_and_reproduce(credit: str, template: str) -> None:
    if template not in TEMPLATES:
        pytest.skip(f"the {template} extra is not installed")
    version = steward.train(
        checks=False, dataset=credit, name=f"credit-{template}", template=template, trials=6
    )
    assert version.tuning is not None and version.tuning["trials"] == 6
    assert version.tuning["complete"] + version.tuning["pruned"] == 6
    model = steward.load_model(version.ref)
    x, y, _ = steward.load_split(version.ref, "test")
    assert roc_auc_score(y, model.predict_proba(x)[:, 1]) == version.metrics["test"]["roc_auc"]
    # the best trial's parameters are the version's, and they rebuild the very same model
    for name, value in version.tuning["best_params"].items():
        assert version.params[name] == value
    x_train, y_train, _ = steward.load_split(version.ref, "train")
    inputs = model.named_steps["inputs"]
    refit = TEMPLATES[template].build(
        inputs.numeric, inputs.categorical, version.params, 0, MissingPolicy()
    )
    with threadpool_limits(limits=1):
        fit_staged(TEMPLATES[template], refit, x_train, y_train)
    assert np.array_equal(refit.predict_proba(x), model.predict_proba(x))
    if TEMPLATES[template].library:  # saved natively: a zip with no pickle in it
        with Application.open(Settings()) as app:
            data = app.artifacts.get_bytes(version.artifact)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = sorted(archive.namelist())
        booster = "model.ubj" if template == "xgboost" else "model.txt"
        assert version.format == f"skops+{template}"
        assert names == sorted(["manifest.json", "prepare.skops", booster])


def test_sensitive_attributes_stay_out_of_the_inputs_unless_opted_in(credit: str) -> None:
    plain = steward.train(checks=False, dataset=credit, name="credit-plain")
    assert "group" not in plain.features and plain.excluded["group"].startswith("declared")
    assert plain.sensitive == ("group",) and plain.sensitive_features == ()
    inputs = steward.load_model(plain.ref).named_steps["inputs"]
    assert "group" not in (*inputs.numeric, *inputs.categorical)

    opted = steward.train(
        checks=False, dataset=credit, name="credit-aware", use_sensitive=["group"]
    )
    assert "group" in opted.features and opted.sensitive_features == ("group",)
    with Application.open(Settings()) as app:
        actor = app.authenticate(ambient_token(app.settings))
        run = app.runs.get(actor, opted.run_id or "")
    assert run.params["sensitive_features"] == ["group"]
    x, _, a = steward.load_split(opted.ref, "test")
    assert "group" in x.columns and list(a.columns) == ["group"]


def test_the_split_is_stratified_disjoint_and_identified_by_the_hash_of_its_rows(
    credit: str,
) -> None:
    version = steward.train(checks=False, dataset=credit, name="credit-split", seed=5)
    split = version.split
    assert split is not None
    with Application.open(Settings()) as app:
        document_bytes = app.artifacts.get_bytes(split["artifact"])
    assert hashlib.sha256(document_bytes).hexdigest() == split["id"]
    document = json.loads(document_bytes)
    parts = [set(document[p]) for p in ("train", "validation", "test")]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert set().union(*parts) == set(range(400))
    labels = credit_frame()["approved"].to_numpy()
    overall = labels.mean()
    for rows in parts:  # stratified: every part has the overall share of approvals
        assert abs(labels[sorted(rows)].mean() - overall) < 0.03
    # the same seed on the same data gives the same split; another seed another one
    again = steward.train(checks=False, dataset=credit, name="credit-split", seed=5)
    other = steward.train(checks=False, dataset=credit, name="credit-split", seed=6)
    assert again.split is not None and other.split is not None
    assert again.split["id"] == split["id"] and other.split["id"] != split["id"]
    assert again.version == 2 and other.version == 3


def test_the_drop_policy_trains_on_complete_rows_only(sdk_env: Settings) -> None:
    frame = credit_frame()
    steward.register_dataset(
        frame, name="credit-drop", target="approved", sensitive=["group"], missing="drop"
    )
    version = steward.train(checks=False, dataset="credit-drop", name="credit-complete")
    assert version.split is not None
    sizes = version.split["sizes"]
    complete = int(frame.drop(columns=["group"]).notna().all(axis=1).sum())
    assert sum(sizes.values()) == complete < len(frame)
    model = steward.load_model(version.ref)
    incomplete = frame[frame.isna().any(axis=1)]
    assert len(model.predict(incomplete)) == len(incomplete)  # imputers still guard serving


def test_a_changed_byte_in_the_model_artifact_refuses_to_load(credit: str) -> None:
    version = steward.train(checks=False, dataset=credit, name="credit-tamper")
    path = _artifact_path(Settings(), version.artifact)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="hash mismatch"):
        steward.load_model(version.ref)


class Exploit:
    """Writes a file when rebuilt: what a malicious model file would do."""

    target: str = ""

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["target"]).write_text("owned")

    def predict(self, x: Any) -> Any:
        return x


def test_a_skops_file_with_a_type_outside_the_trusted_list_is_refused(tmp_path: Path) -> None:
    exploit = Exploit()
    exploit.target = str(tmp_path / "owned")
    data = dump_skops({"model": exploit})
    with pytest.raises(Refused, match=r"outside Steward's trusted list: .*Exploit"):
        load_skops(data)
    assert not (tmp_path / "owned").exists()
    assert all(not name.startswith("tests.") for name in TRUSTED_TYPES)


def test_registering_an_untrusted_estimator_needs_the_pickle_flag_which_is_ledgered(
    sdk_env: Settings, tmp_path: Path
) -> None:
    exploit = Exploit()
    exploit.target = str(tmp_path / "owned")
    with pytest.raises(InvalidInput, match="pickle trust flag"):
        steward.register_model(exploit, name="odd")
    with Application.open(Settings()) as app, pytest.raises(NotFound):
        app.models.model(app.authenticate(ambient_token(app.settings)), "odd")

    version = steward.register_model(exploit, name="odd", trust_pickle=True)
    assert version.format == "pickle" and version.split is None
    with pytest.raises(Refused, match="trust_pickle=True"):
        steward.load_model("odd@1")
    assert not (tmp_path / "owned").exists()
    steward.load_model("odd@1", trust_pickle=True)
    assert (tmp_path / "owned").read_text() == "owned"  # pickle did run the file's code
    with Application.open(Settings()) as app:
        actor = app.authenticate(ambient_token(app.settings))
        (event,) = app.audit.log(actor, limit=1, type_="model.unsafe_load")
        registered = app.audit.log(actor, limit=1, type_="model.registered")[0]
    assert event.actor == "dana" and event.subject == "model:odd@1"
    assert registered.payload["format"] == "pickle"
    with pytest.raises(InvalidInput, match="no recorded split"):
        steward.load_split("odd@1", "test")


def test_a_model_fitted_elsewhere_registers_with_skops_inside_a_run(credit: str) -> None:
    frame = credit_frame()
    features = ["income", "debts"]
    fitted = LogisticRegression().fit(frame[features].fillna(0), frame["approved"])
    with steward.start_run("notebook") as run:
        version = steward.register_model(fitted, name="hand-made", dataset=credit)
    assert version.format == "skops" and version.run_id == run.id
    assert version.features == tuple(features)
    assert version.datasets[0]["ref"] == credit
    loaded = steward.load_model("hand-made")
    assert np.array_equal(loaded.coef_, fitted.coef_)


def test_registration_runs_and_trials_are_ledgered_and_the_ledger_verifies(credit: str) -> None:
    version = steward.train(
        checks=False, dataset=credit, name="credit-ledger", template="hgb", trials=4
    )
    with Application.open(Settings()) as app:
        actor = app.authenticate(ambient_token(app.settings))
        trials = app.runs.list_runs(actor, parent_id=version.run_id, limit=None)
        assert len(trials) == 4
        assert {t.tags["optuna.state"] for t in trials} <= {"complete", "pruned"}
        assert all(t.status is RunStatus.FINISHED for t in trials)
        for trial in trials:  # one validation score per warm-start stage reached
            steps = [p.step for p in app.runs.metrics(actor, trial.id)]
            assert steps == list(range(len(steps))) and 1 <= len(steps) <= 4
        assert version.tuning is not None
        assert version.tuning["best_run"] in {t.id for t in trials}
        (event,) = app.audit.log(actor, limit=1, type_="model.registered")
        assert event.payload["content_hash"] == version.content_hash
        assert event.payload["split"] == (version.split or {})["id"]
        finished = app.audit.log(actor, limit=50, type_="run.finished")
        assert len(finished) == 5  # the training run and its four trials
        verification = app.audit.verify(actor)
    assert verification.ok
    assert verification.records_checked >= 1 + 5 + 1 + 1  # dataset, runs, version, card


def test_the_lineage_goes_from_version_to_run_to_datasets_to_split(credit: str) -> None:
    version = steward.train(checks=False, dataset=credit, name="credit-lineage", trials=2)
    with Application.open(Settings()) as app:
        lineage = app.models.lineage(
            app.authenticate(ambient_token(app.settings)), "credit-lineage@1"
        )
    assert lineage["model"] == "credit-lineage@1"
    assert lineage["run"]["id"] == version.run_id and lineage["run"]["trials"] == 2
    assert lineage["datasets"][0]["ref"] == credit and lineage["datasets"][0]["rows"] == 400
    assert lineage["split"]["id"] == (version.split or {})["id"]
    assert [e["type"] for e in lineage["ledger"]] == [
        "dataset.registered",
        "run.finished",
        "model.registered",
    ]


def test_versions_are_immutable_in_the_database_and_edits_behind_it_are_detected(
    credit: str,
) -> None:
    steward.train(checks=False, dataset=credit, name="credit-frozen")
    with Application.open(Settings()) as app:
        actor = app.authenticate(ambient_token(app.settings))
        engine = app.store.engine
        for statement in (
            "UPDATE model_versions SET record = '{}'",
            "UPDATE model_versions SET artifact = 'sha256:00'",
            "DELETE FROM model_versions",
        ):
            with pytest.raises(Exception, match="immutable"), engine.begin() as conn:
                conn.execute(text(statement))
        # The stage may move in the database (policy gates move it), but only with a
        # ledgered transition: moved behind the ledger's back, verification names it.
        with engine.begin() as conn:
            conn.execute(text("UPDATE model_versions SET stage = 'production'"))
        result = app.audit.verify(actor)
        assert not result.ok and "credit-frozen@1 is in stage production" in (result.problem or "")
        with engine.begin() as conn:
            conn.execute(text("UPDATE model_versions SET stage = 'none'"))
            conn.execute(text("UPDATE models SET owner = 'mallory'"))
        result = app.audit.verify(actor)
        assert not result.ok and "model card of credit-frozen" in (result.problem or "")


def test_model_cards_are_edited_through_the_ledger(credit: str) -> None:
    steward.train(checks=False, dataset=credit, name="credit-card")
    with Application.open(Settings()) as app:
        _edit_card(app)


def _edit_card(app: Application) -> None:
    actor = app.authenticate(ambient_token(app.settings))  # dana, from STEWARD_TOKEN
    model = app.models.update(
        actor,
        "credit-card",
        {"risk_tier": "high", "intended_use": "pre-screening", "tags": {"team": "risk"}},
    )
    assert model.risk_tier.value == "high" and model.tags == {"team": "risk"}
    model = app.models.update(actor, "credit-card", {"tags": {"team": None, "tier": "2"}})
    assert model.tags == {"tier": "2"} and model.intended_use == "pre-screening"
    (event,) = app.audit.log(actor, limit=1, type_="model.updated")
    assert event.payload["card_hash"] == model.content_hash
    with pytest.raises(InvalidInput, match="unknown risk tier"):
        app.models.update(actor, "credit-card", {"risk_tier": "extreme"})
    with pytest.raises(InvalidInput, match="not a Steward user"):
        app.models.update(actor, "credit-card", {"owner": "nobody"})
    assert app.audit.verify(actor).ok


def test_references_resolve_numbers_latest_and_stages(credit: str, app: Application) -> None:
    steward.train(checks=False, dataset=credit, name="credit-refs")
    steward.train(checks=False, dataset=credit, name="credit-refs", seed=1)
    actor = app.authenticate(ambient_token(app.settings))
    assert app.models.get(actor, "credit-refs").version == 2
    assert app.models.get(actor, "credit-refs@1").version == 1
    with pytest.raises(NotFound, match="no version in production"):
        app.models.get(actor, "credit-refs@production")
    with pytest.raises(NotFound, match="no version 9"):
        app.models.get(actor, "credit-refs@9")
    with pytest.raises(InvalidInput, match="unknown stage"):
        app.models.get(actor, "credit-refs@nightly")


def test_a_native_model_file_is_refused_when_its_preparation_carries_an_untrusted_type(
    tmp_path: Path,
) -> None:
    from steward.ml import load_native

    exploit = Exploit()
    exploit.target = str(tmp_path / "owned")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        manifest = {"format": "steward.native/v1", "library": "xgboost", "params": {},
                    "classes": [0, 1], "booster": "model.ubj", "step": "model"}  # fmt: skip
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("prepare.skops", dump_skops(exploit))
        archive.writestr("model.ubj", b"")
    with pytest.raises(Refused, match="outside Steward's trusted list"):
        load_native(buffer.getvalue())
    assert not (tmp_path / "owned").exists()


@pytest.mark.parametrize("missing", ["impute", "drop"])
def test_a_column_without_any_value_is_never_an_input(sdk_env: Settings, missing: str) -> None:
    """An all-missing column used to reach the pipeline: its imputer dropped it from the
    prepared matrix (histogram gradient boosting then failed on its categorical mask), and
    under the drop policy every row was dropped. It is now left out, with its reason."""
    frame = credit_frame()
    frame["blank_number"] = np.nan
    frame["blank_text"] = None
    frame["branch"] = "boston"  # constant, but with a value: kept (docs/models.md)
    steward.register_dataset(
        frame, name="blanks", target="approved", sensitive=["group"], missing=missing
    )
    version = steward.train(checks=False, dataset="blanks", name="blanks-model", template="hgb")
    assert version.excluded["blank_number"] == "all values missing"
    assert version.excluded["blank_text"] == "all values missing"
    assert not {"blank_number", "blank_text"} & set(version.features)
    assert "branch" in version.features
    assert not {"blank_number", "blank_text"} & {i["name"] for i in version.signature["inputs"]}
    with Application.open(Settings()) as app:
        run = app.runs.get(app.authenticate(ambient_token(app.settings)), version.run_id or "")
    assert run.params["excluded"]["blank_text"] == "all values missing"
    assert version.split is not None
    complete = int(frame[["income", "debts", "region"]].notna().all(axis=1).sum())
    assert sum(version.split["sizes"].values()) == (complete if missing == "drop" else 400)
    model = steward.load_model(version.ref)
    x, y, _ = steward.load_split(version.ref, "test")
    assert roc_auc_score(y, model.predict_proba(x)[:, 1]) == version.metrics["test"]["roc_auc"]
