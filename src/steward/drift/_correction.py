"""Multiple-testing control across the inputs of one comparison.

A batch with 25 inputs tested at α = 0.05 each would raise a false alarm on at least one
input in most batches (1 - 0.95²⁵ ≈ 72 %). The adjusted p-values make "adjusted p < α" a
decision about the whole family:

- ``"holm"`` (the default): Holm–Bonferroni step-down. With the m p-values sorted
  ascending, ``adj₍ᵢ₎ = min(1, max_{j ≤ i} (m - j + 1) · p₍ⱼ₎)``. It bounds the
  family-wise error rate (the chance of any false alarm in the batch) by α under any
  dependence between the inputs, and is uniformly more powerful than Bonferroni.
- ``"bh"``: Benjamini–Hochberg (``scipy.stats.false_discovery_control``): bounds the
  expected share of false alarms among the alarms (for independent or positively dependent
  tests); more alarms, some false.
- ``"none"``: the p-values unchanged (one alarm in twenty null inputs on average).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = ["CORRECTIONS", "Correction", "adjust_p_values"]

Correction = Literal["holm", "bh", "none"]
CORRECTIONS: tuple[Correction, ...] = ("holm", "bh", "none")


def adjust_p_values(
    p_values: Sequence[float] | npt.NDArray[np.float64], correction: Correction
) -> npt.NDArray[np.float64]:
    """The p-values adjusted by ``correction`` (same order as given; values in [0, 1])."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0 or correction == "none":
        return p.copy()
    if correction == "bh":
        return np.asarray(stats.false_discovery_control(p, method="bh"), dtype=np.float64)
    if correction != "holm":
        raise ValueError(f"unknown correction {correction!r}")
    order = np.argsort(p, kind="stable")
    scaled = p[order] * np.arange(p.size, 0, -1)
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted
