"""The verdict: which inputs of a current batch drifted from the reference profile.

An input drifts when two things hold at once:

1. its test rejects "same distribution" for the whole family of inputs — the p-value after
   multiple-testing control across the tested inputs (Holm by default) is below ``alpha``;
2. the difference is large enough to matter — the effect size (normalised W1 for a numeric
   input, Jensen–Shannon distance for a categorical one) is at least its threshold.

The first alone flags trivial shifts in large batches (at a million rows, KS rejects a
shift of a hundredth of a standard deviation); the second alone flags noise in small ones.
An input with fewer than ``min_rows`` usable current values is reported as
``not_enough_data``, never tested and never passed.

Columns are compared on a thread pool: the work is sorting and searching in numpy, which
release the GIL. Each thread holds one column's sorted current values (plus a window of
the merge) at a time, so the extra memory is about one column per thread.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, cast

import numpy as np

from steward.drift._categorical import CategoricalStatistics, categorical_statistics
from steward.drift._correction import CORRECTIONS, Correction, adjust_p_values
from steward.drift._numeric import (
    EXACT_UP_TO,
    NumericStatistics,
    numeric_statistics,
    sketch_statistics,
)
from steward.drift._profile import (
    CategoricalReference,
    NumericReference,
    Reference,
    ReferenceProfile,
    map_columns,
)
from steward.drift._report import ColumnDrift, DriftReport, DriftSettings, Method
from steward.drift._values import Columns, category_counts, column_map, numeric_array
from steward.errors import InvalidInput

__all__ = ["detect"]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _numeric_base(
    name: str, reference: NumericReference, rows: int, missing: int, used: int
) -> ColumnDrift:
    """A numeric input's result before its statistics: counts and shares."""
    return ColumnDrift(
        name=name,
        kind="numeric",
        status="ok",
        test="ks_2samp",
        effect="wasserstein_normalised",
        rows=rows,
        used=used,
        missing_reference=reference.missing / reference.rows,
        missing_current=_share(missing, rows),
        non_finite_reference=reference.non_finite / reference.rows,
        non_finite_current=_share(rows - missing - used, rows),
    )


def _numeric_found(base: ColumnDrift, found: NumericStatistics) -> ColumnDrift:
    return replace(
        base,
        statistic=found.ks_statistic,
        p_value=found.ks_pvalue,
        p_value_method=found.method,
        effect_size=found.wasserstein_normalised,
        wasserstein=found.wasserstein,
        psi=found.psi,
    )


def _numeric(
    name: str, reference: NumericReference, values: Any, min_rows: int, method: Method = "exact"
) -> ColumnDrift:
    array = numeric_array(name, values)
    missing = int(np.count_nonzero(np.isnan(array)))
    finite = np.isfinite(array)
    used = int(np.count_nonzero(finite))
    base = _numeric_base(name, reference, int(array.size), missing, used)
    if used < min_rows:
        return _not_enough(base, used, min_rows, "finite")
    current = array[finite] if used < array.size else array.copy()
    del finite
    current.sort()
    if method == "sketch" and min(current.size, reference.values.size) > EXACT_UP_TO:
        found, bounds = sketch_statistics(reference.values, current, scale=reference.std)
        return replace(
            _numeric_found(base, found),
            p_value_method="sketch",
            statistic_upper=bounds.statistic_upper,
            wasserstein_error=bounds.wasserstein_error,
        )
    return _numeric_found(base, numeric_statistics(reference.values, current, scale=reference.std))


def _categorical_base(
    name: str, reference: CategoricalReference, rows: int, missing: int
) -> ColumnDrift:
    """A categorical input's result before its statistics: counts and shares."""
    return ColumnDrift(
        name=name,
        kind="categorical",
        status="ok",
        test="chi2_contingency",
        effect="jensen_shannon",
        rows=rows,
        used=rows - missing,
        missing_reference=reference.missing / reference.rows,
        missing_current=_share(missing, rows),
        non_finite_reference=0.0,
        non_finite_current=None if rows == 0 else 0.0,
    )


def _categorical_found(base: ColumnDrift, found: CategoricalStatistics) -> ColumnDrift:
    return replace(
        base,
        statistic=found.chi2_statistic,
        p_value=found.chi2_pvalue,
        p_value_method="chi2",
        effect_size=found.jensen_shannon,
        psi=found.psi,
        unseen_share=found.unseen_share,
    )


def _categorical(
    name: str, reference: CategoricalReference, values: Any, min_rows: int
) -> ColumnDrift:
    counts, missing, rows = category_counts(name, values)
    base = _categorical_base(name, reference, rows, missing)
    if base.used < min_rows:
        return _not_enough(base, base.used, min_rows, "non-missing")
    return _categorical_found(base, categorical_statistics(reference.counts, counts))


