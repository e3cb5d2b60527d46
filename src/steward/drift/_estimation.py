"""Performance before labels arrive: confidence-based performance estimation (CBPE).

A classifier's scores say how sure it is; once calibrated on data with labels, they say how
often it is right. :meth:`Calibration.fit` learns, on a reference with labels (the version's
evaluation split), a map from raw scores to calibrated probabilities: per class a
one-vs-rest isotonic regression (scikit-learn's ``IsotonicRegression(out_of_bounds="clip")``,
kept as its thresholds so it serialises as plain numbers), then, for several classes, each
row renormalised to sum to 1. A binary model has one map, for column 1 (the positive class);
column 0 is its complement. As NannyML does, a map is only used where it helps
(``calibrate="auto"``): fitted on four fifths of the reference and scored on the fifth left
out, five times, it must give a lower Brier score than the raw scores, or the raw scores
are kept. Isotonic regression's end steps are means of few rows, often exactly 0 or 1, so
applied to an already calibrated model it makes the extremes overconfident, and a window
moved towards them (covariate shift) is then misjudged. ``"always"`` and ``"never"`` force
the choice. :func:`estimate` then takes a window of scores without labels:

- the predicted class of a row is the argmax of its *raw* scores (the model's decision,
  unchanged by calibration); its calibrated probabilities are what the labels are expected
  to be;
- the **expected confusion matrix** is ``C[t, p] = Σ_i P̂(y_i = t) · [ŷ_i = p]``; expected
  accuracy is its trace over n, expected F1 is ``2·TP / (2·TP + FP + FN)`` from it (the
  positive class of a binary model; the macro mean over the classes otherwise);
- **expected ROC AUC**: the rows ranked by raw score and, at each distinct score taken as a
  threshold, the expected true and false positives are the sums of ``P̂(y = positive)`` and
  ``1 − P̂(y = positive)`` above it; the area under that expected ROC curve (closed at
  (0, 0), as scikit-learn's curve is) is the estimate. One-vs-rest macro for several classes.
  Ranking by raw rather than calibrated scores keeps the order the realised AUC uses:
  isotonic steps would otherwise tie rows the model tells apart.

The band around an estimate is sampling error, as NannyML derives it: the calibration keeps
each metric's realised value on consecutive chunks of ``chunk_rows`` reference rows, and a
window of n rows has standard error ``std(chunk values) · √(chunk_rows / n)`` (sample
standard deviation); the band is the estimate ± 3 standard errors, clipped to [0, 1]. ROC
AUC's and F1's errors are scaled by the counts they rest on instead, ``std · √(v(window) /
v(chunk))``: for ROC AUC ``v = Σ_j (1/P_j + 1/N_j)`` over its one-vs-rest columns (P_j,
N_j: rows of class j and of the others), for F1 ``v = Σ_j 1/(P_j + Q_j)`` over its classes
(P_j + Q_j = 2·TP + FP + FN: rows of class j plus rows predicted j), with the window's
expected counts (summed calibrated probabilities) and the chunks' mean ones. An AUC's
variance is set by its smaller side (Hanley and McNeil), an F1's by the rows of its class,
and covariate shift moves the class balance: a window with few positives gets a wider band
than its row count alone says. On a window like the reference all the scalings agree. The
alert thresholds are the chunk values' mean ± 3 standard deviations (also clipped): an
estimate outside them alerts. They are thresholds for windows of about ``chunk_rows`` rows.

The estimate rests on assumptions nothing here can check: see :data:`CAVEATS`. What can be
checked is whether the window's scores stay where the calibration was fitted: ``trust`` is
``"low"`` when more than ``max_out_of_range`` (10 %) of the rows have their predicted
class's raw score outside the range the reference's scores of that class covered, where the
isotonic map is extrapolated (clipped), not fitted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from steward.drift._performance import (
    METRICS,
    Label,
    Metric,
    Prepared,
    Status,
    block_metrics,
    check_classes,
    class_codes,
    metric_names,
    probabilities,
)
from steward.errors import InvalidInput

__all__ = [
    "CAVEATS",
    "IDENTITY",
    "MIN_CHUNKS",
    "Calibration",
    "CalibrationMode",
    "EstimatedMetric",
    "IsotonicMap",
    "PerformanceEstimate",
    "Trust",
    "estimate",
]

F64 = npt.NDArray[np.float64]
Trust = Literal["ok", "low"]

MIN_CHUNKS = 5
"""Reference chunks needed for a standard deviation worth the name."""
_FORMAT = 1
_SPREAD = 3.0
"""Band and thresholds are ± 3 standard errors / deviations, as NannyML's defaults."""

