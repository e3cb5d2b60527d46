"""``steward policy …`` and ``steward gate``: policies as code, and evaluating a gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from steward.cli._common import JSON_OPTION, emit_json, ok, open_session, out, print_table
from steward.domain import Outcome
from steward.errors import InvalidInput

__all__ = ["gate", "policy_app", "print_decision"]

policy_app = typer.Typer(help="Policies as code: apply, list, show.", no_args_is_help=True)

_MARK = {Outcome.PASS: "✓ pass  ", Outcome.FAIL: "✗ FAIL  ", Outcome.WAIVED: "~ waived"}


@policy_app.command("apply")
def apply(
    path: Path = typer.Argument(..., help="The policy YAML file."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Validate a policy file and record it as the next version of its name (ledgered)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    with open_session() as (app, actor):
        applied, changed = app.policies.apply(actor, text, str(path))
    if as_json:
        emit_json({**applied.to_dict(), "changed": changed})
        return
    if changed:
        ok(f"applied policy {applied.name}@{applied.version} ({applied.content_hash[:16]}…)")
    else:
        ok(f"policy {applied.name}@{applied.version} already has this content: nothing changed")


@policy_app.command("validate")
def validate(
    path: Path = typer.Argument(..., help="The policy YAML file."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check a policy file without applying it (no Steward home needed): exit 0 when valid,
    2 with the file, line and field otherwise. For CI."""
    from steward.services import PolicyService

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    policy, digest = PolicyService.validate(text, str(path))
    if as_json:
        emit_json({"name": policy.name, "content_hash": digest, "document": policy.document()})
        return
    ok(f"{path}: valid policy {policy.name} ({digest[:16]}…), stages {', '.join(policy.stages)}")


@policy_app.command("list")
def list_policies(as_json: bool = JSON_OPTION) -> None:
    """The applied policies (latest version of each) and the built-in packs."""
    with open_session() as (app, actor):
        everything = app.policies.list_policies(actor, built_in=True)
    if as_json:
        emit_json([p.to_dict() for p in everything])
        return
    from rich.table import Table

    table = Table("policy", "version", "selects", "priority", "stages", "hash")
    for policy in everything:
        selector = policy.document["selector"]
        selects = ", ".join(
            part
            for part in (
                "tiers " + "/".join(selector["risk_tiers"]) if selector["risk_tiers"] else "",
                " ".join(f"{k}={v}" for k, v in selector["tags"].items()),
                " ".join(selector["names"]),
            )
            if part
        )
        table.add_row(
            policy.name,
            str(policy.version) if policy.version else "built-in",
            selects or "every model",
            str(policy.document["priority"]),
            ", ".join(policy.document["stages"]),
            policy.content_hash[:16],
        )
    print_table(table)


@policy_app.command("show")
def show(
    name: str = typer.Argument(
        ..., help="An applied policy or a built-in pack (default, high-risk)."
    ),
    version: int | None = typer.Option(None, "--version", help="A version (default: latest)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A policy's YAML as applied, with its version and hash."""
    with open_session() as (app, actor):
        policy = app.policies.get(actor, name, version)
    if as_json:
        emit_json(policy.to_dict())
        return
    origin = f"applied {policy.applied_at} by {policy.applied_by}" if policy.version else "built in"
    out(f"# policy {policy.name}@{policy.version}, {origin}; sha256 {policy.content_hash}")
    out(policy.source.rstrip("\n"))


@policy_app.command("endorse")
def endorse(
    name: str = typer.Argument(..., help="An applied policy that sets relax_floor."),
    version: int | None = typer.Option(None, "--version", help="A version (default: latest)."),
    comment: str = typer.Option("", "--comment", help="Why the relaxation is sound."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Endorse a policy that relaxes the built-in packs (the second of the two policy:manage
    holders it needs; neither may author a model it governs). Ledgered; refusals too."""
    with open_session() as (app, actor):
        endorsement = app.policies.endorse(actor, name, version, comment)
    if as_json:
        emit_json(endorsement.to_dict())
        return
    ok(f"{endorsement.user} endorsed {endorsement.subject.removeprefix('policy:')}")


@policy_app.command("schema")
def schema() -> None:
    """The JSON Schema of policy documents (steward.policy/v1)."""
    from steward.services import PolicyService

    out(json.dumps(PolicyService.schema(), indent=2, sort_keys=True))


def gate(
    ref: str = typer.Argument(..., help="The model version (NAME@N, NAME@latest, NAME)."),
    stage: str = typer.Option(..., "--stage", help="staging or production."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Evaluate the policy gate for a stage: exit 0 when every rule passes (or is waived), 1
    otherwise, with the rule-by-rule report. Changes nothing."""
    with open_session() as (app, actor):
        decision, governing = app.policies.gate(actor, ref, stage)
    document = decision.to_dict()
    if as_json:
        emit_json({**document, "governed_because": governing.why})
    else:
        print_decision(document, governing.why)
    if not decision.allowed:
        raise typer.Exit(1)


def print_decision(decision: dict[str, Any], why: str) -> None:
    """A decision (``Decision.to_dict()``, also what a refused promotion carries) rule by
    rule."""
    policy = decision["policy"]
    label = (
        f"{policy['name']}@{policy['version']}"
        if policy["version"]
        else f"{policy['name']} (built-in)"
    )
    ref = decision["subject"].removeprefix("model:")
    verdict = "passes" if decision["allowed"] else "FAILS"
    out(f"gate {ref} → {decision['stage']}: {verdict} under policy {label} ({why})")
    floor = decision.get("floor")
    if floor:
        out(f"  floor: {floor['note']}")
    rules = decision["rules"]
    for rule in rules:
        out(f"  {_MARK[Outcome(rule['outcome'])]} {rule['id']}: {rule['reason']}")
    failed = sum(rule["outcome"] == Outcome.FAIL.value for rule in rules)
    if failed:
        out(f"{failed} of {len(rules)} rule(s) fail")
