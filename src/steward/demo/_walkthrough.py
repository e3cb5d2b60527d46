"""The demo as a list of narrated steps over one shared context.

Each later capability adds its steps to ``STEPS``; every step talks to Steward through the
services, exactly as the CLI does. The demo runs in a fresh temporary home on the embedded
SQLite store and ends by verifying the ledger. With ``remote`` it starts ``steward serve`` over
that home first and every step is an HTTP call to it (``steward.remote``): the same steps, the
same services, the same answers; only the attacker's steps read the server's files.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steward.app import Application, initialize, trusted_public_key
from steward.demo._data_steps import (
    step_contacts,
    step_datasheet,
    step_register,
    step_revalidate,
)
from steward.demo._governance_steps import step_biased, step_dodge, step_gate, step_promote
from steward.demo._model_steps import step_evidence, step_lineage, step_reproduce, step_tune
from steward.demo._monitoring_steps import step_drift, step_monitor, step_retrain
from steward.demo._server import ServeProcess
from steward.demo._serving_steps import (
    step_canary,
    step_deploy,
    step_serve,
    step_stop,
    stop_server,
)
from steward.domain import Actor
from steward.errors import AuthenticationError, PermissionDenied
from steward.ledger import Verification
from steward.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["STEPS", "DemoContext", "Step", "run_demo"]

PEOPLE = [
    ("dana", "data_scientist", "trains models"),
    ("eli", "ml_engineer", "deploys and operates them"),
    ("sofia", "steward", "reviews evidence and approves"),
    ("sam", "steward", "a second approver"),
    ("audra", "auditor", "reads everything, changes nothing"),
]


@dataclass
class DemoContext:
    """What the steps share: the console, the home, the application and who is who."""

    console: Console
    workdir: Path
    settings: Settings  # the home's (the server's, in remote mode)
    app: Application  # or a RemoteApplication, which has the same services
    admin: Actor
    actors: dict[str, Actor] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    verification: Verification | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    title: str
    run: Callable[[DemoContext], None]


def _say(ctx: DemoContext, text: str) -> None:
    ctx.console.print(text, highlight=False)


def step_home(ctx: DemoContext) -> None:
    _say(
        ctx,
        f"A Steward home holds the store, artifacts and signing key: [bold]{ctx.settings.home}[/]",
    )
    _say(ctx, f"  store: {ctx.settings.database_url}")
    _say(ctx, f"  ledger signing key: {ctx.settings.signing_key_path} (mode 0600)")
    _say(ctx, f"  acting as: [bold]{ctx.admin.name}[/] (admin), token saved by init")
    server = ctx.extras.get("server")
    if isinstance(server, ServeProcess):
        _say(
            ctx,
            f"  served by [bold]steward serve[/] (pid {server.pid}, 2 workers) on {server.url}: "
            "every step below is a call of its REST API (/api/v1) — the demo holds no store "
            "and no signing key, only tokens",
        )


def step_people(ctx: DemoContext) -> None:
    from rich.table import Table

    table = Table("user", "role", "what they do")
    for name, role, what in PEOPLE:
        _, token = ctx.app.identity.add_user(ctx.admin, name, [role])
        ctx.tokens[name] = token
        ctx.actors[name] = ctx.app.authenticate(token)
        table.add_row(name, role, what)
    _say(ctx, "The admin creates one identity per role; each gets a token shown once.")
    ctx.console.print(table)


def _events(ctx: DemoContext) -> int:
    """The ledger's events so far (its signed head's size)."""
    head = ctx.app.audit.head(ctx.admin)
    return head.size if head is not None else 0


def step_least_privilege(ctx: DemoContext) -> None:
    dana = ctx.actors["dana"]
    before = _events(ctx)
    _say(ctx, "dana (data_scientist) tries to create an admin account for herself:")
    try:
        ctx.app.identity.add_user(dana, "dana-admin", ["admin"])
    except PermissionDenied as exc:
        _say(ctx, f"  [red]refused[/] (exit 3 on the CLI): {exc.message}")
    after = _events(ctx)
    _say(ctx, f"  nothing was written: {before} ledger events before, {after} after")


def step_tokens(ctx: DemoContext) -> None:
    eli = ctx.actors["eli"]
    _say(ctx, "eli's laptop is lost; the admin revokes the token it held.")
    ctx.app.identity.revoke_token(ctx.admin, eli.token_id or "")
    try:
        ctx.app.authenticate(ctx.tokens["eli"])
    except AuthenticationError as exc:
        _say(ctx, f"  the old token is dead at once: {exc.message}")
    _, token = ctx.app.identity.issue_token(ctx.admin, "eli")
    ctx.actors["eli"] = ctx.app.authenticate(token)
    ctx.tokens["eli"] = token
    _say(
        ctx,
        f"  eli gets a new token ({ctx.actors['eli'].token_id}) by a ledgered reset; tokens are "
        "stored only as hashes, and each one's ledger event is checked when it is used",
    )


def step_ledger(ctx: DemoContext) -> None:
    from rich.table import Table

    audra = ctx.actors["audra"]
    events = ctx.app.audit.log(audra, limit=100)
    table = Table("seq", "actor", "event", "subject", "leaf hash")
    for event in events:
        table.add_row(
            str(event.seq), event.actor, event.type, event.subject or "", event.leaf_hash.hex()[:16]
        )
    _say(
        ctx, "Every change above is one event in the append-only ledger (audra, auditor, reads it):"
    )
    ctx.console.print(table)


def step_verify(ctx: DemoContext) -> None:
    audra = ctx.actors["audra"]
    result = ctx.app.audit.verify(audra)
    _say(
        ctx,
        f"audra recomputes every leaf hash and the Merkle root, checks the Ed25519 signature, "
        f"and checks {result.records_checked} stored records (dataset versions, evidence) "
        f"against their events: [green]intact[/], {result.events_checked} events, "
        f"root {result.root_hash}",
    )
    proof = ctx.app.audit.proof(audra, 3)
    _say(
        ctx,
        f"  inclusion proof for event 3: {len(proof.path)} hashes prove it is in the signed "
        f"tree of {proof.head.size} — {'valid' if proof.valid else 'INVALID'}",
    )


def step_export(ctx: DemoContext) -> None:
    from steward.ledger.verify_export import verify_file

    audra = ctx.actors["audra"]
    export = ctx.workdir / "ledger-export.jsonl"
    summary = ctx.app.audit.export(audra, export)
    trusted = trusted_public_key(ctx.settings).raw
    result = verify_file(export, trusted)
    _say(ctx, f"audra exports the ledger ({summary.events} events) to {export.name}.")
    _say(
        ctx,
        "  the standalone verifier (Python standard library only, plus the public key) says: "
        f"[green]{'OK' if result.ok else 'TAMPERED'}[/]",
    )
    data = bytearray(export.read_bytes())
    position = data.index(b'"dana"')
    data[position + 2] = ord("D")
    forged = ctx.workdir / "ledger-export-forged.jsonl"
    forged.write_bytes(bytes(data))
    bad = verify_file(forged, trusted)
    _say(
        ctx,
        f"  one byte changed in a copy ('dana' → 'dDna'): "
        f"[red]{'OK' if bad.ok else 'TAMPERED'}[/] — {bad.problem}",
    )


def step_tamper(ctx: DemoContext) -> None:
    """Play the attacker on a copy of the database, never on the demo's own store (a
    consistent copy, taken by SQLite's backup while a server may be writing to it)."""
    copy_home = ctx.workdir / "tampered-copy"
    shutil.copytree(
        ctx.settings.home, copy_home, ignore=shutil.ignore_patterns("steward.db*", "run")
    )
    database = copy_home / "steward.db"
    with sqlite3.connect(ctx.settings.home / "steward.db") as source:
        target = sqlite3.connect(database)
        source.backup(target)
        target.close()
    connection = sqlite3.connect(database)
    try:
        connection.execute("DROP TRIGGER ledger_events_no_update")
        connection.execute(
            "UPDATE ledger_events SET body = REPLACE(body, '\"data_scientist\"', '\"admin\"') "
            "WHERE type = 'user.created' AND subject = 'user:dana'"
        )
        seq = connection.execute(
            "SELECT seq FROM ledger_events WHERE subject = 'user:dana'"
        ).fetchone()[0]
        connection.commit()
    finally:
        connection.close()
    _say(
        ctx,
        f"An attacker with database access drops the append-only triggers and rewrites event "
        f"{seq} to make dana an admin (on a copy of the server's store).",
    )
    with Application.open(Settings(home=copy_home)) as copy:
        result = copy.audit.verify(copy.authenticate(ctx.tokens["audra"]))
    _say(
        ctx,
        f"  audit verify on the copy: [red]TAMPERED[/] at event {result.first_bad_seq}: "
        f"{result.problem}",
    )


