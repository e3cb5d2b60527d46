"""Fairness in production: how a window of a model's decisions differs between groups.

The groups come from an attribute of the prediction log's ``context`` (one value per
prediction, read as a text label as categorical inputs are: ``1`` → ``"1"``; a numeric
attribute should be binned before it gets here); a missing value is a group of its own,
``(missing)``. Per group: the number of decisions, the **selection rate** (the share
predicted ``positive``) and, when ground-truth labels are given, the **true and false
positive rates**. Across groups:

- the **disparate-impact ratio**: lowest over highest selection rate (the four-fifths rule
  asks for at least 0.8);
- the **demographic-parity difference**: highest minus lowest selection rate;
- with labels, the **equalized-odds difference**: the larger of the TPR range and the FPR
  range.

All three are computed only between groups with at least ``min_rows`` rows (labelled rows,
for the equalized-odds difference): a rate of a small group is mostly noise, and on a few
rows the ratio swings across the four-fifths line by chance. Smaller groups are reported with
their rates and listed as excluded, and ``reason`` says so. The numbers are fairlearn's
(``MetricFrame`` with ``selection_rate``, ``true_positive_rate``, ``false_positive_rate``;
``demographic_parity_ratio`` / ``_difference``, ``equalized_odds_difference``) on the rows of
the judged groups; the tests pin them. One difference: a group with no positive (or no
negative) label has no TPR (FPR) here — ``None``, left out of its range — where fairlearn
counts it as 0.

A row without a prediction (missing) is dropped and counted; with labels, a row without a
label (ground truth often arrives late, or never) still counts for the selection rate and is
left out of the TPR and FPR. :func:`compare_fairness` turns a window's ratio into an alert
against the ratio approved for the model version.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from steward.drift._multivariate import _labels
from steward.drift._values import kind_of, numeric_array
from steward.errors import InvalidInput

__all__ = [
    "MISSING_GROUP",
    "FairnessVerdict",
    "GroupRate",
    "GroupRates",
    "compare_fairness",
    "group_rates",
]

MISSING_GROUP = "(missing)"
"""The group of the rows whose group value is missing."""

Label = str | int | float | bool
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class GroupRate:
    """One group's decisions. ``count``: rows with a prediction; ``selection_rate``: the
    share of them predicted positive. With labels: ``labelled`` rows had one, ``positives``
    of those were positive; ``tpr`` (``None`` when no labelled row is positive) and ``fpr``
    (``None`` when none is negative); all four ``None`` without labels. ``judged``: the group
    has at least ``min_rows`` rows and takes part in the ratio and the parity difference;
    ``judged_labelled``: at least ``min_rows`` labelled rows, for the equalized-odds
    difference."""

    group: str
    count: int
    selection_rate: float
    judged: bool
    labelled: int | None = None
    positives: int | None = None
    tpr: float | None = None
    fpr: float | None = None
    judged_labelled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GroupRates:
    """A window's decisions per group (sorted by label) and the differences between the
    judged groups. ``rows``: rows given; ``dropped``: those without a prediction, left out
    of everything. ``disparate_impact_ratio`` and ``demographic_parity_difference`` are
    ``None`` with fewer than 2 judged groups (the ratio also when no judged group has a
    positive prediction); ``equalized_odds_difference`` is ``None`` without labels or
    without 2 judged groups that have a TPR or an FPR. ``excluded``: groups with fewer than
    ``min_rows`` rows; ``excluded_labelled``: groups with fewer than ``min_rows`` labelled
    rows (empty without labels). ``reason`` says which groups were left out and why a
    number is missing (``None`` when nothing was)."""

    groups: tuple[GroupRate, ...]
    positive: Label
    min_rows: int
    rows: int
    dropped: int
    with_labels: bool
    disparate_impact_ratio: float | None
    demographic_parity_difference: float | None
    equalized_odds_difference: float | None
    judged: tuple[str, ...]
    excluded: tuple[str, ...]
    excluded_labelled: tuple[str, ...]
    reason: str | None

    def group(self, name: str) -> GroupRate:
        """The rates of group ``name`` (``KeyError`` when the window has no such group)."""
        for rate in self.groups:
            if rate.group == name:
                return rate
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [g.to_dict() for g in self.groups],
            "positive": self.positive,
            "min_rows": self.min_rows,
            "rows": self.rows,
            "dropped": self.dropped,
            "with_labels": self.with_labels,
            "disparate_impact_ratio": self.disparate_impact_ratio,
            "demographic_parity_difference": self.demographic_parity_difference,
            "equalized_odds_difference": self.equalized_odds_difference,
            "judged": list(self.judged),
            "excluded": list(self.excluded),
            "excluded_labelled": list(self.excluded_labelled),
            "reason": self.reason,
        }


def group_rates(
    predictions: Any,
    groups: Any,
    *,
    positive: Label | np.generic,
    labels: Any | None = None,
    min_rows: int = 30,
) -> GroupRates:
    """The rates of a window: ``predictions`` (the model's decisions), ``groups`` (each
    prediction's group) and optionally ``labels`` (the ground truth, missing where not
    known), each a numpy array, list or polars Series of the same length. A decision or
    label is positive when it equals ``positive`` (a number or boolean for numeric and
    boolean values, text for text; a numpy scalar is read as its Python value).

    ``InvalidInput`` (one line) when the lengths differ, ``positive`` is of the other kind
    than the values, a group is literally named ``(missing)`` or ``min_rows`` is below 1.
    Too few rows is a result (``None`` ratios, a ``reason``), not an error."""
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise InvalidInput(f"min_rows must be a whole number of at least 1, not {min_rows!r}")
    positive = _plain(positive)
    hit, predicted = _outcomes("predictions", predictions, positive)
    rows = hit.size
    names = _labels("groups", groups)
    if names.len() != rows:
        raise InvalidInput(f"groups has {names.len()} values, predictions {rows}")
    if (names == MISSING_GROUP).any():
        raise InvalidInput(
            f"a group is named {MISSING_GROUP!r}, the name of missing group values; rename it"
        )
    frame: dict[str, Any] = {"group": names.fill_null(MISSING_GROUP), "hit": hit}
    with_labels = labels is not None
    if labels is not None:
        truth, known = _outcomes("labels", labels, positive)
        if truth.size != rows:
            raise InvalidInput(f"labels has {truth.size} values, predictions {rows}")
        frame["labelled"] = known
        frame["positive"] = truth & known
        frame["tp"] = hit & truth & known
        frame["fp"] = hit & ~truth & known
    table = (
        pl.DataFrame(frame)
        .filter(pl.Series(predicted))
        .group_by("group")
        .agg(pl.len().alias("count"), *(pl.col(c).sum() for c in frame if c != "group"))
        .sort("group")
    )
    rates = [_rate(row, min_rows, with_labels) for row in table.iter_rows(named=True)]
    return _summary(rates, positive, min_rows, rows, rows - int(predicted.sum()), with_labels)


def _rate(row: dict[str, Any], min_rows: int, with_labels: bool) -> GroupRate:
    count = int(row["count"])
    rate = GroupRate(
        group=str(row["group"]),
        count=count,
        selection_rate=int(row["hit"]) / count,
        judged=count >= min_rows,
    )
    if not with_labels:
        return rate
    labelled, positives = int(row["labelled"]), int(row["positive"])
    negatives = labelled - positives
    return replace(
        rate,
        labelled=labelled,
        positives=positives,
        tpr=int(row["tp"]) / positives if positives else None,
        fpr=int(row["fp"]) / negatives if negatives else None,
        judged_labelled=labelled >= min_rows,
    )


def _summary(
    rates: list[GroupRate],
    positive: Label,
    min_rows: int,
    rows: int,
    dropped: int,
    with_labels: bool,
) -> GroupRates:
    judged = [r for r in rates if r.judged]
    excluded = [r for r in rates if not r.judged]
    notes: list[str] = []
    if excluded:
        listed = ", ".join(f"{r.group} ({r.count})" for r in excluded)
        notes.append(f"left out for fewer than min_rows={min_rows} rows: {listed}")
    ratio = difference = None
    if len(judged) >= 2:
        selection = [r.selection_rate for r in judged]
        difference = max(selection) - min(selection)
        if max(selection) > 0:
            ratio = min(selection) / max(selection)
        else:
            notes.append("no judged group has a positive prediction, so no ratio")
    else:
        have = "no group has" if not judged else "only 1 group has"
        notes.append(f"{have} at least min_rows={min_rows} rows; the ratios need 2")
    odds = None
    excluded_labelled: list[str] = []
    if with_labels:
        judged_labelled = [r for r in rates if r.judged_labelled]
        small = [r for r in rates if not r.judged_labelled]
        excluded_labelled = [r.group for r in small]
        if small and [r.group for r in small] != [r.group for r in excluded]:
            listed = ", ".join(f"{r.group} ({r.labelled})" for r in small)
            notes.append(f"left out of equalized odds for fewer than {min_rows} labels: {listed}")
        ranges = [
            max(found) - min(found)
            for found in (
                [r.tpr for r in judged_labelled if r.tpr is not None],
                [r.fpr for r in judged_labelled if r.fpr is not None],
            )
            if len(found) >= 2
        ]
        if ranges:
            odds = max(ranges)
        else:
            notes.append("fewer than 2 groups with enough labels have a TPR or FPR")
    return GroupRates(
        groups=tuple(rates),
        positive=positive,
        min_rows=min_rows,
        rows=rows,
        dropped=dropped,
        with_labels=with_labels,
        disparate_impact_ratio=ratio,
        demographic_parity_difference=difference,
        equalized_odds_difference=odds,
        judged=tuple(r.group for r in judged),
        excluded=tuple(r.group for r in excluded),
        excluded_labelled=tuple(excluded_labelled),
        reason="; ".join(notes) or None,
    )


def _plain(positive: object) -> Label:
    """``positive`` as a plain JSON value (a numpy scalar as its Python value)."""
    if isinstance(positive, np.generic):
        positive = positive.item()
    if isinstance(positive, float) and not math.isfinite(positive):
        raise InvalidInput(f"positive must be a finite number or text, not {positive!r}")
    if not isinstance(positive, str | bool | int | float):
        raise InvalidInput(
            f"positive must be a number, a boolean or text, not {type(positive).__name__}"
        )
    return positive


def _outcomes(name: str, values: Any, positive: Label) -> tuple[Bools, Bools]:
    """``(equals positive, present)`` per value; missing values are neither."""
    kind = kind_of(name, values)
    if kind == "numeric" or kind is None:
        if kind is not None and isinstance(positive, str):
            raise InvalidInput(f"{name} are numbers but positive is text ({positive!r})")
        array = numeric_array(name, values)
        present = ~np.isnan(array)
        target = float("nan") if isinstance(positive, str) else float(positive)
        return np.asarray(array == target), present
    if not isinstance(positive, str):
        raise InvalidInput(f"{name} are text but positive is not ({positive!r})")
    labels = _labels(name, values)
    present = labels.is_not_null().to_numpy()
    return (labels == positive).fill_null(False).to_numpy(), present


@dataclass(frozen=True)
class FairnessVerdict:
    """A window's disparate-impact ratio against the approved one. ``alert``: the ratio is
    below ``min_ratio`` or more than ``tolerance`` below ``approved_ratio``, i.e. below
    ``threshold = max(min_ratio, approved_ratio - tolerance)``. ``not_enough_data``: the
    window has no ratio (fewer than 2 judged groups); no alert then. ``reason``: one
    sentence."""

    status: Literal["ok", "not_enough_data"]
    alert: bool
    ratio: float | None
    approved_ratio: float
    min_ratio: float
    tolerance: float
    threshold: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_fairness(
    current: GroupRates,
    approved_ratio: float,
    *,
    min_ratio: float = 0.8,
    tolerance: float = 0.05,
) -> FairnessVerdict:
    """Judge ``current``'s disparate-impact ratio: alert when it is below ``min_ratio`` (the
    four-fifths rule by default) or below ``approved_ratio - tolerance`` (it fell from what
    was approved). ``InvalidInput`` (one line) for a ratio outside [0, 1] or a negative
    tolerance."""
    approved = _unit(approved_ratio, "approved_ratio")
    least = _unit(min_ratio, "min_ratio")
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float)
        or not math.isfinite(tolerance)
        or tolerance < 0
    ):
        raise InvalidInput(f"tolerance must be a number of at least 0, not {tolerance!r}")
    tolerance = float(tolerance)
    threshold = max(least, approved - tolerance)
    ratio = current.disparate_impact_ratio
    settings = {
        "approved_ratio": approved,
        "min_ratio": least,
        "tolerance": tolerance,
        "threshold": threshold,
    }
    if ratio is None:
        why = current.reason or "no ratio"
        return FairnessVerdict(
            status="not_enough_data",
            alert=False,
            ratio=None,
            reason=f"The disparate impact ratio could not be computed ({why}).",
            **settings,
        )
    judged = [g for g in current.groups if g.judged]
    low = min(judged, key=lambda g: g.selection_rate)
    high = max(judged, key=lambda g: g.selection_rate)
    rates = (
        f"selection rate {low.selection_rate:.3f} for {low.group} against "
        f"{high.selection_rate:.3f} for {high.group}"
    )
    below_min = ratio < least
    fell = ratio < approved - tolerance
    if below_min and fell:
        what = f"below the minimum {least:g} and more than {tolerance:g} below the approved"
        reason = f"{what} {approved:.3f}"
    elif below_min:
        reason = f"below the minimum {least:g}"
    elif fell:
        reason = (
            f"{approved - ratio:.3f} below the approved {approved:.3f}, more than {tolerance:g}"
        )
    else:
        reason = (
            f"at least {threshold:.3f}, the larger of the minimum {least:g} and the approved "
            f"{approved:.3f} less {tolerance:g}"
        )
    return FairnessVerdict(
        status="ok",
        alert=below_min or fell,
        ratio=ratio,
        reason=f"The disparate impact ratio {ratio:.3f} is {reason}: {rates}.",
        **settings,
    )


def _unit(value: object, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise InvalidInput(f"{what} must be a number between 0 and 1, not {value!r}")
    return float(value)
