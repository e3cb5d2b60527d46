"""A generated table with known drift: the drift peers' table (``../shared/peers/drift``),
for the drift engine's tests, benchmark and demo.

20 numeric inputs ``num_00`` … ``num_19`` whose families cycle through normal, scaled normal,
lognormal, exponential and uniform, and 5 categorical inputs ``cat_0`` … ``cat_4`` with 10 to
50 levels of Zipf-like probability (p_k ∝ (k+1)^-0.8). With ``drift=True`` exactly the
inputs of :data:`DRIFTED_INPUTS` shift (a normal's mean by 0.3 σ, a normal's σ × 1.5, a
lognormal × 1.3, an exponential's scale 1 → 1.3, a uniform moved by 0.1; 15 % of ``cat_0``'s
mass moves from its top level to its three rarest, 10 % of ``cat_3``'s rows take five new
levels); every other input is drawn from the same law on both sides.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DRIFTED_INPUTS", "drift_table"]

DRIFTED_INPUTS = frozenset({"num_00", "num_01", "num_02", "num_03", "num_04", "cat_0", "cat_3"})
_LEVELS = (10, 20, 30, 40, 50)


def drift_table(n: int, seed: int, *, drift: bool) -> dict[str, np.ndarray[Any, Any]]:
    """One side of the table, ``n`` rows: column name → values (float64, or object arrays of
    strings for the categorical inputs), reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    table: dict[str, np.ndarray[Any, Any]] = {}
    for j in range(20):
        name = f"num_{j:02d}"
        table[name] = _numbers(rng, j, n, drift and name in DRIFTED_INPUTS)
    for i in range(5):
        name = f"cat_{i}"
        labels, p = _levels(i, drift and name in DRIFTED_INPUTS)
        table[name] = np.asarray(labels, dtype=object)[rng.choice(len(p), size=n, p=p)]
    return table


def _numbers(rng: np.random.Generator, j: int, n: int, drift: bool) -> np.ndarray[Any, Any]:
    family = j % 5
    if family == 0:
        sigma = 1 + j / 10
        return rng.normal(j + (0.3 * sigma if drift else 0.0), sigma, n)
    if family == 1:
        return rng.normal(0.0, (1 + j / 10) * (1.5 if drift else 1.0), n)
    if family == 2:
        return rng.lognormal(0.0, 0.5, n) * (1.3 if drift else 1.0)
    if family == 3:
        return rng.exponential(1.3 if drift else 1.0, n)
    return rng.uniform(0.1 if drift else 0.0, 1.1 if drift else 1.0, n)


def _levels(i: int, drift: bool) -> tuple[list[str], np.ndarray[Any, Any]]:
    p = 1.0 / np.arange(1, _LEVELS[i] + 1, dtype=np.float64) ** 0.8
    p /= p.sum()
    labels = [f"c{i}_L{k:02d}" for k in range(_LEVELS[i])]
    if drift and i == 0:
        p[0] -= 0.15
        p[-3:] += 0.05
    if drift and i == 3:
        labels += [f"c{i}_NEW{k}" for k in range(5)]
        p = np.concatenate([p * 0.9, np.full(5, 0.02)])
    return labels, p
