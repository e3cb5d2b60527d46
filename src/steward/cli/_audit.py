"""``steward audit …``: verify, browse, prove and export the ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from steward.app import trusted_public_key
from steward.cli._common import JSON_OPTION, bad, emit_json, ok, open_session, out, print_table
from steward.errors import InvalidInput
from steward.ledger import PublicKey, Verification

__all__ = ["audit_app", "print_verification"]

audit_app = typer.Typer(help="Verify, read and export the audit ledger.", no_args_is_help=True)


_WHERE = {
    "ledger": "tree head",
    "witness": "witnessed head",
    "records": "records",
    "triggers": "database triggers",
    "artifacts": "artifact store",
}


def print_verification(result: Verification) -> None:
    artifacts = result.details.get("artifacts")
    if result.ok:
        root = (result.root_hash or "")[:16]
        hashed = f", {artifacts['checked']} artifacts" if artifacts else ""
        ok(
            f"ledger intact: {result.events_checked} events and {result.records_checked} "
            f"records{hashed}, root {root}…, "
            f"signed by key {(result.key_id or '')[:16]}…"
        )
        return
    check = result.details.get("check") or "ledger"
    where = f"event {result.first_bad_seq}" if result.first_bad_seq else _WHERE[check]
    bad(f"ledger TAMPERED at {where}: {result.problem}")


@contextmanager
def _hashing_progress() -> Iterator[Callable[[int, int, int, int], None]]:
    """A Rich progress bar on stderr (stdout stays clean for ``--json``) for hashing the
    artifacts; it appears with the first artifact and is cleared at the end."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    progress = Progress(
        TextColumn("hashing artifacts {task.fields[files]}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: list[Any] = []

    def update(checked: int, total: int, hashed: int, total_bytes: int) -> None:
        if not tasks:
            progress.start()
            tasks.append(progress.add_task("artifacts", total=total_bytes, files=""))
        progress.update(tasks[0], completed=hashed, files=f"{checked}/{total}")

    try:
        yield update
    finally:
        if tasks:
            progress.stop()


@audit_app.command("verify")
def verify(
    public_key: Path | None = typer.Option(
        None, "--public-key", help="Trusted public key (PEM or hex); default this home's key."
    ),
    artifacts: bool = typer.Option(
        False,
        "--artifacts",
        help="Also hash every artifact the records reference (model and dataset files, "
        "splits, plots, run artifacts).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Recompute every hash and the signed root; exit 1 naming the first bad entry."""
    with open_session() as (app, actor), _hashing_progress() as progress:
        key: PublicKey | None = trusted_public_key(app.settings, public_key) if public_key else None
        result = app.audit.verify(
            actor,
            key,
            artifacts=app.artifacts if artifacts else None,
            progress=progress,
        )
    if as_json:
        emit_json(result.to_dict())
    else:
        print_verification(result)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("log")
def log(
    limit: int = typer.Option(20, "--limit", help="How many of the newest events."),
    type_: str | None = typer.Option(None, "--type", help="Only events of this type."),
    subject: str | None = typer.Option(None, "--subject", help="Only events about this subject."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the newest ledger events, oldest first."""
    with open_session() as (app, actor):
        events = app.audit.log(actor, limit=limit, type_=type_, subject=subject)
    if as_json:
        emit_json([e.to_dict() for e in events])
        return
    from rich.table import Table

    table = Table("seq", "time (UTC)", "actor", "event", "subject", "details")
    for e in events:
        details = ", ".join(f"{k}={v}" for k, v in sorted(e.payload.items()))
        table.add_row(
            str(e.seq), e.ts[:19].replace("T", " "), e.actor, e.type, e.subject or "", details
        )
    print_table(table)


@audit_app.command("proof")
def proof(
    seq: int = typer.Argument(..., help="Sequence number of the event."),
    as_json: bool = JSON_OPTION,
) -> None:
    """An RFC 6962 inclusion proof that event SEQ is in the signed tree."""
    with open_session() as (app, actor):
        result = app.audit.proof(actor, seq)
    if as_json:
        emit_json(result.to_dict())
    else:
        state = "valid" if result.valid else "INVALID"
        out(f"event {seq}: leaf {result.leaf_hash.hex()}")
        out(f"  in tree of {result.head.size}, root {result.head.root_hash.hex()} — {state}")
        for index, node in enumerate(result.path):
            out(f"  path[{index}] {node.hex()}")
    if not result.valid:
        raise typer.Exit(1)


@audit_app.command("head")
def head(as_json: bool = JSON_OPTION) -> None:
    """The latest signed tree head (publish it to witness the ledger's state)."""
    with open_session() as (app, actor):
        tree_head = app.audit.head(actor)
    document = tree_head.to_dict() if tree_head else None
    if as_json:
        emit_json(document)
    elif document is None:
        out("the ledger is empty")
    else:
        for key, value in document.items():
            out(f"{key:<10} {value}")


@audit_app.command("export")
def export(
    out_path: Path = typer.Option(..., "--out", help="File to write (JSON Lines)."),
) -> None:
    """Export events, the signed tree head and the public key as one JSON Lines file."""
    if out_path.is_dir():
        raise InvalidInput(f"--out {out_path} is a folder; name a file")
    with open_session() as (app, actor):
        summary = app.audit.export(actor, out_path)
    ok(f"exported {summary.events} events to {summary.path} (root {summary.root_hash[:16]}…)")
    out(
        "  verify offline with only Python's standard library: "
        f"python -m steward.ledger.verify_export {summary.path} --public-key KEY"
    )
