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
- ``approvals.ROLE`` — enough distinct approvers, not the author, bound to the current content;
- ``stage`` — the policy has no rules for the target stage.
"""

from __future__ import annotations

import fnmatch
from datetime import datetime

from steward.domain import (
    Decision,
    EvidenceStatus,
    Outcome,
    RuleOutcome,
)
from steward.policy._evidence_rules import evidence_rules
from steward.policy._facts import Facts, evidence_set_hash, latest_evidence
from steward.policy._schema import Policy, StageRules

__all__ = ["evaluate"]

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
            *_approval_rules(
                rules, stage, facts, evidence_hash=evidence_hash, policy_hash=policy_hash
            ),
        ]
        outcomes = [_waived(o, rules, facts) for o in outcomes]
    return Decision(
        subject=facts.subject,
        stage=stage,
        policy=policy.name,
        policy_version=policy_version,
        policy_hash=policy_hash,
        artifact=facts.artifact,
        evidence_hash=evidence_hash,
        rules=tuple(outcomes),
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


# --- approvals, waivers ------------------------------------------------------------------


def _approval_rules(
    rules: StageRules, stage: str, facts: Facts, *, evidence_hash: str, policy_hash: str
) -> list[RuleOutcome]:
    outcomes = []
    for rule in rules.approvals:
        role = rule.role.value
        current, lapsed, rejected = [], [], []
        for approval in facts.approvals:
            if approval.stage != stage or role not in approval.roles:
                continue
            if approval.user == facts.author:
                continue  # the author's own word never counts (segregation of duties)
            bound = (
                approval.artifact == facts.artifact
                and approval.evidence_hash == evidence_hash
                and approval.policy_hash == policy_hash
            )
            if not bound:
                lapsed.append(approval)
            elif approval.decision == "reject":
                rejected.append(approval)
            else:
                current.append(approval)
        approvers = sorted({a.user for a in current})
        data = {"approvers": approvers, "needed": rule.count}
        if rejected:
            last = rejected[-1]
            reason = f"rejected by {last.user} ({role}): {last.comment}"
            outcomes.append(RuleOutcome(f"approvals.{role}", Outcome.FAIL, reason, data=data))
            continue
        if len(approvers) >= rule.count:
            reason = f"approved by {', '.join(approvers)} ({role}; {rule.count} needed)"
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
                f"; {len(lapsed)} earlier approval(s) lapsed (the model, its evidence or the "
                "policy changed since)"
            )
        outcomes.append(RuleOutcome(f"approvals.{role}", Outcome.FAIL, reason, data=data))
    return outcomes


def _waived(outcome: RuleOutcome, rules: StageRules, facts: Facts) -> RuleOutcome:
    waivable = any(fnmatch.fnmatchcase(outcome.id, pattern) for pattern in rules.waivable)
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
