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

Beside the per-input tests: :class:`MultivariateReference` and :func:`reconstruction_drift`
(PCA reconstruction error: a change in how inputs move together that no single input
shows); :class:`Calibration` and :func:`estimate` (confidence-based performance estimation
before labels arrive); :func:`realised` and :func:`paired_difference` (performance once they
do, with bootstrap intervals; champion versus challenger on the same rows); and
:func:`group_rates` and :func:`compare_fairness` (selection rates, TPR/FPR and the
disparate-impact ratio per group of a window). :func:`detect_stream` gives :func:`detect`'s
report on a window streamed batch by batch, in memory bounded by the reference and one batch,
and :func:`detect_log` streams it from the prediction log's Parquet files.

Every statistic equals scipy's on the same data (``ks_2samp``, ``wasserstein_distance``,
``chi2_contingency``, ``jensenshannon``); the tests pin them. The package is a pure
capability: numpy, scipy, polars (scikit-learn's isotonic regression for calibration),
``steward.errors`` and the shared lazy loader; it knows
nothing of the store, the services or the log. What it computes and how to read it:
``docs/drift.md``.
"""

from typing import TYPE_CHECKING

from steward._lazy import lazy_attributes

if TYPE_CHECKING:
    from steward.drift._categorical import CategoricalStatistics, categorical_statistics
    from steward.drift._correction import adjust_p_values
    from steward.drift._detect import detect
    from steward.drift._estimation import (
        Calibration,
        EstimatedMetric,
        PerformanceEstimate,
        estimate,
    )
    from steward.drift._fairness import (
        FairnessVerdict,
        GroupRate,
        GroupRates,
        compare_fairness,
        group_rates,
    )
    from steward.drift._multivariate import (
        MultivariateDrift,
        MultivariateReference,
        reconstruction_drift,
    )
    from steward.drift._numeric import NumericStatistics, numeric_statistics
    from steward.drift._parquet import detect_log, log_batches
    from steward.drift._performance import (
        PairedDifference,
        RealisedMetric,
        RealisedPerformance,
        paired_difference,
        realised,
    )
    from steward.drift._profile import CategoricalReference, NumericReference, ReferenceProfile
    from steward.drift._report import ColumnDrift, DriftReport, DriftSettings
    from steward.drift._stream import Batches, detect_stream

# Loaded on first use: scipy and polars cost a process tens of MB and a noticeable start-up,
# and most commands that import a package depending on this one never compare a batch.
_WHERE = {
    "Batches": "_stream",
    "Calibration": "_estimation",
    "CategoricalReference": "_profile",
    "CategoricalStatistics": "_categorical",
    "ColumnDrift": "_report",
    "DriftReport": "_report",
    "DriftSettings": "_report",
    "EstimatedMetric": "_estimation",
    "FairnessVerdict": "_fairness",
    "GroupRate": "_fairness",
    "GroupRates": "_fairness",
    "MultivariateDrift": "_multivariate",
    "MultivariateReference": "_multivariate",
    "NumericReference": "_profile",
    "NumericStatistics": "_numeric",
    "PairedDifference": "_performance",
    "PerformanceEstimate": "_estimation",
    "RealisedMetric": "_performance",
    "RealisedPerformance": "_performance",
    "ReferenceProfile": "_profile",
    "adjust_p_values": "_correction",
    "categorical_statistics": "_categorical",
    "compare_fairness": "_fairness",
    "detect": "_detect",
    "detect_log": "_parquet",
    "detect_stream": "_stream",
    "estimate": "_estimation",
    "group_rates": "_fairness",
    "log_batches": "_parquet",
    "numeric_statistics": "_numeric",
    "paired_difference": "_performance",
    "realised": "_performance",
    "reconstruction_drift": "_multivariate",
}

__all__ = [
    "Batches",
    "Calibration",
    "CategoricalReference",
    "CategoricalStatistics",
    "ColumnDrift",
    "DriftReport",
    "DriftSettings",
    "EstimatedMetric",
    "FairnessVerdict",
    "GroupRate",
    "GroupRates",
    "MultivariateDrift",
    "MultivariateReference",
    "NumericReference",
    "NumericStatistics",
    "PairedDifference",
    "PerformanceEstimate",
    "RealisedMetric",
    "RealisedPerformance",
    "ReferenceProfile",
    "adjust_p_values",
    "categorical_statistics",
    "compare_fairness",
    "detect",
    "detect_log",
    "detect_stream",
    "estimate",
    "group_rates",
    "log_batches",
    "numeric_statistics",
    "paired_difference",
    "realised",
    "reconstruction_drift",
]


__getattr__ = lazy_attributes(__name__, _WHERE)
