"""One document per type: every domain value and service result with a JSON form has one
``to_dict()``, made of JSON types only and stable; and the CLI's ``--json`` prints exactly
those documents, so the REST bodies built on the same ``to_dict()`` are the same by
construction."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import steward.domain
import steward.services
from factories import credit_frame, credit_policy
from steward.app import Application, InitResult, initialize, schema_status
from steward.cli import main
from steward.domain import Actor
from steward.ledger import Verification
from steward.services import TrainingRequest, TuningResult
from steward.services.audit._witness import home_witness
from steward.settings import Settings

# Domain dataclasses that are not documents, and why.
NOT_DOCUMENTS = {
    "Ref": "a parsed reference: its text form is str(ref)",
}
# Public service types that are not results, and why.
NOT_RESULTS = {
    "TrainingRequest": "a request, built by the edge",
    "TrialUpdate": "a progress notice, handed to a callback while training",
}


@dataclasses.dataclass
class World:
    """A home with one of everything, and the values the services returned making it."""

    settings: Settings
    admin_token: str
    actors: dict[str, Actor]
    ref: str
    values: dict[str, list[Any]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("documents")
    settings = Settings(home=root / "home")
    home: InitResult = initialize(settings)
    values: dict[str, list[Any]] = {}

    def keep(value: Any) -> Any:
        values.setdefault(type(value).__name__, []).append(value)
        return value

    with Application.open(settings) as app:
        admin = app.authenticate(home.token)
        actors = {"admin": admin}
        for name, role in (
            ("dana", "data_scientist"),
            ("sofia", "steward"),
            ("sam", "steward"),
            ("eli", "ml_engineer"),
        ):
            user, token = app.identity.add_user(admin, name, [role])
            keep(user)
            actors[name] = app.authenticate(token)
        keep(actors["dana"])
        issued, _ = app.identity.issue_token(admin, None)
        keep(app.identity.revoke_token(admin, issued.id))
        keep(issued)
        dana, sofia, sam = actors["dana"], actors["sofia"], actors["sam"]
        keep(app.webhooks.add(admin, "http://127.0.0.1:9/hook", []))

        registration = keep(
            app.datasets.register(
                dana, credit_frame(), name="credit", target="approved", sensitive=["group"]
            )
        )
        keep(
            app.datasets.register(
                dana, credit_frame(), name="credit", target="approved", sensitive=["group"]
            )
        )
        keep(app.datasets.update_datasheet(dana, "credit", {"motivation": "lending"}))
        version = keep(registration.version)
        for scan in registration.evidence:
            for finding in scan.findings:
                keep(finding)
        for column in version.schema.columns:
            keep(column)
        keep(version.schema)
        keep(version.missing)

        trained = keep(
            app.training.train(dana, TrainingRequest(dataset="credit", name="credit-model"))
        )
        ref = trained.version.ref
        keep(trained.version)
        keep(trained.run)
        for point in app.runs.metrics(dana, trained.run.id):
            keep(point)
        keep(TuningResult(study="credit-model", run=trained.run, trials=2))
        # a parameter given as a tuple (as `--param fairness.attributes=[group]` gives it)
        chosen = {"fairness": {"attributes": ("group",)}}
        for record in app.evidence.run(dana, ref, ["performance", "fairness"], params=chosen):
            keep(record)
            for finding in record.findings:
                keep(finding)
        for reproduction in app.evidence.reproduce(sofia, ref, ["performance"]):
            keep(reproduction)
        keep(app.models.update(dana, "credit-model", {"description": "a lending model"}))

        applied, _ = app.policies.apply(sofia, credit_policy(0.99), "credit.yaml")
        keep(applied)
        keep(app.policies.endorse(sam, "credit"))
        for steward in (sofia, sam):
            keep(app.governance.approve(steward, ref, "production", "reviewed"))
        decision, _ = app.policies.gate(dana, ref, "production")
        unfair = next(r for r in decision.failed if r.id.startswith("evidence.fairness."))
        until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        keep(app.governance.waive(sofia, ref, unfair.id, "pilot with human review", until))
        keep(app.governance.comment(dana, ref, "looks good"))
        decision, _ = app.policies.gate(dana, ref, "production")
        keep(decision)
        for rule in decision.rules:
            keep(rule)
        state, _ = app.deployments.deploy(actors["eli"], ref, "credit")
        keep(state)
        for route in state.routes:
            keep(route)
        plan = keep(app.deployments.plan(actors["eli"], "credit"))
        for check in plan.checks:
            keep(check)
        _monitored(app, actors["eli"], ref, keep)
        version_now, promoted = app.governance.promote(dana, ref, "staging")
        keep(version_now)
        assert promoted is not None
        keep(promoted)
        for delivery in app.webhooks.log(admin):
            keep(delivery)

        keep(app.audit.export(admin, root / "ledger.jsonl"))
        keep(app.audit.proof(admin, 3))
        head = app.audit.head(admin)
        keep(head)
        for event in app.audit.log(admin, limit=1000):
            keep(event)
        keep(app.audit.verify(admin, witness=home_witness(settings), artifacts=app.artifacts))
        keep(app.datasets.dataset(dana, "credit"))
        keep(app.retraining.retrain(dana, "credit-model"))
        job = app.jobs.start(dana, "checks")
        app.jobs.succeed(job.id, {"checks": {"done": 1, "total": 1}}, [{"id": "e"}])
        keep(app.jobs.get(dana, job.id))
    keep(schema_status(settings))
    return World(settings, home.token, actors, ref, values)


def _monitored(app: Application, eli: Actor, ref: str, keep: Any) -> None:
    """A monitor, a run on drifted traffic that raises an alert, the alert acknowledged."""
    from steward.logs import PredictionLog, PredictionRecord, record_time

    text = (
        "format: steward.monitor/v1\nname: watch\nendpoint: credit\nwindow: {rows: 100}\n"
        "alerts: [{name: drift, when: input_drift, severity: high}]\n"
    )
    monitor, _ = app.monitoring.apply(eli, text, "watch.yaml")
    keep(monitor)
    records = PredictionRecord.rows(
        request_ids=[f"m{i}" for i in range(60)],
        time=record_time(),
        endpoint="credit",
        model=ref,
        inputs=[{"income": 1e6 + i, "debts": 1, "region": "north"} for i in range(60)],
        contexts=[{} for _ in range(60)],
        outputs=[{"prediction": 1, "probabilities": {"0": 0.2, "1": 0.8}} for _ in range(60)],
        latency_ms=1.0,
    )

    def anchor(segment: Any) -> None:
        app.predictions.anchor(eli, segment)

    with PredictionLog(app.predictions.root, on_sealed=anchor) as log:
        log.submit(records).result()
    run = keep(app.monitoring.run(eli, "watch"))
    keep(run.raised[0].current)
    keep(app.alerts.acknowledge(eli, run.raised[0].id, "looking"))


def _json_only(value: Any, where: str = "document") -> None:
    """Fail unless ``value`` is built of JSON types only (no tuples, enums, bytes, paths…)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            assert type(key) is str, f"{where}: key {key!r} is a {type(key).__name__}"
            _json_only(item, f"{where}.{key}")
    elif kind is list:
        for index, item in enumerate(value):
            _json_only(item, f"{where}[{index}]")
    elif kind is float:
        assert math.isfinite(value), f"{where}: {value} is not a JSON number"
    else:
        assert kind in (str, int, bool, type(None)), f"{where}: a {kind.__name__}, not JSON"


