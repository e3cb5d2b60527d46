"""Performance once labels arrive: a window's accuracy, F1 and ROC AUC with bootstrap
intervals, and a champion-versus-challenger difference on the same rows.

Each value equals scikit-learn's on the same rows, and is computed by it: ``accuracy_score``;
``f1_score`` of the positive class ``classes[1]`` for a binary model, macro over the classes
found in the labels or the predictions otherwise (scikit-learn's default set); and
``roc_auc_score`` on column 1, or one-vs-rest macro for several classes. Column ``j`` of the
scores is ``classes[j]``; the predicted class is the column of the largest score (the first
on ties): the model's decision. Labels are coded by class index before anything is computed,
so classes given in any order and of any label type mean what ``classes`` says.

Intervals are percentile bootstraps: ``n_boot`` resamples of the rows with replacement, drawn
from ``numpy.random.default_rng(seed)``, the same resamples for every metric (and, in
:func:`paired_difference`, for both models). They are vectorised over blocks of resamples:
one index draw per block, then confusion counts per resample (accuracy, F1) and, per score
column, counts of positive and negative rows at each distinct score (ROC AUC as the
Mann–Whitney sum, ties counted half, which is the area under scikit-learn's ROC curve) from
``np.bincount``. A resample in which ROC AUC is undefined (a class absent from it) is
skipped and counted in ``skipped``. A window with fewer than ``min_rows`` rows is a result,
``not_enough_data``, not an error; bad input is refused with a one-line ``InvalidInput``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from steward.errors import InvalidInput

__all__ = [
    "METRICS",
    "Label",
    "Metric",
    "PairedDifference",
    "RealisedMetric",
    "RealisedPerformance",
    "Status",
    "paired_difference",
    "realised",
]

F64 = npt.NDArray[np.float64]
Codes = npt.NDArray[np.intp]
Label = str | int | float
"""A class label as it appears in results: a plain Python value (numpy scalars converted)."""
Metric = Literal["accuracy", "f1", "roc_auc"]
METRICS: tuple[Metric, ...] = ("accuracy", "f1", "roc_auc")
Status = Literal["ok", "not_enough_data"]

SUM_TOLERANCE = 1e-5
"""How far a row of probabilities may sum from 1: within what ``roc_auc_score`` accepts."""
_BLOCK_ROWS = 1 << 20
"""Resampled rows per block (resamples × window rows): the block's arrays stay near 10 MB."""


# -- input ---------------------------------------------------------------------------------


