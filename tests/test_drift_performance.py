"""Performance of a model version in production: realised metrics once labels arrive equal
scikit-learn's, with reproducible bootstrap intervals and paired champion/challenger
differences; before labels, the confidence-based estimate (CBPE) follows from scikit-learn's
isotonic calibration, round-trips, and tracks realised performance under covariate shift."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pytest
from sklearn import metrics
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from steward.drift._estimation import (
    CAVEATS,
    Calibration,
    PerformanceEstimate,
    estimate,
    expected_auc,
)
from steward.drift._performance import (
    Prepared,
    block_metrics,
    class_codes,
    paired_difference,
    realised,
)
from steward.errors import InvalidInput

F64 = npt.NDArray[np.float64]


def _classified(seed: int, rows: int, classes: list[str]) -> tuple[npt.NDArray[Any], F64]:
    """Labels and probabilities that carry some signal about them, with tied scores."""
    rng = np.random.default_rng(seed)
    k = len(classes)
    true = rng.integers(0, k, size=rows)
    logits = rng.normal(size=(rows, k)) + 1.2 * np.eye(k)[true]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scores = np.round(scores, 2)  # ties, as real models give
    scores[:, -1] = 1.0 - scores[:, :-1].sum(axis=1)
    scores = np.clip(scores, 0.0, 1.0)
    scores /= scores.sum(axis=1, keepdims=True)
    return np.asarray(classes)[true], scores


def _plain(value: Any) -> bool:
    """Whether ``value`` is JSON data made of plain Python values only (no numpy scalars)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return type(value) in (str, int, float, bool, type(None))


# -- realised performance ------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("classes", [["no", "yes"], ["a", "b", "c"]])
def test_realised_metrics_equal_sklearns(seed: int, classes: list[str]) -> None:
    labels, scores = _classified(seed, 700 + 37 * seed, classes)
    found = realised(labels, scores, classes, n_boot=200, seed=seed)
    predicted = np.asarray(classes)[np.argmax(scores, axis=1)]
    if len(classes) == 2:
        f1 = metrics.f1_score(labels, predicted, pos_label="yes")
        auc = metrics.roc_auc_score(labels == "yes", scores[:, 1])
    else:
        f1 = metrics.f1_score(labels, predicted, average="macro")
        auc = metrics.roc_auc_score(labels, scores, multi_class="ovr", labels=classes)
    assert found.status == "ok"
    assert found.rows == labels.size
    assert found.metric("accuracy").value == metrics.accuracy_score(labels, predicted)
    assert found.metric("f1").value == f1
    assert found.metric("roc_auc").value == auc


def test_the_positive_class_is_classes_1_in_whatever_order_they_come() -> None:
    labels, scores = _classified(4, 500, ["no", "yes"])
    found = realised(labels, scores[:, ::-1], ["yes", "no"], n_boot=10)
    predicted = np.where(scores[:, 1] > scores[:, 0], "yes", "no")
    predicted[scores[:, 1] == scores[:, 0]] = "yes"  # argmax of the reversed columns: first
    assert found.metric("f1").value == metrics.f1_score(labels, predicted, pos_label="no")
    assert found.metric("roc_auc").value == metrics.roc_auc_score(labels == "no", scores[:, 0])


@pytest.mark.parametrize("classes", [["no", "yes"], ["a", "b", "c"]])
def test_the_vectorised_bootstrap_metrics_equal_sklearns_on_each_resample(
    classes: list[str],
) -> None:
    labels, scores = _classified(5, 400, classes)
    true = class_codes(labels, classes)
    rows = np.random.default_rng(6).integers(0, labels.size, size=(8, labels.size))
    found = block_metrics(
        Prepared.of(true, scores, len(classes)), rows, ["accuracy", "f1", "roc_auc"]
    )
    for i, drawn in enumerate(rows):
        y, s = true[drawn], scores[drawn]
        predicted = np.argmax(s, axis=1)
        if len(classes) == 2:
            f1 = metrics.f1_score(y, predicted)
            auc = metrics.roc_auc_score(y, s[:, 1])
        else:
            f1 = metrics.f1_score(y, predicted, average="macro")
            auc = metrics.roc_auc_score(y, s, multi_class="ovr")
        assert found["accuracy"][i] == pytest.approx(
            metrics.accuracy_score(y, predicted), abs=1e-15
        )
        assert found["f1"][i] == pytest.approx(f1, rel=1e-12)
        assert found["roc_auc"][i] == pytest.approx(auc, rel=1e-12)


