"""``steward check run`` and ``steward evidence list | save``: evidence about model versions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer

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
from steward.domain import Evidence
from steward.errors import NotFound

__all__ = ["check_app", "check_progress", "evidence_app", "print_evidence_summary", "run_checks"]

check_app = typer.Typer(help="Run evidence checks on model versions.", no_args_is_help=True)
evidence_app = typer.Typer(
    help="Read the evidence recorded about model versions.", no_args_is_help=True
)

_HEADLINE = ("roc_auc", "accuracy", "balanced_accuracy", "f1", "log_loss", "rmse", "mae", "r2")


def run_checks(
    app: Any,
    actor: Any,
    ref: str,
    check_ids: list[str],
    params: dict[str, dict[str, Any]] | None = None,
    on: str | None = None,
) -> list[Evidence]:
    """Run checks with a progress bar over them on stderr."""
    with deferred_progress() as move:
        progress = check_progress(move)
        return list(
            app.evidence.run(actor, ref, check_ids, params=params, on=on, progress=progress)
        )


def check_progress(move: Callable[..., None], **extra: Any) -> Callable[[str, int, int], None]:
    """The evidence service's ``progress(check_id, done, of)`` as moves of a bar made by
    ``deferred_progress`` (``extra``: its other fields, or ``bar=NAME``)."""

    def progress(check_id: str, done: int, of: int) -> None:
        label = f"check {check_id}" if check_id else "recording evidence"
        move(description=label, total=of, completed=done, **extra)

    return progress


def parse_params(items: list[str]) -> dict[str, dict[str, Any]]:
    """``CHECK.NAME=VALUE`` options as parameters by check id; values are read as YAML
    scalars or lists (``5``, ``0.9``, ``true``, ``race``, ``[race, sex]``)."""
    import yaml

    from steward.errors import InvalidInput

    params: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        check_id, dot, name = key.strip().rpartition(".")
        if not sep or not dot or not check_id or not name:
            raise InvalidInput(f"--param {item!r}: write CHECK.NAME=VALUE, e.g. fairness.bins=5")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            raise InvalidInput(f"--param {item!r}: the value is not a YAML value") from None
        params.setdefault(check_id, {})[name] = tuple(value) if isinstance(value, list) else value
    return params


def print_evidence_summary(records: Sequence[Evidence]) -> None:
    for record in records:
        scores = [
            f"{name} {record.metrics[name]:.4f}"
            for name in _HEADLINE
            if isinstance(record.metrics.get(name), float)
        ]
        line = f"  {record.check_id}: {record.status.value}"
        if scores:
            line += " — " + ", ".join(scores)
        if record.status.value == "not_applicable":
            line += f" ({record.metrics.get('reason')})"
        out(line)
        for finding in record.findings:
            out(f"    {finding.severity.label} {finding.message}")
        for name, key in sorted(record.artifacts.items()):
            kind = "plot" if name.endswith((".png", ".svg")) else "file"
            out(f"    {kind} {name}: {key}")


@check_app.command("run")
def run(
    ref: str = typer.Argument(..., help="The model version (NAME@N, NAME@latest, NAME)."),
    check: list[str] = typer.Option(
        [], "--check", help="A check id (repeatable; default: every installed check)."
    ),
    param: list[str] = typer.Option(
        [],
        "--param",
        help="A check parameter, CHECK.NAME=VALUE (repeatable), e.g. fairness.attributes=race.",
    ),
    dataset: str | None = typer.Option(
        None,
        "--dataset",
        help="Judge the version on every row of this dataset version instead of its test split.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run checks on a version's recorded test split (or on another dataset version) and
    record the evidence (ledgered)."""
    params = parse_params(param)
    with open_session() as (app, actor):
        records = run_checks(app, actor, ref, check, params, dataset)
    if as_json:
        emit_json([r.to_dict() for r in records])
        return
    subject = records[0].subject.removeprefix("model:")
    ok(f"recorded {len(records)} evidence record(s) about {subject}")
    print_evidence_summary(records)


@check_app.command("reproduce")
def reproduce(
    ref: str = typer.Argument(..., help="The model version (NAME@N, NAME@latest, NAME)."),
    check: list[str] = typer.Option(
        [], "--check", help="A check id (repeatable; default: every check with evidence)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-run a version's recorded checks with their recorded parameters and seeds on the
    same rows, as another identity than the one that recorded them, and record agreement or
    disagreement (ledgered). Exit 1 when a reproduction disagrees."""
    with open_session() as (app, actor), deferred_progress() as move:

        def progress(check_id: str, done: int, of: int) -> None:
            label = f"reproduce {check_id}" if check_id else "recording evidence"
            move(description=label, total=of, completed=done)

        results = app.evidence.reproduce(actor, ref, check, progress=progress)
    if as_json:
        emit_json([r.to_dict() for r in results])
    else:
        for result in results:
            original = result.original
            head = f"{original.check_id} evidence {original.id[:12]} by {original.created_by}"
            if result.agrees:
                ok(f"{head}: reproduced by {result.record.created_by}, results agree")
            else:
                bad(f"{head}: reproduced by {result.record.created_by}, results DIFFER")
                for difference in result.differences:
                    out(f"    {difference}")
    if not all(r.agrees for r in results):
        raise typer.Exit(1)


@check_app.command("list")
def list_checks(as_json: bool = JSON_OPTION) -> None:
    """The installed checks (entry points of the group steward.checks)."""
    with open_session() as (app, _actor):
        checks = app.evidence.installed()
    if as_json:
        emit_json(checks)
        return
    from rich.table import Table

    table = Table("id", "version", "tasks", "families", "class")
    for check in checks:
        table.add_row(
            check["id"],
            check["version"],
            ", ".join(check["tasks"]),
            ", ".join(check["families"] or ["all"]),
            check["class"],
        )
    print_table(table)


@evidence_app.command("list")
def list_evidence(
    ref: str = typer.Argument(..., help="The model version."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Every evidence record about a model version, oldest first."""
    with open_session() as (app, actor):
        records = app.evidence.list_evidence(actor, ref)
    if as_json:
        emit_json([r.to_dict() for r in records])
        return
    from rich.table import Table

    table = Table("id", "check", "version", "status", "by", "at (UTC)", "findings", "note")
    for record in records:
        notes = []
        if record.reproduces:
            notes.append(f"reproduces {record.reproduces[:12]}")
        if record.provenance.get("code_matches_source") is False:
            notes.append("code differs from source")
        table.add_row(
            record.id[:12],
            record.check_id,
            record.check_version,
            record.status.value,
            record.created_by,
            record.created_at[:19].replace("T", " "),
            str(len(record.findings)),
            "; ".join(notes),
        )
    print_table(table)


@evidence_app.command("save")
def save_evidence_files(
    ref: str = typer.Argument(..., help="The model version."),
    evidence_id: str = typer.Argument(..., help="The evidence record (its full id)."),
    to: Path = typer.Option(Path("."), "--to", help="The folder to save the files in."),
) -> None:
    """Save the files (plots, tables) an evidence record stored, each hash-checked."""
    with open_session() as (app, actor):
        records = {r.id: r for r in app.evidence.list_evidence(actor, ref)}
        record = records.get(evidence_id)
        if record is None:
            raise NotFound(f"evidence {evidence_id[:64]!r} is not a record about {ref}")
        if not record.artifacts:
            ok(f"evidence {evidence_id[:12]} stored no files")
            return
        files = {n: app.evidence.artifact(actor, ref, record.id, n) for n in record.artifacts}
    to.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        target = to / f"{record.check_id}-{Path(name).name}"
        target.write_bytes(data)
        out(str(target))
