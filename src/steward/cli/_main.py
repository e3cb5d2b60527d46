"""The root Typer application and the console entry point."""

from __future__ import annotations

import sys

import typer

from steward._version import __version__
from steward.cli import _identity
from steward.cli._audit import audit_app
from steward.cli._checks import check_app, evidence_app
from steward.cli._common import err
from steward.cli._datasets import dataset_app
from steward.cli._db import db_app
from steward.cli._demo import demo
from steward.cli._governance import (
    approve,
    comment,
    history,
    promote,
    reject,
    waive,
    webhook_app,
)
from steward.cli._models import model_app, train, tune
from steward.cli._policies import gate, policy_app
from steward.cli._runs import run_app
from steward.errors import InternalError, StewardError

__all__ = ["app", "main"]

app = typer.Typer(
    name="steward",
    help="Steward: MLOps governance you can prove.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"steward {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Steward: MLOps governance you can prove."""


_identity.register(app)
app.add_typer(dataset_app, name="dataset")
app.command()(train)
app.command()(tune)
app.add_typer(model_app, name="model")
app.add_typer(check_app, name="check")
app.add_typer(evidence_app, name="evidence")
app.add_typer(policy_app, name="policy")
app.command()(gate)
app.command()(approve)
app.command()(reject)
app.command()(waive)
app.command()(promote)
app.add_typer(webhook_app, name="webhook")
model_app.command("comment")(comment)
model_app.command("history")(history)
app.add_typer(run_app, name="run")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.command()(demo)


def main() -> None:
    """Console entry point: run a command, turning Steward errors into one line and an exit code."""
    try:
        app()
    except StewardError as exc:
        err(f"error: {exc.message}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, keep the exit code distinct
        err(f"internal error: {type(exc).__name__}: {exc} (a bug in Steward; please report it)")
        sys.exit(InternalError.exit_code)
