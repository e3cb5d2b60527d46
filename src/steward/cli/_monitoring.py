"""``steward monitor apply | add | list | show | run | schema`` and
``steward alert list | show | ack | resolve``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from steward.cli._common import (
    JSON_OPTION,
    bad,
    deferred_progress,
    emit_json,
    ok,
    open_session,
    out,
    print_table,
)
from steward.errors import InvalidInput

__all__ = ["alert_app", "monitor_app", "retrain"]

monitor_app = typer.Typer(
    help="Monitors: drift, performance and fairness of what endpoints serve, with alerts that act.",
    no_args_is_help=True,
)
alert_app = typer.Typer(
    help="Alerts raised by monitors: list, acknowledge, resolve (each ledgered).",
    no_args_is_help=True,
)
_NAME = typer.Argument(..., help="The monitor's name.")
_ID = typer.Argument(..., help="The alert's id (or its first 6+ characters).")


@monitor_app.command("apply")
def monitor_apply(
    file: Path = typer.Argument(..., help="A steward.monitor/v1 YAML document."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Apply a monitor document (a changed one becomes the monitor's next version)."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{file}: cannot read the monitor document: {exc}") from None
    with open_session() as (app, actor):
        monitor, changed = app.monitoring.apply(actor, text, str(file))
    _applied(monitor, changed, as_json)


def _applied(monitor: Any, changed: bool, as_json: bool) -> None:
    if as_json:
        emit_json({"changed": changed, **monitor.to_dict()})
    elif changed:
        ok(f"monitor {monitor.name}@{monitor.version} watches {monitor.endpoint}")
    else:
        ok(f"monitor {monitor.name}@{monitor.version} is unchanged")


def _rule(text: str) -> dict[str, Any]:
    """``WHEN[=SEVERITY][:ACTION,ACTION]`` as an alert rule."""
    head, _, actions = text.partition(":")
    when, _, severity = head.partition("=")
    rule: dict[str, Any] = {"name": when.strip().replace("_", "-"), "when": when.strip()}
    if severity:
        rule["severity"] = severity.strip()
    if actions:
        rule["actions"] = [a.strip() for a in actions.split(",") if a.strip()]
    return rule


@monitor_app.command("add")
def monitor_add(
    name: str = _NAME,
    endpoint: str = typer.Option(..., "--endpoint", help="The endpoint to watch."),
    rows: int | None = typer.Option(None, "--rows", help="Window: the last N predictions."),
    duration: str | None = typer.Option(
        None, "--duration", help="Window: the predictions of the last span (1h, 1d, 7d)."
    ),
    schedule: str | None = typer.Option(
        None, "--schedule", help="How often `steward serve` runs it (15m, 1h)."
    ),
    alert: list[str] = typer.Option(
        [],
        "--alert",
        help="An alert rule WHEN[=SEVERITY][:ACTIONS], e.g. input_drift=high:notify,suspend "
        "(WHEN: input_drift, prediction_drift, multivariate_drift, performance, "
        "estimated_performance, fairness).",
    ),
    labels: bool = typer.Option(
        False, "--performance", help="Judge realised performance once labels arrive."
    ),
    fairness: list[str] = typer.Option(
        [], "--fairness", help="A context attribute to judge fairness by (repeatable)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Apply a monitor given by options (validated as a document is)."""
    document: dict[str, Any] = {
        "format": "steward.monitor/v1",
        "name": name,
        "endpoint": endpoint,
        "window": {k: v for k, v in (("rows", rows), ("duration", duration)) if v is not None},
        "alerts": [_rule(a) for a in alert],
    }
    if schedule:
        document["schedule"] = schedule
    if labels:
        document["performance"] = {}
    if fairness:
        document["fairness"] = {"attributes": fairness}
    with open_session() as (app, actor):
        monitor, changed = app.monitoring.add(actor, document)
    _applied(monitor, changed, as_json)


@monitor_app.command("list")
def monitor_list(as_json: bool = JSON_OPTION) -> None:
    """Every monitor (its current version) and what it watches."""
    with open_session() as (app, actor):
        monitors = app.monitoring.list_monitors(actor)
    if as_json:
        emit_json([m.to_dict() for m in monitors])
        return
    if not monitors:
        out("no monitors yet (steward monitor apply FILE)")
        return
    table = Table("monitor", "endpoint", "window", "schedule", "alert rules", "by")
    for m in monitors:
        window = m.document["window"]
        table.add_row(
            f"{m.name}@{m.version}",
            m.endpoint,
            f"last {window['rows']} rows" if window.get("rows") else f"last {window['duration']}",
            m.document.get("schedule") or "by hand",
            ", ".join(r["name"] for r in m.document.get("alerts", [])) or "none",
            m.created_by,
        )
    print_table(table)


