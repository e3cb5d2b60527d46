"""``steward run …``: read tracked runs (they are recorded from Python, see the SDK)."""

from __future__ import annotations

import typer

from steward.cli._common import JSON_OPTION, emit_json, ok, open_session, out, print_table
from steward.domain import MetricPoint

__all__ = ["run_app"]

run_app = typer.Typer(help="Inspect tracked runs.", no_args_is_help=True)


@run_app.command("list")
def list_runs(
    limit: int = typer.Option(20, "--limit", help="How many of the newest runs."),
    parent: str | None = typer.Option(None, "--parent", help="Only the children of this run."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The newest runs, newest first."""
    with open_session() as (app, actor):
        runs = app.runs.list_runs(actor, parent_id=parent, limit=limit)
    if as_json:
        emit_json([r.to_dict() for r in runs])
        return
    from rich.table import Table

    table = Table("id", "name", "status", "by", "started (UTC)", "inputs")
    for run in runs:
        table.add_row(
            run.id[:12],
            run.name,
            run.status.value,
            run.actor,
            run.started_at[:19].replace("T", " "),
            ", ".join(i["dataset"] for i in run.inputs),
        )
    print_table(table)


@run_app.command("show")
def show(
    run_id: str = typer.Argument(..., help="The run's id."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A run: parameters, tags, inputs, artifacts, code, environment, last metric values."""
    with open_session() as (app, actor):
        run = app.runs.get(actor, run_id)
        metrics = app.runs.metrics(actor, run_id)
    if as_json:
        emit_json({**run.to_dict(), "metrics": [m.to_dict() for m in metrics]})
        return
    out(f"run {run.id} ({run.name}) — {run.status.value}, by {run.actor}")
    out(f"  started {run.started_at}, ended {run.ended_at or '-'}")
    git = run.code.get("git")
    if git:
        state = "dirty, diff " + git.get("diff_sha256", "")[:12] if git.get("dirty") else "clean"
        out(f"  code: commit {git.get('commit')} ({state})")
    out(f"  python {run.environment.get('python', '?')} on {run.environment.get('platform', '?')}")
    for name, value in sorted(run.params.items()):
        out(f"  param {name} = {value}")
    for name, value in sorted(run.tags.items()):
        out(f"  tag {name} = {value}")
    for item in run.inputs:
        out(f"  input {item['dataset']} (fingerprint {item['fingerprint'][:16]}…)")
    for name, key in sorted(run.artifacts.items()):
        out(f"  artifact {name}: {key}")
    last: dict[str, MetricPoint] = {}
    for point in metrics:
        last[point.key] = point
    for key, point in sorted(last.items()):
        out(f"  metric {key} = {point.value:.6g} (step {point.step})")
    if run.content_hash:
        out(f"  sealed, content hash {run.content_hash}")


@run_app.command("fail")
def fail(
    run_id: str = typer.Argument(..., help="The run's id (a run still marked running)."),
    reason: str = typer.Option(
        ..., "--reason", help="Why: e.g. the process that ran it was killed."
    ),
) -> None:
    """Mark a run whose process died as failed (its owner, or an admin): sealed and ledgered
    like any finished run."""
    with open_session() as (app, actor):
        run = app.runs.fail(actor, run_id, reason)
    ok(f"run {run.id} ({run.name}) marked failed")
