"""The policy engine: a pure function from a policy and facts to a decision, rule by rule.

No I/O, no clock of its own: the services gather the facts (the version, its model card, its
evidence, its dataset's records, the approvals and waivers, the time) and the engine answers
the same way for the same input. Every rule gets an outcome — pass, fail or waived — and a
reason that names the numbers.

Rule ids:

- ``evidence.CHECK`` — the check's latest evidence exists, is fresh enough, and is applicable;
- ``evidence.CHECK.METRIC`` — one threshold on one concrete metric path (a ``*`` in the policy
  expands to one rule per match, e.g. ``evidence.fairness.attributes.race.disparate_impact_ratio``);
- ``evidence.CHECK.findings`` — no finding at or above the rule's ``block_at`` severity;
- ``dataset.no_pii_features``, ``dataset.validation_passed``;
- ``documentation.FIELD``;
- ``approvals.ROLE`` — enough distinct approvers, not the author nor anyone the author vouched
  for (created, or issued a token to), bound to the current content (model file, evidence
  set, policy, model card);
- ``monitoring.alerts`` — no open monitoring alert at or above the rule's severity;
- ``artifact`` — the version's model file is missing or does not match its hash;
- ``stage`` — the policy has no rules for the target stage, or evaluated none.

``combine`` joins the decision of an applied policy with that of the built-in pack of the
model's risk tier (the floor): a rule both have takes the worse outcome, so an applied policy
can tighten its floor but not relax it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace
from datetime import datetime
from typing import Any

from steward.domain import (
    Decision,
    EvidenceStatus,
    Outcome,
    RuleOutcome,
    Severity,
)
from steward.policy._evidence_rules import evidence_rules
from steward.policy._facts import Facts, evidence_set_hash, latest_evidence
from steward.policy._schema import Policy, StageRules

__all__ = ["combine", "evaluate"]

_VALIDATION_CHECK = "data.validation"


def evaluate(
    policy: Policy,
    stage: str,
    facts: Facts,
    *,
    policy_version: int,
    policy_hash: str,
) -> Decision:
    """Decide whether ``facts.subject`` may enter ``stage`` under ``policy``."""
    evidence_hash = evidence_set_hash(facts.evidence)
    rules = policy.stages.get(stage)  # type: ignore[call-overload]
    if rules is None:
        outcomes: list[RuleOutcome] = [
            RuleOutcome(
                "stage",
                Outcome.FAIL,
                f"policy {policy.name} has no rules for stage {stage}: it cannot be entered",
            )
        ]
    else:
        outcomes = [
            *evidence_rules(rules, facts),
            *_dataset_rules(rules, facts),
            *_documentation_rules(rules, facts),
            *_monitoring_rules(rules, facts),
            *_approval_rules(
                rules, stage, facts, evidence_hash=evidence_hash, policy_hash=policy_hash
            ),
        ]
        outcomes = [_waived(o, rules, facts) for o in outcomes]
        if not outcomes:
            outcomes = [
                RuleOutcome(
                    "stage",
                    Outcome.FAIL,
                    f"policy {policy.name} evaluates no rule for stage {stage}: a gate that "
                    "checks nothing fails",
                )
            ]
    if facts.artifact_problem is not None:
        said = "is missing" if facts.artifact_problem == "missing" else facts.artifact_problem
        outcomes.insert(
            0,
            RuleOutcome(
                "artifact",
                Outcome.FAIL,
                f"the model file {facts.artifact[:19]}… {said}: the version cannot be trusted",
            ),
        )
    return Decision(
        subject=facts.subject,
        stage=stage,
        policy=policy.name,
        policy_version=policy_version,
        policy_hash=policy_hash,
        artifact=facts.artifact,
        evidence_hash=evidence_hash,
        rules=tuple(outcomes),
        card_hash=facts.card_hash,
    )


# --- dataset, documentation --------------------------------------------------------------


def _dataset_rules(rules: StageRules, facts: Facts) -> list[RuleOutcome]:
    outcomes = []
    if rules.dataset.no_pii_features:
        used = sorted(set(facts.features) & set(facts.pii_columns))
        outcomes.append(
            RuleOutcome(
                "dataset.no_pii_features",
                Outcome.FAIL if used else Outcome.PASS,
                f"PII-flagged input(s): {', '.join(used)}"
                if used
                else "no input is a PII-flagged column",
                data={"columns": used},
            )
        )
    if rules.dataset.validation_passed:
        validation = latest_evidence(facts.dataset_evidence).get(_VALIDATION_CHECK)
        if validation is None:
            outcome = RuleOutcome(
                "dataset.validation_passed",
                Outcome.FAIL,
                "no contract validation recorded for the training data",
            )
        else:
            passed = validation.status is EvidenceStatus.PASSED
            outcome = RuleOutcome(
                "dataset.validation_passed",
                Outcome.PASS if passed else Outcome.FAIL,
                f"the training data's contract validation {validation.status.value} "
                f"({validation.subject.removeprefix('dataset:')}, {validation.id[:12]})",
            )
        outcomes.append(outcome)
    return outcomes


def _documentation_rules(rules: StageRules, facts: Facts) -> list[RuleOutcome]:
    outcomes = []
    for name in rules.documentation:
        text = facts.card.get(name)
        filled = bool(text and str(text).strip())
        outcomes.append(
            RuleOutcome(
                f"documentation.{name}",
                Outcome.PASS if filled else Outcome.FAIL,
                f"{name.replace('_', ' ')} is documented"
                if filled
                else f"the model card has no {name.replace('_', ' ')} "
                f"(`steward model update NAME --{name.replace('_', '-')} ...`)",
            )
        )
    return outcomes


def _monitoring_rules(rules: StageRules, facts: Facts) -> list[RuleOutcome]:
    if rules.monitoring is None:
        return []
    floor = Severity.parse(rules.monitoring.block_open_alerts_at)
    blocking = [a for a in facts.open_alerts if Severity.parse(a[1]) >= floor]
    if not blocking:
        return [
            RuleOutcome(
                "monitoring.alerts",
                Outcome.PASS,
                f"no open monitoring alert at or above {floor.label}",
            )
        ]
    named = ", ".join(f"{a[0][:12]} ({a[1]}, {a[2]} of monitor {a[3]})" for a in blocking[:3])
    more = f" and {len(blocking) - 3} more" if len(blocking) > 3 else ""
    return [
        RuleOutcome(
            "monitoring.alerts",
            Outcome.FAIL,
            f"open monitoring alert(s) at or above {floor.label}: {named}{more} "
            "(`steward alert resolve ID`)",
            data={"alerts": [a[0] for a in blocking]},
        )
    ]


# --- approvals, waivers ------------------------------------------------------------------


def _approval_rules(
    rules: StageRules, stage: str, facts: Facts, *, evidence_hash: str, policy_hash: str
) -> list[RuleOutcome]:
    outcomes = []
    authors = {facts.author, *facts.authors}
    card = facts.card_hash
    for rule in rules.approvals:
        role = rule.role.value
        current, lapsed, rejected, puppets = [], [], [], []
        for approval in facts.approvals:
            if approval.stage != stage or role not in approval.roles:
                continue
            if approval.user in authors:
                continue  # the author's own word never counts (segregation of duties)
            if authors & set(approval.vouchers):
                puppets.append(approval)  # an identity the author made or handed a token
                continue
            bound = (
                approval.artifact == facts.artifact
                and approval.evidence_hash == evidence_hash
                and approval.policy_hash == policy_hash
                and approval.card_hash == card
            )
            if not bound:
                lapsed.append(approval)
            elif approval.decision == "reject":
                rejected.append(approval)
            else:
                current.append(approval)
        approvers = sorted({a.user for a in current})
        data: dict[str, Any] = {"approvers": approvers, "needed": rule.count}
        resets = sorted(
            {f"{a.user} (token reset by {a.token_reset_by})" for a in current if a.token_reset_by}
        )
        if resets:
            data["reset_tokens"] = resets
        if puppets:
            data["discounted"] = sorted({a.user for a in puppets})
        if rejected:
            last = rejected[-1]
            reason = f"rejected by {last.user} ({role}): {last.comment}"
            outcomes.append(RuleOutcome(f"approvals.{role}", Outcome.FAIL, reason, data=data))
            continue
        notes = ""
        if resets:
            notes += f"; flagged: approved with a reset token: {', '.join(resets)}"
        if puppets:
            notes += (
                f"; {len(puppets)} approval(s) count for nothing: "
                f"{', '.join(data['discounted'])} got their identity or token from the author"
            )
        if len(approvers) >= rule.count:
            reason = f"approved by {', '.join(approvers)} ({role}; {rule.count} needed){notes}"
            outcomes.append(RuleOutcome(f"approvals.{role}", Outcome.PASS, reason, data=data))
            continue
        reason = (
            f"{len(approvers)} of {rule.count} {role} approval(s) from someone other than the "
            f"author ({facts.author})"
        )
        if approvers:
            reason += f": {', '.join(approvers)}"
        if lapsed:
            reason += (
                f"; {len(lapsed)} earlier approval(s) lapsed (the model, its evidence, its "
                "card or the policy changed since)"
            )
        outcomes.append(RuleOutcome(f"approvals.{role}", Outcome.FAIL, reason + notes, data=data))
    return outcomes


def _waived(outcome: RuleOutcome, rules: StageRules, facts: Facts) -> RuleOutcome:
    waivable = not outcome.id.startswith("approvals.") and any(
        fnmatch.fnmatchcase(outcome.id, pattern) for pattern in rules.waivable
    )
    if not waivable:
        return outcome
    if outcome.outcome is not Outcome.FAIL:
        return RuleOutcome(outcome.id, outcome.outcome, outcome.reason, True, outcome.data)
    waivers = sorted((w for w in facts.waivers if w.rule == outcome.id), key=lambda w: w.expires_at)
    live = [w for w in waivers if datetime.fromisoformat(w.expires_at) > facts.now]
    if live:
        waiver = live[-1]
        return RuleOutcome(
            outcome.id,
            Outcome.WAIVED,
            f"waived by {waiver.granted_by} until {waiver.expires_at}: {waiver.reason} "
            f"(the rule says: {outcome.reason})",
            True,
            {**outcome.data, "waiver": waiver.id},
        )
    reason = outcome.reason
    if waivers:
        reason += f" (a waiver expired at {waivers[-1].expires_at})"
    return RuleOutcome(outcome.id, Outcome.FAIL, reason, True, outcome.data)


# --- the floor ---------------------------------------------------------------------------

_RANK = {Outcome.PASS: 0, Outcome.WAIVED: 1, Outcome.FAIL: 2}


def combine(decision: Decision, floor: Decision, label: str) -> Decision:
    """``decision`` tightened by ``floor`` (the built-in pack's decision for the same version,
    stage and policy hash): every floor rule joins, and a rule both have takes the worse
    outcome (fail over waived over pass). Rules that come from the floor alone, or whose
    outcome the floor decided, say so (``data["policy"]`` is ``label``)."""
    merged = {rule.id: rule for rule in decision.rules}
    order = [rule.id for rule in decision.rules]
    for rule in floor.rules:
        mine = merged.get(rule.id)
        if mine is None:
            order.append(rule.id)
        if mine is None or _RANK[rule.outcome] > _RANK[mine.outcome]:
            merged[rule.id] = RuleOutcome(
                rule.id,
                rule.outcome,
                f"[{label}] {rule.reason}",
                rule.waivable,
                {**rule.data, "policy": label},
            )
    return replace(decision, rules=tuple(merged[rule_id] for rule_id in order))