def _document_types() -> dict[str, type]:
    """Every public domain dataclass and service result that must have a document, by name
    (ledger events are written by their ``payload()``, not here)."""
    found: dict[str, type] = {}
    for name in steward.domain.__all__:
        value = getattr(steward.domain, name)
        document = name not in NOT_DOCUMENTS and not hasattr(value, "payload")
        if document and isinstance(value, type) and dataclasses.is_dataclass(value):
            found[name] = value
    for name in steward.services.__all__:
        value = getattr(steward.services, name)
        if name not in NOT_RESULTS and isinstance(value, type) and dataclasses.is_dataclass(value):
            found[name] = value
    found["Verification"] = Verification
    return found


def test_every_public_value_and_result_has_one_document(world: World) -> None:
    types = _document_types()
    lacking = sorted(
        name for name, cls in types.items() if not callable(getattr(cls, "to_dict", None))
    )
    assert not lacking, f"without to_dict(): {', '.join(lacking)}"
    untested = sorted(set(types) - set(world.values))
    assert not untested, f"give the documents test an instance of: {', '.join(untested)}"
    assert set(NOT_DOCUMENTS) <= set(steward.domain.__all__)
    assert set(NOT_RESULTS) <= set(steward.services.__all__)


# Documents a remote client reads back into the values they were made of
# (``steward.remote.decode``): every type an API answer carries.
DECODED = (
    "Actor", "Alert", "AlertState", "ApiToken", "AppliedPolicy", "Approval", "Comment",
    "Dataset", "DatasetVersion", "Decision", "Delivery", "Deployment", "Evidence",
    "InclusionProof", "Job", "LedgerEvent", "MetricPoint", "Model", "ModelVersion", "Monitor",
    "Route", "Run", "ServingPlan", "TreeHead", "User", "Verification", "Waiver", "Webhook",
)  # fmt: skip