def _not_enough(base: ColumnDrift, used: int, min_rows: int, what: str) -> ColumnDrift:
    plural = "s" if used != 1 else ""
    reason = f"{used} {what} current value{plural}, fewer than min_rows={min_rows}"
    return replace(base, status="not_enough_data", reason=reason)


def _compare(
    name: str, reference: Reference, values: Any, min_rows: int, method: Method = "exact"
) -> ColumnDrift:
    if isinstance(reference, NumericReference):
        return _numeric(name, reference, values, min_rows, method)
    return _categorical(name, reference, values, min_rows)


def _settings(
    alpha: float,
    correction: str,
    numeric_threshold: float,
    categorical_threshold: float,
    min_rows: int,
    method: str = "exact",
) -> DriftSettings:
    def number(value: object, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{what} must be a number, not {value!r}")
        if not math.isfinite(value):
            raise InvalidInput(f"{what} must be finite, not {value!r}")
        return float(value)

    alpha = number(alpha, "alpha")
    if not 0.0 < alpha < 1.0:
        raise InvalidInput(f"alpha must be between 0 and 1 (exclusive), not {alpha!r}")
    if correction not in CORRECTIONS:
        raise InvalidInput(
            f"unknown correction {correction!r} (expected one of {', '.join(CORRECTIONS)})"
        )
    thresholds = [
        number(numeric_threshold, "numeric_threshold"),
        number(categorical_threshold, "categorical_threshold"),
    ]
    if min(thresholds) < 0:
        raise InvalidInput("effect-size thresholds must be at least 0")
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise InvalidInput(f"min_rows must be a whole number of at least 1, not {min_rows!r}")
    if method not in ("exact", "sketch"):
        raise InvalidInput(f"unknown method {method!r} (expected 'exact' or 'sketch')")
    return DriftSettings(
        alpha=alpha,
        correction=correction,
        numeric_threshold=thresholds[0],
        categorical_threshold=thresholds[1],
        min_rows=min_rows,
        method=cast(Method, method),
    )


def detect(
    profile: ReferenceProfile,
    current: Columns,
    *,
    alpha: float = 0.05,
    correction: Correction = "holm",
    numeric_threshold: float = 0.1,
    categorical_threshold: float = 0.1,
    min_rows: int = 30,
    workers: int | None = None,
    method: Method = "exact",
) -> DriftReport:
    """Compare ``current`` (column name → values, or a polars DataFrame) with ``profile``.

    ``method``: ``"exact"`` (every statistic equal to scipy's) or ``"sketch"`` (a numeric
    input of more than 10,000 values on each side is compared at 10,000 reference quantiles:
    about an order of magnitude faster, its KS statistic and W1 reported with the bounds
    the exact values lie within, PSI and categorical statistics still exact).

    ``correction``: ``"holm"``, ``"bh"`` or ``"none"`` (multiple-testing control across the
    tested inputs); ``workers``: threads over columns (default: one per usable core).
    ``current`` must have exactly the profile's columns; each is read as the kind the
    profile recorded. ``InvalidInput`` (one line) for a missing or extra column, a value of
    the wrong kind or a setting out of range; too few usable values is a result
    (``not_enough_data``), not an error."""
    settings = _settings(
        alpha, correction, numeric_threshold, categorical_threshold, min_rows, method
    )
    batch = _current_columns(profile, current, "the current batch")

    def one(name: str) -> ColumnDrift:
        return _compare(
            name, profile.columns[name], batch[name], settings.min_rows, settings.method
        )

    return _decide(map_columns(one, list(profile.columns), workers), settings)


def _current_columns(profile: ReferenceProfile, current: Columns, what: str) -> dict[str, Any]:
    """``current`` as ``{name: values}``; ``InvalidInput`` unless it has exactly the profile's
    columns."""
    batch = column_map(current, what)
    missing = [name for name in profile.columns if name not in batch]
    extra = [name for name in batch if name not in profile.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks {', '.join(map(repr, missing))}")
        if extra:
            parts.append(f"has {', '.join(map(repr, extra))} not in the reference profile")
        raise InvalidInput(f"{what} {' and '.join(parts)}")
    return batch


def _decide(found: list[ColumnDrift], settings: DriftSettings) -> DriftReport:
    """The report of the inputs' results (profile order): the tested ones' p-values adjusted
    together, and each one's verdict."""
    found = list(found)
    tested = [i for i, result in enumerate(found) if result.status == "ok"]
    adjusted = adjust_p_values([found[i].p_value or 0.0 for i in tested], settings.correction)
    for i, value in zip(tested, adjusted.tolist(), strict=True):
        result = found[i]
        threshold = (
            settings.numeric_threshold
            if result.kind == "numeric"
            else settings.categorical_threshold
        )
        effect = result.effect_size if result.effect_size is not None else 0.0
        found[i] = replace(
            result,
            adjusted_p_value=value,
            drifted=bool(value < settings.alpha and effect >= threshold),
        )
    return DriftReport(columns=tuple(found), settings=settings)
