"""The policy language and the pure engine: validation with file/line/field errors, the
built-in packs, and decisions rule by rule from constructed facts."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from steward.checks import available_checks
from steward.domain import Approval, Evidence, EvidenceStatus, Finding, Outcome, Severity, Waiver
from steward.errors import InvalidInput
from steward.policy import (
    PACKS,
    DatasetRules,
    Facts,
    Policy,
    StageRules,
    evaluate,
    evidence_set_hash,
    load_policy,
    pack,
    policy_hash,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]

FAIRNESS_POLICY = """\
format: steward.policy/v1
name: lending
stages:
  production:
    evidence:
      - check: fairness
        thresholds:
          - metric: attributes.*.demographic_parity_ratio
            min: 0.8
    approvals:
      - role: steward
        count: 2
    waivable: ["evidence.fairness.*"]
"""


def _evidence(check: str, metrics: dict[str, Any], **changes: Any) -> Evidence:
    record = Evidence(
        id=f"{check}-1",
        subject="model:credit@3",
        check_id=check,
        check_version="1",
        status=EvidenceStatus.PASSED,
        params={},
        inputs={},
        metrics=metrics,
        findings=(),
        artifacts={},
        created_at="2026-11-29T12:00:00+00:00",
        created_by="dana",
        content_hash=f"hash-{check}",
    )
    return replace(record, **changes)


def _facts(*evidence: Evidence, **changes: Any) -> Facts:
    facts = Facts(
        subject="model:credit@3",
        author="dana",
        artifact="sha256:abc",
        features=("income", "debts"),
        card={"owner": "dana", "description": "", "intended_use": "loans", "limitations": ""},
        evidence=evidence,
        pii_columns=(),
        dataset_evidence=(),
        approvals=(),
        waivers=(),
        now=NOW,
    )
    return replace(facts, **changes)


def _decide(policy: Policy, facts: Facts, stage: str = "production") -> Any:
    return evaluate(policy, stage, facts, policy_version=1, policy_hash=policy_hash(policy))


def _rule(decision: Any, rule_id: str) -> Any:
    (found,) = [r for r in decision.rules if r.id == rule_id]
    return found


def _approval(user: str, facts: Facts, policy: Policy, **changes: Any) -> Approval:
    approval = Approval(
        id=f"a-{user}",
        subject=facts.subject,
        stage="production",
        user=user,
        roles=("steward",),
        decision="approve",
        comment="",
        artifact=facts.artifact,
        evidence_hash=evidence_set_hash(facts.evidence),
        policy_hash=policy_hash(policy),
        created_at="2026-11-30T10:00:00+00:00",
        card_hash=facts.card_hash,
    )
    return replace(approval, **changes)


def test_a_demographic_parity_threshold_passes_085_and_refuses_070_naming_both_numbers() -> None:
    policy = load_policy(FAIRNESS_POLICY)
    rule_id = "evidence.fairness.attributes.race.demographic_parity_ratio"
    fair = _decide(policy, _facts(_evidence("fairness", _parity(0.85))))
    assert _rule(fair, rule_id).outcome is Outcome.PASS
    assert "0.85 ≥ min 0.8" in _rule(fair, rule_id).reason
    biased = _decide(policy, _facts(_evidence("fairness", _parity(0.7))))
    refused = _rule(biased, rule_id)
    assert refused.outcome is Outcome.FAIL and not biased.allowed
    assert refused.reason == "attributes.race.demographic_parity_ratio 0.7 < min 0.8"
    assert refused.data == {"value": 0.7, "min": 0.8, "max": None}


def _parity(value: float) -> dict[str, Any]:
    return {"attributes": {"race": {"demographic_parity_ratio": value}}}


def test_evidence_from_a_narrower_run_does_not_satisfy_a_rule_that_pins_parameters() -> None:
    policy = load_policy(
        FAIRNESS_POLICY.replace(
            "      - check: fairness\n",
            "      - check: fairness\n        params: {attributes: null, min_group_size: 30}\n",
        )
    )
    full = _evidence(
        "fairness",
        _parity(0.6),
        params={"attributes": None, "min_group_size": 30},
        created_at="2026-11-29T10:00:00+00:00",
    )
    narrow = _evidence(
        "fairness",
        {"attributes": {"sex": {"demographic_parity_ratio": 0.95}}},
        id="fairness-2",
        params={"attributes": ["sex"], "min_group_size": 30},
        created_at="2026-11-29T11:00:00+00:00",
    )
    decision = _decide(policy, _facts(full, narrow))
    # the later, narrower run is not the one judged: race still fails
    race = _rule(decision, "evidence.fairness.attributes.race.demographic_parity_ratio")
    assert (
        race.outcome is Outcome.FAIL
        and _rule(decision, "evidence.fairness").data["evidence"] == "fairness-1"
    )
    only_narrow = _rule(_decide(policy, _facts(narrow)), "evidence.fairness")
    assert only_narrow.outcome is Outcome.FAIL
    assert only_narrow.reason == (
        "no fairness evidence produced with the policy's parameters: the latest, fairness-2, "
        'used attributes=["sex"] (needs null)'
    )
    assert 'used attributes=["sex"]' in only_narrow.reason


def test_every_attribute_is_judged_and_a_missing_or_null_metric_fails() -> None:
    policy = load_policy(FAIRNESS_POLICY)
    metrics = {
        "attributes": {
            "race": {"demographic_parity_ratio": 0.9},
            "sex": {"demographic_parity_ratio": None},
        }
    }
    decision = _decide(policy, _facts(_evidence("fairness", metrics)))
    assert _rule(
        decision, "evidence.fairness.attributes.race.demographic_parity_ratio"
    ).outcome is (Outcome.PASS)
    null = _rule(decision, "evidence.fairness.attributes.sex.demographic_parity_ratio")
    assert null.outcome is Outcome.FAIL and "is null" in null.reason
    empty = _decide(policy, _facts(_evidence("fairness", {"attributes": {}})))
    missing = _rule(empty, "evidence.fairness.attributes.*.demographic_parity_ratio")
    assert missing.outcome is Outcome.FAIL and "has no metric" in missing.reason
    nothing = _decide(policy, _facts())
    absent = _rule(nothing, "evidence.fairness")
    assert absent.outcome is Outcome.FAIL
    assert "steward check run credit@3 --check fairness" in absent.reason


def test_the_author_never_counts_and_two_distinct_stewards_are_needed() -> None:
    policy = load_policy(FAIRNESS_POLICY)
    facts = _facts(_evidence("fairness", _parity(0.9)))
    own = replace(facts, approvals=(_approval("dana", facts, policy),))
    assert _rule(_decide(policy, own), "approvals.steward").outcome is Outcome.FAIL
    one = replace(facts, approvals=(_approval("sofia", facts, policy),))
    reason = _rule(_decide(policy, one), "approvals.steward").reason
    assert reason.startswith("1 of 2 steward approval(s)") and "author (dana)" in reason
    twice = replace(
        facts,
        approvals=(_approval("sofia", facts, policy), _approval("sofia", facts, policy)),
    )
    assert _rule(_decide(policy, twice), "approvals.steward").outcome is Outcome.FAIL
    two = replace(
        facts, approvals=(_approval("sofia", facts, policy), _approval("sam", facts, policy))
    )
    decision = _decide(policy, two)
    assert decision.allowed and _rule(decision, "approvals.steward").data["approvers"] == [
        "sam",
        "sofia",
    ]
    not_steward = replace(
        facts,
        approvals=(
            _approval("sofia", facts, policy),
            _approval("eli", facts, policy, roles=("ml_engineer",)),
        ),
    )
    assert not _decide(policy, not_steward).allowed


def test_an_approval_lapses_when_the_evidence_set_changes() -> None:
    policy = load_policy(FAIRNESS_POLICY)
    facts = _facts(_evidence("fairness", _parity(0.9)))
    approvals = (_approval("sofia", facts, policy), _approval("sam", facts, policy))
    assert _decide(policy, replace(facts, approvals=approvals)).allowed
    rerun = _evidence(
        "fairness", _parity(0.9), id="fairness-2", created_at="2026-11-30T11:00:00+00:00"
    )
    after = replace(facts, evidence=(*facts.evidence, rerun), approvals=approvals)
    lapsed = _rule(_decide(policy, after), "approvals.steward")
    assert lapsed.outcome is Outcome.FAIL and "2 earlier approval(s) lapsed" in lapsed.reason
    moved = replace(facts, artifact="sha256:def", approvals=approvals)
    assert not _decide(policy, moved).allowed  # another model file: also lapsed


def test_a_rejection_blocks_until_the_content_changes() -> None:
    policy = load_policy(FAIRNESS_POLICY)
    facts = _facts(_evidence("fairness", _parity(0.9)))
    votes = (
        _approval("sofia", facts, policy),
        _approval("sam", facts, policy),
        _approval("ines", facts, policy, decision="reject", comment="explain the 2019 drop"),
    )
    rejected = _rule(_decide(policy, replace(facts, approvals=votes)), "approvals.steward")
    assert rejected.outcome is Outcome.FAIL
    assert rejected.reason == "rejected by ines (steward): explain the 2019 drop"


def test_a_live_waiver_waives_an_expired_one_does_not_and_only_waivable_rules() -> None:
    policy = load_policy(FAIRNESS_POLICY)
    facts = _facts(_evidence("fairness", _parity(0.7)))
    rule_id = "evidence.fairness.attributes.race.demographic_parity_ratio"

    def waiver(expires: datetime, rule: str = rule_id) -> Waiver:
        return Waiver(
            id="w1",
            subject=facts.subject,
            rule=rule,
            reason="pilot with manual review of every refusal",
            granted_by="sofia",
            expires_at=expires.isoformat(),
            created_at="2026-11-30T09:00:00+00:00",
        )

    live = _rule(
        _decide(policy, replace(facts, waivers=(waiver(NOW + timedelta(days=7)),))), rule_id
    )
    assert live.outcome is Outcome.WAIVED and "waived by sofia until 2026-12-07" in live.reason
    assert "0.7 < min 0.8" in live.reason
    expired = _rule(
        _decide(policy, replace(facts, waivers=(waiver(NOW - timedelta(seconds=1)),))), rule_id
    )
    assert expired.outcome is Outcome.FAIL and "a waiver expired at" in expired.reason
    approvals = _rule(
        _decide(
            policy,
            replace(facts, waivers=(waiver(NOW + timedelta(days=7), "approvals.steward"),)),
        ),
        "approvals.steward",
    )
    assert approvals.outcome is Outcome.FAIL and not approvals.waivable


def test_freshness_applicability_findings_dataset_and_documentation_rules() -> None:
    policy = load_policy(
        """\
