"""Drift over a window too large to hold: :func:`detect`'s report, computed batch by batch.

:func:`detect_stream` gives the report :func:`detect` gives on the concatenation of the
batches — every statistic, to floating-point rounding (D, its p-value, PSI and the counts
exactly; W1 and the categorical statistics to the order of a sum) — while it holds only the
reference, a fixed set of counts per input and one batch.

Why counts are enough. Let ``u₀ < … < u_{K-1}`` be a numeric reference's distinct values.
Each current value either equals some ``uᵢ`` (a *tie*) or lies in one of the ``K + 1`` open
*gaps* between them; a batch is placed with one ``searchsorted`` and counted into ``2K + 1``
slots (gap 0, tie 0, gap 1, …, gap K). On a gap the reference's CDF is constant and the
current CDF only rises, so:

- **KS**: ``ks_2samp`` reads ``F_ref − F_cur`` at every sample value. On a gap it moves
  monotonically, so its extremes are at the gap's last current value and at the reference
  value before the gap; both are ratios of counts, computed with the same operations as
  scipy's, so D is bit for bit the same. The p-value needs only D, n and m.
- **PSI**: the bin edges are reference values, so the current counts at or below them are
  running sums of the slots.
- **W1** ``= ∫ |F_ref − F_cur|``: on a gap where ``F_cur`` stays on one side of the constant
  ``F_ref`` the integral follows from the gap's count and the sum of its values' distances
  to the gap's upper end (kept per gap, a second array of ``K + 1``). Where ``F_cur``
  crosses ``F_ref`` inside a gap the crossing point is an order statistic of that gap's
  values, which no fixed summary holds; those gaps are known only once the whole window is
  counted, so a **second pass** over the batches gathers their values alone and integrates
  them exactly. Hence ``batches`` is a function called once per pass.

**Memory.** Per numeric input 16 bytes per distinct reference value (the slot counts, int32
while the window has fewer than 2³¹ values, and the gap distances; 16 more when the reference
repeats values, for the distinct values and their counts); per categorical input one count
per category; one batch, with a sorted numeric column per worker thread; while an input's
statistics are computed, a few arrays of the reference's length per worker thread. The
second pass holds only the values in crossing gaps: two samples of one law cross about √K
times, each such gap holding about m/K current values. With 1M reference and 10M current
rows of the benchmark table that was 37 to 44,911 values an input (17 of the 20 numeric
inputs needed the pass). Data built to make every gap cross would make the second pass hold
that input's values of the window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from steward.drift._categorical import categorical_statistics
from steward.drift._correction import Correction
from steward.drift._detect import (
    _categorical_base,
    _categorical_found,
    _current_columns,
    _decide,
    _not_enough,
    _numeric_base,
    _numeric_found,
    _settings,
)
from steward.drift._numeric import (
    EXACT_UP_TO,
    NORMALISE_FLOOR,
    NumericStatistics,
    ks_pvalue,
    psi_edges,
    psi_of_counts,
)
from steward.drift._profile import (
    CategoricalReference,
    NumericReference,
    ReferenceProfile,
    map_columns,
)
from steward.drift._report import ColumnDrift, DriftReport
from steward.drift._values import Columns, category_counts, numeric_array
from steward.errors import InvalidInput

__all__ = ["Batches", "detect_stream"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

Batches = Callable[[], Iterable[Columns]]
"""A function giving the window's batches, a fresh iterable on every call (the same rows
each time): each batch a polars DataFrame or ``{name: values}`` with the profile's columns."""

_WHAT = "a current batch"
_INT32_MAX = 2**31 - 1


