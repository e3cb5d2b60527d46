"""Deployments as governed state: the gate guards every deploy, canaries and rollbacks are
single ledgered steps, the history answers "what served this endpoint at time T", and what
an endpoint may serve now follows its versions' gates as its policy says."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from conftest import Seed, Seeded, StepClock
from factories import serving_models, snapshot
from steward.app import Application
from steward.domain import Actor
from steward.errors import InvalidInput, NotFound, PermissionDenied, Refused


@pytest.fixture
def seed() -> Seed:
    return Seed("serving-models", serving_models)


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


def _serving_now(app: Application, actor: Actor, endpoint: str) -> dict[str, int]:
    return {r.version: r.share for r in app.deployments.plan(actor, endpoint).routes}


def test_deploy_needs_model_deploy_and_a_passing_gate_and_a_refusal_changes_nothing(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    eli = people["eli"]
    with pytest.raises(PermissionDenied, match="model:deploy"):
        app.deployments.deploy(people["dana"], refs[0], "credit")
    before = snapshot(app)
    with pytest.raises(Refused, match=r"credit-model@3 may not be deployed to credit") as refused:
        app.deployments.deploy(eli, refs[2], "credit")
    failed = [r["id"] for r in refused.value.details["decision"]["rules"] if r["outcome"] == "fail"]
    assert failed == ["approvals.steward"]
    after = snapshot(app)
    assert after["deployments"] == before["deployments"] == []
    attempts = _events(app, "attempt.refused")
    assert [(a["actor"], a["action"], a["code"]) for a in attempts[-2:]] == [
        ("dana", "deploy", "forbidden"),
        ("eli", "deploy", "refused"),
    ]
    assert attempts[-1]["failed"] == ["approvals.steward"]

    state, changed = app.deployments.deploy(eli, refs[0], "credit")
    assert changed and state.seq == 1 and state.stage == "production"
    assert [(r.version, r.share, r.role) for r in state.routes] == [(refs[0], 100, "stable")]
    again, changed = app.deployments.deploy(eli, refs[0], "credit")
    assert not changed and again == state
    changes = _events(app, "deployment.changed")
    assert len(changes) == 1 and changes[0]["content_hash"] == state.content_hash
    assert changes[0]["decisions"][refs[0]]["allowed"] is True
    assert app.audit.verify(people["admin"]).ok


def test_bad_endpoint_names_and_canary_shares_are_refused_with_the_field(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    eli = people["eli"]
    for name in ("Credit", "../x", "a" * 70, "", "x y"):
        with pytest.raises(InvalidInput, match="invalid endpoint name") as bad:
            app.deployments.deploy(eli, refs[0], name)
        assert bad.value.fields == ("endpoint",)
    with pytest.raises(InvalidInput, match="deploy a version before a canary"):
        app.deployments.deploy(eli, refs[1], "credit", canary=10)
    app.deployments.deploy(eli, refs[0], "credit")
    for share in (0, 100, -5):
        with pytest.raises(InvalidInput, match="from 1 to 99") as bad:
            app.deployments.deploy(eli, refs[1], "credit", canary=share)
        assert bad.value.fields == ("canary",)
    with pytest.raises(InvalidInput, match="serves already"):
        app.deployments.deploy(eli, refs[0], "credit", canary=10)
    with pytest.raises(InvalidInput, match="no canary to promote"):
        app.deployments.deploy(eli, refs[1], "credit", promote_canary=True)
    with pytest.raises(InvalidInput, match="serves production, not staging"):
        app.deployments.deploy(eli, refs[1], "credit", stage="staging")
    with pytest.raises(NotFound):
        app.deployments.rollback(eli, "nowhere")
    assert len(app.deployments.history(eli, "credit")) == 1


def test_canary_then_promotion_then_rollbacks_walk_back_through_history(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    eli = people["eli"]
    one, two = refs[0], refs[1]
    app.deployments.deploy(eli, one, "credit")
    state, _ = app.deployments.deploy(eli, two, "credit", canary=10)
    assert [(r.version, r.share, r.role) for r in state.routes] == [
        (one, 90, "stable"),
        (two, 10, "canary"),
    ]
    with pytest.raises(InvalidInput, match=f"the canary of credit is {two}"):
        app.deployments.deploy(eli, one, "credit", promote_canary=True)
    state, _ = app.deployments.deploy(eli, two, "credit", promote_canary=True)
    assert state.action == "promote_canary" and _serving_now(app, eli, "credit") == {two: 100}

    back = app.deployments.rollback(eli, "credit")  # to the canary state
    assert back.restores == 2 and _serving_now(app, eli, "credit") == {one: 90, two: 10}
    back = app.deployments.rollback(eli, "credit")  # before the canary
    assert back.restores == 1 and _serving_now(app, eli, "credit") == {one: 100}
    with pytest.raises(Refused, match="no earlier deployment"):
        app.deployments.rollback(eli, "credit")
    actions = [s.action for s in app.deployments.history(eli, "credit")]
    assert actions == ["deploy", "canary", "promote_canary", "rollback", "rollback"]
    assert len(_events(app, "deployment.changed")) == 5
    assert app.audit.verify(people["admin"]).ok


def test_history_at_a_time_says_what_served_the_endpoint_then(
    app: Application, people: dict[str, Actor], refs: list[str], clock: StepClock
) -> None:
    eli = people["eli"]
    first, _ = app.deployments.deploy(eli, refs[0], "credit")
    clock.moment += timedelta(hours=1)
    app.deployments.deploy(eli, refs[1], "credit")
    between = clock.now() - timedelta(minutes=30)
    then = app.deployments.at(eli, "credit", between.isoformat())
    assert then["deployment"]["seq"] == first.seq and then["serving"] == {refs[0]: 100}
    now = app.deployments.at(eli, "credit", clock.now().isoformat())
    assert now["serving"] == {refs[1]: 100}
    with pytest.raises(NotFound, match="did not exist"):
        app.deployments.at(eli, "credit", "2001-01-01T00:00:00Z")
    with pytest.raises(InvalidInput, match="no time zone") as bad:
        app.deployments.at(eli, "credit", "2026-01-01T10:00:00")
    assert bad.value.fields == ("at",)


def test_an_approval_lapsing_falls_back_to_the_last_version_that_passes_ledgered_once(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    eli, dana = people["eli"], people["dana"]
    app.deployments.deploy(eli, refs[0], "credit")
    app.deployments.deploy(eli, refs[1], "credit")
    assert _serving_now(app, eli, "credit") == {refs[1]: 100}

    # New evidence on @2 makes its approvals lapse (they were bound to the evidence set).
    app.evidence.run(dana, refs[1], ["performance"])
    plan = app.deployments.plan(eli, "credit")
    assert not plan.checks[0].allowed and "approvals.steward" in plan.checks[0].failed
    assert {r.version: r.share for r in plan.routes} == {refs[0]: 100}
    assert plan.actions == {refs[1]: ("fallback", refs[0])}
    assert app.deployments.enforce(eli, plan) == 1
    assert app.deployments.enforce(eli, app.deployments.plan(eli, "credit")) == 0  # once
    (event,) = _events(app, "serving.enforced")
    assert event["version"] == refs[1] and event["allowed"] is False
    assert event["action"] == "fallback" and event["serving"] == refs[0]

    # Re-approved: served again, and that is ledgered too.
    for steward in ("sofia", "sam"):
        app.governance.approve(people[steward], refs[1], "production")
    plan = app.deployments.plan(eli, "credit")
    assert {r.version for r in plan.routes} == {refs[1]}
    assert app.deployments.enforce(eli, plan) == 1
    assert _events(app, "serving.enforced")[-1]["action"] == "restored"
    assert app.audit.verify(people["admin"]).ok


def test_a_failing_version_with_nothing_to_fall_back_to_serves_nothing(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    eli = people["eli"]
    app.deployments.deploy(eli, refs[0], "credit")
    app.evidence.run(people["dana"], refs[0], ["performance"])
    plan = app.deployments.plan(eli, "credit")
    assert plan.routes == () and plan.unavailable is not None
    assert plan.unavailable.startswith(f"{refs[0]} may not be served: its production gate fails")


def test_a_stopped_endpoint_serves_nothing_until_resumed(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    eli = people["eli"]
    app.deployments.deploy(eli, refs[0], "credit")
    with pytest.raises(InvalidInput, match="needs a reason"):
        app.deployments.stop(eli, "credit", " ")
    with pytest.raises(PermissionDenied):
        app.deployments.stop(people["audra"], "credit", "audit hold")
    app.deployments.stop(eli, "credit", "incident 42")
    plan = app.deployments.plan(eli, "credit")
    assert plan.routes == () and "incident 42" in (plan.unavailable or "")
    with pytest.raises(Refused, match="already stopped"):
        app.deployments.stop(eli, "credit", "again")
    app.deployments.resume(eli, "credit")
    assert _serving_now(app, eli, "credit") == {refs[0]: 100}


def test_an_edited_deployment_row_is_named_by_audit_verify(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    from sqlalchemy import text

    from steward.store._integrity import EXPECTED_TRIGGERS

    app.deployments.deploy(people["eli"], refs[0], "credit")
    table, create = EXPECTED_TRIGGERS[app.store.dialect]["deployments_no_update"]
    on = f" ON {table}" if app.store.dialect == "postgresql" else ""
    routes = f'[{{"version": "{refs[2]}", "share": 100, "role": "stable"}}]'
    with app.store.engine.begin() as conn:  # an insider with the database's password
        conn.execute(text(f"DROP TRIGGER deployments_no_update{on}"))
        conn.execute(text("UPDATE deployments SET routes = :routes"), {"routes": routes})
        conn.execute(text(create))
    report = app.audit.verify(people["admin"])
    assert not report.ok
    assert report.problem is not None and "endpoint credit state 1" in report.problem


def test_retention_keeps_six_months_and_prunes_older_segments_ledgered(
    app: Application, people: dict[str, Actor], refs: list[str]
) -> None:
    from datetime import UTC, datetime

    from steward.logs import PredictionLog, PredictionRecord, record_time

    eli = people["eli"]
    app.deployments.deploy(eli, refs[0], "credit")
    assert app.deployments.retention_days(eli) == 183  # the credit policy sets none
    sealed: list[Any] = []
    with PredictionLog(app.predictions.root, on_sealed=sealed.append) as log:
        old = record_time(datetime(2020, 3, 1, tzinfo=UTC))
        record = PredictionRecord("r-old", old, "credit", refs[0], {}, {}, {"prediction": 1}, 1.0)
        log.submit([record]).result()
    app.predictions.anchor(eli, sealed[0])
    with pytest.raises(InvalidInput, match="at least 183") as short:
        app.predictions.prune(eli, 30)
    assert short.value.fields == ("retention_days",)
    with pytest.raises(PermissionDenied):
        app.predictions.prune(people["dana"], 183)
    assert app.predictions.prune(eli, 183) == [sealed[0].segment_id]
    (pruned,) = _events(app, "predictions.pruned")
    assert pruned["segments"] == [sealed[0].segment_id] and pruned["retention_days"] == 183
    assert app.predictions.read(eli, "credit").height == 0
    assert app.audit.verify(people["admin"]).ok  # the pruned segment's absence is expected