format: steward.policy/v1
name: strict
stages:
  staging:
    evidence:
      - check: performance
        max_age_days: 1
        block_at: high
      - check: fairness
    dataset:
      no_pii_features: true
      validation_passed: true
    documentation: [owner, limitations]
"""
    )
    old = _evidence(
        "performance",
        {},
        created_at="2026-11-28T12:00:00+00:00",
        findings=(Finding("weak", Severity.HIGH, "test ROC AUC 0.55 is close to chance"),),
    )
    na = _evidence("fairness", {"reason": "multiclass models are outside this check's tasks"})
    na = replace(na, status=EvidenceStatus.NOT_APPLICABLE)
    validation = _evidence("data.validation", {}, status=EvidenceStatus.FAILED)
    facts = _facts(old, na, pii_columns=("income",), dataset_evidence=(validation,))
    decision = _decide(policy, facts, "staging")
    reasons = {r.id: (r.outcome, r.reason) for r in decision.rules}
    assert reasons["evidence.performance"][0] is Outcome.FAIL
    assert reasons["evidence.performance"][1].endswith("is 2.0 days old; at most 1 allowed")
    assert reasons["evidence.performance.findings"][1].startswith(
        "1 performance finding(s) at or above high: high: test ROC AUC 0.55"
    )
    assert reasons["evidence.fairness"][1].endswith(
        "multiclass models are outside this check's tasks"
    )
    assert reasons["dataset.no_pii_features"] == (Outcome.FAIL, "PII-flagged input(s): income")
    assert reasons["dataset.validation_passed"][0] is Outcome.FAIL
    assert reasons["documentation.owner"][0] is Outcome.PASS
    assert reasons["documentation.limitations"][0] is Outcome.FAIL
    again = _decide(policy, facts, "staging")
    assert again == decision  # deterministic
    nowhere = _decide(policy, facts, "production")
    assert [r.id for r in nowhere.rules] == ["stage"] and not nowhere.allowed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            FAIRNESS_POLICY.replace("            min: 0.8", "            mn: 0.8"),
            "policy.yaml:9: stages.production.evidence.0.thresholds.0.mn: unknown field",
        ),
        (
            FAIRNESS_POLICY.replace("count: 2", "count: two"),
            "policy.yaml:12: stages.production.approvals.0.count: Input should be a valid integer",
        ),
        (
            FAIRNESS_POLICY.replace("demographic_parity_ratio", "parity_score"),
            "policy.yaml:8: stages.production.evidence.0.thresholds.0.metric: check 'fairness' "
            "produces no metric 'attributes.*.parity_score'",
        ),
        (
            FAIRNESS_POLICY.replace("check: fairness", "check: astrology"),
            "policy.yaml:6: stages.production.evidence.0.check: no installed check 'astrology'",
        ),
        (
            FAIRNESS_POLICY.replace("production:", "prod:"),
            "policy.yaml:4: stages.prod",
        ),
        (
            FAIRNESS_POLICY.replace(
                "            min: 0.8", "            min: 0.9\n            max: 0.8"
            ),
            "policy.yaml:8: stages.production.evidence.0.thresholds.0: min 0.9 is above max 0.8",
        ),
        (
            FAIRNESS_POLICY.replace(
                "      - check: fairness\n", "      - check: fairness\n        params: {bias: 1}\n"
            ),
            "policy.yaml:7: stages.production.evidence.0.params.bias: check 'fairness' has no "
            "parameter 'bias'",
        ),
        ("format: steward.policy/v1\nname: [unclosed\n", "policy.yaml:3: not valid YAML"),
    ],
    ids=[
        "unknown-field",
        "wrong-type",
        "unknown-metric",
        "unknown-check",
        "stage",
        "bounds",
        "unknown-param",
        "yaml",
    ],
)
def test_invalid_policies_name_the_file_line_and_field(text: str, message: str) -> None:
    installed = available_checks()
    catalog = {check_id: cls.produces for check_id, cls in installed.items()}
    names = {check_id: cls.param_names() for check_id, cls in installed.items()}
    with pytest.raises(InvalidInput) as raised:
        load_policy(text, "policy.yaml", metrics=catalog, parameters=names)
    assert message in raised.value.message, raised.value.message


def test_the_built_in_packs_validate_against_the_installed_checks() -> None:
    catalog = {check_id: cls.produces for check_id, cls in available_checks().items()}
    from steward.policy import pack_text

    for name in PACKS:
        policy = load_policy(pack_text(name), name, metrics=catalog)
        assert policy == pack(name) and set(policy.stages) == {"staging", "production"}
    high = pack("high-risk").stages["production"]
    assert [r.role.value for r in high.approvals] == ["steward"] and high.approvals[0].count == 2
    assert {r.check for r in high.evidence} >= {"fairness", "explainability", "robustness"}
    (fairness,) = [r for r in high.evidence if r.check == "fairness"]
    assert fairness.thresholds[0].metric == "attributes.*.disparate_impact_ratio"
    assert fairness.thresholds[0].min == 0.8
    assert set(high.documentation) == {"owner", "description", "intended_use", "limitations"}


def test_the_policy_hash_ignores_how_the_yaml_is_written() -> None:
    same = load_policy(FAIRNESS_POLICY.replace("count: 2", "count: 2  # two people"))
    assert policy_hash(same) == policy_hash(load_policy(FAIRNESS_POLICY))
    changed = load_policy(FAIRNESS_POLICY.replace("min: 0.8", "min: 0.75"))
    assert policy_hash(changed) != policy_hash(same)


def test_the_exported_json_schema_is_current() -> None:
    exported = json.loads((ROOT / "docs" / "policy.schema.json").read_text())
    assert exported == Policy.model_json_schema(), "regenerate: steward policy schema"


def test_the_exported_monitor_json_schema_is_current() -> None:
    from steward.policy import MonitorSpec

    exported = json.loads((ROOT / "docs" / "monitor.schema.json").read_text())
    assert exported == MonitorSpec.model_json_schema(), "regenerate: steward monitor schema"


def test_a_gate_that_evaluates_no_rule_fails() -> None:
    # a document the loader refuses (an empty stage), built directly to reach the engine
    empty = Policy.model_construct(
        format="steward.policy/v1",
        name="empty",
        description="",
        priority=0,
        relax_floor=False,
        selector=Policy.model_fields["selector"].get_default(call_default_factory=True),
        stages={
            "production": StageRules.model_construct(
                evidence=[],
                dataset=DatasetRules(),
                documentation=[],
                approvals=[],
                waivable=[],
            )
        },
    )
    decision = _decide(empty, _facts())
    assert not decision.allowed
    assert [r.id for r in decision.failed] == ["stage"]
    assert "evaluates no rule" in decision.failed[0].reason


def test_the_floor_tightens_and_the_worse_outcome_wins() -> None:
    from steward.policy import combine

    lax = load_policy(
        "format: steward.policy/v1\nname: lax\nstages: {production: {documentation: [owner]}}\n"
    )
    strict = load_policy(
        "format: steward.policy/v1\nname: strict\nstages: {production: "
        "{documentation: [owner, limitations], approvals: [{role: steward}]}}\n"
    )
    facts = _facts()
    joined = combine(_decide(lax, facts), _decide(strict, facts), "strict floor")
    assert [r.id for r in joined.rules] == [
        "documentation.owner",
        "documentation.limitations",
        "approvals.steward",
    ]
    assert {r.id for r in joined.failed} == {"documentation.limitations", "approvals.steward"}
    assert joined.rules[1].reason.startswith("[strict floor] ")
    assert joined.rules[1].data["policy"] == "strict floor"


def test_approvals_are_never_waivable_even_by_a_constructed_pattern() -> None:
    policy = load_policy(
        "format: steward.policy/v1\nname: p\nstages: {production: {approvals: [{role: steward}]}}\n"
    )
    rules = policy.stages["production"]
    sneaky = Policy.model_construct(
        **{
            **dict(policy),
            "stages": {
                "production": StageRules.model_construct(**{**dict(rules), "waivable": ["*"]})
            },
        }
    )
    waiver = Waiver(
        "w",
        "model:credit@3",
        "approvals.steward",
        "trust",
        "sofia",
        "2027-01-01T00:00:00+00:00",
        "2026-11-30T00:00:00+00:00",
    )
    decision = evaluate(
        sneaky,
        "production",
        replace(_facts(), waivers=(waiver,)),
        policy_version=1,
        policy_hash=policy_hash(policy),
    )
    assert _rule(decision, "approvals.steward").outcome is Outcome.FAIL