@pytest.mark.parametrize("name", DECODED)
def test_a_remote_client_reads_every_document_back_into_its_value(world: World, name: str) -> None:
    from steward.remote import decode

    cls = _document_types().get(name) or getattr(steward.domain, name)
    instances = world.values.get(name)
    assert instances, f"no {name} was made"
    for value in instances:
        document = json.loads(json.dumps(value.to_dict()))  # as it crosses the wire
        assert decode(cls, document).to_dict() == document, name


@pytest.mark.parametrize("name", [*sorted(_document_types()), "SchemaStatus"])
def test_documents_are_json_and_stable(world: World, name: str) -> None:
    instances = world.values.get(name)
    assert instances, f"no {name} was made"
    for value in instances:
        document = value.to_dict()
        _json_only(document, name)
        text = json.dumps(document, sort_keys=True)  # no default=: JSON types only
        assert json.loads(text) == document
        assert json.dumps(value.to_dict(), sort_keys=True) == text  # the same every time


def test_a_value_read_back_has_the_document_it_was_made_with(world: World) -> None:
    """The document of what a write returned equals the document of the same value read back
    (what a later GET answers)."""
    made = world.values
    with Application.open(world.settings) as app:
        admin, dana = world.actors["admin"], world.actors["dana"]
        users = {u.name: u.to_dict() for u in app.identity.list_users(admin)}
        for user in made["User"]:
            assert users[user.name] == user.to_dict()
        tokens = {t.id: t.to_dict() for t in app.identity.list_tokens(admin, None)}
        issued = made["ApiToken"][1]
        assert {**tokens[issued.id], "revoked_at": None, "active": True} == issued.to_dict()
        registration = made["Registration"][0]
        assert app.datasets.get(dana, "credit@1").to_dict() == registration.version.to_dict()
        evidence = {e.id: e.to_dict() for e in app.evidence.list_evidence(dana, world.ref)}
        for record in made["Evidence"]:
            assert evidence[record.id] == record.to_dict()
        trained = made["TrainingResult"][0]
        assert app.runs.get(dana, trained.run.id).to_dict() == trained.run.to_dict()
        assert (
            app.policies.get(admin, "credit", None).to_dict() == made["AppliedPolicy"][0].to_dict()
        )
        history = app.governance.history(dana, world.ref)
        assert [a.to_dict() for a in history["approvals"]] == [
            a.to_dict() for a in made["Approval"] if a.subject.startswith("model:")
        ]
        assert [w.to_dict() for w in history["waivers"]] == [w.to_dict() for w in made["Waiver"]]
        assert [c.to_dict() for c in history["comments"]] == [c.to_dict() for c in made["Comment"]]
        hooks = [h.to_dict() for h in app.webhooks.list_webhooks(admin)]
        assert hooks == [h.to_dict() for h in made["Webhook"]]
        assert "secret" not in hooks[0]