def test_bootstrap_intervals_contain_the_value_and_follow_the_seed() -> None:
    labels, scores = _classified(7, 1_000, ["a", "b", "c"])
    first = realised(labels, scores, ["a", "b", "c"], seed=11)
    assert first == realised(labels, scores, ["a", "b", "c"], seed=11)
    other = realised(labels, scores, ["a", "b", "c"], seed=12)
    for m in first.metrics:
        assert m.value is not None and m.lower is not None and m.upper is not None
        assert m.lower < m.value < m.upper
        assert (m.resamples, m.skipped) == (1000, 0)
        assert (m.lower, m.upper) != (other.metric(m.name).lower, other.metric(m.name).upper)
    wider = realised(labels, scores, ["a", "b", "c"], seed=11, confidence=0.99).metric("f1")
    assert wider.lower is not None and wider.upper is not None
    assert (
        wider.lower
        < (first.metric("f1").lower or 0)
        < (first.metric("f1").upper or 0)
        < wider.upper
    )
    assert _plain(first.to_dict())
    json.dumps(first.to_dict())


def test_resamples_where_roc_auc_is_undefined_are_skipped_and_counted() -> None:
    rng = np.random.default_rng(8)
    labels = np.zeros(40, dtype=int)
    labels[:2] = 1  # two positives: many resamples have none
    p = rng.uniform(size=40)
    found = realised(labels, np.column_stack([1 - p, p]), [0, 1], n_boot=300).metric("roc_auc")
    assert found.skipped > 0
    assert found.resamples + found.skipped == 300


def test_roc_auc_on_a_window_of_one_class_is_undefined_not_an_error() -> None:
    p = np.random.default_rng(9).uniform(size=50)
    found = realised(np.ones(50, dtype=int), np.column_stack([1 - p, p]), [0, 1], n_boot=50)
    auc = found.metric("roc_auc")
    assert (auc.value, auc.lower, auc.upper) == (None, None, None)
    assert auc.reason is not None and "undefined" in auc.reason
    assert found.metric("accuracy").value == np.mean(p > 0.5)


def test_a_window_with_too_few_rows_is_not_enough_data() -> None:
    labels, scores = _classified(10, 29, ["no", "yes"])
    found = realised(labels, scores, ["no", "yes"])
    assert found.status == "not_enough_data"
    assert found.reason == "29 labelled rows, fewer than min_rows=30"
    assert all(m.value is None for m in found.metrics)
    paired = paired_difference(labels, scores, scores, ["no", "yes"])
    assert (paired.status, paired.value) == ("not_enough_data", None)


def test_a_thousand_bootstraps_of_ten_thousand_rows_take_well_under_a_second() -> None:
    labels, scores = _classified(11, 10_000, ["no", "yes"])
    realised(labels[:100], scores[:100], ["no", "yes"], n_boot=10)  # imports scikit-learn
    start = time.perf_counter()
    realised(labels, scores, ["no", "yes"], n_boot=1000)
    # About 0.3 s on a laptop core; the bound leaves room for a loaded CI runner.
    assert time.perf_counter() - start < 3.0


@pytest.mark.parametrize("metric", ["accuracy", "f1", "roc_auc"])
def test_the_paired_difference_of_identical_models_is_exactly_zero(metric: str) -> None:
    labels, scores = _classified(12, 800, ["a", "b", "c"])
    found = paired_difference(labels, scores, scores.copy(), ["a", "b", "c"], metric=metric)
    assert (found.value, found.lower, found.upper, found.better_share) == (0.0, 0.0, 0.0, 0.0)
    assert (
        found.champion
        == found.challenger
        == realised(labels, scores, ["a", "b", "c"], metrics=[metric], n_boot=1)
        .metric(metric)
        .value
    )


def test_a_clearly_better_challenger_has_a_positive_interval() -> None:
    rng = np.random.default_rng(13)
    truth = rng.uniform(size=2_000)
    labels = (rng.uniform(size=2_000) < truth).astype(int)
    noisy = np.clip(truth + rng.normal(0, 0.35, size=2_000), 0, 1)
    champion, challenger = np.column_stack([1 - noisy, noisy]), np.column_stack([1 - truth, truth])
    found = paired_difference(labels, champion, challenger, [0, 1], seed=3)
    assert found.champion == metrics.roc_auc_score(labels, noisy)
    assert found.challenger == metrics.roc_auc_score(labels, truth)
    assert found.champion is not None and found.challenger is not None
    assert found.value == found.challenger - found.champion
    assert found.lower is not None and found.upper is not None and found.value is not None
    assert 0.0 < found.lower < found.value < found.upper
    assert found.better_share == 1.0
    assert found == paired_difference(labels, champion, challenger, [0, 1], seed=3)
    assert _plain(found.to_dict())


