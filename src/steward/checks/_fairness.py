"""``fairness``: how a binary classifier's decisions differ between groups (fairlearn).

For each declared sensitive attribute, and for their intersection when there are several, on
the version's recorded test split: per group, the number of rows, selection rate, true and
false positive rates and accuracy (fairlearn's ``MetricFrame``); across groups, the
demographic parity difference and ratio and the equalized odds difference (fairlearn's
functions), and the disparate impact ratio (lowest over highest selection rate; the
four-fifths rule asks for at least 0.8) between the groups with at least ``min_group_size``
test rows: a smaller group is reported as too small to judge, not judged. Missing values form
their own group, ``(missing)``. Numeric attributes (ages, incomes) are cut into ``bins``
quantile bins, or into the bands a declared scheme gives: ``edges={"age": [25, 40, 65]}`` makes
``< 25``, ``[25, 40)``, ``[40, 65)`` and ``≥ 65``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from steward.checks._base import Capabilities, Check, CheckContext
from steward.checks._params import InstanceOf, Interval, MappingOf, ParameterConstraints, SequenceOf
from steward.domain import Evidence, Finding, Severity
from steward.errors import InvalidInput

__all__ = ["Fairness"]

MISSING = "(missing)"


class Fairness(Check):
    id = "fairness"
    version = "1"
    capabilities = Capabilities(tasks=frozenset({"binary"}))
    produces = (
        "attributes.*.demographic_parity_difference",
        "attributes.*.demographic_parity_ratio",
        "attributes.*.equalized_odds_difference",
        "attributes.*.disparate_impact_ratio",
        "attributes.*.groups.*.count",
        "attributes.*.groups.*.selection_rate",
        "attributes.*.groups.*.tpr",
        "attributes.*.groups.*.fpr",
        "attributes.*.groups.*.accuracy",
        "min_disparate_impact_ratio",
        "max_equalized_odds_difference",
    )
    parameter_constraints: ClassVar[ParameterConstraints] = {
        "attributes": [None, InstanceOf(str), SequenceOf(InstanceOf(str), unique=True)],
        "bins": [Interval(int, 2, None, closed="left")],
        "edges": [
            None,
            MappingOf(InstanceOf(str), SequenceOf(Interval(float, None, None), increasing=True)),
        ],
        "min_group_size": [Interval(int, 1, None, closed="left")],
        "four_fifths": [Interval(float, 0, 1, closed="right")],
        "intersections": [InstanceOf(bool)],
    }

    def __init__(
        self,
        *,
        attributes: tuple[str, ...] | str | None = None,
        bins: int = 4,
        edges: dict[str, list[float]] | None = None,
        min_group_size: int = 30,
        four_fifths: float = 0.8,
        intersections: bool = True,
    ) -> None:
        self.attributes = attributes
        self.bins = bins
        self.edges = edges
        self.min_group_size = min_group_size
        self.four_fifths = four_fifths
        self.intersections = intersections

    def run(self, context: CheckContext) -> Evidence:
        self.validate_params(self.get_params())
        refusal = self.capabilities.refuses(context.version)
        if refusal is not None:
            return context.not_applicable(self, refusal)
        names = (
            list(context.A.columns)
            if self.attributes is None
            else [self.attributes]
            if isinstance(self.attributes, str)
            else list(self.attributes)
        )
        missing = [n for n in names if n not in context.A.columns]
        if missing:
            raise InvalidInput(
                f"sensitive attribute(s) {', '.join(missing)} not declared on the dataset of "
                f"{context.version.ref} (declared: {', '.join(context.A.columns) or 'none'})"
            )
        if not names:
            return context.not_applicable(self, "the dataset declares no sensitive attribute")
        positive = context.classes[1]
        y_true = (np.asarray(context.y) == positive).astype(int)
        y_pred = (np.asarray(context.predicted) == positive).astype(int)
        declared = dict(self.edges or {})
        stray = [name for name in declared if name not in names]
        if stray:
            raise InvalidInput(
                f"edges given for {', '.join(stray)}, which is not judged "
                f"(judged: {', '.join(names)})"
            )
        groups = {name: self._groups(context.A[name], declared.get(name)) for name in names}
        if self.intersections and len(names) > 1:
            joined = pd.Series(
                [" × ".join(parts) for parts in zip(*groups.values(), strict=True)],
                index=context.A.index,
            )
            groups[" × ".join(names)] = joined
        attributes: dict[str, Any] = {}
        findings: list[Finding] = []
        for label, series in groups.items():
            summary = self._summary(y_true, y_pred, series)
            attributes[label] = summary
            findings.extend(self._findings(label, summary))
        ratios = [
            a["disparate_impact_ratio"]
            for a in attributes.values()
            if a["disparate_impact_ratio"] is not None
        ]
        metrics = {
            "positive_label": positive,
            "attributes": attributes,
            "binning": {
                name: {"edges": list(declared[name])} if name in declared else "quantiles"
                for name in names
                if name in declared or _numeric(context.A[name])
            },
            "min_disparate_impact_ratio": min(ratios, default=None),
            "max_equalized_odds_difference": max(
                (
                    a["equalized_odds_difference"]
                    for a in attributes.values()
                    if a["equalized_odds_difference"] is not None
                ),
                default=None,
            ),
        }
        return context.evidence(self, metrics=metrics, findings=tuple(findings))

    def _groups(self, column: pd.Series, edges: list[float] | None = None) -> pd.Series:
        if edges is not None:
            values = pd.to_numeric(column, errors="coerce")  # edges increase: validated
            cuts = [-np.inf, *[float(e) for e in edges], np.inf]
            binned = pd.cut(values, bins=cuts, right=False)
            labels = binned.astype(object).map(_band, na_action="ignore")
        elif _numeric(column):
            binned = pd.qcut(column, q=self.bins, duplicates="drop")
            labels = binned.astype(object).map(str, na_action="ignore")
        else:
            labels = column.astype(object).map(str, na_action="ignore")
        return labels.where(column.notna(), MISSING).astype(str)

    def _summary(self, y_true: np.ndarray, y_pred: np.ndarray, groups: pd.Series) -> dict[str, Any]:
        from fairlearn.metrics import (
            MetricFrame,
            count,
            demographic_parity_difference,
            demographic_parity_ratio,
            equalized_odds_difference,
            false_positive_rate,
            selection_rate,
            true_positive_rate,
        )
        from sklearn.metrics import accuracy_score

        frame = MetricFrame(
            metrics={
                "count": count,
                "selection_rate": selection_rate,
                "tpr": true_positive_rate,
                "fpr": false_positive_rate,
                "accuracy": accuracy_score,
            },
            y_true=y_true,
            y_pred=y_pred,
            sensitive_features=groups.to_numpy(),
        )
        table = frame.by_group
        per_group: dict[str, dict[str, Any]] = {
            str(group): {
                "count": int(row["count"]),
                "selection_rate": _number(row["selection_rate"]),
                "tpr": _number(row["tpr"]),
                "fpr": _number(row["fpr"]),
                "accuracy": _number(row["accuracy"]),
            }
            for group, row in table.iterrows()
        }
        features = groups.to_numpy()
        # The four-fifths rule is judged only between groups large enough to judge.
        judged = [g for g, v in per_group.items() if v["count"] >= self.min_group_size]
        ratio = None
        if len(judged) >= 2:
            mask = np.isin(features, judged)
            ratio = float(
                demographic_parity_ratio(
                    y_true[mask], y_pred[mask], sensitive_features=features[mask]
                )
            )
        return {
            "groups": per_group,
            "demographic_parity_difference": float(
                demographic_parity_difference(y_true, y_pred, sensitive_features=features)
            ),
            "demographic_parity_ratio": float(
                demographic_parity_ratio(y_true, y_pred, sensitive_features=features)
            ),
            # undefined (None) when a group has no positives or no negatives
            "equalized_odds_difference": _number(
                equalized_odds_difference(y_true, y_pred, sensitive_features=features)
            ),
            "judged_groups": judged,
            "disparate_impact_ratio": ratio,
        }

    def _findings(self, label: str, summary: dict[str, Any]) -> list[Finding]:
        found = []
        ratio = summary["disparate_impact_ratio"]
        if ratio is not None and ratio < self.four_fifths:
            rates = {
                g: v["selection_rate"]
                for g, v in summary["groups"].items()
                if g in summary["judged_groups"]
            }
            found.append(
                Finding(
                    "four_fifths_rule",
                    Severity.HIGH,
                    f"{label}: disparate impact ratio {ratio:.3f} is below "
                    f"{self.four_fifths} (selection rates "
                    + ", ".join(f"{g} {r:.3f}" for g, r in rates.items() if r is not None)
                    + ")",
                    column=label,
                    data={"ratio": ratio},
                )
            )
        small = {
            g: v["count"] for g, v in summary["groups"].items() if v["count"] < self.min_group_size
        }
        if small:
            found.append(
                Finding(
                    "small_group",
                    Severity.LOW,
                    f"{label}: too few test rows to judge group(s) "
                    + ", ".join(f"{g} ({n})" for g, n in small.items())
                    + f" (fewer than {self.min_group_size})",
                    column=label,
                    data={"groups": small},
                )
            )
        return found


def _band(interval: Any) -> str:
    """``[25, 40)`` for a declared band; open ends as ``< 25`` and ``≥ 65``."""
    low, high = interval.left, interval.right
    if not np.isfinite(low):
        return f"< {high:g}"
    if not np.isfinite(high):
        return f"≥ {low:g}"
    return f"[{low:g}, {high:g})"


def _numeric(column: pd.Series) -> bool:
    return (
        bool(pd.api.types.is_numeric_dtype(column.dtype))
        and not pd.api.types.is_bool_dtype(column.dtype)
        and column.nunique(dropna=True) > 10
    )


def _number(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