class _Numeric:
    """One numeric input's counts against its reference's distinct values (module docstring)."""

    def __init__(self, name: str, reference: NumericReference) -> None:
        self.name, self.reference = name, reference
        values = reference.values
        changes = values[1:] != values[:-1]
        # u_i, and how many reference values are ≤ u_i (i + 1 when all are distinct)
        if changes.all():  # the reference itself, no copy
            self.points: F64 = values
            self.upto: I64 | None = None
        else:
            starts = np.flatnonzero(changes) + 1
            self.points = values[np.concatenate(([0], starts))]
            self.upto = np.append(starts, values.size).astype(np.int64)
        del changes
        k = self.points.size
        # int32 while the window is below 2³¹ values (no slot can then overflow): the counts
        # are the larger part of the memory.
        self.slots: npt.NDArray[np.int32 | np.int64] | None = np.zeros(2 * k + 1, dtype=np.int32)
        # Per gap, the sum of its values' distances to the gap's upper end (to u_{K-1} for the
        # last gap, which has none): distances, not values, so a column far from zero keeps
        # its precision.
        self.depth: F64 | None = np.zeros(k + 1)
        self.rows = self.missing = self.used = 0
        self.partial: NumericStatistics | None = None
        self.crossing: _Crossing | None = None
        self.gathered: list[F64] = []
        self.seen = 0

    def _finite_sorted(self, values: Any) -> tuple[F64, int, int]:
        array = numeric_array(self.name, values)
        finite = np.isfinite(array)
        # Sorted: searching the reference with sorted values walks it in order, several times
        # faster than random probes once the reference outgrows the cache.
        return np.sort(array[finite]), int(array.size), int(np.count_nonzero(np.isnan(array)))

    def _place(self, x: F64) -> tuple[I64, npt.NDArray[np.bool_]]:
        """Each value's gap (the index of the first distinct reference value ≥ it) and whether
        it equals that value."""
        gap = np.searchsorted(self.points, x, side="left")
        tie = self.points[np.minimum(gap, self.points.size - 1)] == x
        return gap, tie

    def add(self, values: Any) -> None:
        assert self.slots is not None and self.depth is not None
        x, rows, missing = self._finite_sorted(values)
        self.rows, self.missing, self.used = (
            self.rows + rows,
            self.missing + missing,
            self.used + x.size,
        )
        if not x.size:
            return
        if self.used > _INT32_MAX and self.slots.dtype != np.int64:
            self.slots = self.slots.astype(np.int64)
        gap, tie = self._place(x)
        # ufunc.at over sorted indices is cheap; a bincount would write all 2K + 1 slots.
        np.add.at(self.slots, 2 * gap + tie, 1)
        inside = ~tie
        gap, x = gap[inside], x[inside]
        last = self.points.size
        bound = self.points[np.minimum(gap, last - 1)]
        np.add.at(self.depth, gap, np.where(gap < last, bound - x, x - bound))

    def settle(self, min_rows: int) -> ColumnDrift | None:
        """The result after the first pass, or ``None`` when W1 needs a second one."""
        base = _numeric_base(self.name, self.reference, self.rows, self.missing, self.used)
        if self.used < min_rows:
            self.slots = self.depth = None
            return _not_enough(base, self.used, min_rows, "finite")
        assert self.slots is not None and self.depth is not None
        reference = self.reference.values
        n, m, k = reference.size, self.used, self.points.size
        if n * m >= 2**62:  # the crossing test multiplies counts in int64
            raise InvalidInput(f"column {self.name!r}: the window is too large to compare")
        upto = np.arange(1, k + 1, dtype=np.int64) if self.upto is None else self.upto
        running = np.cumsum(self.slots, dtype=np.int64)
        at = running[1::2]  # current values ≤ u_i
        through = running[0::2]  # current values < u_i (through gap i; m for the last gap)
        gaps = self.slots[0::2].astype(np.int64)
        # D: F_ref − F_cur at each reference value and at each gap's last current value.
        filled = np.flatnonzero(gaps)
        before = np.concatenate(([0], upto))[filled]  # reference values below that gap
        candidates = np.concatenate((upto / n - at / m, before / n - through[filled] / m))
        d = max(0.0, float(candidates.max()), -float(candidates.min()))
        del candidates, before, filled
        synthetic = self._synthetic(self.slots) if max(n, m) <= EXACT_UP_TO else None
        self.slots = None
        statistic, p, method = ks_pvalue(d, n, m, reference, synthetic)
        edges = np.searchsorted(self.points, psi_edges(reference))
        psi = psi_of_counts(upto[edges], n, at[edges], m)
        # W1 on the interior gaps [u_{i-1}, u_i], i = 1 … K-1; the two outer gaps have F_ref
        # 0 or 1, which F_cur never crosses: their areas are their distances over m.
        depth = self.depth
        self.depth = None
        ref_start, cur_start = upto[:-1], at[:-1]  # F_ref·n and F_cur·m at each gap's start
        # Compared in integers, so a gap is never taken for crossing by a rounding.
        under = through[1:-1] * n <= ref_start * m  # F_cur ≤ F_ref on the whole gap
        over = cur_start * n >= ref_start * m  # F_cur ≥ F_ref on the whole gap
        width = np.diff(self.points)
        lead = ref_start / n - cur_start / m
        inner = depth[1:-1] / m
        area = np.where(under, lead * width - inner, inner - lead * width)
        crosses = ~(under | over)
        w1 = float(depth[0] + depth[-1]) / m + float(np.sum(area, where=~crosses))
        partial = NumericStatistics(
            ks_statistic=statistic,
            ks_pvalue=p,
            method=method,
            wasserstein=w1,
            wasserstein_normalised=w1 / max(self.reference.std, NORMALISE_FLOOR),
            psi=psi,
        )
        where = np.flatnonzero(crosses)
        if not where.size:
            return _numeric_found(base, partial)
        self.partial = partial
        self.crossing = _Crossing(
            gaps=where + 1,
            counts=gaps[where + 1],
            ref_start=ref_start[where],
            cur_start=cur_start[where],
            n=n,
            m=m,
        )
        return None

    def _synthetic(self, slots: npt.NDArray[np.int32 | np.int64]) -> F64:
        """A current sample with the counted one's slot counts, each gap's values put at the
        float just above the gap's lower end: the same D. Only scipy's public exact p-value
        needs a sample (when its private routine is missing; both samples are small)."""
        points = self.points
        values = np.empty(slots.size)
        values[1::2] = points
        values[0] = np.nextafter(points[0], -np.inf)
        values[2::2] = np.nextafter(points, np.inf)
        return np.repeat(values, slots)

    def gather(self, values: Any) -> None:
        """Second pass: keep this batch's values in the gaps where the CDFs cross."""
        assert self.crossing is not None
        x, _, _ = self._finite_sorted(values)
        self.seen += x.size
        if not x.size:
            return
        gap, tie = self._place(x)
        wanted = self.crossing.gaps
        found = np.minimum(np.searchsorted(wanted, gap), wanted.size - 1)
        keep = ~tie & (wanted[found] == gap)
        if keep.any():
            self.gathered.append(x[keep])

    def result(self) -> ColumnDrift:
        """The result after the second pass."""
        assert self.crossing is not None and self.partial is not None
        values = np.sort(np.concatenate(self.gathered)) if self.gathered else np.empty(0)
        self.gathered = []
        crossing = self.crossing
        group = np.searchsorted(crossing.gaps, np.searchsorted(self.points, values))
        counted = np.bincount(group, minlength=crossing.gaps.size)
        if self.seen != self.used or not np.array_equal(counted, crossing.counts):
            raise InvalidInput(
                f"column {self.name!r}: the second pass over the batches gave other values "
                f"than the first ({self.seen} finite values against {self.used}, or others "
                "where W1 needed them); batches() must give the same batches on every call"
            )
        w1 = self.partial.wasserstein + crossing.area(values, group, self.points)
        base = _numeric_base(self.name, self.reference, self.rows, self.missing, self.used)
        return _numeric_found(
            base,
            NumericStatistics(
                ks_statistic=self.partial.ks_statistic,
                ks_pvalue=self.partial.ks_pvalue,
                method=self.partial.method,
                wasserstein=w1,
                wasserstein_normalised=w1 / max(self.reference.std, NORMALISE_FLOOR),
                psi=self.partial.psi,
            ),
        )


