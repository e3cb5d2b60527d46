"""``steward init``, ``login``, ``whoami``, ``user …`` and ``token …``."""

from __future__ import annotations

import typer

from steward.app import initialize, save_token
from steward.cli._common import (
    JSON_OPTION,
    emit_json,
    load_settings,
    ok,
    open_session,
    out,
    print_table,
)

__all__ = ["register"]

user_app = typer.Typer(help="Manage users and their roles.", no_args_is_help=True)
token_app = typer.Typer(help="Issue, list and revoke API tokens.", no_args_is_help=True)


def init(
    force: bool = typer.Option(
        False,
        "--force",
        help="Re-create an existing store and home (destroys its store, ledger, keys); needs "
        "an admin token of that store and --confirm.",
    ),
    confirm: str | None = typer.Option(
        None, "--confirm", help="With --force: the store's URL, as the refusal prints it."
    ),
    admin: str = typer.Option("admin", "--admin", help="Name of the first administrator."),
) -> None:
    """Create the home, the store at the current schema, a signing key and an admin."""
    settings = load_settings()
    result = initialize(settings, admin=admin, force=force, confirm=confirm)
    ok(f"Steward home created at {result.home}")
    out(f"  store        {result.database_url}")
    out(f"  signing key  {settings.signing_key_path} (key id {result.key_id[:16]}…)")
    out(f"  admin        {result.admin}; token saved to {settings.token_path} (mode 0600)")


def login(token: str = typer.Argument(..., help="An API token (stw_…).")) -> None:
    """Check a token against the store and save it as this home's identity."""
    from steward.app import open_session

    settings = load_settings()
    # checked by the store, or over STEWARD_URL by the server; kept on this machine
    with open_session(settings, token=token) as (_, actor):
        if settings.url:
            settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = save_token(settings, token)
    ok(f"logged in as {actor.name}; token saved to {path}")


def whoami(as_json: bool = JSON_OPTION) -> None:
    """Show the identity the current token stands for."""
    with open_session() as (app, actor):
        store = app.store_label()
        home = str(app.settings.home)
    document = actor.to_dict()
    if as_json:
        emit_json({**document, "home": home, "store": store})
        return
    out(f"{actor.name}  roles: {', '.join(document['roles'])}")
    out(f"  permissions: {', '.join(document['permissions'])}")
    out(f"  token {actor.token_id}  store {store}")


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="User name: lower-case letters, digits, _ . -"),
    role: list[str] = typer.Option(..., "--role", help="Role to grant; repeat for several."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Add a user; prints its API token once (it is stored only as a hash)."""
    with open_session() as (app, actor):
        user, token = app.identity.add_user(actor, name, role)
    if as_json:
        emit_json({**user.to_dict(), "token": token})
        return
    ok(f"user {user.name} ({', '.join(sorted(user.roles))}) created")
    out(f"  token (shown once): {token}")


@user_app.command("list")
def user_list(as_json: bool = JSON_OPTION) -> None:
    """List users and their roles."""
    with open_session() as (app, actor):
        users = app.identity.list_users(actor)
    if as_json:
        emit_json([user.to_dict() for user in users])
        return
    from rich.table import Table

    table = Table("user", "roles", "created", "by")
    for user in users:
        table.add_row(
            user.name,
            ", ".join(sorted(user.roles)),
            f"{user.created_at:%Y-%m-%d %H:%M}",
            user.created_by or "",
        )
    print_table(table)


@token_app.command("issue")
def token_issue(
    name: str | None = typer.Argument(
        None, help="Another user, for an admin's token reset (default: yourself)."
    ),
    scope: list[str] = typer.Option(
        [],
        "--scope",
        help="Make a scoped token that only scores (predict:ENDPOINT) or labels "
        "(feedback:ENDPOINT) on the model server; repeatable; ENDPOINT may be *.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Issue a new API token for yourself; an admin naming another user resets that user's
    tokens instead (the others are revoked, the reset is ledgered and flagged on the
    user's later approvals). With --scope, the token is for scoring clients: it does
    nothing but what its scopes say."""
    with open_session() as (app, actor):
        record, token = app.identity.issue_token(actor, name, scope)
        reset = record.user_name != actor.name
    if as_json:
        emit_json({**record.to_dict(), "token": token, "reset": reset})
        return
    if reset:
        ok(f"tokens of {record.user_name} reset: new token {record.id}, the others revoked")
    else:
        scoped = f" with scopes {', '.join(record.scopes)}" if record.scopes else ""
        ok(f"token {record.id} issued for {record.user_name}{scoped}")
    out(f"  token (shown once): {token}")


@token_app.command("revoke")
def token_revoke(
    token_id: str = typer.Argument(..., help="The token's id (see token list)."),
) -> None:
    """Revoke an API token; it stops working at once."""
    with open_session() as (app, actor):
        record = app.identity.revoke_token(actor, token_id)
    ok(f"token {record.id} of {record.user_name} revoked")


@token_app.command("list")
def token_list(
    user: str | None = typer.Option(None, "--user", help="Only this user's tokens."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List API tokens (never their secrets)."""
    with open_session() as (app, actor):
        tokens = app.identity.list_tokens(actor, user)
    if as_json:
        emit_json([token.to_dict() for token in tokens])
        return
    from rich.table import Table

    table = Table("id", "user", "created", "status")
    for token in tokens:
        status = "active" if token.active else f"revoked {token.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(token.id, token.user_name, f"{token.created_at:%Y-%m-%d %H:%M}", status)
    print_table(table)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(login)
    app.command()(whoami)
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
