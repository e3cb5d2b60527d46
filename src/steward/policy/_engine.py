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
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from steward.domain import (
    Approval,
    Decision,
    Evidence,
    EvidenceStatus,
    Outcome,
    RuleOutcome,
    Severity,
    Waiver,
)
from steward.policy._schema import EvidenceRule, Policy, StageRules, Threshold

__all__ = ["Facts", "evaluate", "evidence_set_hash", "latest_evidence"]

_VALIDATION_CHECK = "data.validation"


@dataclass(frozen=True)
class Facts:
    """Everything a decision depends on, gathered by the services."""

    subject: str  # model:NAME@N
    author: str
    artifact: str
    features: tuple[str, ...]
    card: Mapping[str, Any]  # owner, description, intended_use, limitations
    evidence: tuple[Evidence, ...]  # every record about the version
    pii_columns: tuple[str, ...]  # of the training dataset version
    dataset_evidence: tuple[Evidence, ...]  # the training dataset version's records
    approvals: tuple[Approval, ...]
    waivers: tuple[Waiver, ...]
    now: datetime
    # the id of the version's recorded split: only evidence judged on its test rows counts
    # (evidence on another dataset version informs, it does not pass a gate); None for a
    # version registered without a split
    split: str | None = None


def latest_evidence(records: tuple[Evidence, ...] | list[Evidence]) -> dict[str, Evidence]:
    """The newest record of each check (by time, then id)."""
    latest: dict[str, Evidence] = {}
    for record in sorted(records, key=lambda e: (e.created_at, e.id)):
        latest[record.check_id] = record
    return dict(sorted(latest.items()))


def evidence_set_hash(records: tuple[Evidence, ...] | list[Evidence]) -> str:
    """SHA-256 over the latest record of each check (id and content hash): a new evidence run
    changes it, and with it every approval bound to the old set lapses."""
    items = [[check, e.id, e.content_hash] for check, e in latest_evidence(records).items()]
    return hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).hexdigest()


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
            *_evidence_rules(rules, facts),
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


# --- evidence ----------------------------------------------------------------------------


def _evidence_rules(rules: StageRules, facts: Facts) -> list[RuleOutcome]:
    outcomes: list[RuleOutcome] = []
    for rule in rules.evidence:
        fitting = [
            e
            for e in facts.evidence
            if _produced_with(e, rule.params)
            and (facts.split is None or e.inputs.get("split") == facts.split)
        ]
        record = latest_evidence(fitting).get(rule.check)
        outcomes.append(_presence(rule, record, facts))
        for threshold in rule.thresholds:
            outcomes.extend(_thresholds(rule, threshold, record))
        if rule.block_at is not None:
            outcomes.append(_findings(rule, record))
    return outcomes


def _produced_with(record: Evidence, params: Mapping[str, Any]) -> bool:
    """Whether ``record`` was produced with these parameter values (compared as JSON)."""
    return all(
        json.dumps(record.params.get(name), sort_keys=True) == json.dumps(value, sort_keys=True)
        for name, value in params.items()
    )


def _presence(rule: EvidenceRule, record: Evidence | None, facts: Facts) -> RuleOutcome:
    rule_id = f"evidence.{rule.check}"
    ref = facts.subject.removeprefix("model:")
    if record is None:
        pinned = ", ".join(f"{k}={json.dumps(v)}" for k, v in rule.params.items())
        other = latest_evidence(facts.evidence).get(rule.check)
        if pinned and other is not None:
            used = ", ".join(f"{k}={json.dumps(other.params.get(k))}" for k in rule.params)
            return RuleOutcome(
                rule_id,
                Outcome.FAIL,
                f"no {rule.check} evidence produced with {pinned} (the latest, "
                f"{other.id[:12]}, used {used})",
            )
        return RuleOutcome(
            rule_id,
            Outcome.FAIL,
            f"no {rule.check} evidence about {ref}: run `steward check run {ref} "
            f"--check {rule.check}`",
        )
    data = {"evidence": record.id, "created_at": record.created_at}
    if rule.max_age_days is not None:
        age = (facts.now - datetime.fromisoformat(record.created_at)).total_seconds() / 86400
        if age > rule.max_age_days:
            return RuleOutcome(
                rule_id,
                Outcome.FAIL,
                f"the latest {rule.check} evidence ({record.id[:12]}) is {age:.1f} days old; "
                f"at most {rule.max_age_days:g} allowed",
                data=data,
            )
    if record.status is EvidenceStatus.NOT_APPLICABLE and not rule.allow_not_applicable:
        reason = record.metrics.get("reason", "no reason given")
        return RuleOutcome(
            rule_id,
            Outcome.FAIL,
            f"the {rule.check} check could not judge {ref}: {reason}",
            data=data,
        )
    return RuleOutcome(
        rule_id,
        Outcome.PASS,
        f"{rule.check} evidence {record.id[:12]} recorded {record.created_at} "
        f"({record.status.value})",
        data=data,
    )


