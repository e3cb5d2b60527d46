"""Statistics of a categorical input: chi-square test, Jensen–Shannon distance and PSI.

All three read one 2 × K table of counts: the reference's row and the current batch's, over
the reference's categories followed by those only the current batch has (an unseen category
is a column of its own, with a zero in the reference row: new values are drift, not noise to
drop). The test is ``scipy.stats.chi2_contingency`` on that table (with its defaults, so
Yates' correction when there are two categories), the distance
``scipy.spatial.distance.jensenshannon`` of the two rows (natural log, between 0 and
√ln 2 ≈ 0.833), and PSI the shares' ``Σ (q - p) · ln(q / p)`` with shares floored at 1e-4.
K is small, so scipy is called on the table directly: its numbers are the contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial import distance

from steward.drift._numeric import psi

__all__ = ["CategoricalStatistics", "categorical_statistics"]


@dataclass(frozen=True)
class CategoricalStatistics:
    """What the engine computes for a categorical input; ``unseen_share``: the share of the
    current batch in categories the reference does not have."""

    chi2_statistic: float
    chi2_pvalue: float
    jensen_shannon: float
    psi: float
    categories: int
    unseen_share: float


def categorical_statistics(
    reference: Mapping[str, int], current: Mapping[str, int]
) -> CategoricalStatistics:
    """Every statistic of a categorical input from its category counts (each mapping
    non-empty, every count positive)."""
    unseen = [label for label in current if label not in reference]
    labels = [*reference, *unseen]
    table = np.array(
        [
            [reference.get(label, 0) for label in labels],
            [current.get(label, 0) for label in labels],
        ],
        dtype=np.int64,
    )
    test = stats.chi2_contingency(table)
    totals = table.sum(axis=1)
    shares = table / totals[:, None]
    return CategoricalStatistics(
        chi2_statistic=float(test.statistic),
        chi2_pvalue=float(test.pvalue),
        jensen_shannon=float(distance.jensenshannon(table[0], table[1])),
        psi=psi(shares[0], shares[1]),
        categories=len(labels),
        unseen_share=float(sum(current[label] for label in unseen) / totals[1]),
    )
