"""``steward audit …``: verify, browse, prove and export the ledger."""

from __future__ import annotations

from pathlib import Path

import typer

from steward.cli._common import JSON_OPTION, bad, emit_json, ok, open_app, out, print_table
from steward.errors import InvalidInput
from steward.ledger import PublicKey, Verification
from steward.services import trusted_public_key

__all__ = ["audit_app", "print_verification"]

audit_app = typer.Typer(help="Verify, read and export the audit ledger.", no_args_is_help=True)


def print_verification(result: Verification) -> None:
    if result.ok:
        root = (result.root_hash or "")[:16]
        ok(
            f"ledger intact: {result.events_checked} events and {result.records_checked} "
            f"records, root {root}…, "
            f"signed by key {(result.key_id or '')[:16]}…"
        )
        return
    where = f"event {result.first_bad_seq}" if result.first_bad_seq else "tree head"
    bad(f"ledger TAMPERED at {where}: {result.problem}")


@audit_app.command("verify")
def verify(
    public_key: Path | None = typer.Option(
        None, "--public-key", help="Trusted public key (PEM or hex); default this home's key."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Recompute every hash and the signed root; exit 1 naming the first bad entry."""
    with open_app() as (app, actor):
        key: PublicKey | None = trusted_public_key(app.settings, public_key) if public_key else None
        result = app.audit.verify(actor, key)
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
    with open_app() as (app, actor):
        events = app.audit.log(actor, limit=limit, type_=type_, subject=subject)
    if as_json:
        emit_json(
            [
                {
                    "seq": e.seq,
                    "ts": e.ts,
                    "type": e.type,
                    "actor": e.actor,
                    "subject": e.subject,
                    "payload": e.payload,
                    "leaf_hash": e.leaf_hash.hex(),
                }
                for e in events
            ]
        )
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
    with open_app() as (app, actor):
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
    from steward.services import tree_head_dict

    with open_app() as (app, actor):
        tree_head = app.audit.head(actor)
    document = tree_head_dict(tree_head) if tree_head else None
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
    with open_app() as (app, actor):
        summary = app.audit.export(actor, out_path)
    ok(f"exported {summary.events} events to {summary.path} (root {summary.root_hash[:16]}…)")
    out(
        "  verify offline with only Python's standard library: "
        f"python -m steward.ledger.verify_export {summary.path} --public-key KEY"
    )
