"""``steward db …``: the metadata store's schema."""

from __future__ import annotations

import typer

from steward.cli._common import JSON_OPTION, emit_json, load_settings, ok, out
from steward.services import require_home, upgrade_store
from steward.store import SCHEMA_HEAD, current_revision, make_engine

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
    settings = load_settings()
    require_home(settings)
    engine = make_engine(settings.database_url)
    try:
        current = current_revision(engine)
        url = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    document = {
        "store": url,
        "current": current,
        "required": SCHEMA_HEAD,
        "ok": current == SCHEMA_HEAD,
    }
    if as_json:
        emit_json(document)
    else:
        state = "up to date" if document["ok"] else "run `steward db upgrade`"
        out(f"{url}: schema {current}, needs {SCHEMA_HEAD} — {state}")
    if not document["ok"]:
        raise typer.Exit(1)
