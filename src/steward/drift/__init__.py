"""The monitoring engine's statistics: has an input of a model version drifted?

:meth:`ReferenceProfile.build` keeps, per input column of the training (reference) data,
what later comparisons need — numeric: the finite values sorted, with the counts of missing
and non-finite values; categorical: the count of each category — and serialises it without
pickle (``to_bytes`` / ``from_bytes``). :func:`detect` compares a current batch with it and
returns a :class:`DriftReport`: per input the test (two-sample Kolmogorov–Smirnov for
numeric inputs, chi-square on the 2 × K table for categorical ones), its p-value before and
after multiple-testing control across the inputs, an effect size (Wasserstein-1 over the
reference's standard deviation; Jensen–Shannon distance), PSI, missing shares, and the
verdict: drifted when the adjusted p-value is below alpha *and* the effect size reaches its
threshold; "not enough data" when too few current values can be used.

Every statistic equals scipy's on the same data (``ks_2samp``, ``wasserstein_distance``,
``chi2_contingency``, ``jensenshannon``); the tests pin them. The package is a pure
capability: numpy, scipy and polars, ``steward.errors`` and the shared lazy loader; it knows
nothing of the store, the services or the log. What it computes and how to read it:
``docs/drift.md``.
"""

from typing import TYPE_CHECKING

from steward._lazy import lazy_attributes

if TYPE_CHECKING:
    from steward.drift._categorical import CategoricalStatistics, categorical_statistics
    from steward.drift._correction import adjust_p_values
    from steward.drift._detect import detect
    from steward.drift._numeric import NumericStatistics, numeric_statistics
    from steward.drift._profile import CategoricalReference, NumericReference, ReferenceProfile
    from steward.drift._report import ColumnDrift, DriftReport, DriftSettings

# Loaded on first use: scipy and polars cost a process tens of MB and a noticeable start-up,
# and most commands that import a package depending on this one never compare a batch.
_WHERE = {
    "CategoricalReference": "_profile",
    "CategoricalStatistics": "_categorical",
    "ColumnDrift": "_report",
    "DriftReport": "_report",
    "DriftSettings": "_report",
    "NumericReference": "_profile",
    "NumericStatistics": "_numeric",
    "ReferenceProfile": "_profile",
    "adjust_p_values": "_correction",
    "categorical_statistics": "_categorical",
    "detect": "_detect",
    "numeric_statistics": "_numeric",
}

__all__ = [
    "CategoricalReference",
    "CategoricalStatistics",
    "ColumnDrift",
    "DriftReport",
    "DriftSettings",
    "NumericReference",
    "NumericStatistics",
    "ReferenceProfile",
    "adjust_p_values",
    "categorical_statistics",
    "detect",
    "numeric_statistics",
]


__getattr__ = lazy_attributes(__name__, _WHERE)
