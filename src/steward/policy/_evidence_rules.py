"""Evidence rules: the check's record exists, is fresh and applicable, its metrics are within
the thresholds, and it has no blocking finding (rule ids ``evidence.CHECK``,
``evidence.CHECK.PATH``, ``evidence.CHECK.findings``).

Only a record judged on the version's recorded test split, produced with the policy's
parameter values (or the check's defaults where the policy is silent), counts: a run with a
laxer threshold, fewer attributes or another seed informs, it does not pass a gate. A record
that another identity reproduced with different results does not count either; a rule with
``reproduced: true`` needs an agreeing reproduction, and one with ``computed_by: server``
evidence a Steward server computed (not a client's own process).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from steward.domain import Evidence, EvidenceStatus, Outcome, RuleOutcome, Severity
from steward.policy._facts import Facts, latest_evidence
from steward.policy._reproduction import disagreements
from steward.policy._schema import EvidenceRule, StageRules, Threshold

__all__ = ["evidence_rules"]


def evidence_rules(rules: StageRules, facts: Facts) -> list[RuleOutcome]:
    outcomes: list[RuleOutcome] = []
    for rule in rules.evidence:
        expected = _expected_params(rule, facts)
        fitting = [
            e
            for e in facts.evidence
            if e.check_id == rule.check
            and not _differing(e, expected)
            and (facts.split is None or e.inputs.get("split") == facts.split)
        ]
        record = latest_evidence(fitting).get(rule.check)
        presence = _presence(rule, record, facts, expected)
        if presence.outcome is Outcome.PASS and record is not None:
            presence = _reproduced(rule, record, facts, presence)
        if presence.outcome is Outcome.PASS and record is not None and rule.computed_by:
            presence = _computed_by_server(rule, record, presence)
        outcomes.append(presence)
        for threshold in rule.thresholds:
            outcomes.extend(_thresholds(rule, threshold, record))
        if rule.block_at is not None:
            outcomes.append(_findings(rule, record))
    return outcomes


def _reproduced(
    rule: EvidenceRule, record: Evidence, facts: Facts, passed: RuleOutcome
) -> RuleOutcome:
    """``passed`` unless a reproduction by another identity disagrees with ``record``, or the
    rule needs an agreeing reproduction and has none. Reproductions by the record's own
    producer or by an author of the version attest nothing."""
    rule_id = f"evidence.{rule.check}"
    ref = facts.subject.removeprefix("model:")
    own = {record.created_by, facts.author, *facts.authors}
    agreeing: list[tuple[Evidence, list[str]]] = []
    disagreeing: list[tuple[Evidence, list[str]]] = []
    for other in facts.evidence:
        if other.reproduces != record.id or other.created_by in own:
            continue
        differences = disagreements(record, other)
        (disagreeing if differences else agreeing).append((other, differences))
    data = {**passed.data, "reproduced_by": sorted({e.created_by for e, _ in agreeing})}
    if disagreeing:
        other, differences = disagreeing[-1]
        return RuleOutcome(
            rule_id,
            Outcome.FAIL,
            f"{rule.check} evidence {record.id[:12]} by {record.created_by} was reproduced by "
            f"{other.created_by} with different results ({'; '.join(differences)}): it does "
            "not count",
            data={**data, "disagreement": other.id},
        )
    if rule.reproduced and not agreeing:
        return RuleOutcome(
            rule_id,
            Outcome.FAIL,
            f"{rule.check} evidence {record.id[:12]} by {record.created_by} is not reproduced: "
            f"someone other than {record.created_by} and the model's authors runs `steward "
            f"check reproduce {ref} --check {rule.check}`",
            data=data,
        )
    if agreeing:
        names = ", ".join(data["reproduced_by"])
        return RuleOutcome(
            rule_id, Outcome.PASS, f"{passed.reason}; reproduced by {names}", data=data
        )
    return passed


def _computed_by_server(rule: EvidenceRule, record: Evidence, passed: RuleOutcome) -> RuleOutcome:
    """``passed`` when a Steward server computed ``record`` (its provenance says so)."""
    origin = record.provenance.get("computed_by") or "client"
    if origin == "server":
        return passed
    host = record.provenance.get("host") or "an unknown host"
    return RuleOutcome(
        f"evidence.{rule.check}",
        Outcome.FAIL,
        f"{rule.check} evidence {record.id[:12]} by {record.created_by} was computed by a "
        f"client ({host}), not by a Steward server: run the check through the server "
        "(STEWARD_URL set)",
        data={**passed.data, "computed_by": origin},
    )


def _expected_params(rule: EvidenceRule, facts: Facts) -> dict[str, Any]:
    """The parameter values evidence must have been produced with: the policy's, else the
    check's defaults."""
    return {**facts.check_defaults.get(rule.check, {}), **rule.params}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=list)


def _differing(record: Evidence, expected: Mapping[str, Any]) -> list[str]:
    """The parameters ``record`` was produced with that differ from ``expected``. A record
    that does not list a parameter (an older version of the check) ran it at its default,
    which ``expected`` holds where the policy is silent."""
    return [
        name
        for name, value in expected.items()
        if name in record.params and _json(record.params[name]) != _json(value)
    ]


def _presence(
    rule: EvidenceRule, record: Evidence | None, facts: Facts, expected: Mapping[str, Any]
) -> RuleOutcome:
    rule_id = f"evidence.{rule.check}"
    ref = facts.subject.removeprefix("model:")
    if record is None:
        other = latest_evidence(facts.evidence).get(rule.check)
        differing = _differing(other, expected) if other is not None else []
        if other is not None and differing:
            used = ", ".join(
                f"{k}={_json(other.params.get(k))} (needs {_json(expected[k])})" for k in differing
            )
            return RuleOutcome(
                rule_id,
                Outcome.FAIL,
                f"no {rule.check} evidence produced with the policy's parameters: the "
                f"latest, {other.id[:12]}, used {used}",
                data={"evidence": other.id, "parameters": differing},
            )
        return RuleOutcome(
            rule_id,
            Outcome.FAIL,
            f"no {rule.check} evidence about {ref}: run `steward check run {ref} "
            f"--check {rule.check}`",
        )
    data = {"evidence": record.id, "created_at": record.created_at}
    if record.provenance.get("code_matches_source") is False:
        differs = ", ".join(record.provenance.get("code_differs", [])[:3])
        return RuleOutcome(
            rule_id,
            Outcome.FAIL,
            f"{rule.check} evidence {record.id[:12]} was computed by code that differs from "
            f"the installed check's source ({differs or 'changed in the process'}): it does "
            "not count",
            data=data,
        )
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