# -- bad input -----------------------------------------------------------------------------

_P = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: realised([0, 1], _P, [0, 1]), "got 2 labels and 3 rows of scores"),
        (lambda: realised([0, 1, 1], _P * 1.5, [0, 1]), "probabilities in [0, 1]"),
        (lambda: realised([0, 1, 1], -_P, [0, 1]), "probabilities in [0, 1]"),
        (lambda: realised([0, 1, 1], _P * 0.9, [0, 1]), "must sum to 1"),
        (lambda: realised([0, 1, 1], _P, [0, 1, 2]), "one column per class (3), not 2"),
        (lambda: realised([0, 0, 0], _P[:, :1], [0]), "at least 2 classes"),
        (lambda: realised([0, 1, 7], _P, [0, 1]), "label 7 is not among the classes [0, 1]"),
        (lambda: realised(["a", "b", "c"], _P, ["a", "b"]), "label 'c' is not among"),
        (lambda: realised([0, 1, 1], _P, [0, 0]), "distinct"),
        (lambda: realised([0, 1, 1], _P, [0, 1], metrics=["auc"]), "unknown metric 'auc'"),
        (lambda: realised([0, 1, 1], _P, [0, 1], n_boot=0), "n_boot"),
        (lambda: realised([0, 1, 1], _P, [0, 1], confidence=1.0), "confidence"),
        (lambda: paired_difference([0, 1, 1], _P, _P[:2], [0, 1]), "same rows"),
        (lambda: Calibration.fit(_P, [0, 1], [0, 1]), "got 2 labels"),
        (lambda: Calibration.fit(_P, [0, 1, 2], [0, 1]), "label 2 is not among"),
        (lambda: Calibration.fit(np.tile(_P, (100, 1)), [0, 1, 1] * 100, [0, 1]), "2500 rows"),
    ],
)
def test_bad_input_is_refused_with_a_one_line_message(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        call()
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


# -- estimation before labels ----------------------------------------------------------------


def _reference(seed: int, rows: int = 3_000) -> tuple[npt.NDArray[np.int64], F64]:
    rng = np.random.default_rng(seed)
    truth = rng.beta(2, 2, size=rows)
    labels = (rng.uniform(size=rows) < truth).astype(np.int64)
    return labels, np.column_stack([1 - truth, truth])


def test_the_calibration_is_sklearns_isotonic_regression() -> None:
    labels, scores = _reference(20)
    skewed = scores**3 / (scores**3).sum(axis=1, keepdims=True)  # an overconfident model
    calibration = Calibration.fit(skewed, labels, [0, 1], chunk_rows=300)
    assert calibration.identity == (False,)  # calibration helps here, so "auto" applies it
    window = np.random.default_rng(21).uniform(-0.1, 1.1, size=500).clip(0, 1)  # and outside
    expected = IsotonicRegression(out_of_bounds="clip").fit(skewed[:, 1], labels).predict(window)
    found = calibration.calibrate(np.column_stack([1 - window, window]))
    np.testing.assert_allclose(found[:, 1], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(found[:, 0], 1 - expected, rtol=0, atol=1e-12)


def test_several_classes_are_calibrated_one_versus_rest_then_renormalised() -> None:
    labels, scores = _classified(22, 3_000, ["a", "b", "c"])
    calibration = Calibration.fit(scores, labels, ["a", "b", "c"], calibrate="always")
    columns = [
        IsotonicRegression(out_of_bounds="clip")
        .fit(scores[:, j], labels == c)
        .predict(scores[:, j])
        for j, c in enumerate(["a", "b", "c"])
    ]
    stacked = np.column_stack(columns)
    expected = stacked / stacked.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(calibration.calibrate(scores), expected, rtol=0, atol=1e-12)


def test_a_calibrated_model_keeps_its_raw_scores() -> None:
    labels, scores = _reference(23, 5_000)  # the scores are the true probabilities
    calibration = Calibration.fit(scores, labels, [0, 1])
    assert calibration.identity == (True,)
    assert np.array_equal(calibration.calibrate(scores), scores)


def test_expected_metrics_are_the_realised_ones_when_calibration_knows_the_labels() -> None:
    # Scores on a grid, labels a step of them: isotonic maps every grid point to 0 or 1, so
    # the calibrated probabilities *are* the labels and every expectation is the realised
    # value. Rows scored 0.6 are predicted positive but are negatives.
    rng = np.random.default_rng(24)
    grid = np.round(np.arange(0.1, 1.0, 0.1), 1)

    def draw(rows: int) -> tuple[npt.NDArray[np.int64], F64]:
        p = rng.choice(grid, size=rows)
        return (p >= 0.7).astype(np.int64), np.column_stack([1 - p, p])

    reference_labels, reference_scores = draw(1_000)
    calibration = Calibration.fit(
        reference_scores, reference_labels, [0, 1], chunk_rows=100, calibrate="always"
    )
    labels, scores = draw(400)
    found = estimate(calibration, scores)
    predicted = np.argmax(scores, axis=1)
    assert found.metric("accuracy").value == pytest.approx(
        metrics.accuracy_score(labels, predicted), abs=1e-12
    )
    assert found.metric("f1").value == pytest.approx(metrics.f1_score(labels, predicted), abs=1e-12)
    assert found.metric("roc_auc").value == pytest.approx(
        metrics.roc_auc_score(labels, scores[:, 1]), abs=1e-12
    )


def test_expected_multiclass_metrics_are_the_realised_ones_when_labels_are_known() -> None:
    # Each column separates its class from the others; row 1 is predicted "a" but is "b".
    rows = np.array(
        [[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.1, 0.28, 0.62], [0.3, 0.25, 0.45]]
    )
    kinds = np.array(["a", "b", "b", "c", "c"])
    rng = np.random.default_rng(25)
    reference = rng.integers(0, 5, size=1_000)
    calibration = Calibration.fit(
        rows[reference], kinds[reference], ["a", "b", "c"], chunk_rows=100, calibrate="always"
    )
    window = rng.integers(0, 5, size=300)
    labels, scores = kinds[window], rows[window]
    found = estimate(calibration, scores)
    realised_ = realised(labels, scores, ["a", "b", "c"], n_boot=1)
    for name in ("accuracy", "f1", "roc_auc"):
        assert found.metric(name).value == pytest.approx(realised_.metric(name).value, abs=1e-12)


def test_the_expected_auc_is_the_area_under_the_expected_roc_curve() -> None:
    rng = np.random.default_rng(26)
    raw = np.round(rng.uniform(size=300), 2)  # ties
    expected = rng.uniform(size=300)
    thresholds = np.unique(raw)[::-1]
    tp = np.array([expected[raw >= t].sum() for t in thresholds])
    fp = np.array([(1 - expected)[raw >= t].sum() for t in thresholds])
    tpr = np.concatenate([[0.0], tp / expected.sum()])
    fpr = np.concatenate([[0.0], fp / (1 - expected).sum()])
    assert expected_auc(raw, expected) == pytest.approx(metrics.auc(fpr, tpr), rel=1e-12)


@pytest.mark.parametrize("classes", [["no", "yes"], ["a", "b", "c"]])
def test_a_calibration_round_trips_through_json_and_gives_identical_estimates(
    classes: list[str],
) -> None:
    labels, scores = _classified(27, 3_000, classes)
    calibration = Calibration.fit(scores, labels, classes, calibrate="always")
    stored = json.dumps(calibration.to_dict())
    assert _plain(json.loads(stored))
    again = Calibration.from_dict(json.loads(stored))
    assert again == calibration
    _, window = _classified(28, 700, classes)
    assert estimate(again, window).to_dict() == estimate(calibration, window).to_dict()
    assert _plain(estimate(again, window).to_dict())


def test_a_malformed_stored_calibration_is_refused() -> None:
    labels, scores = _reference(29)
    stored = Calibration.fit(scores, labels, [0, 1]).to_dict()
    for broken in ({}, {**stored, "format": 2}, {**stored, "maps": []}, {**stored, "rows": "x"}):
        with pytest.raises(InvalidInput):
            Calibration.from_dict(broken)


def test_an_estimate_on_too_few_rows_is_not_enough_data() -> None:
    labels, scores = _reference(30)
    found = estimate(Calibration.fit(scores, labels, [0, 1]), scores[:12])
    assert (found.status, found.rows, found.trust) == ("not_enough_data", 12, None)
    assert found.reason == "12 rows, fewer than min_rows=30"
    assert all(m.value is None and not m.alert for m in found.metrics)


def test_trust_is_low_when_the_window_leaves_the_reference_score_range() -> None:
    labels, scores = _reference(31)
    inside = (scores[:, 1] > 0.2) & (scores[:, 1] < 0.8)
    calibration = Calibration.fit(scores[inside], labels[inside], [0, 1], chunk_rows=200)
    normal = estimate(calibration, scores[inside][:1_000])
    assert (normal.trust, normal.out_of_range_share) == ("ok", 0.0)
    p = np.random.default_rng(32).uniform(0.85, 1.0, size=200)
    found = estimate(calibration, np.column_stack([1 - p, p]))
    assert (found.trust, found.out_of_range_share) == ("low", 1.0)
    assert found.caveats == CAVEATS
    assert {"Concept drift", "Unseen regions", "An uncalibrated model"} <= {
        c.split(":")[0] for c in found.caveats
    }


# -- acceptance: the estimate tracks realised performance under covariate shift ------------

_BETA = np.array([1.5, -1.0, 0.8, 0.5])
_SHIFT = np.array([1.0, -0.5, 0.5, 1.0])
_WINDOWS = 40


def _population(rng: np.random.Generator, rows: int, mean: F64) -> tuple[F64, npt.NDArray[Any]]:
    """Inputs around ``mean``; outcomes from one fixed P(y | x), logistic in the inputs."""
    x = rng.normal(size=(rows, 4)) + mean
    p = 1.0 / (1.0 + np.exp(-(x @ _BETA - 0.3)))
    return x, (rng.uniform(size=rows) < p).astype(np.int64)


def _overconfident(scores: F64) -> F64:
    """The same ranking with the log-odds tripled: a model sure of itself beyond reason."""
    p = 1.0 / (1.0 + np.exp(-3.0 * (np.log(scores[:, 1]) - np.log(scores[:, 0]))))
    return np.column_stack([1.0 - p, p])


def _track(
    score: Callable[[F64], F64], calibrate: Literal["auto", "always", "never"]
) -> tuple[Calibration, dict[str, float], list[PerformanceEstimate]]:
    """A logistic model well specified for P(y | x), its calibration on a held-out reference
    of 5,000 rows, then 40 windows of 1,000 rows whose input means move step by step along
    ``_SHIFT`` (to 1.5 of it): per metric, the share of windows whose realised value (from
    the true labels) lies inside the label-free estimate's band, and the estimates."""
    rng = np.random.default_rng(0)
    model = LogisticRegression(C=1e6).fit(*_population(rng, 5_000, np.zeros(4)))
    x, y = _population(rng, 5_000, np.zeros(4))  # the version's evaluation split
    calibration = Calibration.fit(score(model.predict_proba(x)), y, [0, 1], calibrate=calibrate)
    inside = {"accuracy": 0, "f1": 0, "roc_auc": 0}
    estimates = []
    for step in range(_WINDOWS):
        x, y = _population(rng, 1_000, _SHIFT * 1.5 * step / (_WINDOWS - 1))
        scores = score(model.predict_proba(x))
        found = estimate(calibration, scores)
        truth = realised(y, scores, [0, 1], n_boot=1)
        for name in inside:
            band, value = found.metric(name), truth.metric(name).value
            assert band.lower is not None and band.upper is not None and value is not None
            inside[name] += band.lower <= value <= band.upper
        estimates.append(found)
    return calibration, {n: count / _WINDOWS for n, count in inside.items()}, estimates


def test_the_label_free_estimate_tracks_realised_performance_under_covariate_shift() -> None:
    """The label-free estimate tracks realised accuracy within its band under covariate
    shift on a calibrated model in at least 90% of windows (ROC AUC and F1 too)."""
    calibration, shares, estimates = _track(lambda scores: scores, "auto")
    assert calibration.identity == (True,)  # a calibrated model keeps its scores
    assert min(shares.values()) >= 0.9, shares
    # The estimate moves: under the strongest shift accuracy is far above the reference's
    # and alerts, so the band is not trivially wide.
    first, last = estimates[0].metric("accuracy"), estimates[-1].metric("accuracy")
    assert first.value is not None and last.value is not None
    assert last.value - first.reference_mean > 5 * first.reference_std
    assert last.lower is not None and first.upper is not None
    assert last.lower > first.upper
    assert (first.alert, last.alert) == (False, True)


def test_an_overconfident_model_is_tracked_once_calibrated_and_not_before() -> None:
    calibration, shares, _ = _track(_overconfident, "auto")
    assert calibration.identity == (False,)  # isotonic calibration applied
    assert shares["accuracy"] >= 0.9, shares
    _, uncalibrated, _ = _track(_overconfident, "never")
    assert uncalibrated["accuracy"] < 0.5, uncalibrated  # the caveat: calibration matters
