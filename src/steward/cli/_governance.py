"""``steward approve | reject | waive | promote``, comments and history on versions, and
``steward webhook …``."""

from __future__ import annotations

import typer

from steward.cli._common import JSON_OPTION, emit_json, ok, open_session, out, print_table
from steward.cli._policies import print_decision
from steward.errors import Refused

__all__ = ["approve", "comment", "history", "promote", "reject", "waive", "webhook_app"]

webhook_app = typer.Typer(
    help="Webhooks: HMAC-signed notifications of governance events.", no_args_is_help=True
)

_STAGE = typer.Option(..., "--stage", help="staging or production.")


def approve(
    ref: str = typer.Argument(..., help="The model version (NAME@N)."),
    stage: str = _STAGE,
    comment: str = typer.Option("", "--comment", help="A remark kept with the approval."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Approve a version for a stage, bound to its model file, evidence set and policy (a
    new evidence run, another model file or a changed policy makes it lapse)."""
    with open_session() as (app, actor):
        approval = app.governance.approve(actor, ref, stage, comment)
    if as_json:
        emit_json(approval.to_dict())
        return
    ok(f"{approval.user} approved {approval.subject.removeprefix('model:')} for {stage}")


def reject(
    ref: str = typer.Argument(..., help="The model version (NAME@N)."),
    stage: str = _STAGE,
    comment: str = typer.Option(..., "--comment", help="Why (required)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Reject a version for a stage: its gate fails until its content changes."""
    with open_session() as (app, actor):
        approval = app.governance.reject(actor, ref, stage, comment)
    if as_json:
        emit_json(approval.to_dict())
        return
    ok(f"{approval.user} rejected {approval.subject.removeprefix('model:')} for {stage}")


def waive(
    ref: str = typer.Argument(..., help="The model version (NAME@N)."),
    rule: str = typer.Option(..., "--rule", help="The rule id (from `steward gate`)."),
    reason: str = typer.Option(..., "--reason", help="Why it may be set aside."),
    expires: str = typer.Option(
        ..., "--expires", help="Until when: a date (end of that day, UTC) or an ISO 8601 time."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Waive a rule the policy marks waivable, for one version, until a date."""
    with open_session() as (app, actor):
        waiver = app.governance.waive(actor, ref, rule, reason, expires)
    if as_json:
        emit_json(waiver.to_dict())
        return
    ok(
        f"{waiver.granted_by} waived {waiver.rule} for "
        f"{waiver.subject.removeprefix('model:')} until {waiver.expires_at}"
    )


def promote(
    ref: str = typer.Argument(..., help="The model version (NAME@N)."),
    stage: str = typer.Option(..., "--stage", help="staging, production or archived."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Move a version to a stage through its gate (exit 1, and nothing changes, when the gate
    fails). Entering production archives the previous production version."""
    try:
        with open_session() as (app, actor):
            version, decision = app.governance.promote(actor, ref, stage)
    except Refused as exc:
        refused = exc.details.get("decision")
        if refused and not as_json:
            print_decision(refused, "the promotion was refused and ledgered")
        if refused and as_json:
            emit_json({"promoted": False, **refused})
        raise
    if as_json:
        emit_json(
            {
                "promoted": decision is not None or version.stage.value == stage,
                "ref": version.ref,
                "stage": version.stage.value,
                "decision": decision.to_dict() if decision else None,
            }
        )
        return
    if decision is None and stage != "archived":
        ok(f"{version.ref} is already in {stage}: nothing changed")
        return
    ok(f"promoted {version.ref} to {version.stage.value}")
    if decision is not None:
        print_decision(decision.to_dict(), "the gate passed")


def comment(
    ref: str = typer.Argument(..., help="The model version (NAME@N)."),
    text: str = typer.Argument(..., help="The comment."),
) -> None:
    """Comment on a model version (kept with it, ledgered)."""
    with open_session() as (app, actor):
        made = app.governance.comment(actor, ref, text)
    ok(f"{made.user} commented on {made.subject.removeprefix('model:')}")


def history(
    ref: str = typer.Argument(..., help="The model version (NAME@N)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A version's approvals, rejections, waivers and comments, oldest first."""
    with open_session() as (app, actor):
        found = app.governance.history(actor, ref)
    if as_json:
        emit_json(
            {
                "approvals": [a.to_dict() for a in found["approvals"]],
                "waivers": [w.to_dict() for w in found["waivers"]],
                "comments": [c.to_dict() for c in found["comments"]],
            }
        )
        return
    for a in found["approvals"]:
        remark = f": {a.comment}" if a.comment else ""
        out(f"{a.created_at}  {a.decision}d for {a.stage} by {a.user}{remark}")
    for w in found["waivers"]:
        out(
            f"{w.created_at}  waiver of {w.rule} by {w.granted_by} until {w.expires_at}: {w.reason}"
        )
    for c in found["comments"]:
        out(f"{c.created_at}  comment by {c.user}: {c.text}")


@webhook_app.command("add")
def webhook_add(
    url: str = typer.Argument(..., help="Where to POST (http or https)."),
    event: list[str] = typer.Option(
        [],
        "--event",
        help="approval.requested, gate.failed, version.promoted or version.rejected "
        "(repeatable; default all).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Subscribe a URL; prints the signing secret once."""
    with open_session() as (app, actor):
        hook = app.webhooks.add(actor, url, event)
    if as_json:
        emit_json({**hook.to_dict(), "secret": hook.secret})
        return
    ok(f"webhook {hook.id} for {', '.join(hook.events)}")
    out(f"signing secret (shown once): {hook.secret}")


@webhook_app.command("list")
def webhook_list(as_json: bool = JSON_OPTION) -> None:
    """The webhooks (without their secrets)."""
    with open_session() as (app, actor):
        hooks = app.webhooks.list_webhooks(actor)
    if as_json:
        emit_json([h.to_dict() for h in hooks])
        return
    from rich.table import Table

    table = Table("id", "url", "events", "active")
    for hook in hooks:
        table.add_row(hook.id, hook.url, ", ".join(hook.events), "yes" if hook.active else "no")
    print_table(table)


@webhook_app.command("remove")
def webhook_remove(hook_id: str = typer.Argument(..., help="The webhook id.")) -> None:
    """Stop notifying a webhook (its delivery log stays)."""
    with open_session() as (app, actor):
        app.webhooks.remove(actor, hook_id)
    ok(f"webhook {hook_id} removed")


@webhook_app.command("deliver")
def webhook_deliver(as_json: bool = JSON_OPTION) -> None:
    """Send the notifications that are due (retries back off: 30 s, 1 min, 2 min, 4 min)."""
    with open_session() as (app, actor):
        done = app.webhooks.deliver(actor)
    if as_json:
        emit_json([d.to_dict() for d in done])
        return
    delivered = sum(d.state == "delivered" for d in done)
    ok(f"attempted {len(done)} delivery(ies): {delivered} delivered")


@webhook_app.command("log")
def webhook_log(as_json: bool = JSON_OPTION) -> None:
    """The delivery log: every notification, its attempts and outcome."""
    with open_session() as (app, actor):
        log = app.webhooks.log(actor)
    if as_json:
        emit_json([d.to_dict() for d in log])
        return
    from rich.table import Table

    table = Table("created", "event", "state", "attempts", "status", "error")
    for d in log:
        table.add_row(
            d.created_at,
            d.event,
            d.state,
            str(d.attempts),
            str(d.last_status or ""),
            d.last_error or "",
        )
    print_table(table)
