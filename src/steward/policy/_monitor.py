"""The monitor language: a YAML document validated by pydantic (``steward.monitor/v1``).

A monitor watches one endpoint: over a window of its logged predictions (the last N rows, or
the last span of time) it compares what the served version sees and says with the reference
stored for it, measures performance once labels arrive and estimates it before they do,
reads fairness from the requests' ``context``, and raises alerts by its rules; each rule
names the governance actions an alert triggers. Every field is documented in
``docs/monitoring.md``; the JSON Schema (``steward monitor schema``) is generated from
these classes.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from steward.policy._loading import parse_document

__all__ = [
    "MONITOR_FORMAT",
    "AlertRule",
    "DriftSpec",
    "EstimationSpec",
    "FairnessSpec",
    "MonitorSpec",
    "PerformanceSpec",
    "WindowSpec",
    "load_monitor",
    "parse_duration",
]

MONITOR_FORMAT = "steward.monitor/v1"
_NAME = r"^[a-z][a-z0-9-]{0,62}$"
_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
Action = Literal["notify", "revalidate", "suspend", "retrain"]
MetricName = Literal["accuracy", "f1", "roc_auc"]


def _default_metrics() -> list[MetricName]:
    return ["accuracy", "roc_auc"]


def _default_actions() -> list[Action]:
    return ["notify"]


SeverityName = Literal["info", "low", "medium", "high", "critical"]
Condition = Literal[
    "input_drift",
    "prediction_drift",
    "multivariate_drift",
    "performance",
    "estimated_performance",
    "fairness",
]


def parse_duration(text: str) -> int:
    """Seconds in ``"90s"``, ``"15m"``, ``"6h"`` or ``"7d"``; ``ValueError`` otherwise."""
    found = _DURATION.fullmatch(text.strip())
    if found is None or int(found.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration: use a whole number and s, m, h or d (15m)")
    return int(found.group(1)) * _UNIT[found.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowSpec(_Strict):
    """Which logged predictions one run judges: the last ``rows``, or the last
    ``duration``, of the version the endpoint serves."""

    rows: int | None = Field(
        default=None, ge=1, le=10_000_000, description="The last this many predictions."
    )
    duration: str | None = Field(
        default=None, description="The predictions of the last span (`1h`, `1d`, `7d`)."
    )

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _one(self) -> WindowSpec:
        if (self.rows is None) == (self.duration is None):
            raise ValueError("give exactly one of rows or duration")
        return self


class DriftSpec(_Strict):
    """How inputs and predictions are compared with the reference (``docs/drift.md``)."""

    alpha: float = Field(default=0.05, gt=0, lt=1, description="The family-wise error level.")
    correction: Literal["holm", "bh", "none"] = Field(
        default="holm", description="Multiple-testing control across the inputs."
    )
    numeric_threshold: float = Field(
        default=0.1, ge=0, description="Least normalised Wasserstein distance that counts."
    )
    categorical_threshold: float = Field(
        default=0.1, ge=0, le=1, description="Least Jensen–Shannon distance that counts."
    )
    min_rows: int = Field(default=30, ge=2, description="Fewer usable values: not judged.")
    method: Literal["exact", "sketch"] = Field(
        default="exact",
        description="exact: every statistic equal to scipy's; sketch: numeric inputs of "
        "more than 10,000 values compared at 10,000 reference quantiles (faster, KS and W1 "
        "within reported bounds).",
    )


class PerformanceSpec(_Strict):
    """Realised performance once labels arrive (joined by request id from feedback)."""

    metrics: list[MetricName] = Field(default_factory=_default_metrics)
    max_drop: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Alert when a metric's upper bootstrap bound falls more than this below "
        "the version's approved test-split evidence.",
    )
    min_labels: int = Field(default=30, ge=2, description="Fewer labelled rows: not judged.")
    bootstrap: int = Field(default=500, ge=50, le=10_000, description="Bootstrap resamples.")


class EstimationSpec(_Strict):
    """Performance estimated before labels arrive (confidence-based, on calibrated scores)."""

    metrics: list[MetricName] = Field(default_factory=_default_metrics)


class FairnessSpec(_Strict):
    """Fairness in production, from the requests' ``context`` attributes."""

    attributes: list[str] = Field(min_length=1, description="Context attributes to group by.")
    min_ratio: float = Field(
        default=0.8, gt=0, le=1, description="Least disparate-impact ratio (four-fifths rule)."
    )
    tolerance: float = Field(
        default=0.05, ge=0, le=1, description="Alert below the approved ratio less this."
    )
    min_rows: int = Field(default=30, ge=1, description="Smaller groups are not compared.")


class AlertRule(_Strict):
    """When a run raises an alert, how severe, and what governance does about it."""

    name: Annotated[str, Field(pattern=_NAME)]
    when: Condition = Field(description="What the run found (see docs/monitoring.md).")
    min_share: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="input_drift only: the least share of drifted inputs (default: any).",
    )
    severity: SeverityName = "medium"
    actions: list[Action] = Field(
        default_factory=_default_actions,
        description="notify (webhook `monitor.alert`), revalidate (re-evaluate the gate with "
        "the alert open), suspend (the endpoint falls back to its previous version, else "
        "stops with the reason), retrain (a retraining request on the alert).",
    )

    @model_validator(mode="after")
    def _share(self) -> AlertRule:
        if self.min_share is not None and self.when != "input_drift":
            raise ValueError("min_share applies to input_drift rules only")
        return self


class MonitorSpec(_Strict):
    """A monitor document."""

    format: Literal["steward.monitor/v1"] = Field(description="Always `steward.monitor/v1`.")
    name: Annotated[str, Field(pattern=_NAME)]
    endpoint: Annotated[str, Field(pattern=_NAME)]
    description: str = ""
    window: WindowSpec
    schedule: str | None = Field(
        default=None,
        description="How often `steward serve` runs it (`15m`, `1h`); by hand only if left out.",
    )
    drift: DriftSpec = Field(default_factory=lambda: DriftSpec())
    performance: PerformanceSpec | None = None
    estimation: EstimationSpec | None = Field(default_factory=lambda: EstimationSpec())
    fairness: FairnessSpec | None = None
    alerts: list[AlertRule] = Field(default_factory=list)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) < 60:
            raise ValueError("a schedule is at least 60s")
        return value

    @model_validator(mode="after")
    def _rules(self) -> MonitorSpec:
        names = [rule.name for rule in self.alerts]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"alert rule names must be unique: {', '.join(twice)}")
        needs = {
            "performance": self.performance,
            "estimated_performance": self.estimation,
            "fairness": self.fairness,
        }
        for rule in self.alerts:
            if rule.when in needs and needs[rule.when] is None:
                section = "estimation" if rule.when == "estimated_performance" else rule.when
                raise ValueError(f"alert rule {rule.name!r} needs a {section} section")
        return self

    def document(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def load_monitor(text: str, source: str = "<monitor>") -> MonitorSpec:
    """Parse and validate ``text``; ``InvalidInput("FILE:LINE: FIELD: problem")`` if wrong."""
    _, spec = parse_document(
        text, source, MonitorSpec, "a monitor is a YAML mapping (format, name, endpoint...)"
    )
    return spec
