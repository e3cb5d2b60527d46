"""Demo steps for governance: the gate rule by rule, segregation of duties, approvals,
promotion, and a biased model refused production."""

from __future__ import annotations

from typing import TYPE_CHECKING

from steward.demo._data_steps import escape
from steward.demo._model_steps import MODEL
from steward.domain import Decision, Outcome
from steward.errors import PermissionDenied, Refused

if TYPE_CHECKING:
    from steward.demo._walkthrough import DemoContext

__all__ = ["step_biased", "step_dodge", "step_gate", "step_promote"]

BIASED = "loan-approval-history"
_MARK = {Outcome.PASS: "[green]pass[/]", Outcome.FAIL: "[red]FAIL[/]", Outcome.WAIVED: "waived"}


def _say(ctx: DemoContext, text: str) -> None:
    ctx.console.print(text, highlight=False)


def _report(ctx: DemoContext, decision: Decision, *, passing: int = 3) -> None:
    shown = 0
    for rule in decision.rules:
        if rule.outcome is Outcome.PASS:
            shown += 1
            if shown > passing:
                continue
        _say(ctx, f"    {_MARK[rule.outcome]} {rule.id}: {escape(rule.reason)}")
    hidden = shown - passing
    if hidden > 0:
        _say(ctx, f"    … and {hidden} more passing rule(s)")


def step_gate(ctx: DemoContext) -> None:
    ref = ctx.models[MODEL]
    eli = ctx.actors["eli"]
    decision, governing = ctx.app.policies.gate(eli, ref, "production")
    verdict = "passes" if decision.allowed else "[red]fails[/]"
    _say(
        ctx,
        f"eli asks the production gate about {ref} (steward gate): it {verdict} under "
        f"policy {governing.label} — {governing.why}. "
        f"{len(decision.rules)} rules, {len(decision.failed)} failing:",
    )
    _report(ctx, decision)


def step_promote(ctx: DemoContext) -> None:
    ref = ctx.models[MODEL]
    dana, eli = ctx.actors["dana"], ctx.actors["eli"]
    _say(ctx, f"dana, who trained {ref}, tries to approve it herself:")
    try:
        ctx.app.governance.approve(dana, ref, "production")
    except PermissionDenied as exc:
        _say(ctx, f"  [red]refused[/] (exit 3): {escape(exc.message)}; the attempt is ledgered")
    for steward in ("sofia", "sam"):
        ctx.app.governance.approve(
            ctx.actors[steward], ref, "production", "evidence reviewed: fairness, SHAP, robustness"
        )
        _say(
            ctx,
            f"  {steward} (steward) approves {ref} for production — bound to its model file, "
            "evidence set and policy",
        )
    version, decision = ctx.app.governance.promote(eli, ref, "production")
    assert decision is not None
    approvals = next(r for r in decision.rules if r.id == "approvals.steward")
    _say(
        ctx,
        f"eli promotes {ref}: the gate passes ({escape(approvals.reason)}); {version.ref} is in "
        f"[bold]{version.stage.value}[/], gate, stage and ledger event in one transaction",
    )


def step_biased(ctx: DemoContext) -> None:
    import numpy as np

    from steward.samples import LOANAPP_SENSITIVE, LOANAPP_TARGET, loanapp
    from steward.services import TrainingRequest

    dana, eli = ctx.actors["dana"], ctx.actors["eli"]
    frame = loanapp().to_pandas()
    # An illustration, not history: approvals of non-white applicants turned into denials at
    # random, as a biased past decision process would have recorded them.
    rng = np.random.default_rng(3)
    flip = (
        (frame["race"] != "white") & (frame[LOANAPP_TARGET] == 1) & (rng.random(len(frame)) < 0.35)
    )
    frame.loc[flip, LOANAPP_TARGET] = 0
    ctx.app.datasets.register(
        dana,
        frame,
        name="loans-history",
        target=LOANAPP_TARGET,
        sensitive=list(LOANAPP_SENSITIVE),
    )
    _say(
        ctx,
        f"dana trains a second model on loans-history, whose labels a biased past process "
        f"recorded ({int(flip.sum())} approvals of black and hispanic applicants turned into "
        "denials), and lets race be an input:",
    )
    version = ctx.app.training.train(
        dana,
        TrainingRequest(
            dataset="loans-history",
            name=BIASED,
            template="logistic",
            use_sensitive=("race",),
            seed=7,
            test_size=0.3,
        ),
    ).version  # and the default evidence checks, as `steward train` runs them
    ctx.app.models.update(
        dana,
        BIASED,
        {
            "risk_tier": "high",
            "description": "Scores mortgage applications (trained on historical decisions).",
            "intended_use": "Decision support for loan officers.",
            "limitations": "Historical labels.",
        },
    )
    for steward in ("sofia", "sam"):
        ctx.app.governance.approve(ctx.actors[steward], version.ref, "production")
    _say(ctx, f"  {version.ref}: evidence recorded, documented, approved by sofia and sam")
    try:
        ctx.app.governance.promote(eli, version.ref, "production")
    except Refused as exc:
        decision = exc.details["decision"]
        _say(ctx, "eli tries to promote it to production: [red]refused[/] (exit 1)")
        for rule in decision["rules"]:
            if rule["outcome"] == "fail":
                _say(ctx, f"    [red]FAIL[/] {rule['id']}: {escape(rule['reason'])}")
        _say(ctx, "  nothing changed; the refused attempt is in the ledger with its failed rules")


SANDBOX = """\
format: steward.policy/v1
name: sandbox
description: Experiments that never see a customer.
priority: 100
selector:
  tags: {env: sandbox}
stages:
  production:
    documentation: [owner]
"""


def step_dodge(ctx: DemoContext) -> None:
    dana, eli, sofia = ctx.actors["dana"], ctx.actors["eli"], ctx.actors["sofia"]
    ref = f"{BIASED}@1"
    ctx.app.policies.apply(sofia, SANDBOX, "sandbox.yaml")
    _say(
        ctx,
        "sofia applied a light policy for sandbox experiments (models tagged env=sandbox, "
        "priority 100: an owner is all it asks). dana tags her refused model env=sandbox:",
    )
    ctx.app.models.update(dana, BIASED, {"tags": {"env": "sandbox"}})
    try:
        ctx.app.governance.promote(eli, ref, "production")
    except Refused as exc:
        decision = exc.details["decision"]
        failed = [r for r in decision["rules"] if r["outcome"] == "fail"]
        _say(
            ctx,
            f"  eli promotes it: [red]refused[/] (exit 1) — the sandbox policy governs, but "
            f"{escape(decision['floor']['note'])}; {len(failed)} rule(s) fail, e.g.:",
        )
        for rule in failed[:3]:
            _say(ctx, f"    [red]FAIL[/] {rule['id']}: {escape(rule['reason'])}")
    try:
        ctx.app.models.update(dana, BIASED, {"risk_tier": "minimal"})
    except PermissionDenied as exc:
        _say(ctx, f"  dana tries to lower its risk tier: [red]refused[/] (exit 3): {exc.message}")
    _say(ctx, "  both attempts are in the ledger (attempt.refused), with who tried what")
