"""Approvals bound to content, waivers that expire, promotions through the gate (one
production version, concurrent promotions serialized), refusals ledgered, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from conftest import Seed, Seeded, StepClock
from factories import credit_frame, credit_policy
from steward.app import Application, InitResult
from steward.domain import Actor, Stage
from steward.errors import InvalidInput, NotFound, PermissionDenied, Refused
from steward.services import TrainingRequest
from steward.settings import Settings

PEOPLE = (
    ("dana", "data_scientist"),
    ("eli", "ml_engineer"),
    ("sofia", "steward"),
    ("sam", "steward"),
    ("audra", "auditor"),
)


def _people(app: Application, home: InitResult) -> dict[str, str]:
    """The team, by token."""
    admin = app.authenticate(home.token)
    return {name: app.identity.add_user(admin, name, [role])[1] for name, role in PEOPLE}


def _governed(app: Application, home: InitResult) -> dict[str, Any]:
    """The team; dana's model with performance and fairness evidence; the credit policy,
    applied by sofia and endorsed by sam."""
    tokens = _people(app, home)
    dana = app.authenticate(tokens["dana"])
    app.datasets.register(
        dana, credit_frame(), name="credit", target="approved", sensitive=["group"]
    )
    ref = app.training.train(
        dana, TrainingRequest(dataset="credit", name="credit-model")
    ).version.ref
    app.evidence.run(dana, ref, ["performance", "fairness"])
    app.policies.apply(app.authenticate(tokens["sofia"]), credit_policy(0.5), "credit.yaml")
    app.policies.endorse(app.authenticate(tokens["sam"]), "credit")
    return {"tokens": tokens, "model": ref}


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> Seed:
    """The team for the tests that take ``people``; dana's governed model too for those
    that take ``model``."""
    if "model" in request.fixturenames:
        return Seed("governance-model", _governed)
    if "people" in request.fixturenames:
        return Seed("governance-people", lambda app, home: {"tokens": _people(app, home)})
    return Seed("initialised")


@pytest.fixture
def people(app: Application, admin: Actor, seeded: Seeded) -> dict[str, Actor]:
    found = {name: app.authenticate(token) for name, token in seeded.facts["tokens"].items()}
    found["admin"] = admin
    return found


@pytest.fixture
def model(seeded: Seeded) -> str:
    return str(seeded.facts["model"])


def _refusals(app: Application) -> list[dict[str, Any]]:
    with app.store.read() as reader:
        return [e.payload | {"actor": e.actor} for e in reader.events_of_types("attempt.refused")]


def test_the_author_and_an_auditor_cannot_approve_and_the_attempts_are_ledgered(
    app: Application, people: dict[str, Actor], model: str
) -> None:
    with pytest.raises(PermissionDenied, match="dana is the author of credit-model@1"):
        app.governance.approve(people["dana"], model, "production")
    with pytest.raises(PermissionDenied, match="model:approve"):
        app.governance.approve(people["audra"], model, "production")
    with pytest.raises(NotFound):
        app.governance.approve(people["sofia"], "credit-model@9", "production")
    with app.store.read() as reader:
        assert reader.approvals(f"model:{model}") == []
    refused = _refusals(app)
    assert [(r["actor"], r["action"], r["code"]) for r in refused] == [
        ("dana", "approve", "forbidden"),
        ("audra", "approve", "forbidden"),
        ("sofia", "approve", "not_found"),
    ]
    assert "segregation of duties" in refused[0]["reason"]
    assert app.audit.verify(people["admin"]).ok


def test_promotion_needs_the_gate_then_archives_the_previous_production_version(
    app: Application, people: dict[str, Actor], model: str
) -> None:
    eli = people["eli"]
    with pytest.raises(Refused, match="may not enter production: 1 rule") as refused:
        app.governance.promote(eli, model, "production")
    failed = [r["id"] for r in refused.value.details["decision"]["rules"] if r["outcome"] == "fail"]
    assert failed == ["approvals.steward"]
    assert app.models.get(eli, model).stage is Stage.NONE  # nothing changed
    assert _refusals(app)[-1]["failed"] == ["approvals.steward"]

    app.governance.approve(people["sofia"], model, "production", "looks sound")
    app.governance.approve(people["sam"], model, "production")
    version, decision = app.governance.promote(eli, model, "production")
    assert version.stage is Stage.PRODUCTION and decision is not None and decision.allowed
    assert app.governance.promote(eli, model, "production")[1] is None  # already there

    dana = people["dana"]
    second = app.training.train(
        dana, TrainingRequest(checks=False, dataset="credit", name="credit-model", seed=3)
    ).version.ref
    app.evidence.run(dana, second, ["performance", "fairness"])
    for steward in ("sofia", "sam"):
        app.governance.approve(people[steward], second, "production")
    app.governance.promote(eli, second, "production")
    assert app.models.get(eli, second).stage is Stage.PRODUCTION
    assert app.models.get(eli, model).stage is Stage.ARCHIVED
    with app.store.read() as reader:
        promoted = reader.events_of_types("model.promoted")
    assert promoted[-1].payload["archived"] == [model]
    assert promoted[-1].payload["decision"]["rules"]["approvals.steward"] == "pass"
    assert app.audit.verify(people["admin"]).ok


def test_an_approval_lapses_after_a_new_evidence_run(
    app: Application, people: dict[str, Actor], model: str
) -> None:
    for steward in ("sofia", "sam"):
        app.governance.approve(people[steward], model, "production")
    assert app.policies.gate(people["eli"], model, "production")[0].allowed
    app.evidence.run(people["dana"], model, ["performance"])  # the evidence set changes
    decision, _ = app.policies.gate(people["eli"], model, "production")
    (rule,) = [r for r in decision.rules if r.id == "approvals.steward"]
    assert rule.outcome.value == "fail" and "2 earlier approval(s) lapsed" in rule.reason
    with pytest.raises(Refused):
        app.governance.promote(people["eli"], model, "production")


def test_a_rejection_blocks_and_a_waiver_waives_until_it_expires(
    app: Application, people: dict[str, Actor], model: str, clock: StepClock
) -> None:
    sofia = people["sofia"]
    app.policies.apply(sofia, credit_policy(0.99), "credit.yaml")  # unfair by this bar
    app.policies.endorse(people["sam"], "credit")
    for steward in ("sofia", "sam"):
        app.governance.approve(people[steward], model, "production")
    decision, _ = app.policies.gate(people["eli"], model, "production")
    unfair = [r for r in decision.failed if r.id.startswith("evidence.fairness.attributes")]
    assert unfair and "< min 0.99" in unfair[0].reason
    with pytest.raises(InvalidInput, match=r"rule 'approvals.steward' of credit-model@1 is not"):
        app.governance.waive(sofia, model, "approvals.steward", "trust me", "2026-02-01")
    with pytest.raises(InvalidInput, match=r"have no rule 'evidence\.fairness\.made\.up'"):
        app.governance.waive(sofia, model, "evidence.fairness.made.up", "x", "2026-02-01")
    with pytest.raises(PermissionDenied, match="policy:waive"):
        app.governance.waive(people["eli"], model, unfair[0].id, "pilot", "2026-02-01")
    with pytest.raises(InvalidInput, match="has passed"):
        app.governance.waive(sofia, model, unfair[0].id, "pilot", "2025-12-31")
    waiver = app.governance.waive(
        sofia, model, unfair[0].id, "pilot with human review", "2026-01-20"
    )
    assert waiver.expires_at == "2026-01-20T23:59:59Z" or waiver.expires_at.startswith("2026-01-20")
    decision, _ = app.policies.gate(people["eli"], model, "production")
    (waived,) = [r for r in decision.rules if r.id == unfair[0].id]
    assert waived.outcome.value == "waived" and decision.allowed
    version, _ = app.governance.promote(people["eli"], model, "staging")
    assert version.stage is Stage.STAGING

    clock.moment += timedelta(days=10)  # past the waiver's end
    decision, _ = app.policies.gate(people["eli"], model, "production")
    (expired,) = [r for r in decision.rules if r.id == unfair[0].id]
    assert expired.outcome.value == "fail" and "a waiver expired at" in expired.reason
    with pytest.raises(Refused):
        app.governance.promote(people["eli"], model, "production")

    app.governance.reject(people["sam"], model, "production", "the bar is not met")
    decision, _ = app.policies.gate(people["eli"], model, "production")
    (approvals,) = [r for r in decision.rules if r.id == "approvals.steward"]
    assert approvals.reason == "rejected by sam (steward): the bar is not met"
    with pytest.raises(InvalidInput, match="needs a comment"):
        app.governance.reject(people["sam"], model, "production", " ")
    app.governance.comment(people["sofia"], model, "reviewed for the Q1 audit")
    with pytest.raises(PermissionDenied, match="model:comment"):  # auditors change nothing
        app.governance.comment(people["audra"], model, "noted")
    history = app.governance.history(people["audra"], model)
    assert [c.text for c in history["comments"]] == ["reviewed for the Q1 audit"]
    assert len(history["approvals"]) == 3 and len(history["waivers"]) == 1
    assert app.audit.verify(people["admin"]).ok


def test_twenty_concurrent_promotions_leave_one_production_version(
    app: Application, people: dict[str, Actor], settings: Settings, home: Any
) -> None:
    dana = people["dana"]
    app.datasets.register(
        dana, credit_frame(), name="credit", target="approved", sensitive=["group"]
    )
    refs = [
        app.training.train(
            dana, TrainingRequest(checks=False, dataset="credit", name="race-model", seed=seed)
        ).version.ref
        for seed in (1, 2)
    ]
    lenient = (
        "format: steward.policy/v1\nname: lenient\nselector: {names: [race-*]}\n"
        "relax_floor: true\nstages: {production: {documentation: [owner]}}\n"
    )
    app.policies.apply(people["sofia"], lenient, "lenient.yaml")
    app.policies.endorse(people["sam"], "lenient")
    token = app.identity.issue_token(people["admin"], "eli")[1]
    outcomes: list[str] = []
    start = threading.Barrier(20)

    def promote(ref: str) -> None:
        with Application.open(settings) as own:
            actor = own.authenticate(token)
            start.wait()
            version, _ = own.governance.promote(actor, ref, "production")
            outcomes.append(version.ref)

    threads = [threading.Thread(target=promote, args=(refs[i % 2],)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 20
    with app.store.read() as reader:
        stages = {v.ref: v.stage for v in reader.model_versions("race-model")}
        promotions = reader.events_of_types("model.promoted")
    assert sorted(stages.values()) == [Stage.ARCHIVED, Stage.PRODUCTION]
    # each promotion saw the stage the previous one left: it archived exactly the other one
    for event in promotions[1:]:
        assert len(event.payload["archived"]) == 1
    assert app.audit.verify(people["admin"]).ok


def test_a_stage_moved_behind_the_ledger_is_detected(
    app: Application, people: dict[str, Actor], model: str
) -> None:
    from sqlalchemy import text

    with app.store.engine.begin() as conn:
        conn.execute(text("UPDATE model_versions SET stage = 'production'"))
    result = app.audit.verify(people["admin"])
    assert not result.ok and "credit-model@1 is in stage production" in (result.problem or "")


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    failures: ClassVar[int] = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.failures > 0:
            _Receiver.failures -= 1
            self.send_response(503)
            self.end_headers()
            return
        _Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    _Receiver.failures = 0
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhooks_are_signed_retried_with_backoff_and_logged(
    app: Application, people: dict[str, Actor], model: str, receiver: str, clock: StepClock
) -> None:
    sofia = people["sofia"]
    hook = app.webhooks.add(sofia, receiver, [])
    with pytest.raises(Refused):
        app.governance.promote(people["eli"], model, "production")
    events = sorted(json.loads(body)["event"] for _, body in _Receiver.received)
    assert events == ["approval.requested", "gate.failed"]
    headers, body = _Receiver.received[0]
    expected = hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Steward-Signature"] == f"sha256={expected}"
    (requested,) = [
        json.loads(body)["data"]
        for _, body in _Receiver.received
        if json.loads(body)["event"] == "approval.requested"
    ]
    assert "approvals.steward" in requested["needed"]

    _Receiver.failures = 2  # the receiver is down for two attempts
    app.governance.reject(people["sam"], model, "production", "needs a fairness review")
    log = app.webhooks.log(sofia)
    assert log[-1].event == "version.rejected" and log[-1].state == "pending"
    assert log[-1].attempts == 1 and log[-1].last_status == 503
    assert app.webhooks.deliver(sofia) == []  # not due yet: it backs off
    clock.moment += timedelta(seconds=31)
    (second,) = app.webhooks.deliver(sofia)
    assert second.state == "pending" and second.attempts == 2
    clock.moment += timedelta(seconds=61)  # the wait doubled
    (third,) = app.webhooks.deliver(sofia)
    assert third.state == "delivered" and third.attempts == 3 and third.last_status == 204
    assert json.loads(_Receiver.received[-1][1])["data"]["comment"] == "needs a fairness review"
    with pytest.raises(PermissionDenied):
        app.webhooks.add(people["dana"], receiver, [])
    with pytest.raises(InvalidInput, match="unknown event"):
        app.webhooks.add(sofia, receiver, ["model.deleted"])
    with pytest.raises(InvalidInput, match="not an http"):
        app.webhooks.add(sofia, "file:///etc/passwd", [])


def test_lowering_the_risk_tier_to_escape_the_high_risk_pack_needs_a_steward(
    app: Application, people: dict[str, Actor], model: str
) -> None:
    dana, sofia = people["dana"], people["sofia"]
    app.models.update(dana, "credit-model", {"risk_tier": "high"})  # raising: the builders may
    with pytest.raises(PermissionDenied, match="lower credit-model's risk tier from high"):
        app.models.update(dana, "credit-model", {"risk_tier": "minimal"})
    assert app.models.model(dana, "credit-model").risk_tier.value == "high"
    with pytest.raises(PermissionDenied, match="model:write"):
        app.models.update(sofia, "credit-model", {"description": "stewards do not edit cards"})
    lowered = app.models.update(sofia, "credit-model", {"risk_tier": "limited"})
    assert lowered.risk_tier.value == "limited"
    assert app.audit.verify(people["admin"]).ok
