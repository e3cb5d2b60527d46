"""Evidence rules: the check's record exists, is fresh and applicable, its metrics are within
the thresholds, and it has no blocking finding (rule ids ``evidence.CHECK``,
``evidence.CHECK.PATH``, ``evidence.CHECK.findings``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from steward.domain import Evidence, EvidenceStatus, Outcome, RuleOutcome, Severity
from steward.policy._facts import Facts, latest_evidence
from steward.policy._schema import EvidenceRule, StageRules, Threshold

__all__ = ["evidence_rules"]


def evidence_rules(rules: StageRules, facts: Facts) -> list[RuleOutcome]:
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
