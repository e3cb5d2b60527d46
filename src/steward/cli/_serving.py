"""``steward serve``, ``steward predictions show | export`` and ``steward feedback``."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import typer

from steward.cli._common import JSON_OPTION, emit_json, ok, open_session, out
from steward.errors import InvalidInput

__all__ = ["feedback", "predictions_app", "serve"]

predictions_app = typer.Typer(
    help="Logged predictions: show or export them (PII keyed-hashed).", no_args_is_help=True
)
_SINCE = typer.Option(None, "--since", help="From this time (ISO 8601, or a date).")
_UNTIL = typer.Option(None, "--until", help="Up to this time (ISO 8601, or a date).")


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="The address to listen on."),
    port: int = typer.Option(8080, "--port", help="The port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
) -> None:
    """Serve the deployed endpoints (and, later, the API and web UI) over HTTP: only versions
    whose gate passes now are served, every answered prediction is logged durably."""
    from steward.app import ambient_token
    from steward.settings import export_to_workers

    with open_session() as (app, actor):
        settings = app.settings
        token = ambient_token(settings)
        serving = app.deployments.list_endpoints(actor)
    metrics = settings.home / "run" / f"metrics-{port}"  # emptied at every start
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir(parents=True, mode=0o700)
    # The workers read these (uvicorn spawns them with this environment): the server's own
    # identity, the metrics folder they share, one BLAS/OpenMP thread each.
    export_to_workers(
        {
            "STEWARD_HOME": str(settings.home),
            **({"STEWARD_SERVER_TOKEN": token} if token else {}),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        },
        defaults={
            name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        },
    )
    names = ", ".join(s.endpoint for s in serving) or "no endpoints yet"
    ok(f"serving {names} as {actor.name} on http://{host}:{port} ({workers} worker(s))")
    sys.stdout.flush()
    # uvicorn replaces this process: the supervisor of the workers need not keep the
    # command line's modules in memory (the server's RSS is the workers').
    os.execv(  # noqa: S606 - our own interpreter, arguments built here
        sys.executable,
        [
            sys.executable,
            "-m",
            "uvicorn",
            "steward.serving:app_from_environment",
            "--factory",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
            "--timeout-graceful-shutdown",
            "10",
        ],
    )


def _frame(endpoint: str, since: str | None, until: str | None) -> Any:
    with open_session() as (app, actor):
        return app.predictions.read(actor, endpoint, since=since, until=until)


@predictions_app.command("show")
def predictions_show(
    endpoint: str = typer.Argument(..., help="The endpoint."),
    since: str | None = _SINCE,
    until: str | None = _UNTIL,
    limit: int = typer.Option(20, "--limit", min=1, help="Show at most this many (newest)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The logged predictions of an endpoint, newest last, with any ground-truth label."""
    frame = _frame(endpoint, since, until)
    shown = frame.tail(limit)
    if as_json:
        emit_json({"endpoint": endpoint, "count": frame.height, "predictions": shown.to_dicts()})
        return
    out(f"{frame.height} prediction(s) logged for {endpoint}; the last {shown.height}:")
    for row in shown.iter_rows(named=True):
        outputs = json.loads(row["outputs"]) if isinstance(row["outputs"], str) else row["outputs"]
        label = f", label {row['label']}" if row.get("label") else ""
        out(
            f"  {row['time']} {row['request_id']} {row['model']} → "
            f"{outputs.get('prediction')!r}{label} ({row['latency_ms']:.1f} ms)"
        )


@predictions_app.command("export")
def predictions_export(
    endpoint: str = typer.Argument(..., help="The endpoint."),
    since: str | None = _SINCE,
    until: str | None = _UNTIL,
    out_path: Path = typer.Option(
        ..., "--out", help="The file: .parquet, .csv, or JSON lines otherwise."
    ),
) -> None:
    """Export the logged predictions of an endpoint (PII columns keyed-hashed)."""
    frame = _frame(endpoint, since, until)
    with open_session() as (app, _):
        app.predictions.write_export(frame, out_path)
    ok(f"exported {frame.height} prediction(s) of {endpoint} to {out_path}")


@predictions_app.command("prune")
def predictions_prune(
    retention_days: int | None = typer.Option(
        None,
        "--retention-days",
        help="Keep this many days (default: the longest serving.retention_days of the "
        "policies governing every version ever served; never under that, nor 183).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete logged predictions older than the retention period, whole sealed segments at
    a time, in one ledgered step (predictions.pruned)."""
    with open_session() as (app, actor):
        from steward.services import retention_to_keep

        days = retention_to_keep(app.deployments.retention_days(actor), retention_days)
        gone = app.predictions.prune(actor, days)
    if as_json:
        emit_json({"retention_days": days, "segments": gone})
        return
    ok(f"kept {days} days of predictions: {len(gone)} sealed segment(s) older than that deleted")


def feedback(
    name: str = typer.Argument(..., help="The endpoint."),
    file: Path = typer.Argument(
        ...,
        help="Labels: CSV with columns request_id,label; or JSON ({'labels': [...]} or a "
        "list of {request_id, label}).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Attach ground-truth labels to logged predictions by request id: idempotent, unknown
    ids reported and skipped."""
    labels = _read_labels(file)
    with open_session() as (app, actor):
        result = app.predictions.label(actor, name, labels)
    if as_json:
        emit_json(result)
        return
    ok(
        f"{result['recorded']} label(s) recorded for {name}, {result['unchanged']} "
        f"already there, {len(result['unknown'])} unknown request id(s) skipped"
    )
    for rid in result["unknown"][:10]:
        out(f"  unknown: {rid}")


def _read_labels(file: Path) -> list[dict[str, Any]]:
    import csv

    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"no file {file}", details={"field": "file"}) from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{file} is not UTF-8 text", details={"field": "file"}) from None
    if file.suffix == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        if rows and not {"request_id", "label"} <= set(rows[0]):
            raise InvalidInput(f"{file}: the CSV needs columns request_id and label")
        return [{"request_id": r["request_id"], "label": _number(r["label"])} for r in rows]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{file} is not JSON: {exc.msg} (line {exc.lineno})") from None
    labels = document.get("labels") if isinstance(document, dict) else document
    if not isinstance(labels, list):
        raise InvalidInput(f"{file}: expected a list of labels or {{'labels': [...]}}")
    return labels


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
