"""``steward db …``: the metadata store's schema."""

from __future__ import annotations

import typer

from steward.app import load_settings, schema_status, upgrade_store
from steward.cli._common import JSON_OPTION, emit_json, ok, out

__all__ = ["db_app"]

db_app = typer.Typer(help="Inspect and upgrade the metadata store's schema.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Migrate the store to the schema this Steward needs."""
    before, after = upgrade_store(load_settings())
    if before == after:
        ok(f"the store is already at schema {after}")
    else:
        ok(f"upgraded the store from schema {before} to {after}")


@db_app.command("status")
def status(as_json: bool = JSON_OPTION) -> None:
    """Show the store's schema revision and the one this Steward needs."""
    state = schema_status(load_settings())
    if as_json:
        emit_json(state.to_dict())
    else:
        advice = "up to date" if state.ok else "run `steward db upgrade`"
        out(f"{state.store}: schema {state.current}, needs {state.required} — {advice}")
    if not state.ok:
        raise typer.Exit(1)
