"""The policy language: a YAML document validated by pydantic (``steward.policy/v1``).

A policy selects models (by risk tier, tags, name patterns) and, for each target stage, lists
what a version needs to enter it: evidence (a check's record, fresh enough, with thresholds on
its metrics and no finding at or above a severity), dataset rules, documentation fields of
the model card, and approvals by role from people other than the version's author. It names
which rules may be waived. Every field is documented in ``docs/policies.md``; the JSON Schema
(``steward policy schema``) is generated from these classes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from steward.domain import RiskTier, Role

__all__ = [
    "DOCUMENTATION_FIELDS",
    "POLICY_FORMAT",
    "RETENTION_FLOOR_DAYS",
    "ApprovalRule",
    "DatasetRules",
    "EvidenceRule",
    "MonitoringRules",
    "Policy",
    "Selector",
    "ServingRules",
    "StageRules",
    "Threshold",
    "document_hash",
    "policy_hash",
]

POLICY_FORMAT = "steward.policy/v1"
DOCUMENTATION_FIELDS = ("owner", "description", "intended_use", "limitations")
SeverityName = Literal["info", "low", "medium", "high", "critical"]
StageName = Literal["staging", "production"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    """A bound on one metric of a check's evidence."""

    metric: str = Field(
        description="Dotted path into the evidence's metrics, e.g. `roc_auc` or "
        "`attributes.race.disparate_impact_ratio`; a `*` segment matches every key at that "
        "level (`attributes.*.disparate_impact_ratio`: every sensitive attribute).",
        min_length=1,
    )
    min: float | None = Field(default=None, description="The metric must be at least this.")
    max: float | None = Field(default=None, description="The metric must be at most this.")

    @model_validator(mode="after")
    def _bounded(self) -> Threshold:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class EvidenceRule(_Strict):
    """A check's latest evidence about the version must exist and satisfy these."""

    check: str = Field(description="The check id (`steward check list`).", min_length=1)
    max_age_days: float | None = Field(
        default=None, gt=0, description="The evidence must be at most this many days old."
    )
    thresholds: list[Threshold] = Field(
        default_factory=list, description="Bounds on the evidence's metrics."
    )
    block_at: SeverityName | None = Field(
        default=None,
        description="Fail when the evidence has a finding at or above this severity.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameter values the evidence must have been produced with (e.g. "
        "`attributes: null` — every declared sensitive attribute — for fairness); evidence "
        "run with other values does not count, so a narrower run cannot satisfy the rule.",
    )
    allow_not_applicable: bool = Field(
        default=False,
        description="Accept 'not applicable' evidence (the check cannot judge this model); "
        "by default it fails the rule.",
    )
    reproduced: bool = Field(
        default=False,
        description="The evidence must have been reproduced (`steward check reproduce`) by "
        "an identity other than the one that recorded it and the version's author, with "
        "agreeing results.",
    )
    computed_by: Literal["server"] | None = Field(
        default=None,
        description="`server`: the evidence must have been computed by a Steward server (a "
        "check run asked for over the REST API, or by its monitor scheduler), with the "
        "server's code; evidence a client computed in its own process does not count.",
    )


class DatasetRules(_Strict):
    """Rules on the data the version was trained on."""

    no_pii_features: bool = Field(
        default=False, description="No input column is one the dataset's PII scan flagged."
    )
    validation_passed: bool = Field(
        default=False, description="The dataset version's contract validation passed."
    )


class ApprovalRule(_Strict):
    """Approvals by people holding a role; the version's author never counts."""

    role: Role = Field(description="The role the approvers must hold.")
    count: int = Field(default=1, ge=1, description="How many distinct people must approve.")


class MonitoringRules(_Strict):
    """Rules on what monitoring found about the version in production."""

    block_open_alerts_at: SeverityName = Field(
        description="Fail while the version has an open (raised, not resolved) monitoring "
        "alert at or above this severity; an acknowledged alert is still open."
    )