CAVEATS: tuple[str, ...] = (
    "Concept drift: the estimate assumes the relation between inputs and outcome, P(y | x), "
    "is what it was on the reference; when it changes, the estimate can hold steady while "
    "performance falls, and only labels (realised performance) show it.",
    "Unseen regions: the calibration was fitted on the reference's scores; inputs outside "
    "the reference's support give scores it never saw, or scores it saw for other reasons, "
    "and there the expected labels are extrapolated (see trust).",
    "An uncalibrated model: the estimate is only as good as the calibrated probabilities; a "
    "small reference, or a model whose scores carry little information, makes the "
    "calibration noisy and the estimate inherits its error.",
    "The band is sampling error only: it says how far a window of this size may fall from "
    "the expected value by chance, not how wrong the expectation is; the thresholds are "
    "those of windows of chunk_rows rows.",
)
"""When an estimate cannot be trusted: plain sentences, part of every result."""


@dataclass(frozen=True)
class IsotonicMap:
    """A fitted isotonic regression, as its thresholds: a raw score maps to the linear
    interpolation of ``y`` at it over ``x`` (increasing), clipped to the ends — what
    ``IsotonicRegression(out_of_bounds="clip").predict`` computes."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, scores: F64) -> F64:
        return np.asarray(np.interp(scores, np.asarray(self.x), np.asarray(self.y)), np.float64)


IDENTITY = IsotonicMap((0.0, 1.0), (0.0, 1.0))
"""The map that keeps raw scores (``np.interp`` over it returns its input exactly)."""
CalibrationMode = Literal["auto", "always", "never"]
_FOLDS = 5


def _isotonic(scores: F64, outcome: F64) -> IsotonicMap:
    from sklearn.isotonic import IsotonicRegression

    fitted = IsotonicRegression(out_of_bounds="clip").fit(scores, outcome)
    return IsotonicMap(
        x=tuple(float(v) for v in fitted.X_thresholds_),
        y=tuple(float(v) for v in fitted.y_thresholds_),
    )


def _helps(scores: F64, outcome: F64) -> bool:
    """Whether isotonic calibration beats the raw scores on held-out reference rows: the
    Brier score over 5 interleaved folds (row i in fold i mod 5), each calibrated by a map
    fitted on the other four. A proper score, unlike a binned calibration error, which the
    step function isotonic regression fits wins by construction."""
    fold = np.arange(scores.size) % _FOLDS
    mapped = np.empty_like(scores)
    for f in range(_FOLDS):
        held = fold == f
        mapped[held] = _isotonic(scores[~held], outcome[~held])(scores[held])
    return bool(np.mean((mapped - outcome) ** 2) < np.mean((scores - outcome) ** 2))


def _fit_map(scores: F64, outcome: F64, mode: CalibrationMode) -> IsotonicMap:
    if mode == "never" or (mode == "auto" and not _helps(scores, outcome)):
        return IDENTITY
    return _isotonic(scores, outcome)


@dataclass(frozen=True)
class Calibration:
    """What :func:`estimate` needs of the reference: the calibration maps (one for a binary
    model, for column 1; one per class otherwise), per class the range of the reference's raw
    scores (``score_range``: min, max), per metric its realised value on each chunk of
    ``chunk_rows`` consecutive reference rows (``chunks``; a trailing partial chunk is left
    out) and the share of each class in those chunks, true (``class_shares``) and predicted
    (``predicted_shares``).
    ``to_dict``/``from_dict`` round-trip it exactly, as plain JSON data."""

    classes: tuple[Label, ...]
    maps: tuple[IsotonicMap, ...]
    score_range: tuple[tuple[float, float], ...]
    rows: int
    chunk_rows: int
    chunks: Mapping[str, tuple[float, ...]]
    class_shares: tuple[float, ...]
    predicted_shares: tuple[float, ...]

    @classmethod
    def fit(
        cls,
        scores: Any,
        labels: Any,
        classes: Sequence[Any],
        *,
        chunk_rows: int = 500,
        calibrate: CalibrationMode = "auto",
    ) -> Calibration:
        """Fit on a labelled reference: ``scores`` (n × len(classes) predicted
        probabilities, column j for ``classes[j]``), ``labels`` (the true classes). Needs at
        least ``MIN_CHUNKS`` (5) chunks of ``chunk_rows`` rows, each metric defined on at
        least 5 of them; ``InvalidInput`` (one line) otherwise and for bad input.
        ``calibrate``: ``"auto"`` (each map only where it beats the raw scores on held-out
        reference rows), ``"always"`` or ``"never"``."""
        labelled = check_classes(classes)
        k = len(labelled)
        array = probabilities(scores, k)
        true = class_codes(labels, labelled)
        if true.size != array.shape[0]:
            raise InvalidInput(
                f"labels and scores must have one entry per row; got {true.size} labels and "
                f"{array.shape[0]} rows of scores"
            )
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 2:
            raise InvalidInput(
                f"chunk_rows must be a whole number of at least 2, not {chunk_rows!r}"
            )
        rows = int(true.size)
        count = rows // chunk_rows
        if count < MIN_CHUNKS:
            raise InvalidInput(
                f"the reference has {rows} rows; a sampling-error band needs at least "
                f"{MIN_CHUNKS} chunks of chunk_rows={chunk_rows} ({MIN_CHUNKS * chunk_rows} "
                "rows): use a larger reference or a smaller chunk_rows"
            )
        columns = [1] if k == 2 else range(k)
        if calibrate not in ("auto", "always", "never"):
            raise InvalidInput(f"calibrate must be 'auto', 'always' or 'never', not {calibrate!r}")
        maps = tuple(
            _fit_map(array[:, j], (true == j).astype(np.float64), calibrate) for j in columns
        )
        chunked = np.arange(count * chunk_rows, dtype=np.intp).reshape(count, chunk_rows)
        found = block_metrics(Prepared.of(true, array, k), chunked, METRICS)
        chunks: dict[str, tuple[float, ...]] = {}
        for name in METRICS:
            defined = [float(v) for v in found[name] if not math.isnan(v)]
            if len(defined) < MIN_CHUNKS:
                raise InvalidInput(
                    f"{name} is undefined on {count - len(defined)} of {count} reference "
                    f"chunks (a class has no row in them): use a larger chunk_rows"
                )
            chunks[name] = tuple(defined)
        score_range = tuple((float(array[:, j].min()), float(array[:, j].max())) for j in range(k))
        used = count * chunk_rows
        shares = np.bincount(true[:used], minlength=k) / used
        predicted = np.bincount(np.argmax(array[:used], axis=1), minlength=k) / used
        return cls(
            labelled,
            maps,
            score_range,
            rows,
            chunk_rows,
            chunks,
            tuple(float(v) for v in shares),
            tuple(float(v) for v in predicted),
        )

    @property
    def identity(self) -> tuple[bool, ...]:
        """Per map, whether it keeps the raw scores (calibration did not help, or was off)."""
        return tuple(m == IDENTITY for m in self.maps)

    def calibrate(self, scores: F64) -> F64:
        """Calibrated probabilities of checked raw ``scores`` (n × classes). For several
        classes, a row every map sends to 0 keeps its raw scores: nothing better is known."""
        if len(self.classes) == 2:
            positive = self.maps[0](scores[:, 1])
            return np.column_stack([1.0 - positive, positive])
        mapped = np.column_stack([m(scores[:, j]) for j, m in enumerate(self.maps)])
        totals = mapped.sum(axis=1, keepdims=True)
        return np.where(totals > 0, mapped / np.where(totals > 0, totals, 1.0), scores)

    def reference(self, name: str) -> tuple[float, float]:
        """The mean and sample standard deviation of metric ``name`` over the chunks."""
        values = np.asarray(self.chunks[name])
        return float(values.mean()), float(values.std(ddof=1))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "classes": list(self.classes),
            "rows": self.rows,
            "chunk_rows": self.chunk_rows,
            "maps": [{"x": list(m.x), "y": list(m.y)} for m in self.maps],
            "score_range": [list(pair) for pair in self.score_range],
            "chunks": {name: list(values) for name, values in self.chunks.items()},
            "class_shares": list(self.class_shares),
            "predicted_shares": list(self.predicted_shares),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """The calibration ``to_dict`` wrote; ``InvalidInput`` when ``data`` is not one."""
        try:
            return _read(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidInput(
                "not a stored calibration: fields are missing or malformed"
            ) from None


def _numbers(values: Any, what: str) -> tuple[float, ...]:
    found = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in found):
        raise InvalidInput(f"a stored calibration's {what} must be finite numbers")
    return found


def _read(data: Mapping[str, Any]) -> Calibration:
    if data["format"] != _FORMAT:
        raise InvalidInput(f"unknown calibration format {data['format']!r} (expected {_FORMAT})")
    classes = check_classes(data["classes"])
    k = len(classes)
    maps = []
    for stored in data["maps"]:
        x, y = _numbers(stored["x"], "thresholds"), _numbers(stored["y"], "thresholds")
        if not x or len(x) != len(y) or any(b < a for a, b in pairwise(x)):
            raise InvalidInput("a stored calibration's thresholds must be increasing pairs")
        if any(not 0.0 <= v <= 1.0 for v in y):
            raise InvalidInput("a stored calibration's probabilities must be in [0, 1]")
        maps.append(IsotonicMap(x, y))
    if len(maps) != (1 if k == 2 else k):
        raise InvalidInput(f"a stored calibration of {k} classes has {len(maps)} maps")
    score_range = tuple(
        (lo, hi) for lo, hi in (_numbers(pair, "score range") for pair in data["score_range"])
    )
    if len(score_range) != k:
        raise InvalidInput(f"a stored calibration of {k} classes has {len(score_range)} ranges")
    rows, chunk_rows = data["rows"], data["chunk_rows"]
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (rows, chunk_rows)
    ):
        raise InvalidInput("a stored calibration's rows and chunk_rows must be whole numbers")
    chunks: dict[str, tuple[float, ...]] = {
        name: _numbers(data["chunks"][name], "chunk metrics") for name in METRICS
    }
    if any(len(values) < MIN_CHUNKS for values in chunks.values()):
        raise InvalidInput(f"a stored calibration needs at least {MIN_CHUNKS} chunk values")
    shares = _numbers(data["class_shares"], "class shares")
    predicted = _numbers(data["predicted_shares"], "predicted shares")
    if len(shares) != k or any(not 0.0 < v < 1.0 for v in shares):
        raise InvalidInput(f"a stored calibration of {k} classes needs {k} shares in (0, 1)")
    if len(predicted) != k or any(not 0.0 <= v <= 1.0 for v in predicted):
        raise InvalidInput(f"a stored calibration of {k} classes needs {k} predicted shares")
    return Calibration(
        classes, tuple(maps), score_range, rows, chunk_rows, chunks, shares, predicted
    )


@dataclass(frozen=True)
class EstimatedMetric:
    """One metric estimated on a window without labels. ``value``: the expected metric;
    ``lower``/``upper``: value ± 3 standard errors (clipped to [0, 1]); ``standard_error``:
    the reference chunks' standard deviation scaled to the window's rows;
    ``reference_mean``/``reference_std``: of the chunks; ``lower_threshold`` /
    ``upper_threshold``: their mean ± 3 standard deviations; ``alert``: the value is outside
    them. ``value`` is ``None``, with a ``reason``, when the window has too few rows or the
    metric is undefined (no expected positive or negative row for ROC AUC); the band and
    ``standard_error`` are ``None`` with it, or when a count the error scales with is 0."""

    name: Metric
    value: float | None
    lower: float | None
    upper: float | None
    standard_error: float | None
    reference_mean: float
    reference_std: float
    lower_threshold: float
    upper_threshold: float
    alert: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PerformanceEstimate:
    """A window's estimated metrics, in the order asked for. ``status``: ``"ok"`` or
    ``"not_enough_data"`` (fewer than ``min_rows`` rows; ``reason`` says how many, every
    value is ``None``). ``trust``: ``"low"`` when ``out_of_range_share`` (rows whose
    predicted class's raw score lies outside the reference's range for that class) exceeds
    ``max_out_of_range``, ``None`` when nothing was estimated. ``caveats``: when an estimate
    cannot be trusted, whatever ``trust`` says."""

    status: Status
    rows: int
    chunk_rows: int
    metrics: tuple[EstimatedMetric, ...]
    trust: Trust | None
    out_of_range_share: float | None
    max_out_of_range: float
    caveats: tuple[str, ...] = CAVEATS
    reason: str | None = None

    @property
    def alerts(self) -> tuple[str, ...]:
        """Names of the metrics whose estimate is outside the reference thresholds."""
        return tuple(m.name for m in self.metrics if m.alert)

    def metric(self, name: str) -> EstimatedMetric:
        """The result for metric ``name`` (``KeyError`` when it was not estimated)."""
        for result in self.metrics:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "rows": self.rows,
            "chunk_rows": self.chunk_rows,
            "metrics": [m.to_dict() for m in self.metrics],
            "alerts": list(self.alerts),
            "trust": self.trust,
            "out_of_range_share": self.out_of_range_share,
            "max_out_of_range": self.max_out_of_range,
            "caveats": list(self.caveats),
            "reason": self.reason,
        }


def expected_auc(raw: F64, expected: F64) -> float | None:
    """The area under the expected ROC curve of one score column: rows ranked by ``raw``,
    each counting ``expected`` of a positive and ``1 − expected`` of a negative; ties in
    ``raw`` counted half. ``None`` when there is no expected positive or negative."""
    distinct, group = np.unique(raw, return_inverse=True)
    group = group.reshape(-1)
    positive = np.bincount(group, weights=expected, minlength=distinct.size)
    negative = np.bincount(group, weights=1.0 - expected, minlength=distinct.size)
    below = np.cumsum(negative) - negative
    pairs = float(positive.sum()) * float(negative.sum())
    if pairs <= 0.0:
        return None
    return float((positive * (below + 0.5 * negative)).sum() / pairs)


@dataclass(frozen=True)
class _Window:
    """A window's scores as the estimates use them: raw (n × k), calibrated, the predicted
    class of each row and the expected confusion matrix, ``confusion[t, p]``: the expected
    count of rows of true class t predicted as p."""

    raw: F64
    calibrated: F64
    predicted: npt.NDArray[np.intp]
    confusion: F64

    @classmethod
    def of(cls, calibration: Calibration, raw: F64) -> _Window:
        calibrated = calibration.calibrate(raw)
        predicted = np.argmax(raw, axis=1)
        k = raw.shape[1]
        confusion = np.column_stack([calibrated[predicted == p].sum(axis=0) for p in range(k)])
        return cls(raw, calibrated, predicted, confusion)


def _columns(k: int) -> list[int]:
    """The one-vs-rest columns F1 and ROC AUC cover: the positive class's, or every one."""
    return [1] if k == 2 else list(range(k))


def _expected(name: Metric, window: _Window) -> float | None:
    rows, k = window.raw.shape
    if name == "accuracy":
        return float(np.trace(window.confusion) / rows)
    if name == "f1":
        tp = np.diagonal(window.confusion)
        # 2·TP + FP + FN: the class's expected rows plus its predicted rows.
        denominator = window.confusion.sum(axis=1) + window.confusion.sum(axis=0)
        present = denominator > 0
        per_class = np.divide(2.0 * tp, denominator, out=np.zeros(k), where=present)
        if k == 2:
            return float(per_class[1])
        return float(per_class[present].mean()) if present.any() else 0.0
    aucs = [expected_auc(window.raw[:, j], window.calibrated[:, j]) for j in _columns(k)]
    if any(v is None for v in aucs):
        return None
    return float(np.mean([v for v in aucs if v is not None]))


def _standard_error(
    calibration: Calibration, name: Metric, std: float, window: _Window
) -> float | None:
    """The chunks' standard deviation scaled to the window: by rows for accuracy, by the
    (expected) counts F1 and ROC AUC rest on for them; ``None`` when a count is 0 (no
    band can be given)."""
    rows, k = window.raw.shape
    chunk = calibration.chunk_rows
    if name == "accuracy":
        return std * math.sqrt(chunk / rows)
    truth = window.confusion.sum(axis=1)
    if name == "f1":
        decided = np.bincount(window.predicted, minlength=k)
        pairs = [
            (
                float(truth[j] + decided[j]),
                (calibration.class_shares[j] + calibration.predicted_shares[j]) * chunk,
            )
            for j in _columns(k)
        ]
        pairs = [(w, r) for w, r in pairs if w > 0.0 and r > 0.0]
        if not pairs:
            return None
        window_v = sum(1.0 / w for w, _ in pairs)
        reference_v = sum(1.0 / r for _, r in pairs)
        return std * math.sqrt(window_v / reference_v)
    window_v = reference_v = 0.0
    for j in _columns(k):
        positive, negative = float(truth[j]), rows - float(truth[j])
        if positive <= 0.0 or negative <= 0.0:
            return None
        share = calibration.class_shares[j]
        window_v += 1.0 / positive + 1.0 / negative
        reference_v += 1.0 / (share * chunk) + 1.0 / ((1.0 - share) * chunk)
    return std * math.sqrt(window_v / reference_v)


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def estimate(
    calibration: Calibration,
    scores: Any,
    *,
    metrics: Iterable[str] = METRICS,
    min_rows: int = 30,
    max_out_of_range: float = 0.1,
) -> PerformanceEstimate:
    """Estimate ``metrics`` on a window of ``scores`` (n × classes predicted probabilities,
    as at :meth:`Calibration.fit`) without labels. Fewer than ``min_rows`` rows is a result
    (``not_enough_data``); ``InvalidInput`` (one line) for scores that are not
    probabilities of the calibration's classes, an unknown metric or a setting out of
    range."""
    names = metric_names(metrics)
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise InvalidInput(f"min_rows must be a whole number of at least 1, not {min_rows!r}")
    if (
        isinstance(max_out_of_range, bool)
        or not isinstance(max_out_of_range, int | float)
        or not 0.0 <= max_out_of_range <= 1.0
    ):
        raise InvalidInput(f"max_out_of_range must be between 0 and 1, not {max_out_of_range!r}")
    raw = probabilities(scores, len(calibration.classes))
    rows = int(raw.shape[0])
    window = _Window.of(calibration, raw) if rows >= min_rows else None
    reason = None
    if window is None:
        reason = f"{rows} row{'' if rows == 1 else 's'}, fewer than min_rows={min_rows}"
    found = []
    for name in names:
        mean, std = calibration.reference(name)
        low, high = _clip(mean - _SPREAD * std), _clip(mean + _SPREAD * std)
        value = error = None
        why = reason
        if window is not None:
            value = _expected(name, window)
            if value is None:
                why = f"{name} is undefined: the window has no expected row of some class"
            else:
                error = _standard_error(calibration, name, std, window)
        found.append(
            EstimatedMetric(
                name=name,
                value=value,
                lower=None if value is None or error is None else _clip(value - _SPREAD * error),
                upper=None if value is None or error is None else _clip(value + _SPREAD * error),
                standard_error=error,
                reference_mean=mean,
                reference_std=std,
                lower_threshold=low,
                upper_threshold=high,
                alert=value is not None and not low <= value <= high,
                reason=why,
            )
        )
    share = _out_of_range(calibration, raw) if window is not None else None
    return PerformanceEstimate(
        status="ok" if window is not None else "not_enough_data",
        rows=rows,
        chunk_rows=calibration.chunk_rows,
        metrics=tuple(found),
        trust=None if share is None else ("low" if share > max_out_of_range else "ok"),
        out_of_range_share=share,
        max_out_of_range=float(max_out_of_range),
        reason=reason,
    )


def _out_of_range(calibration: Calibration, raw: F64) -> float:
    """The share of rows whose predicted class's raw score is outside the range the
    reference's scores of that class covered."""
    predicted = np.argmax(raw, axis=1)
    score = raw[np.arange(raw.shape[0]), predicted]
    bounds = np.asarray(calibration.score_range)
    outside = (score < bounds[predicted, 0]) | (score > bounds[predicted, 1])
    return float(outside.mean())
