"""Statistics of a numeric input: two-sample Kolmogorov–Smirnov, Wasserstein-1 and PSI.

Both samples arrive sorted and finite. D and W1 come from one walk over the two samples
merged in order (the current sample placed into the reference with ``searchsorted``): at each
point the gap between the two empirical CDFs gives D (its largest absolute value at the end
of a group of equal values, which is where ``scipy.stats.ks_2samp`` reads it, so ties count
exactly as there) and W1 (the gap times the distance to the next point, summed: what
``scipy.stats.wasserstein_distance`` sums). The walk goes window by window over the merged
order, so beyond the sorted current column it needs memory for one window only; the window
starts are found by bisection on the merged rank of the current values.

The p-value follows ``ks_2samp(method="auto")`` of scipy 1.17, reproduced rule by rule:
when both samples have at most 10,000 values it is exact, from scipy's own exact routine
(which also rounds D to a multiple of 1/lcm(n, m), as the statistic scipy returns is); when
the exact routine fails, or the samples are larger, it is ``kstwo.sf(D, round(n·m/(n+m)))``.
The tests pin every value to ``ks_2samp``'s, so a scipy that changes the rule fails them.

PSI uses 10 bins cut at the reference's deciles (the smallest value at or above each tenth
of the reference, so each bin holds a tenth of it when there are no ties), bins closed on
the right; shares are floored at 1e-4 before ``Σ (q - p) · ln(q / p)``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "EXACT_UP_TO",
    "PSI_BINS",
    "PSI_FLOOR",
    "SKETCH_GRID",
    "NumericStatistics",
    "SketchBounds",
    "ks_pvalue",
    "ks_wasserstein",
    "numeric_statistics",
    "psi",
    "psi_edges",
    "psi_of_counts",
    "sketch_statistics",
]

F64 = npt.NDArray[np.float64]

EXACT_UP_TO = 10_000
"""ks_2samp's ``MAX_AUTO_N``: the exact p-value when neither sample is larger."""
PSI_BINS = 10
PSI_FLOOR = 1e-4
NORMALISE_FLOOR = 0.001
"""Normalised W1 divides by ``max(std(reference), 0.001)``: a constant reference has a scale."""
_WINDOW = 1 << 16


def _exact_routine() -> Callable[..., tuple[bool, float, float]] | None:
    # scipy's exact two-sided routine is private; resolved once, with the public function as
    # the fallback (the same numbers, one extra sort of at most 2 × 10,000 values).
    from scipy.stats import _stats_py

    routine = getattr(_stats_py, "_attempt_exact_2kssamp", None)
    return routine if callable(routine) else None


_EXACT = _exact_routine()


@dataclass(frozen=True)
class NumericStatistics:
    """What the engine computes for a numeric input. ``method``: how the KS p-value was
    computed (``"exact"`` or ``"asymp"``, as ``ks_2samp`` chooses)."""

    ks_statistic: float
    ks_pvalue: float
    method: Literal["exact", "asymp"]
    wasserstein: float
    wasserstein_normalised: float
    psi: float


def _current_before(reference: F64, current: F64, cuts: npt.NDArray[np.int64]) -> Any:
    """For each merged rank in ``cuts``, how many current values come before it in the merged
    order (reference values first among equal ones): a vectorised lower-bound bisection on
    ``j + #(reference ≤ current[j])``, which increases strictly with ``j``."""
    m = current.size
    low = np.zeros(cuts.size, dtype=np.int64)
    high = np.full(cuts.size, m, dtype=np.int64)
    while True:
        open_ = low < high
        if not open_.any():
            return low
        middle = (low + high) // 2
        probe = np.minimum(middle, m - 1)
        rank = probe + np.searchsorted(reference, current[probe], side="right")
        right = open_ & (rank < cuts)
        low = np.where(right, middle + 1, low)
        high = np.where(open_ & ~right, middle, high)