def check_classes(classes: Iterable[Any]) -> tuple[Label, ...]:
    """``classes`` as distinct plain labels (text or finite numbers), at least two."""
    if isinstance(classes, str | bytes):
        raise InvalidInput(f"classes must be a sequence of labels, not the text {classes!r}")
    try:
        values = [c.item() if isinstance(c, np.generic) else c for c in classes]
    except TypeError:
        raise InvalidInput(
            f"classes must be a sequence of labels, not {type(classes).__name__}"
        ) from None
    for value in values:
        if not isinstance(value, str | int | float):
            raise InvalidInput(f"a class label must be text or a number, not {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(f"a class label must be finite, not {value!r}")
    if len(values) < 2:
        raise InvalidInput(f"a classifier needs at least 2 classes, not {len(values)}")
    if len(set(values)) != len(values):
        raise InvalidInput(f"classes must be distinct, not {values!r}")
    return tuple(values)


def class_codes(labels: Any, classes: Sequence[Label]) -> Codes:
    """Each label's index in ``classes``; ``InvalidInput`` for a label not among them."""
    array = np.asarray(labels)
    if array.ndim != 1:
        raise InvalidInput(f"labels must be one value per row, not an array of shape {array.shape}")
    try:
        found, inverse = np.unique(array, return_inverse=True)
    except TypeError:
        raise InvalidInput("labels must all be of one kind (text or numbers)") from None
    index = {value: i for i, value in enumerate(classes)}
    mapping = np.empty(found.size, dtype=np.intp)
    for j, value in enumerate(found.tolist()):
        code = index.get(value) if isinstance(value, str | int | float) else None
        if code is None:
            raise InvalidInput(f"label {value!r} is not among the classes {list(classes)!r}")
        mapping[j] = code
    return mapping[inverse.reshape(-1)]


def probabilities(scores: Any, classes: int, what: str = "scores") -> F64:
    """``scores`` as an (n, ``classes``) float64 array of probabilities: finite, in [0, 1],
    each row summing to 1 within ``SUM_TOLERANCE``."""
    try:
        array = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be an array of numbers (one row per prediction)") from None
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, classes)
    if array.ndim != 2:
        raise InvalidInput(
            f"{what} must have one row per prediction and one column per class, "
            f"not shape {array.shape}"
        )
    if array.shape[1] != classes:
        raise InvalidInput(
            f"{what} must have one column per class ({classes}), not {array.shape[1]}"
        )
    outside = ~((array >= 0.0) & (array <= 1.0))  # NaN fails both comparisons
    if outside.any():
        row, column = (int(i) for i in np.argwhere(outside)[0])
        raise InvalidInput(
            f"{what} must be probabilities in [0, 1]; row {row} has {array[row, column]!r} "
            f"in column {column}"
        )
    sums = array.sum(axis=1)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    if off.any():
        row = int(np.argmax(off))
        raise InvalidInput(
            f"{what} must be probabilities: each row must sum to 1, row {row} sums to "
            f"{float(sums[row])!r}"
        )
    return array


def metric_names(metrics: Iterable[str]) -> tuple[Metric, ...]:
    """``metrics`` checked: known names, at least one, none twice."""
    if isinstance(metrics, str):
        raise InvalidInput(f"metrics must be a sequence of names, not the text {metrics!r}")
    names = tuple(metrics)
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise InvalidInput(f"unknown metric {unknown[0]!r} (expected some of {', '.join(METRICS)})")
    if not names or len(set(names)) != len(names):
        raise InvalidInput(f"metrics must name at least one metric, each once, not {names!r}")
    return cast(tuple[Metric, ...], names)


def _whole(value: object, what: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
        raise InvalidInput(f"{what} must be a whole number of at least {least}, not {value!r}")
    return int(value)


def _confidence(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
        raise InvalidInput(f"confidence must be between 0 and 1 (exclusive), not {value!r}")
    return float(value)


# -- metrics on blocks of resamples ----------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """One model's window, ready for the vectorised metrics: true and predicted class codes,
    and per ROC AUC column (column 1 for a binary model, every column otherwise) the group
    of each row's score among the column's distinct scores, ascending."""

    true: Codes
    predicted: Codes
    classes: int
    groups: tuple[tuple[Codes, int], ...]

    @classmethod
    def of(cls, true: Codes, scores: F64, classes: int) -> Prepared:
        columns = [1] if classes == 2 else range(classes)
        groups = []
        for j in columns:
            distinct, group = np.unique(scores[:, j], return_inverse=True)
            groups.append((cast(Codes, group.reshape(-1)), int(distinct.size)))
        predicted = cast(Codes, np.argmax(scores, axis=1).astype(np.intp))
        return cls(true=true, predicted=predicted, classes=classes, groups=tuple(groups))


def _confusion(data: Prepared, rows: Codes) -> npt.NDArray[np.int64]:
    """Per resample (a row of ``rows``) the confusion counts, [resample, true, predicted]."""
    k = data.classes
    cell = data.true * k + data.predicted
    flat = cell[rows] + (np.arange(rows.shape[0]) * (k * k))[:, None]
    counts = np.bincount(flat.ravel(), minlength=rows.shape[0] * k * k)
    return counts.reshape(rows.shape[0], k, k)


def _f1(confusion: npt.NDArray[np.int64]) -> F64:
    tp = np.diagonal(confusion, axis1=1, axis2=2)
    fp = confusion.sum(axis=1) - tp
    fn = confusion.sum(axis=2) - tp
    denominator = 2 * tp + fp + fn
    # A class with no true and no predicted row is outside scikit-learn's label set; a
    # binary model's positive class then scores 0 (its zero_division).
    per_class = np.divide(
        2 * tp, denominator, out=np.zeros(tp.shape, dtype=np.float64), where=denominator > 0
    )
    if confusion.shape[1] == 2:
        return cast(F64, per_class[:, 1])
    return cast(F64, per_class.sum(axis=1) / (denominator > 0).sum(axis=1))


def _auc(group: Codes, groups: int, positive: npt.NDArray[np.bool_], rows: Codes) -> F64:
    """Per resample, the ROC AUC of one score column (NaN when a side is empty): the
    Mann–Whitney count of positive-above-negative pairs, ties counted half, over the pairs."""
    blocks = rows.shape[0]
    flat = group[rows] + (np.arange(blocks) * groups)[:, None]
    size = blocks * groups
    total = np.bincount(flat.ravel(), minlength=size).reshape(blocks, groups)
    pos = np.bincount(flat[positive[rows]], minlength=size).reshape(blocks, groups)
    neg = total - pos
    below = np.cumsum(neg, axis=1) - neg
    # Twice the count, in integers: exact, then one division.
    twice = (pos * (2 * below + neg)).sum(axis=1)
    pairs = 2 * pos.sum(axis=1) * neg.sum(axis=1)
    return cast(
        F64,
        np.divide(twice, pairs, out=np.full(blocks, np.nan, dtype=np.float64), where=pairs > 0),
    )


def block_metrics(data: Prepared, rows: Codes, names: Sequence[Metric]) -> dict[str, F64]:
    """Each metric of ``names`` per resample; NaN where it is undefined."""
    found: dict[str, F64] = {}
    if "accuracy" in names or "f1" in names:
        confusion = _confusion(data, rows)
        if "accuracy" in names:
            correct = np.trace(confusion, axis1=1, axis2=2)
            found["accuracy"] = correct / rows.shape[1]
        if "f1" in names:
            found["f1"] = _f1(confusion)
    if "roc_auc" in names:
        columns = [1] if data.classes == 2 else range(data.classes)
        aucs = [
            _auc(group, groups, data.true == j, rows)
            for j, (group, groups) in zip(columns, data.groups, strict=True)
        ]
        # The mean is NaN when any class's AUC is: macro one-vs-rest needs every class.
        found["roc_auc"] = cast(F64, np.mean(aucs, axis=0))
    return found


def _resamples(rows: int, n_boot: int, seed: int) -> Iterator[Codes]:
    """``n_boot`` resamples of ``rows`` row indices, in blocks (one array per block)."""
    rng = np.random.default_rng(seed)
    per_block = max(1, _BLOCK_ROWS // rows)
    for start in range(0, n_boot, per_block):
        count = min(per_block, n_boot - start)
        yield rng.integers(0, rows, size=(count, rows), dtype=np.intp)


def sklearn_value(name: Metric, true: Codes, scores: F64, classes: int) -> float | None:
    """``name`` as scikit-learn computes it on coded rows; ``None`` for ROC AUC when a class
    has no row (it is undefined there)."""
    from sklearn import metrics

    predicted = np.argmax(scores, axis=1)
    if name == "accuracy":
        return float(metrics.accuracy_score(true, predicted))
    if name == "f1":
        if classes == 2:
            return float(metrics.f1_score(true, predicted, pos_label=1, zero_division=0.0))
        return float(metrics.f1_score(true, predicted, average="macro", zero_division=0.0))
    if np.bincount(true, minlength=classes).min() == 0:
        return None
    if classes == 2:
        return float(metrics.roc_auc_score(true, scores[:, 1]))
    return float(
        metrics.roc_auc_score(true, scores, multi_class="ovr", labels=list(range(classes)))
    )


def _interval(values: F64, confidence: float) -> tuple[float | None, float | None]:
    if values.size == 0:
        return None, None
    tail = (1.0 - confidence) / 2.0 * 100.0
    lower, upper = np.percentile(values, [tail, 100.0 - tail])
    return float(lower), float(upper)


def _undefined(name: Metric) -> str:
    return f"{name} is undefined on this window: a class has no row"


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RealisedMetric:
    """One metric on a labelled window. ``value`` equals scikit-learn's on the window's
    rows; ``lower``/``upper``: the percentile bootstrap interval at the result's confidence,
    from the ``resamples`` resamples in which the metric was defined (``skipped``: those in
    which it was not). ``value`` is ``None``, with a ``reason``, when the metric is undefined
    on the window itself (ROC AUC with a class absent) or the window has too few rows."""

    name: Metric
    value: float | None
    lower: float | None
    upper: float | None
    resamples: int
    skipped: int
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RealisedPerformance:
    """A labelled window's metrics, in the order asked for. ``status`` is ``"ok"`` or
    ``"not_enough_data"`` (fewer than ``min_rows`` rows: every value ``None``, ``reason``
    says how many rows there were)."""

    status: Status
    rows: int
    classes: tuple[Label, ...]
    metrics: tuple[RealisedMetric, ...]
    confidence: float
    n_boot: int
    seed: int
    min_rows: int
    reason: str | None = None

    def metric(self, name: str) -> RealisedMetric:
        """The result for metric ``name`` (``KeyError`` when it was not computed)."""
        for result in self.metrics:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "rows": self.rows,
            "classes": list(self.classes),
            "metrics": [m.to_dict() for m in self.metrics],
            "confidence": self.confidence,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "min_rows": self.min_rows,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class PairedDifference:
    """Challenger (b) minus champion (a) on one metric, on the same labelled rows.

    ``champion``/``challenger``: each model's value (scikit-learn's); ``value``: their
    difference b − a; ``lower``/``upper``: its paired percentile bootstrap interval (each
    resample scores both models on the same rows, so what the two share cancels);
    ``better_share``: the share of resamples in which b scored strictly higher. Resamples in
    which the metric is undefined are ``skipped``. ``"not_enough_data"``: fewer than
    ``min_rows`` rows, or the metric undefined on the window (``reason`` says which)."""

    metric: Metric
    status: Status
    rows: int
    champion: float | None
    challenger: float | None
    value: float | None
    lower: float | None
    upper: float | None
    better_share: float | None
    resamples: int
    skipped: int
    confidence: float
    n_boot: int
    seed: int
    min_rows: int
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _too_few(rows: int, min_rows: int) -> str:
    plural = "" if rows == 1 else "s"
    return f"{rows} labelled row{plural}, fewer than min_rows={min_rows}"


def realised(
    labels: Any,
    scores: Any,
    classes: Sequence[Any],
    *,
    metrics: Iterable[str] = METRICS,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_rows: int = 30,
) -> RealisedPerformance:
    """The metrics of a labelled window: ``labels`` (one true class per row), ``scores``
    (n × len(classes) predicted probabilities; column j is ``classes[j]``, column 1 the
    positive class of a binary model). ``InvalidInput`` (one line) for mismatched lengths,
    scores that are not probabilities, a wrong number of columns, a label not among
    ``classes``, an unknown metric or a setting out of range."""
    names = metric_names(metrics)
    n_boot = _whole(n_boot, "n_boot", 1)
    seed = _whole(seed, "seed", 0)
    confidence = _confidence(confidence)
    min_rows = _whole(min_rows, "min_rows", 1)
    labelled = check_classes(classes)
    true, array = _window(labels, scores, labelled)
    rows = int(true.size)

    def result(
        status: Status, found: Iterable[RealisedMetric], reason: str | None = None
    ) -> RealisedPerformance:
        return RealisedPerformance(
            status=status,
            rows=rows,
            classes=labelled,
            metrics=tuple(found),
            confidence=confidence,
            n_boot=n_boot,
            seed=seed,
            min_rows=min_rows,
            reason=reason,
        )

    if rows < min_rows:
        reason = _too_few(rows, min_rows)
        return result(
            "not_enough_data",
            (RealisedMetric(n, None, None, None, 0, 0, reason) for n in names),
            reason,
        )
    k = len(labelled)
    data = Prepared.of(true, array, k)
    samples: dict[str, list[F64]] = {name: [] for name in names}
    for block in _resamples(rows, n_boot, seed):
        for name, values in block_metrics(data, block, names).items():
            samples[name].append(values)
    found = []
    for name in names:
        drawn = np.concatenate(samples[name])
        defined = drawn[~np.isnan(drawn)]
        value = sklearn_value(name, true, array, k)
        lower, upper = _interval(defined, confidence) if value is not None else (None, None)
        found.append(
            RealisedMetric(
                name=name,
                value=value,
                lower=lower,
                upper=upper,
                resamples=int(defined.size),
                skipped=int(drawn.size - defined.size),
                reason=None if value is not None else _undefined(name),
            )
        )
    return result("ok", found)


def _window(labels: Any, scores: Any, classes: tuple[Label, ...]) -> tuple[Codes, F64]:
    array = probabilities(scores, len(classes))
    true = class_codes(labels, classes)
    if true.size != array.shape[0]:
        raise InvalidInput(
            f"labels and scores must have one entry per row; got {true.size} labels and "
            f"{array.shape[0]} rows of scores"
        )
    return true, array


def paired_difference(
    labels: Any,
    scores_a: Any,
    scores_b: Any,
    classes: Sequence[Any],
    *,
    metric: str = "roc_auc",
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_rows: int = 30,
) -> PairedDifference:
    """Champion ``scores_a`` versus challenger ``scores_b`` on the same labelled rows: the
    difference b − a in ``metric`` with its paired bootstrap interval and the share of
    resamples in which b is better. Inputs as for :func:`realised`; both score arrays must
    cover the same rows."""
    (name,) = metric_names([metric])
    n_boot = _whole(n_boot, "n_boot", 1)
    seed = _whole(seed, "seed", 0)
    confidence = _confidence(confidence)
    min_rows = _whole(min_rows, "min_rows", 1)
    labelled = check_classes(classes)
    true, a = _window(labels, scores_a, labelled)
    b = probabilities(scores_b, len(labelled), "scores_b")
    if b.shape[0] != a.shape[0]:
        raise InvalidInput(
            f"both models must be scored on the same rows; got {a.shape[0]} and {b.shape[0]}"
        )
    rows = int(true.size)
    k = len(labelled)
    enough = rows >= min_rows
    champion = sklearn_value(name, true, a, k) if enough else None
    challenger = sklearn_value(name, true, b, k) if enough else None
    value = lower = upper = better = None
    resamples = skipped = 0
    reason: str | None = _too_few(rows, min_rows) if not enough else _undefined(name)
    if champion is not None and challenger is not None:
        first, second = Prepared.of(true, a, k), Prepared.of(true, b, k)
        drawn = [
            block_metrics(second, block, [name])[name] - block_metrics(first, block, [name])[name]
            for block in _resamples(rows, n_boot, seed)
        ]
        differences = np.concatenate(drawn)
        defined = differences[~np.isnan(differences)]
        value = challenger - champion
        lower, upper = _interval(defined, confidence)
        better = float(np.mean(defined > 0.0)) if defined.size else None
        resamples, skipped = int(defined.size), int(differences.size - defined.size)
        reason = None
    return PairedDifference(
        metric=name,
        status="ok" if reason is None else "not_enough_data",
        rows=rows,
        champion=champion,
        challenger=challenger,
        value=value,
        lower=lower,
        upper=upper,
        better_share=better,
        resamples=resamples,
        skipped=skipped,
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        min_rows=min_rows,
        reason=reason,
    )