def _thresholds(
    rule: EvidenceRule, threshold: Threshold, record: Evidence | None
) -> list[RuleOutcome]:
    base = f"evidence.{rule.check}.{threshold.metric}"
    if record is None:
        return [RuleOutcome(base, Outcome.FAIL, f"no {rule.check} evidence to read from")]
    found = _resolve(record.metrics, threshold.metric.split("."))
    if not found:
        return [
            RuleOutcome(
                base,
                Outcome.FAIL,
                f"{rule.check} evidence {record.id[:12]} has no metric {threshold.metric}",
            )
        ]
    outcomes = []
    for path, value in found:
        rule_id = f"evidence.{rule.check}.{path}"
        outcomes.append(_compare(rule_id, path, value, threshold))
    return outcomes


def _compare(rule_id: str, path: str, value: Any, threshold: Threshold) -> RuleOutcome:
    bounds = {"min": threshold.min, "max": threshold.max}
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return RuleOutcome(
            rule_id,
            Outcome.FAIL,
            f"{path} is {json.dumps(value)}: not a number the policy can judge",
            data={"value": value, **bounds},
        )
    data = {"value": value, **bounds}
    if threshold.min is not None and value < threshold.min:
        return RuleOutcome(
            rule_id, Outcome.FAIL, f"{path} {value:.4g} < min {threshold.min:g}", data=data
        )
    if threshold.max is not None and value > threshold.max:
        return RuleOutcome(
            rule_id, Outcome.FAIL, f"{path} {value:.4g} > max {threshold.max:g}", data=data
        )
    said = []
    if threshold.min is not None:
        said.append(f"≥ min {threshold.min:g}")
    if threshold.max is not None:
        said.append(f"≤ max {threshold.max:g}")
    return RuleOutcome(rule_id, Outcome.PASS, f"{path} {value:.4g} {' and '.join(said)}", data=data)


def _resolve(value: Any, parts: list[str], prefix: str = "") -> list[tuple[str, Any]]:
    """Every (concrete path, value) the dotted pattern reaches; ``*`` takes every key (or
    index) at its level."""
    if not parts:
        return [(prefix, value)]
    head, rest = parts[0], parts[1:]
    join = f"{prefix}.{{}}" if prefix else "{}"
    if isinstance(value, Mapping):
        keys = sorted(value) if head == "*" else [head] if head in value else []
        return [hit for key in keys for hit in _resolve(value[key], rest, join.format(key))]
    if isinstance(value, list):
        if head == "*":
            indices = range(len(value))
        elif head.isdigit() and int(head) < len(value):
            indices = range(int(head), int(head) + 1)
        else:
            indices = range(0)
        return [hit for i in indices for hit in _resolve(value[i], rest, join.format(i))]
    return []


def _findings(rule: EvidenceRule, record: Evidence | None) -> RuleOutcome:
    rule_id = f"evidence.{rule.check}.findings"
    assert rule.block_at is not None
    if record is None:
        return RuleOutcome(rule_id, Outcome.FAIL, f"no {rule.check} evidence to read from")
    limit = Severity.parse(rule.block_at)
    blocking = [f for f in record.findings if f.severity >= limit]
    if blocking:
        listed = "; ".join(f"{f.severity.label}: {f.message}" for f in blocking[:3])
        more = f" (and {len(blocking) - 3} more)" if len(blocking) > 3 else ""
        return RuleOutcome(
            rule_id,
            Outcome.FAIL,
            f"{len(blocking)} {rule.check} finding(s) at or above {limit.label}: {listed}{more}",
            data={"findings": [f.code for f in blocking]},
        )
    return RuleOutcome(rule_id, Outcome.PASS, f"no {rule.check} finding at or above {limit.label}")


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