class StageRules(_Strict):
    """What a version needs to enter one stage."""

    evidence: list[EvidenceRule] = Field(default_factory=list)
    dataset: DatasetRules = Field(default_factory=lambda: DatasetRules())
    documentation: list[Literal["owner", "description", "intended_use", "limitations"]] = Field(
        default_factory=list, description="Model card fields that must be filled in."
    )
    approvals: list[ApprovalRule] = Field(default_factory=list)
    monitoring: MonitoringRules | None = Field(
        default=None,
        description="Monitoring rules (rule id `monitoring.alerts`; never waivable: resolve "
        "the alert instead).",
    )
    waivable: list[str] = Field(
        default_factory=list,
        description="Rule ids (or patterns with `*`, e.g. `evidence.robustness.*`) that a "
        "waiver may set aside. A pattern names its family and its check, dataset rule or "
        "documentation field literally (`evidence.fairness.*`, not `evidence.*` or `*`); "
        "approvals are never waivable.",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> StageRules:
        if not (
            self.evidence
            or self.dataset.no_pii_features
            or self.dataset.validation_passed
            or self.documentation
            or self.approvals
            or self.monitoring
        ):
            raise ValueError(
                "a stage needs at least one rule (evidence, dataset, documentation or "
                "approvals); leave a stage out to forbid entering it"
            )
        for pattern in self.waivable:
            problem = _waiver_problem(pattern)
            if problem:
                raise ValueError(f"waivable pattern {pattern!r}: {problem}")
        return self


_WAIVABLE_FAMILIES = ("evidence", "dataset", "documentation")


def _waiver_problem(pattern: str) -> str | None:
    """Why ``pattern`` may not be waivable, or ``None``: it must name its family and its
    check (or dataset rule, or documentation field) without wildcards."""
    parts = pattern.split(".")
    family = parts[0]
    if family == "approvals":
        return "approvals are never waivable"
    if family not in _WAIVABLE_FAMILIES:
        if any(c in family for c in "*?["):
            return "a catch-all waiver is refused: name the rule family and check"
        return f"a waivable rule starts with {', '.join(_WAIVABLE_FAMILIES)}"
    if len(parts) < 2 or any(c in parts[1] for c in "*?[") or not parts[1]:
        return (
            f"name the {'check' if family == 'evidence' else 'rule'} without wildcards "
            f"(e.g. {family}.NAME or {family}.NAME.*): a catch-all waiver is refused"
        )
    return None


RETENTION_FLOOR_DAYS = 183  # six months: the EU AI Act's record-keeping floor (Art. 19, 26)


class ServingRules(_Strict):
    """How a model server treats the versions this policy governs."""

    on_gate_failure: Literal["fallback", "refuse", "keep"] = Field(
        default="fallback",
        description="When a served version's gate stops passing (a waiver expires, an "
        "approval lapses, new evidence fails it) or its model file changes: `fallback` "
        "serves the endpoint's last earlier version whose gate passes (503 with the reason "
        "when there is none), `refuse` answers 503 with the reason, `keep` serves it on and "
        "records that it does. Every such change is ledgered.",
    )
    retention_days: int = Field(
        default=RETENTION_FLOOR_DAYS,
        ge=RETENTION_FLOOR_DAYS,
        le=36_500,
        description="How long logged predictions are kept (at least six months).",
    )
    unseen_categories: Literal["accept", "refuse"] = Field(
        default="accept",
        description="A categorical input value the training data did not hold: `accept` "
        "passes it to the model (which encodes it as unknown), `refuse` answers 422.",
    )
    max_batch_rows: int = Field(
        default=10_000, ge=1, le=1_000_000, description="The most rows one request may score."
    )


class Selector(_Strict):
    """Which models the policy governs: every listed criterion must match (an empty one
    matches everything)."""

    risk_tiers: list[RiskTier] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict, description="Tags the model card has.")
    names: list[str] = Field(
        default_factory=list, description="Model name patterns (`loan-*`); one must match."
    )

    def matches(self, name: str, risk_tier: str, tags: dict[str, str]) -> bool:
        if self.risk_tiers and risk_tier not in {t.value for t in self.risk_tiers}:
            return False
        if any(tags.get(key) != value for key, value in self.tags.items()):
            return False
        return not self.names or any(fnmatch.fnmatchcase(name, p) for p in self.names)


class Policy(_Strict):
    """A policy document."""

    format: Literal["steward.policy/v1"] = Field(description="Always `steward.policy/v1`.")
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]{0,62}$")] = Field(
        description="The policy's name; applying a changed document under the same name makes "
        "its next version."
    )
    description: str = ""
    priority: int = Field(
        default=0,
        description="When several applied policies select a model, the highest priority "
        "governs (then the name, alphabetically).",
    )
    selector: Selector = Field(default_factory=lambda: Selector())
    relax_floor: bool = Field(
        default=False,
        description="Replace, instead of tighten, the built-in pack of a governed model's "
        "risk tier. Takes effect only once a second `policy:manage` holder has endorsed "
        "this version (`steward policy endorse`); neither the one who applied it nor the "
        "endorser may be an author of a model it governs. Every gate report says so.",
    )
    stages: dict[StageName, StageRules] = Field(
        description="Rules per target stage; a stage without rules cannot be entered."
    )
    serving: ServingRules | None = Field(
        default=None,
        description="How model servers treat governed versions (defaults when left out).",
    )

    def document(self) -> dict[str, Any]:
        """The validated policy as plain JSON data (defaults filled in; no ``serving`` key
        when the policy has none, so documents written before it existed hash the same)."""
        document = self.model_dump(mode="json")
        if document.get("serving") is None:
            document.pop("serving", None)
        for rules in document.get("stages", {}).values():
            if rules.get("monitoring") is None:  # likewise for stages without monitoring
                rules.pop("monitoring", None)
            for evidence in rules.get("evidence", []):  # and rules without computed_by
                if evidence.get("computed_by") is None:
                    evidence.pop("computed_by", None)
        return document

    def serving_rules(self) -> ServingRules:
        """The serving rules in force: the policy's, or the defaults."""
        return self.serving or ServingRules()


def policy_hash(policy: Policy) -> str:
    """SHA-256 of the validated document's canonical JSON: equal for equal rules, however
    the YAML was written."""
    return document_hash(policy.document())


def document_hash(document: dict[str, Any]) -> str:
    """``policy_hash`` of a stored policy document."""
    data = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