def ks_wasserstein(reference: F64, current: F64) -> tuple[float, float]:
    """``(D, W1)`` of two sorted, finite, non-empty samples: the largest gap between their
    empirical CDFs (as ``ks_2samp`` computes it, before any rounding) and the
    Wasserstein-1 distance (as ``wasserstein_distance``)."""
    n, m = reference.size, current.size
    total = n + m
    cuts = np.append(np.arange(0, total, _WINDOW, dtype=np.int64), np.int64(total))
    before = _current_before(reference, current, cuts)
    highest, lowest, w1 = 0.0, 0.0, 0.0
    for k in range(cuts.size - 1):
        p0, p1 = int(cuts[k]), int(cuts[k + 1])
        j0, j1 = int(before[k]), int(before[k + 1])
        ref, cur = reference[p0 - j0 : p1 - j1], current[j0:j1]
        size = p1 - p0
        at = np.searchsorted(ref, cur, side="right")
        at += np.arange(cur.size)
        is_current = np.zeros(size, dtype=bool)
        is_current[at] = True
        merged = np.empty(size)
        merged[at] = cur
        merged[~is_current] = ref
        seen_current = np.cumsum(is_current, dtype=np.int64)
        seen_current += j0
        seen_reference = np.arange(p0 + 1, p1 + 1, dtype=np.int64)
        seen_reference -= seen_current
        # The same operations as ks_2samp's ``searchsorted(...) / n1 - ... / n2``, so the
        # gaps read at group ends are bit for bit the ones scipy takes the extremes of.
        gap = seen_reference / n - seen_current / m
        following = np.empty(size)
        following[:-1] = merged[1:]
        if p1 < total:
            i1 = p1 - j1
            nxt = min(
                reference[i1] if i1 < n else math.inf,
                current[j1] if j1 < m else math.inf,
            )
            following[-1] = nxt
        else:
            following[-1] = merged[-1]
        ends = following != merged
        if p1 == total:
            ends[-1] = True
        read = gap[ends]
        if read.size:
            highest = max(highest, float(read.max()))
            lowest = min(lowest, float(read.min()))
        following -= merged
        np.abs(gap, out=gap)
        w1 += float(np.vecdot(gap, following))  # not np.dot: BLAS threads cost more here
    return max(highest, -lowest), w1


def ks_pvalue(
    statistic: float, n: int, m: int, reference: F64 | None = None, current: F64 | None = None
) -> tuple[float, float, Literal["exact", "asymp"]]:
    """``(statistic, p-value, method)`` as ``ks_2samp(method="auto")`` reports them for
    samples of sizes ``n`` and ``m`` whose largest CDF gap is ``statistic`` (exact: the
    statistic rounded to a multiple of 1/lcm). The samples themselves are needed only if
    scipy's exact routine is not available (the public function is asked instead)."""
    if max(n, m) <= EXACT_UP_TO:
        if _EXACT is None:
            if reference is None or current is None:
                raise ValueError("the samples are needed for an exact p-value")
            return _public_exact(reference, current)
        gcd = math.gcd(n, m)
        success, statistic, p = _EXACT(n, m, gcd, statistic, "two-sided")
        if success:
            return float(statistic), float(np.clip(p, 0.0, 1.0)), "exact"
    big, small = sorted((float(n), float(m)), reverse=True)
    size = np.round(big * small / (big + small))
    p = stats.kstwo.sf(statistic, size)
    return float(statistic), float(np.clip(p, 0.0, 1.0)), "asymp"