@dataclass(frozen=True, eq=False)
class _Crossing:
    """The gaps of one numeric input where F_cur crosses F_ref: their indices (ascending),
    how many current values each holds, F_ref·n and F_cur·m at each one's start, n and m."""

    gaps: I64
    counts: I64
    ref_start: I64
    cur_start: I64
    n: int
    m: int

    def area(self, values: F64, group: I64, points: F64) -> float:
        """∫ |F_ref − F_cur| over the crossing gaps, from their values (sorted; ``group``:
        each value's crossing gap): the step from the gap's start to its first value, then
        from each value to the next (or to the gap's end)."""
        n, m = self.n, self.m
        start = np.cumsum(self.counts) - self.counts
        lower, upper = points[self.gaps - 1], points[self.gaps]
        first = np.abs(self.ref_start / n - self.cur_start / m) * (values[start] - lower)
        following = np.empty_like(values)
        following[:-1] = values[1:]
        following[start + self.counts - 1] = upper
        # F_cur·m after a value: the count at the gap's start plus the value's rank in the gap.
        level = self.cur_start[group] + (np.arange(values.size) - start[group] + 1)
        steps = np.abs(self.ref_start[group] / n - level / m) * (following - values)
        return float(np.sum(first)) + float(np.sum(steps))


class _Categorical:
    """One categorical input's category counts over the batches."""

    def __init__(self, name: str, reference: CategoricalReference) -> None:
        self.name, self.reference = name, reference
        self.counts: dict[str, int] = {}
        self.rows = self.missing = 0

    def add(self, values: Any) -> None:
        counts, missing, rows = category_counts(self.name, values)
        self.rows += rows
        self.missing += missing
        for label, count in counts.items():
            self.counts[label] = self.counts.get(label, 0) + count

    def settle(self, min_rows: int) -> ColumnDrift:
        base = _categorical_base(self.name, self.reference, self.rows, self.missing)
        if base.used < min_rows:
            return _not_enough(base, base.used, min_rows, "non-missing")
        return _categorical_found(base, categorical_statistics(self.reference.counts, self.counts))


