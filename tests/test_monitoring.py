"""Monitors that act: a run judges the served version's window against its stored
reference, records the result as ledgered evidence, raises alerts by its rules and takes
their governance actions (suspend, revalidate); alerts have a ledgered life; a policy can
hold production while one is open; a bad monitor or an empty window is never a crash."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from conftest import Seed, Seeded
from factories import credit_frame, credit_policy, monitoring_models, snapshot
from steward.app import Application
from steward.domain import Actor
from steward.errors import InvalidInput, NotFound, PermissionDenied, Refused

MONITOR = """\
format: steward.monitor/v1
name: credit-watch
endpoint: credit
window: {rows: 1000}
performance: {}
fairness: {attributes: [group]}
alerts:
  - name: inputs
    when: input_drift
    severity: high
    actions: [notify, revalidate, suspend, retrain]
  - {name: predictions, when: prediction_drift, severity: low}
"""


@pytest.fixture
def seed() -> Seed:
    return Seed("monitoring-models", monitoring_models)


@pytest.fixture
def people(app: Application, admin: Actor, seeded: Seeded) -> dict[str, Actor]:
    found = {name: app.authenticate(token) for name, token in seeded.facts["tokens"].items()}
    found["admin"] = admin
    return found


@pytest.fixture
def refs(seeded: Seeded) -> list[str]:
    return list(seeded.facts["refs"])


def _events(app: Application, *types: str) -> list[dict[str, Any]]:
    with app.store.read() as reader:
        return [e.payload | {"actor": e.actor} for e in reader.events_of_types(*types)]


def _anchor(app: Application, actor: Actor, segment: Any) -> None:
    app.predictions.anchor(actor, segment)


def _stable(app: Application, actor: Actor) -> str:
    route = app.deployments.current(actor, "credit").stable
    assert route is not None
    return route.version


def _traffic(
    app: Application, actor: Actor, ref: str, rows: int, *, seed: int, shift: float = 0.0
) -> Any:
    """Log ``rows`` predictions of ``ref`` on fresh rows of the credit table (``income``
    moved by ``shift``), as the server would; the frame, for its labels."""
    from steward.logs import PredictionLog, PredictionRecord, record_time

    _, model = app.models.load(actor, ref)
    frame = credit_frame(rows=rows, seed=seed)
    frame["income"] = frame["income"] + shift
    x = frame[["income", "debts", "region"]]
    proba, labels = model.predict_proba(x), model.predict(x)
    classes = [str(c) for c in model.classes_]
    inputs = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in x.astype(object).to_dict("records")
    ]
    records = PredictionRecord.rows(
        request_ids=[f"{seed}-{i}" for i in range(rows)],
        time=record_time(),
        endpoint="credit",
        model=ref,
        inputs=inputs,
        contexts=[{"group": g} for g in frame["group"]],
        outputs=[
            {
                "prediction": int(label),
                "probabilities": dict(zip(classes, map(float, p), strict=True)),
            }
            for label, p in zip(labels, proba, strict=True)
        ],
        latency_ms=1.0,
    )
    with PredictionLog(app.predictions.root, on_sealed=lambda s: _anchor(app, actor, s)) as log:
        log.submit(records).result()
    return frame


# --------------------------------------------------------------------------- documents


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("format: steward.monitor/v1\nname: [x", r"m\.yaml:2: not valid YAML"),
        ("- a list", r"m\.yaml:1: a monitor is a YAML mapping"),
        (
            MONITOR.replace("window: {rows: 1000}", "window: {rows: 10, duration: 1d}"),
            r"m\.yaml:4: window: give exactly one of rows or duration",
        ),
        (
            MONITOR.replace("window: {rows: 1000}", "window: {duration: soon}"),
            r"m\.yaml:4: window\.duration: 'soon' is not a duration",
        ),
        (
            MONITOR.replace("endpoint: credit", "endpoint: credit\nwhat: 1"),
            r"m\.yaml:4: what: unknown field",
        ),
        (MONITOR.replace("when: input_drift", "when: vibes"), r"m\.yaml:9: alerts\.0\.when"),
        (MONITOR.replace("name: credit-watch", "name: Credit Watch"), r"m\.yaml:2: name"),
        (MONITOR + "schedule: 5s\n", r"schedule: .*at least 60s"),
    ],
)
def test_a_bad_monitor_document_is_refused_naming_file_line_and_field(
    text: str, problem: str
) -> None:
    from steward.policy import load_monitor

    with pytest.raises(InvalidInput, match=problem):
        load_monitor(text, "m.yaml")


def test_rules_on_sections_the_monitor_lacks_are_refused() -> None:
    from steward.policy import load_monitor

    text = MONITOR.replace("performance: {}\n", "").replace(
        "  - {name: predictions", "  - {name: labels, when: performance}\n  - {name: predictions"
    )
    with pytest.raises(InvalidInput, match="alert rule 'labels' needs a performance section"):
        load_monitor(text, "m.yaml")


# --------------------------------------------------------------------------- applying


def test_applying_a_monitor_stores_the_reference_once_and_refuses_what_it_cannot_watch(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    eli, dana = people["eli"], people["dana"]
    before = snapshot(app)
    with pytest.raises(PermissionDenied, match="monitor:manage"):
        app.monitoring.apply(dana, MONITOR, "m.yaml")
    with pytest.raises(NotFound, match="no endpoint named 'nowhere'"):
        app.monitoring.apply(eli, MONITOR.replace("endpoint: credit", "endpoint: nowhere"))
    assert snapshot(app) == before
    monitor, changed = app.monitoring.apply(eli, MONITOR, "m.yaml")
    assert changed and monitor.version == 1 and monitor.endpoint == "credit"
    again, changed = app.monitoring.apply(eli, MONITOR + "# a comment\n", "m.yaml")
    assert not changed and again == monitor
    assert len(_events(app, "monitor.applied")) == 1
    references = [
        e for e in app.evidence.list_evidence(eli, refs[1]) if e.check_id == "monitoring.reference"
    ]
    (reference,) = references
    assert set(reference.artifacts) == {"inputs", "outputs", "calibration", "multivariate"}
    assert reference.inputs["compared"] == ["income", "debts", "region"]
    app.monitoring.run(eli, "credit-watch")
    assert (
        len(
            [
                e
                for e in app.evidence.list_evidence(eli, refs[1])
                if e.check_id == "monitoring.reference"
            ]
        )
        == 1
    )  # built once, never again


def test_an_empty_window_is_not_enough_data_and_raises_nothing(
    app: Application, people: dict[str, Actor]
) -> None:
    eli = people["eli"]
    app.monitoring.apply(eli, MONITOR, "m.yaml")
    run = app.monitoring.run(eli, "credit-watch")
    assert run.record.status.value == "not_applicable"
    assert run.record.metrics["status"] == "not_enough_data"
    assert "not enough data: the window holds 0 prediction(s)" in run.record.metrics["reason"]
    assert not run.raised and not run.alerted
    with pytest.raises(NotFound, match="no monitor named 'nope'"):
        app.monitoring.run(eli, "nope")


# --------------------------------------------------------------------------- runs


def test_same_population_traffic_raises_nothing_and_drift_suspends_the_version(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    eli, admin = people["eli"], people["admin"]
    app.monitoring.apply(eli, MONITOR, "m.yaml")
    _traffic(app, eli, refs[1], 1000, seed=11)
    quiet = app.monitoring.run(eli, "credit-watch")
    assert quiet.record.metrics["input_drift"]["drifted"] == []
    assert not quiet.alerted and quiet.record.status.value == "passed"
    assert _stable(app, eli) == refs[1]

    _traffic(app, eli, refs[1], 1000, seed=12, shift=15.0)
    run = app.monitoring.run(eli, "credit-watch")
    assert run.record.metrics["input_drift"]["drifted"] == ["income"]
    rules = sorted(a.current.rule for a in run.raised)
    assert rules == ["inputs", "predictions"]
    assert run.record.status.value == "failed"  # a high alert
    # suspend: the endpoint fell back to the version deployed before, ledgered
    state = app.deployments.current(eli, "credit")
    assert state.action == "rollback" and _stable(app, eli) == refs[0]
    assert "monitor credit-watch alert" in state.reason
    (ran,) = _events(app, "monitor.ran")[-1:]
    assert ran["subject"] == f"model:{refs[1]}" and len(ran["alerts"]) == 2
    # the run's records never make the version's approvals lapse
    decision, _ = app.policies.gate(eli, refs[1], "production")
    assert decision.allowed, [r.reason for r in decision.failed]
    # an alert still open is not raised again
    app.deployments.deploy(eli, refs[1], "credit")
    again = app.monitoring.run(eli, "credit-watch")
    assert not again.raised and {a.id for a in again.still_open} == {a.id for a in run.raised}
    assert again.alerted
    assert app.audit.verify(admin).ok


def test_realised_performance_and_fairness_equal_sklearn_and_the_group_rates(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    from sklearn.metrics import accuracy_score, roc_auc_score

    eli = people["eli"]
    app.monitoring.apply(eli, MONITOR, "m.yaml")
    frame = _traffic(app, eli, refs[1], 800, seed=21)
    labels = [{"request_id": f"21-{i}", "label": int(v)} for i, v in enumerate(frame["approved"])]
    app.predictions.label(eli, "credit", labels)
    run = app.monitoring.run(eli, "credit-watch")
    _, model = app.models.load(eli, refs[1])
    x = frame[["income", "debts", "region"]]
    performance = {m["name"]: m for m in run.record.metrics["performance"]["metrics"]}
    truth = frame["approved"].to_numpy()
    assert performance["accuracy"]["value"] == pytest.approx(
        accuracy_score(truth, model.predict(x)), abs=1e-12
    )
    assert performance["roc_auc"]["value"] == pytest.approx(
        roc_auc_score(truth, model.predict_proba(x)[:, 1]), abs=1e-9
    )
    for m in performance.values():
        assert m["lower"] <= m["value"] <= m["upper"]
    predicted = model.predict(x)
    rates = {g: float(np.mean(predicted[frame["group"].to_numpy() == g] == 1)) for g in ("a", "b")}
    fairness = run.record.metrics["fairness"]["group"]
    assert fairness["disparate_impact_ratio"] == pytest.approx(
        min(rates.values()) / max(rates.values()), abs=1e-12
    )
    estimated = {m["name"]: m for m in run.record.metrics["estimated_performance"]["metrics"]}
    assert estimated["accuracy"]["lower"] <= performance["accuracy"]["value"] + 0.05
    assert set(run.record.artifacts) == {"drift.png", "series.png"}
    assert app.artifacts.get_bytes(run.record.artifacts["series.png"]).startswith(b"\x89PNG")


# --------------------------------------------------------------------------- alerts


def _raised(app: Application, eli: Actor, refs: list[str]) -> Any:
    app.monitoring.apply(eli, MONITOR, "m.yaml")
    _traffic(app, eli, refs[1], 500, seed=31, shift=15.0)
    run = app.monitoring.run(eli, "credit-watch")
    return next(a for a in run.raised if a.current.rule == "inputs")


def test_an_alert_is_acknowledged_and_resolved_by_people_who_may_each_step_ledgered(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    eli, sofia, audra = people["eli"], people["sofia"], people["audra"]
    alert = _raised(app, eli, refs)
    with pytest.raises(PermissionDenied, match="alert:manage"):
        app.alerts.resolve(audra, alert.id, "not mine")
    with pytest.raises(InvalidInput, match="say why"):
        app.alerts.acknowledge(sofia, alert.id, "  ")
    with pytest.raises(InvalidInput, match="first 6 characters"):
        app.alerts.acknowledge(sofia, alert.id[:3], "short")
    with pytest.raises(NotFound, match="no alert"):
        app.alerts.acknowledge(sofia, "ffffffffffff", "who")
    acked = app.alerts.acknowledge(sofia, alert.id[:8], "looking into the income feed")
    assert acked.current.status.value == "acknowledged" and acked.open
    resolved = app.alerts.resolve(sofia, alert.id, "the feed was fixed")
    assert resolved.current.status.value == "resolved" and not resolved.open
    with pytest.raises(Refused, match="already resolved"):
        app.alerts.resolve(sofia, alert.id, "again")
    shown = app.alerts.alert(eli, alert.id)
    assert [s.status.value for s in shown.history] == ["open", "acknowledged", "resolved"]
    assert [s.created_by for s in shown.history] == ["eli", "sofia", "sofia"]
    assert app.alerts.alerts(eli, status="open") == [a for a in app.alerts.alerts(eli) if a.open]
    changes = _events(app, "alert.changed")
    assert [c["status"] for c in changes] == ["acknowledged", "resolved"]
    refused = _events(app, "attempt.refused")
    assert [r["action"] for r in refused[-5:]] == [
        "alert.resolve",
        "alert.acknowledge",
        "alert.acknowledge",
        "alert.acknowledge",
        "alert.resolve",
    ]
    assert app.audit.verify(people["admin"]).ok


def test_a_policy_holds_production_while_an_alert_is_open(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    eli, sofia = people["eli"], people["sofia"]
    held = credit_policy(0.5).replace(
        "    waivable:", "    monitoring: {block_open_alerts_at: high}\n    waivable:"
    )
    app.policies.apply(sofia, held, "credit.yaml")
    app.policies.endorse(people["sam"], "credit")
    for steward in ("sofia", "sam"):  # the new policy version: approvals bound to it
        app.governance.approve(people[steward], refs[1], "production")
    decision, _ = app.policies.gate(eli, refs[1], "production")
    assert decision.allowed, [r.reason for r in decision.failed]
    alert = _raised(app, eli, refs)
    decision, _ = app.policies.gate(eli, refs[1], "production")
    failed = {r.id: r.reason for r in decision.failed}
    assert list(failed) == ["monitoring.alerts"], failed
    assert alert.id[:12] in failed["monitoring.alerts"]
    app.alerts.acknowledge(sofia, alert.id, "on it")  # still open
    assert not app.policies.gate(eli, refs[1], "production")[0].allowed
    app.alerts.resolve(sofia, alert.id, "fixed")
    assert app.policies.gate(eli, refs[1], "production")[0].allowed


def test_an_edited_alert_state_is_named_by_audit_verify(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    from sqlalchemy import text

    from steward.store._integrity import EXPECTED_TRIGGERS

    alert = _raised(app, people["eli"], refs)
    table, create = EXPECTED_TRIGGERS[app.store.dialect]["alert_states_no_update"]
    on = f" ON {table}" if app.store.dialect == "postgresql" else ""
    with app.store.engine.begin() as conn:  # an insider with the database's password
        conn.execute(text(f"DROP TRIGGER alert_states_no_update{on}"))
        conn.execute(
            text("UPDATE alert_states SET status = 'resolved', severity = 'info' WHERE alert = :a"),
            {"a": alert.id},
        )
        conn.execute(text(create))
    report = app.audit.verify(people["admin"])
    assert not report.ok
    assert report.problem is not None and f"alert {alert.id} state 1" in report.problem


# --------------------------------------------------------------------------- retraining


def test_a_challenger_from_logged_feedback_names_its_champion_and_needs_its_own_gate(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    dana, eli = people["dana"], people["eli"]
    frame = _traffic(app, eli, refs[1], 1200, seed=41, shift=5.0)
    labels = [{"request_id": f"41-{i}", "label": int(v)} for i, v in enumerate(frame["approved"])]
    app.predictions.label(eli, "credit", labels)
    with pytest.raises(InvalidInput, match="no labelled prediction"):
        app.retraining.from_predictions(dana, "credit", name="credit", until="2000-01-01")
    with pytest.raises(NotFound):
        app.retraining.from_predictions(dana, "credit", name="x", base="nothing@1")
    alone = app.retraining.from_predictions(dana, "credit", name="credit-feedback")
    assert alone.created and alone.version.rows == 1200
    registered = app.retraining.from_predictions(
        dana, "credit", name="credit-retrain", base="credit@1"
    )
    assert registered.created and registered.version.ref == "credit-retrain@1"
    assert registered.version.rows == 3000 + 1200
    assert [c.name for c in registered.version.schema.columns] == [
        "income",
        "debts",
        "region",
        "group",
        "approved",
    ]
    done = app.retraining.retrain(dana, "credit-model", dataset="credit-retrain@1")
    challenger = done.result.version
    assert done.champion.ref == refs[1]  # the production version
    assert challenger.parents == (refs[1],)
    assert challenger.template == done.champion.template
    assert challenger.datasets[0]["ref"] == "credit-retrain@1"
    lineage = app.models.lineage(dana, challenger.ref)
    assert refs[1] in str(lineage)
    comparison = done.comparison
    assert comparison.check_id == "comparison" and comparison.inputs["champion"] == refs[1]
    auc = comparison.metrics["metrics"]["roc_auc"]
    assert auc["lower"] <= auc["value"] <= auc["upper"]
    assert auc["value"] == pytest.approx(auc["challenger"] - auc["champion"], abs=1e-12)
    assert set(comparison.metrics["fairness"]["group"]) == {"champion", "challenger"}
    decision, _ = app.policies.gate(eli, challenger.ref, "production")
    assert not decision.allowed
    assert any(r.id == "approvals.steward" for r in decision.failed)
    with pytest.raises(Refused, match="may not be deployed"):
        app.deployments.deploy(eli, challenger.ref, "credit", canary=10)
    assert app.audit.verify(people["admin"]).ok


# --------------------------------------------------------------------------- the CLI


@pytest.mark.both_modes
def test_the_cli_runs_a_monitor_and_fails_on_an_alert_only_when_asked(
    app: Application,
    people: dict[str, Actor],
    refs: list[str],
    seeded: Seeded,
    cli: Any,
    tmp_path: Any,
) -> None:
    eli_token = seeded.facts["tokens"]["eli"]
    document = tmp_path / "m.yaml"
    document.write_text(MONITOR.replace("window: {rows: 1000}", "window: {rows: 0}"))
    bad = cli("monitor", "apply", str(document), token=eli_token)
    assert bad.code == 2 and "m.yaml:4: window.rows" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    document.write_text(MONITOR)
    assert cli("monitor", "apply", str(document), token=eli_token).code == 0
    _traffic(app, people["eli"], refs[1], 600, seed=51, shift=15.0)
    raised = cli("monitor", "run", "credit-watch", "--fail-on-alert", token=eli_token)
    assert raised.code == 1, raised.stderr
    assert "input drift: 1 of 3 inputs drifted" in raised.stdout
    assert "suspend: credit fell back to credit-model@1" in raised.stdout
    listed = cli("alert", "list", "--status", "open", "--json", token=eli_token)
    assert listed.code == 0 and {a["rule"] for a in listed.json()} == {"inputs", "predictions"}
    # the endpoint now serves @1, which has had no traffic: nothing to judge, no alert
    quiet = cli("monitor", "run", "credit-watch", "--fail-on-alert", "--json", token=eli_token)
    assert quiet.code == 0, quiet.stderr
    assert quiet.json()["evidence"]["subject"] == f"model:{refs[0]}"
    assert quiet.json()["evidence"]["metrics"]["status"] == "not_enough_data"
    missing = cli("monitor", "run", "nope", token=eli_token)
    assert missing.code == 2 and "no monitor named 'nope'" in missing.stderr
    # the log is today's: nothing is past the retention, and no retention under the floor
    pruned = cli("predictions", "prune", "--json", token=eli_token)
    assert pruned.code == 0, pruned.stderr
    assert pruned.json() == {"retention_days": 183, "segments": []}
    short = cli("predictions", "prune", "--retention-days", "30", token=eli_token)
    assert short.code == 2 and "30 is shorter than the 183 days" in short.stderr
    added = cli(
        "monitor",
        "add",
        "quick",
        "--endpoint",
        "credit",
        "--duration",
        "1d",
        "--alert",
        "input_drift=critical:notify,suspend",
        "--json",
        token=eli_token,
    )
    assert added.code == 0, added.stderr
    assert added.json()["document"]["alerts"] == [
        {
            "name": "input-drift",
            "when": "input_drift",
            "min_share": None,
            "severity": "critical",
            "actions": ["notify", "suspend"],
        }
    ]
    vague = cli(
        "monitor",
        "add",
        "q2",
        "--endpoint",
        "credit",
        "--rows",
        "10",
        "--alert",
        "vibes",
        token=eli_token,
    )
    assert vague.code == 2 and "alerts.0.when" in vague.stderr
    (alert,) = [a for a in listed.json() if a["rule"] == "inputs"]
    acked = cli("alert", "ack", alert["id"][:8], "--note", "on it", token=eli_token)
    assert acked.code == 0 and "acknowledged by eli" in acked.stdout
    auditor = cli(
        "alert", "resolve", alert["id"], "--note", "x", token=seeded.facts["tokens"]["audra"]
    )
    assert auditor.code == 3 and "alert:manage" in auditor.stderr


def test_a_notifying_rule_queues_the_signed_webhook_and_revalidate_ledgers_the_gate(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    import json

    eli, sofia = people["eli"], people["sofia"]
    held = credit_policy(0.5).replace(
        "    waivable:", "    monitoring: {block_open_alerts_at: high}\n    waivable:"
    )
    app.policies.apply(sofia, held, "credit.yaml")
    app.policies.endorse(people["sam"], "credit")
    for steward in ("sofia", "sam"):  # approvals are bound to the policy: both again
        for ref in refs:
            app.governance.approve(people[steward], ref, "production")
    hook = app.webhooks.add(people["admin"], "http://127.0.0.1:9/hook", ["monitor.alert"])
    text = MONITOR.replace(
        "actions: [notify, revalidate, suspend, retrain]", "actions: [notify, revalidate]"
    )
    app.monitoring.apply(eli, text, "m.yaml")
    _traffic(app, eli, refs[1], 500, seed=71, shift=15.0)
    run = app.monitoring.run(eli, "credit-watch")
    alert = next(a for a in run.raised if a.current.rule == "inputs")
    outcomes = {o["action"]: o["outcome"] for o in run.outcomes if o["alert"] == alert.id}
    assert outcomes["notify"] == "monitor.alert queued for 1 webhook(s)"
    assert "its production gate fails — monitoring.alerts" in outcomes["revalidate"]
    assert f"falls back to {refs[0]}" in outcomes["revalidate"]
    delivered = [d for d in app.webhooks.log(people["admin"]) if d.event == "monitor.alert"]
    assert {d.webhook_id for d in delivered} == {hook.id}
    bodies = {json.loads(d.body)["data"]["alert"]: json.loads(d.body) for d in delivered}
    assert set(bodies) == {a.id for a in run.raised}  # both rules notify
    assert bodies[alert.id]["data"]["severity"] == "high"
    assert bodies[alert.id]["data"]["rule"] == "inputs"
    enforced = next(e for e in _events(app, "serving.enforced") if e["version"] == refs[1])
    assert enforced["allowed"] is False
    assert enforced["serving"] == refs[0] and "monitoring.alerts" in enforced["failed"]


@pytest.mark.both_modes
def test_the_cli_builds_a_dataset_from_feedback_and_retrains_on_it(
    app: Application,
    people: dict[str, Actor],
    refs: list[str],
    seeded: Seeded,
    cli: Any,
) -> None:
    tokens = seeded.facts["tokens"]
    frame = _traffic(app, people["eli"], refs[1], 400, seed=43, shift=5.0)
    labels = [{"request_id": f"43-{i}", "label": int(v)} for i, v in enumerate(frame["approved"])]
    app.predictions.label(people["eli"], "credit", labels)
    made = cli(
        "dataset", "from-predictions", "credit", "--name", "fed", "--base", "credit@1",
        "--json", token=tokens["dana"],
    )  # fmt: skip
    assert made.code == 0, made.stderr
    assert made.json()["version"]["ref"] == "fed@1" and made.json()["version"]["rows"] == 3400
    none = cli(
        "dataset", "from-predictions", "credit", "--name", "x", "--until", "2000-01-01",
        token=tokens["dana"],
    )  # fmt: skip
    assert none.code == 2 and "no labelled prediction" in none.stderr
    done = cli("retrain", "credit-model", "--dataset", "fed@1", "--json", token=tokens["dana"])
    assert done.code == 0, done.stderr
    assert done.json()["champion"] == refs[1]
    assert done.json()["training"]["version"]["parents"] == [refs[1]]
    assert "auc" in json.dumps(done.json()["comparison"]["metrics"]).lower()
    auditor = cli("retrain", "credit-model", "--dataset", "fed@1", token=tokens["audra"])
    assert auditor.code == 3