def _public_exact(reference: F64, current: F64) -> tuple[float, float, Literal["exact", "asymp"]]:
    """ks_2samp itself, for a scipy without the private exact routine. scipy warns when it
    falls back to the asymptotic p-value; that is recorded in the method instead."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = stats.ks_2samp(reference, current)
    fell_back = any("Switching to method" in str(w.message) for w in caught)
    return float(result.statistic), float(result.pvalue), "asymp" if fell_back else "exact"


def psi(expected: npt.NDArray[np.float64], actual: npt.NDArray[np.float64]) -> float:
    """Population stability index of two share vectors over the same bins, each share
    floored at 1e-4: ``Σ (actual - expected) · ln(actual / expected)``."""
    p = np.maximum(expected, PSI_FLOOR)
    q = np.maximum(actual, PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def psi_edges(reference: F64) -> F64:
    """The PSI bin edges of a sorted reference: its ⌈k·n/10⌉-th smallest values, k = 1..9."""
    tenths = np.arange(1, PSI_BINS, dtype=np.int64)
    return reference[-((-tenths * reference.size) // PSI_BINS) - 1]


def psi_of_counts(
    reference_upto: npt.NDArray[np.int64], n: int, current_upto: npt.NDArray[np.int64], m: int
) -> float:
    """PSI from how many of the ``n`` reference and ``m`` current values are at or below each
    edge of :func:`psi_edges` (bins closed on the right)."""
    ref = np.diff(reference_upto, prepend=0, append=n) / n
    cur = np.diff(current_upto, prepend=0, append=m) / m
    return psi(ref, cur)


def _psi_sorted(reference: F64, current: F64) -> float:
    edges = psi_edges(reference)
    return psi_of_counts(
        np.searchsorted(reference, edges, side="right"),
        reference.size,
        np.searchsorted(current, edges, side="right"),
        current.size,
    )


def numeric_statistics(
    reference: F64, current: F64, *, scale: float | None = None
) -> NumericStatistics:
    """Every statistic of a numeric input, from the reference's and the current batch's
    finite values, both sorted ascending and non-empty. ``scale``: the reference's
    population standard deviation, when known (computed otherwise)."""
    d, w1 = ks_wasserstein(reference, current)
    statistic, p, method = ks_pvalue(d, reference.size, current.size, reference, current)
    spread = float(np.std(reference)) if scale is None else scale
    return NumericStatistics(
        ks_statistic=statistic,
        ks_pvalue=p,
        method=method,
        wasserstein=w1,
        wasserstein_normalised=w1 / max(spread, NORMALISE_FLOOR),
        psi=_psi_sorted(reference, current),
    )


SKETCH_GRID = 10_000
"""Reference quantiles a sketched comparison reads the CDFs at (``sketch_statistics``)."""


@dataclass(frozen=True)
class SketchBounds:
    """How far a sketched comparison can be from the exact one: the exact KS statistic lies
    in ``[statistic, statistic_upper]`` and the exact Wasserstein-1 distance within
    ``wasserstein_error`` of the sketched one (both computed from the grid's own counts, so
    they hold for the data at hand, not on average)."""

    statistic_upper: float
    wasserstein_error: float


def sketch_statistics(
    reference: F64, current: F64, *, scale: float | None = None, grid: int = SKETCH_GRID
) -> tuple[NumericStatistics, SketchBounds]:
    """The statistics of :func:`numeric_statistics`, read at ``grid`` quantiles of the sorted
    reference instead of at every value: one sort of the current batch and ``grid``
    bisections, not a merge of both samples. PSI is exact (its bins are reference deciles);
    D and W1 are within the returned bounds of the exact ones; the KS p-value is the
    limiting (Kolmogorov) distribution's at the sketched D. Both samples sorted ascending,
    finite and non-empty."""
    n, m = reference.size, current.size
    picks = np.unique(np.linspace(0, n - 1, min(grid, n) + 1).astype(np.int64))
    edges = np.unique(reference[picks])
    fa = np.searchsorted(reference, edges, side="right") / n
    fb = np.searchsorted(current, edges, side="right") / m
    gap = fa - fb
    statistic = float(np.max(np.abs(gap)))
    # Between two edges each CDF moves within its values at the ends, so the gap can reach
    # at most the larger cross difference; before the first edge F_a is 0 and F_b at most
    # its value there.
    inside = np.maximum(np.abs(fa[1:] - fb[:-1]), np.abs(fb[1:] - fa[:-1]))
    before = float(np.searchsorted(current, edges[0], side="left")) / m
    upper = max(statistic, float(inside.max()) if inside.size else 0.0, before)
    widths = np.diff(edges)
    w1 = float(np.vecdot(np.abs(gap[:-1]), widths))
    # Tails beyond the reference's range: the current values there count in full.
    low, high = edges[0], edges[-1]
    below = current[: np.searchsorted(current, low, side="left")]
    above = current[np.searchsorted(current, high, side="right") :]
    w1 += float(np.sum(low - below)) / m + float(np.sum(above - high)) / m
    span = np.abs(fa[1:] - fa[:-1]) + np.abs(fb[1:] - fb[:-1])
    error = float(np.vecdot(span, widths))
    # The limiting Kolmogorov distribution at sqrt(n·m/(n+m))·D: scipy's finite-sample kstwo
    # can take 0.4 s for one small D at these sizes, and both sides hold over 10,000 values.
    p = float(np.clip(stats.kstwobign.sf(math.sqrt(n * m / (n + m)) * statistic), 0, 1))
    spread = float(np.std(reference)) if scale is None else scale
    found = NumericStatistics(
        ks_statistic=statistic,
        ks_pvalue=p,
        method="asymp",
        wasserstein=w1,
        wasserstein_normalised=w1 / max(spread, NORMALISE_FLOOR),
        psi=_psi_sorted(reference, current),
    )
    return found, SketchBounds(statistic_upper=upper, wasserstein_error=error)