def detect_stream(
    profile: ReferenceProfile,
    batches: Batches,
    *,
    alpha: float = 0.05,
    correction: Correction = "holm",
    numeric_threshold: float = 0.1,
    categorical_threshold: float = 0.1,
    min_rows: int = 30,
    workers: int | None = None,
) -> DriftReport:
    """:func:`detect` of ``profile`` against the window ``batches()`` gives, without holding it.

    ``batches``: a function returning the window's batches (polars DataFrames or
    ``{name: values}``, each with exactly the profile's columns), called once per pass — once,
    or twice when a numeric input's CDFs cross inside a gap between reference values; both
    calls must give the same rows (checked: ``InvalidInput`` otherwise). Settings and errors
    as :func:`detect`'s; ``workers``: threads over columns within a batch. The report equals
    ``detect(profile, <the batches concatenated>, ...)``; memory: the module docstring."""
    settings = _settings(alpha, correction, numeric_threshold, categorical_threshold, min_rows)
    if not callable(batches):
        raise InvalidInput(
            "batches must be a function returning the batches (it is called once per pass), "
            f"not {type(batches).__name__}"
        )
    names = list(profile.columns)
    numeric = {
        name: _Numeric(name, reference)
        for name, reference in profile.columns.items()
        if isinstance(reference, NumericReference)
    }
    streams: dict[str, _Numeric | _Categorical] = {
        name: numeric[name]
        if isinstance(reference, NumericReference)
        else _Categorical(name, reference)
        for name, reference in profile.columns.items()
    }
    _one_pass(profile, batches, names, lambda name, values: streams[name].add(values), workers)
    settled = map_columns(lambda name: streams[name].settle(settings.min_rows), names, workers)
    pending = [name for name, result in zip(names, settled, strict=True) if result is None]
    if pending:
        _one_pass(
            profile, batches, pending, lambda name, values: numeric[name].gather(values), workers
        )
    found = {
        name: result for name, result in zip(names, settled, strict=True) if result is not None
    }
    found.update((name, numeric[name].result()) for name in pending)
    return _decide([found[name] for name in names], settings)


def _one_pass(
    profile: ReferenceProfile,
    batches: Batches,
    names: list[str],
    work: Callable[[str, Any], None],
    workers: int | None,
) -> None:
    """``work(name, values)`` for each of ``names`` in every batch ``batches()`` gives."""
    for batch in batches():
        columns = _current_columns(profile, batch, _WHAT)
        _over_columns(columns, names, work, workers)


def _over_columns(
    columns: dict[str, Any],
    names: list[str],
    work: Callable[[str, Any], None],
    workers: int | None,
) -> None:
    map_columns(lambda name: work(name, columns[name]), names, workers)