@monitor_app.command("show")
def monitor_show(name: str = _NAME, as_json: bool = JSON_OPTION) -> None:
    """A monitor's document and its recorded runs."""
    with open_session() as (app, actor):
        monitor = app.monitoring.get(actor, name)
        runs = app.monitoring.runs(actor, name)
    if as_json:
        emit_json({**monitor.to_dict(), "runs": [r.to_dict() for r in runs]})
        return
    out(f"monitor {monitor.name}@{monitor.version} on {monitor.endpoint} by {monitor.created_by}")
    out(json.dumps(monitor.document, indent=2, sort_keys=True))
    if not runs:
        out("no runs yet (steward monitor run NAME)")
        return
    table = Table("run", "version", "window rows", "status", "alerts", "at")
    for r in runs[-10:]:
        table.add_row(
            r.id[:12],
            r.subject.removeprefix("model:"),
            str(r.inputs.get("window", {}).get("rows")),
            r.status.value,
            ", ".join(
                f.code.removeprefix("alert.") for f in r.findings if f.code.startswith("alert.")
            )
            or "-",
            r.created_at,
        )
    print_table(table)


@monitor_app.command("run")
def monitor_run(
    name: str = _NAME,
    fail_on_alert: bool = typer.Option(
        False, "--fail-on-alert", help="Exit 1 when an alert is raised or still open (cron, CI)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a monitor once on its window: record the run as evidence, raise its alerts and
    take their actions."""
    with open_session() as (app, actor), deferred_progress() as move:

        def progress(step: str, done: int, of: int) -> None:
            move(description=step or "done", total=of, completed=done)

        result = app.monitoring.run(actor, name, progress=progress)
    if as_json:
        emit_json(result.to_dict())
    else:
        print_run(result)
    if fail_on_alert and result.alerted:
        raise typer.Exit(1)


def print_run(result: Any) -> None:
    """A readable summary of one run."""
    record = result.record
    metrics = record.metrics
    window = record.inputs["window"]
    version = record.subject.removeprefix("model:")
    out(
        f"monitor {result.monitor.name}@{result.monitor.version} on {result.monitor.endpoint}: "
        f"{window['rows']} prediction(s) of {version} ({window['labelled']} labelled), "
        f"evidence {record.id[:12]}"
    )
    if metrics.get("status") == "not_enough_data":
        bad(metrics.get("reason") or "not enough data")
        return
    drift = metrics.get("input_drift")
    if drift:
        drifted = drift.get("drifted") or []
        share = drift.get("drifted_share")
        out(
            f"  input drift: {len(drifted)} of {drift.get('tested')} inputs drifted"
            + (f" ({share:.0%})" if share is not None else "")
            + (f": {', '.join(drifted[:8])}" if drifted else "")
        )
    moved = metrics.get("prediction_drift", {}).get("drifted") or []
    out(f"  prediction drift: {'yes (' + ', '.join(moved) + ')' if moved else 'no'}")
    multi = metrics.get("multivariate_drift")
    if multi and multi.get("status") == "ok":
        out(
            f"  multivariate (PCA reconstruction error): {multi['error']:.3f} vs band "
            f"{multi['lower_threshold']:.3f}–{multi['upper_threshold']:.3f}"
            + (" — drifted" if multi.get("drifted") else "")
        )
    estimated = metrics.get("estimated_performance")
    if estimated:
        for m in estimated.get("metrics", []):
            if m.get("value") is not None:
                out(
                    f"  estimated {m['name']} (before labels): {m['value']:.3f} "
                    f"[{m['lower']:.3f}, {m['upper']:.3f}]" + (" — alert" if m.get("alert") else "")
                )
    performance = metrics.get("performance")
    if performance:
        if performance.get("status") != "ok":
            out(f"  realised performance: {performance.get('reason')}")
        for m in performance.get("metrics", []) if performance.get("status") == "ok" else []:
            was = performance.get("approved", {}).get(m["name"])
            if m.get("value") is not None:
                out(
                    f"  realised {m['name']}: {m['value']:.3f} [{m['lower']:.3f}, "
                    f"{m['upper']:.3f}]" + (f" (approved {was:.3f})" if was is not None else "")
                )
    for attribute, found in (metrics.get("fairness") or {}).items():
        ratio = found.get("disparate_impact_ratio")
        text = f"{ratio:.3f}" if isinstance(ratio, int | float) else found.get("reason", "n/a")
        out(f"  fairness by {attribute}: disparate-impact ratio {text}")
    for alert in result.raised:
        bad(f"alert {alert.id[:12]} raised ({alert.current.severity}): {alert.current.message}")
    for alert in result.still_open:
        bad(f"alert {alert.id[:12]} is still open ({alert.current.rule})")
    for outcome in result.outcomes:
        out(f"  {outcome['action']}: {outcome['outcome']}")
    if not result.alerted:
        ok("no alert")


@monitor_app.command("schema")
def monitor_schema() -> None:
    """Print the JSON Schema of monitor documents."""
    with open_session() as (app, _):
        emit_json(app.monitoring.schema())


@alert_app.command("list")
def alert_list(
    status: str | None = typer.Option(
        None, "--status", help="open (not resolved), acknowledged or resolved."
    ),
    endpoint: str | None = typer.Option(None, "--endpoint", help="Only this endpoint's."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Alerts, newest first."""
    with open_session() as (app, actor):
        alerts = app.alerts.alerts(actor, status=status, endpoint=endpoint)
    if as_json:
        emit_json([a.to_dict() for a in alerts])
        return
    if not alerts:
        out("no alerts")
        return
    table = Table("alert", "status", "severity", "endpoint", "version", "rule", "raised", "actions")
    for a in alerts:
        table.add_row(
            a.id[:12],
            a.current.status.value,
            a.current.severity,
            a.current.endpoint,
            a.current.version,
            a.current.rule,
            a.raised_at,
            ", ".join(x["action"] for x in a.history[0].actions),
        )
    print_table(table)


@alert_app.command("show")
def alert_show(alert: str = _ID, as_json: bool = JSON_OPTION) -> None:
    """One alert with its whole history."""
    with open_session() as (app, actor):
        found = app.alerts.alert(actor, alert)
    if as_json:
        emit_json(found.to_dict())
        return
    state = found.current
    out(f"alert {found.id} ({state.severity}, {state.status.value}) on {state.endpoint}")
    out(f"  {state.message}")
    out(f"  raised by monitor {state.monitor} about {state.version}, run {state.evidence[:12]}")
    for s in found.history:
        out(
            f"  {s.seq}. {s.status.value} by {s.created_by} at {s.created_at}"
            + (f": {s.note}" if s.note else "")
        )


_NOTE = typer.Option(..., "--note", help="Why (kept in the alert's history).")


@alert_app.command("ack")
def alert_ack(alert: str = _ID, note: str = _NOTE, as_json: bool = JSON_OPTION) -> None:
    """Acknowledge an alert: someone is on it (it stays open)."""
    with open_session() as (app, actor):
        found = app.alerts.acknowledge(actor, alert, note)
    if as_json:
        emit_json(found.to_dict())
        return
    ok(f"alert {found.id[:12]} acknowledged by {found.current.created_by}")


@alert_app.command("resolve")
def alert_resolve(alert: str = _ID, note: str = _NOTE, as_json: bool = JSON_OPTION) -> None:
    """Resolve an alert, saying why; it stays in the history."""
    with open_session() as (app, actor):
        found = app.alerts.resolve(actor, alert, note)
    if as_json:
        emit_json(found.to_dict())
        return
    ok(f"alert {found.id[:12]} resolved by {found.current.created_by}")


def retrain(
    name: str = typer.Argument(..., help="The model (its production version is the champion)."),
    dataset: str | None = typer.Option(
        None, "--dataset", help="The dataset version (default: the champion's dataset, latest)."
    ),
    trials: int = typer.Option(
        0, "--trials", help="Tune a new study with this many trials (0: the champion's parameters)."
    ),
    alert: str | None = typer.Option(
        None, "--alert", help="The alert whose retraining request this answers."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Build a challenger with the champion's recipe on a new dataset version and compare
    them on the same rows; the challenger goes through its own gate and approvals."""
    from steward.cli._checks import print_evidence_summary
    from steward.cli._models import work_progress
    from steward.provenance import capture_code, capture_environment

    with open_session() as (app, actor), work_progress("tuning", trials) as (trial, check):
        done = app.retraining.retrain(
            actor,
            name,
            dataset=dataset,
            trials=trials,
            alert=alert,
            code=capture_code(Path.cwd()),
            environment=capture_environment(),
            progress=trial,
            check_progress=check,
        )
    if as_json:
        emit_json(done.to_dict())
        return
    challenger = done.result.version
    ok(
        f"challenger {challenger.ref} of champion {done.champion.ref} "
        f"(its lineage names {done.champion.ref})"
    )
    if done.result.evidence:
        out("  evidence:")
        print_evidence_summary(list(done.result.evidence))
    comparison = done.comparison.metrics
    out(f"  champion vs challenger on the challenger's {comparison['rows']} test rows:")
    for metric, found in comparison["metrics"].items():
        if found.get("value") is None:
            out(f"    {metric}: {found.get('reason')}")
            continue
        out(
            f"    {metric}: {found['champion']:.4f} → {found['challenger']:.4f} "
            f"(difference {found['value']:+.4f}, "
            f"95% [{found['lower']:+.4f}, {found['upper']:+.4f}])"
        )
    for attribute, side in comparison["fairness"].items():
        ratios = {k: v.get("disparate_impact_ratio") for k, v in side.items()}
        shown = ", ".join(
            f"{k} {v:.3f}" if isinstance(v, int | float) else f"{k} n/a" for k, v in ratios.items()
        )
        out(f"    disparate-impact ratio by {attribute}: {shown}")
    out(
        f"  next: its own gate and approvals (`steward gate {challenger.ref}`), then a canary "
        f"(`steward deploy {challenger.ref} --endpoint E --canary 10`)"
    )
