"""The root command's registry: every top-level command's name and one-line help, as data.

``steward --help`` and ``steward --version`` must start about as fast as a bare interpreter,
so the root group knows its commands by name and summary only, and imports the module that
defines a command when that command is looked up (to run it, or to show its own help). The
commands themselves stay where they are, as Typer commands and sub-apps in ``_datasets.py``,
``_models.py`` …; a command added to a sub-app appears without touching this file, because the
whole sub-app is loaded. Only a new *top-level* name needs an entry in ``ROOT``:
``tests/test_cli_startup.py`` fails, saying which entry to add, when a registrar registers a
name ``ROOT`` lacks, when a summary here differs from the command's own help, or when a
command function or sub-app in ``steward.cli`` is reachable from no top-level command.

A loaded command is built exactly as an eagerly assembled root would build it: its registrar
adds it to a fresh Typer configured like the root (``scratch_app``), and Typer converts that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import typer
from typer._click import Command, Context, HelpFormatter
from typer.core import TyperGroup

from steward.cli._usage import NamingContext, adapt

__all__ = ["ROOT", "Entry", "LazyCommands", "LazyGroup", "scratch_app", "summary"]

Registrar = Callable[[typer.Typer], None]


@dataclass(frozen=True)
class Entry:
    """A top-level command: its name, the one line ``steward --help`` shows for it, and the
    function that registers it (with its siblings from the same module) on a Typer."""

    name: str
    help: str
    register: Registrar


# --------------------------------------------------------------------------- registrars
# Each imports its cli module only when called; together they are what the root used to do
# at import time.


def _identity(app: typer.Typer) -> None:
    from steward.cli._identity import register

    register(app)


def _datasets(app: typer.Typer) -> None:
    from steward.cli._datasets import dataset_app

    app.add_typer(dataset_app, name="dataset")


@cache
def _model_app() -> typer.Typer:
    # Comments and history are governance records, kept with the model commands; attached
    # once per process (the sub-app is module state of _models).
    from steward.cli._governance import comment, history
    from steward.cli._models import model_app

    model_app.command("comment")(comment)
    model_app.command("history")(history)
    return model_app


def _models(app: typer.Typer) -> None:
    from steward.cli._models import train, tune

    app.command()(train)
    app.command()(tune)
    app.add_typer(_model_app(), name="model")


def _checks(app: typer.Typer) -> None:
    from steward.cli._checks import check_app, evidence_app

    app.add_typer(check_app, name="check")
    app.add_typer(evidence_app, name="evidence")


def _policies(app: typer.Typer) -> None:
    from steward.cli._policies import gate, policy_app

    app.command()(gate)
    app.add_typer(policy_app, name="policy")


def _governance(app: typer.Typer) -> None:
    from steward.cli._governance import approve, promote, reject, waive, webhook_app

    for command in (approve, reject, waive, promote):
        app.command()(command)
    app.add_typer(webhook_app, name="webhook")


def _deployments(app: typer.Typer) -> None:
    from steward.cli._deployments import deploy, endpoint_app, rollback

    app.command()(deploy)
    app.command()(rollback)
    app.add_typer(endpoint_app, name="endpoint")


def _serving(app: typer.Typer) -> None:
    from steward.cli._serving import feedback, predictions_app, serve

    app.command()(serve)
    app.command()(feedback)
    app.add_typer(predictions_app, name="predictions")


def _monitoring(app: typer.Typer) -> None:
    from steward.cli._monitoring import alert_app, monitor_app, retrain

    app.command()(retrain)
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(alert_app, name="alert")


def _runs(app: typer.Typer) -> None:
    from steward.cli._runs import run_app

    app.add_typer(run_app, name="run")


def _audit(app: typer.Typer) -> None:
    from steward.cli._audit import audit_app

    app.add_typer(audit_app, name="audit")


def _db(app: typer.Typer) -> None:
    from steward.cli._db import db_app

    app.add_typer(db_app, name="db")


def _demo(app: typer.Typer) -> None:
    from steward.cli._demo import demo

    app.command()(demo)


# --------------------------------------------------------------------------- the registry

# In the order `steward --help` lists them (commands, then groups, as Typer orders them).
ROOT: tuple[Entry, ...] = (
    Entry(
        "init",
        "Create the home, the store at the current schema, a signing key and an admin.",
        _identity,
    ),
    Entry(
        "login", "Check a token against the store and save it as this home's identity.", _identity
    ),
    Entry("whoami", "Show the identity the current token stands for.", _identity),
    Entry(
        "train",
        "Train a standard pipeline on a dataset version, tune it, register the model version, "
        "and run the default evidence checks on it.",
        _models,
    ),
    Entry(
        "tune",
        "Join a tuning study from this process or machine: run trials, each a child run.",
        _models,
    ),
    Entry(
        "gate",
        "Evaluate the policy gate for a stage: exit 0 when every rule passes (or is waived), 1 "
        "otherwise, with the rule-by-rule report. Changes nothing.",
        _policies,
    ),
    Entry(
        "approve",
        "Approve a version for a stage, bound to its model file, evidence set and policy (a new "
        "evidence run, another model file or a changed policy makes it lapse).",
        _governance,
    ),
    Entry(
        "reject",
        "Reject a version for a stage: its gate fails until its content changes.",
        _governance,
    ),
    Entry(
        "waive",
        "Waive a rule the policy marks waivable, for one version, until a date.",
        _governance,
    ),
    Entry(
        "promote",
        "Move a version to a stage through its gate (exit 1, and nothing changes, when the gate "
        "fails). Entering production archives the previous production version.",
        _governance,
    ),
    Entry(
        "deploy",
        "Deploy a version to an endpoint through the gate of the endpoint's stage (exit 1, and "
        "nothing changes, when it fails); with --canary beside the current version.",
        _deployments,
    ),
    Entry(
        "rollback",
        "Restore an endpoint's previous deployment in one ledgered step (its gates must pass).",
        _deployments,
    ),
    Entry(
        "serve",
        "Serve the deployed endpoints (and, later, the API and web UI) over HTTP: only versions "
        "whose gate passes now are served, every answered prediction is logged durably.",
        _serving,
    ),
    Entry(
        "feedback",
        "Attach ground-truth labels to logged predictions by request id: idempotent, unknown ids "
        "reported and skipped.",
        _serving,
    ),
    Entry(
        "retrain",
        "Build a challenger with the champion's recipe on a new dataset version and compare "
        "them on the same rows; the challenger goes through its own gate and approvals.",
        _monitoring,
    ),
    Entry(
        "demo",
        "Run the governed lifecycle end to end in a fresh home on the embedded store, narrated "
        "(with --remote, through a Steward server on a loopback port, over HTTP).",
        _demo,
    ),
    Entry("user", "Manage users and their roles.", _identity),
    Entry("token", "Issue, list and revoke API tokens.", _identity),
    Entry("dataset", "Register, inspect and document datasets.", _datasets),
    Entry("model", "Inspect registered models and edit their cards.", _models),
    Entry("check", "Run evidence checks on model versions.", _checks),
    Entry("evidence", "Read the evidence recorded about model versions.", _checks),
    Entry("policy", "Policies as code: apply, list, show.", _policies),
    Entry("webhook", "Webhooks: HMAC-signed notifications of governance events.", _governance),
    Entry(
        "endpoint",
        "Endpoints: what each serves, why, and what it served at any time.",
        _deployments,
    ),
    Entry(
        "predictions",
        "Logged predictions: show or export them (PII keyed-hashed).",
        _serving,
    ),
    Entry(
        "monitor",
        "Monitors: drift, performance and fairness of what endpoints serve, with alerts that act.",
        _monitoring,
    ),
    Entry(
        "alert",
        "Alerts raised by monitors: list, acknowledge, resolve (each ledgered).",
        _monitoring,
    ),
    Entry("run", "Inspect tracked runs.", _runs),
    Entry("audit", "Verify, read and export the audit ledger.", _audit),
    Entry("db", "Inspect and upgrade the metadata store's schema.", _db),
)


# --------------------------------------------------------------------------- loading


def scratch_app() -> typer.Typer:
    """A Typer configured as the root is for its children (Typer hands the root's markup mode,
    traceback and suggestion settings down the tree), so a command built under it is the
    command the eagerly assembled root would have run. Rich help stays on for subcommands."""
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def summary(command: Command) -> str:
    """The one-line description of a command: the first paragraph of its help, on one line
    (what the root's help used to show for it)."""
    text = command.short_help or command.help or ""
    return " ".join(text.split("\n\n", 1)[0].split())


def load(entry: Entry) -> Command:
    """Import and build the top-level command ``entry`` names.

    Raises ``LookupError`` when its registrar does not register that name (the registry has
    drifted from the code; the start-up tests catch it first)."""
    app = scratch_app()
    entry.register(app)
    command = typer.main.get_group(app).commands.get(entry.name)
    if command is None:
        raise LookupError(f"{entry.register.__name__} registers no command {entry.name!r}")
    adapt(command)
    return command


class LazyCommands(MutableMapping[str, Command]):
    """A group's commands by name, each built on first access.

    Names (iteration, ``in``, ``len``) come from the entries without importing anything;
    reading a value loads that one command. Commands added later are kept as given."""

    def __init__(
        self, entries: Sequence[Entry], added: Mapping[str, Command] | None = None
    ) -> None:
        self._entries = {entry.name: entry for entry in entries}
        self._loaded: dict[str, Command] = dict(added or {})
        self._names = [
            *self._entries,
            *(name for name in self._loaded if name not in self._entries),
        ]

    def entry(self, name: str) -> Entry | None:
        return self._entries.get(name) if name not in self._loaded else None

    def __getitem__(self, name: str) -> Command:
        if name not in self._loaded:
            self._loaded[name] = load(self._entries[name])  # KeyError: no such command
        return self._loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._names:
            raise KeyError(name)
        self._names.remove(name)
        self._loaded.pop(name, None)
        self._entries.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


class LazyGroup(TyperGroup):
    """The root group: commands from ``ROOT``, imported when looked up; its own help is plain
    text written from the registry (no Rich, no command modules)."""

    entries: Sequence[Entry] = ROOT
    context_class = NamingContext

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.lazy_commands = LazyCommands(self.entries, self.commands)
        self.commands = self.lazy_commands

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)  # names only: TyperGroup's version would load every command

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            entry = self.lazy_commands.entry(name)
            if entry is not None:
                rows.append((name, entry.help))
            elif not (command := self.commands[name]).hidden:
                rows.append((name, summary(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
