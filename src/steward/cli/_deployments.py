"""``steward deploy | rollback`` and ``steward endpoint list | show | history | stop |
resume``."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from steward.cli._common import JSON_OPTION, emit_json, ok, open_session, out, print_table
from steward.cli._policies import print_decision
from steward.errors import Refused

__all__ = ["deploy", "endpoint_app", "rollback"]

endpoint_app = typer.Typer(
    help="Endpoints: what each serves, why, and what it served at any time.",
    no_args_is_help=True,
)
_NAME = typer.Argument(..., help="The endpoint's name.")


def _routes(routes: list[dict[str, Any]]) -> str:
    return (
        ", ".join(
            f"{r['version']} {r['share']}%" + (" (canary)" if r["role"] == "canary" else "")
            for r in routes
        )
        or "nothing"
    )


def _serves(state: Any) -> str:
    return _routes([r.to_dict() for r in state.routes])


def deploy(
    ref: str = typer.Argument(..., help="The model version (NAME@N, NAME@production…)."),
    endpoint: str = typer.Option(..., "--endpoint", help="The endpoint (created on first use)."),
    canary: int | None = typer.Option(
        None,
        "--canary",
        help="Send this percentage of traffic to REF, the rest to the current version.",
    ),
    promote_canary: bool = typer.Option(
        False, "--promote-canary", help="Give REF, the endpoint's canary, all the traffic."
    ),
    stage: str | None = typer.Option(
        None, "--stage", help="A new endpoint's stage, whose gate guards it (default production)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Deploy a version to an endpoint through the gate of the endpoint's stage (exit 1, and
    nothing changes, when it fails); with --canary beside the current version."""
    try:
        with open_session() as (app, actor):
            state, changed = app.deployments.deploy(
                actor, ref, endpoint, canary=canary, promote_canary=promote_canary, stage=stage
            )
    except Refused as exc:
        refused = exc.details.get("decision")
        if refused and not as_json:
            print_decision(refused, "the deployment was refused and ledgered")
        if refused and as_json:
            emit_json({"deployed": False, **refused})
        raise
    if as_json:
        emit_json({"deployed": changed, **state.to_dict()})
        return
    if not changed:
        ok(f"{state.endpoint} already serves {_serves(state)}: nothing changed")
        return
    ok(f"{state.endpoint} ({state.stage}) now serves {_serves(state)} [state {state.seq}]")


def rollback(name: str = _NAME, as_json: bool = JSON_OPTION) -> None:
    """Restore an endpoint's previous deployment in one ledgered step (its gates must pass)."""
    with open_session() as (app, actor):
        state = app.deployments.rollback(actor, name)
    if as_json:
        emit_json(state.to_dict())
        return
    ok(
        f"{state.endpoint} rolled back to state {state.restores}: serves "
        f"{_routes([r.to_dict() for r in state.routes])} [state {state.seq}]"
    )


@endpoint_app.command("list")
def endpoint_list(as_json: bool = JSON_OPTION) -> None:
    """Every endpoint with what it is deployed to serve."""
    with open_session() as (app, actor):
        states = app.deployments.list_endpoints(actor)
    if as_json:
        emit_json([s.to_dict() for s in states])
        return
    if not states:
        out("no endpoints yet (steward deploy REF --endpoint NAME)")
        return
    table = Table("endpoint", "stage", "status", "routes", "since", "by")
    for s in states:
        table.add_row(
            s.endpoint,
            s.stage,
            s.status.value,
            _routes([r.to_dict() for r in s.routes]),
            s.created_at,
            s.created_by,
        )
    print_table(table)


@endpoint_app.command("show")
def endpoint_show(name: str = _NAME, as_json: bool = JSON_OPTION) -> None:
    """What an endpoint is deployed to serve, and what it may serve now: every version's
    gate and model file checked at this moment, and what its policy then does."""
    with open_session() as (app, actor):
        plan = app.deployments.plan(actor, name)
    document = plan.to_dict()
    if as_json:
        emit_json(document)
        return
    state = plan.deployment
    out(
        f"endpoint {state.endpoint} ({state.stage} gate), {state.status.value}, "
        f"state {state.seq} by {state.created_by} at {state.created_at}"
    )
    out(f"  deployed: {_routes(document['deployment']['routes'])}")
    for check in plan.checks:
        mark = "✓" if check.allowed else "✗"
        out(f"  {mark} {check.route.version}: {check.reason}")
    for version, (action, instead) in sorted(plan.actions.items()):
        out(
            f"  policy on_gate_failure for {version}: {action}"
            + (f" → {instead}" if instead else " → 503")
        )
    if plan.unavailable:
        out(f"  serving: nothing (503): {plan.unavailable}")
    else:
        out(f"  serving: {_routes([r.to_dict() for r in plan.routes])}")


@endpoint_app.command("history")
def endpoint_history(
    name: str = _NAME,
    at: str | None = typer.Option(
        None, "--at", help="What served the endpoint at this time (ISO 8601)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Every state of an endpoint, oldest first; with --at, the one in force then."""
    with open_session() as (app, actor):
        if at is not None:
            answer = app.deployments.at(actor, name, at)
            history = None
        else:
            history = app.deployments.history(actor, name)
    if history is None:
        if as_json:
            emit_json(answer)
            return
        state = answer["deployment"]
        serving = ", ".join(f"{v} {s}%" for v, s in answer["serving"].items()) or "nothing (503)"
        out(f"at {answer['at']} endpoint {name} served {serving}")
        out(
            f"  state {state['seq']} ({state['action']} by {state['created_by']} at "
            f"{state['created_at']}): {_routes(state['routes'])}, {state['status']}"
        )
        for event in answer["enforced"]:
            verdict = "allowed" if event["allowed"] else "refused"
            out(
                f"  enforced at {event['ts']}: {event['version']} {verdict} "
                f"({event['action']}): {event['reason']}"
            )
        return
    if as_json:
        emit_json([s.to_dict() for s in history])
        return
    table = Table("state", "action", "routes", "status", "at", "by", "reason")
    for s in history:
        action = f"{s.action} (to {s.restores})" if s.restores else s.action
        table.add_row(
            str(s.seq),
            action,
            _routes([r.to_dict() for r in s.routes]),
            s.status.value,
            s.created_at,
            s.created_by,
            s.reason,
        )
    print_table(table)


@endpoint_app.command("stop")
def endpoint_stop(
    name: str = _NAME,
    reason: str = typer.Option(
        ..., "--reason", help="Why (every request is answered 503 with it)."
    ),
) -> None:
    """Stop serving an endpoint: every scoring request is answered 503 with the reason."""
    with open_session() as (app, actor):
        state = app.deployments.stop(actor, name, reason)
    ok(f"{state.endpoint} stopped [state {state.seq}]: {state.reason}")


@endpoint_app.command("resume")
def endpoint_resume(name: str = _NAME) -> None:
    """Serve a stopped endpoint again (its versions' gates are checked as ever)."""
    with open_session() as (app, actor):
        state = app.deployments.resume(actor, name)
    ok(f"{state.endpoint} resumed: serves {_serves(state)} [state {state.seq}]")