def step_final_verify(ctx: DemoContext) -> None:
    result = ctx.app.audit.verify(ctx.actors["audra"])
    ctx.verification = result
    if result.ok:
        _say(
            ctx,
            f"[bold green]✓ ledger verified[/]: {result.events_checked} events, "
            f"signed root {result.root_hash}",
        )
    else:
        _say(
            ctx,
            f"[bold red]✗ ledger verification failed[/] at event {result.first_bad_seq}: "
            f"{result.problem}",
        )


def _remote(settings: Settings, url: str, token: str) -> Application:
    from steward.remote import RemoteApplication

    # the remote application has the facade's services, names and signatures
    # (test_remote_contract), which is all the steps use
    return RemoteApplication(settings, url, token)  # type: ignore[return-value]


STEPS: list[Step] = [
    Step("A new Steward home", step_home),
    Step("People and roles", step_people),
    Step("Least privilege, enforced in the service layer", step_least_privilege),
    Step("Tokens: shown once, stored hashed, revocable", step_tokens),
    Step("Registering a data set: fingerprint, profile, missing values", step_register),
    Step("Personal data is found and marked", step_contacts),
    Step("A new version is validated against the contract", step_revalidate),
    Step("A datasheet documents the data", step_datasheet),
    Step("Tuning a model: every trial a recorded run", step_tune),
    Step("The registered model, its lineage, reloaded exactly", step_lineage),
    Step("Evidence: performance, fairness, explanations, privacy, robustness", step_evidence),
    Step("Evidence reproduced by another identity", step_reproduce),
    Step("The production gate, rule by rule", step_gate),
    Step("Segregation of duties, approvals, promotion", step_promote),
    Step("A biased model is refused production", step_biased),
    Step("An insider's dodge is refused", step_dodge),
    Step("Deploying through the gate", step_deploy),
    Step("Serving, governed: scoped tokens, validation, metrics, a durable log", step_serve),
    Step("A canary, then a rollback, reaching the running server", step_canary),
    Step("Monitoring: a reference summarised once, a monitor, a quiet run", step_monitor),
    Step("Shifted traffic: drift, an estimate before labels, an alert that suspends", step_drift),
    Step("Retraining: a challenger through the same gates, then a canary", step_retrain),
    Step("The server stops", step_stop),
    Step("The audit ledger", step_ledger),
    Step("Verification and inclusion proofs", step_verify),
    Step("Export and offline verification", step_export),
    Step("Tampering is detected", step_tamper),
    Step("Final check", step_final_verify),
]


def run_demo(console: Console, *, keep: Path | None = None, remote: bool = False) -> Verification:
    """Run every step in a fresh home (under ``keep`` if given, else a temporary folder);
    with ``remote``, through ``steward serve`` over that home, over HTTP."""
    workdir = keep if keep is not None else Path(tempfile.mkdtemp(prefix="steward-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=workdir / "home")
    try:
        result = initialize(settings)
        with ExitStack() as stack:
            extras: dict[str, Any] = {}
            if remote:
                server = ServeProcess(settings, result.token, workdir / "server.log")
                stack.callback(server.stop)
                server.start()
                extras["server"] = server
                app = stack.enter_context(_remote(settings, server.url, result.token))
            else:
                app = stack.enter_context(Application.open(settings))
            admin = app.authenticate(result.token)
            ctx = DemoContext(console, workdir, settings, app, admin, extras=extras)
            stack.callback(stop_server, ctx)
            for number, step in enumerate(STEPS, start=1):
                console.rule(f"[bold]{number}. {step.title}")
                step.run(ctx)
        assert ctx.verification is not None
        return ctx.verification
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            console.print(f"\nThe demo home is kept at {settings.home}")