def test_a_revoked_token_reads_back_as_revoke_returned_it(world: World) -> None:
    revoked = world.values["ApiToken"][0]
    assert revoked.revoked_at is not None
    with Application.open(world.settings) as app:
        tokens = {t.id: t for t in app.identity.list_tokens(world.actors["admin"], None)}
    assert tokens[revoked.id].to_dict() == revoked.to_dict()


def _cli(world: World, monkeypatch: pytest.MonkeyPatch, capsys: Any, *args: str) -> Any:
    """``steward ARGS --json`` as the admin, in this process; its document."""
    monkeypatch.setenv("STEWARD_HOME", str(world.settings.home))
    monkeypatch.delenv("STEWARD_DB_URL", raising=False)
    monkeypatch.setenv("STEWARD_TOKEN", world.admin_token)
    monkeypatch.setattr(sys, "argv", ["steward", *args, "--json"])
    capsys.readouterr()
    code: object = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    assert code in (0, 1, None), captured.err  # 1: a failing gate still prints its report
    return json.loads(captured.out)


def test_the_cli_json_is_the_document_the_service_returns(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def cli(*args: str) -> Any:
        return _cli(world, monkeypatch, capsys, *args)

    ref = world.ref
    with Application.open(world.settings) as app:
        admin = app.authenticate(world.admin_token)
        witness = home_witness(world.settings)
        app.audit.verify(admin, witness=witness)  # the witness is at the head from here on

        assert cli("user", "list") == [u.to_dict() for u in app.identity.list_users(admin)]
        assert cli("token", "list") == [t.to_dict() for t in app.identity.list_tokens(admin, None)]

        version = app.models.get(admin, ref)
        model = app.models.model(admin, version.name)
        assert cli("model", "show", ref) == {**version.to_dict(), "model": model.to_dict()}

        dataset_version = app.datasets.get(admin, "credit")
        assert cli("dataset", "show", "credit") == {
            **dataset_version.to_dict(),
            "evidence": [e.to_dict() for e in app.datasets.evidence(admin, "credit")],
            "datasheet": app.datasets.dataset(admin, "credit").datasheet,
        }

        for stage in ("staging", "production"):
            decision, governing = app.policies.gate(admin, ref, stage)
            assert cli("gate", ref, "--stage", stage) == {
                **decision.to_dict(),
                "governed_because": governing.why,
            }

        head = app.audit.head(admin)
        assert head is not None and cli("audit", "head") == head.to_dict()

        shown = cli("audit", "verify")
        assert shown["ok"] is True
        assert shown == app.audit.verify(admin, witness=witness).to_dict()
        shown = cli("audit", "verify", "--artifacts")
        assert shown["artifacts"]["checked"] > 0
        verified = app.audit.verify(admin, witness=witness, artifacts=app.artifacts)
        assert shown == verified.to_dict()


def test_whoami_adds_the_home_and_store_to_the_identity(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = _cli(world, monkeypatch, capsys, "whoami")
    with Application.open(world.settings) as app:
        actor = app.authenticate(world.admin_token)
        assert shown == {
            **actor.to_dict(),
            "home": str(world.settings.home),
            "store": app.store_label(),
        }
    assert Path(shown["home"]) == world.settings.home
