"""Fairness in production: a window's per-group rates and the differences between groups
equal fairlearn's, small groups are reported but not judged, missing group values are a
group, and the comparison with the approved ratio alerts when, and only when, it should."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from steward.drift._fairness import MISSING_GROUP, GroupRates, compare_fairness, group_rates
from steward.errors import InvalidInput

Ints = npt.NDArray[np.int64]


def _window(n: int, groups: int, seed: int) -> tuple[Ints, npt.NDArray[Any], Ints]:
    """``(y_pred, group labels, y_true)`` with group sizes, base rates and selection rates
    that differ between groups."""
    rng = np.random.default_rng(seed)
    names = np.array([f"g{k}" for k in range(groups)], dtype=object)
    share = rng.dirichlet(np.full(groups, 4.0))
    member = rng.choice(groups, size=n, p=share)
    base = rng.uniform(0.2, 0.6, size=groups)[member]
    y_true = (rng.random(n) < base).astype(np.int64)
    lift = rng.uniform(-0.15, 0.15, size=groups)[member]
    y_pred = (rng.random(n) < np.clip(0.15 + 0.6 * y_true + lift, 0, 1)).astype(np.int64)
    return y_pred, names[member], y_true


def _fairlearn(y_pred: Ints, groups: Any, y_true: Ints | None) -> dict[str, Any]:
    truth = y_pred if y_true is None else y_true  # selection rate ignores y_true
    metrics: dict[str, Any] = {"count": count, "selection_rate": selection_rate}
    if y_true is not None:
        metrics |= {"tpr": true_positive_rate, "fpr": false_positive_rate}
    frame = MetricFrame(
        metrics=metrics, y_true=truth, y_pred=y_pred, sensitive_features=np.asarray(groups)
    )
    found: dict[str, Any] = {
        "by_group": {str(g): row.to_dict() for g, row in frame.by_group.iterrows()},
        "ratio": demographic_parity_ratio(truth, y_pred, sensitive_features=groups),
        "difference": demographic_parity_difference(truth, y_pred, sensitive_features=groups),
    }
    if y_true is not None:
        found["odds"] = equalized_odds_difference(y_true, y_pred, sensitive_features=groups)
    return found


def _assert_equal(found: GroupRates, expected: dict[str, Any]) -> None:
    assert [g.group for g in found.groups] == sorted(expected["by_group"])
    for rate in found.groups:
        theirs = expected["by_group"][rate.group]
        assert rate.count == theirs["count"]
        assert rate.selection_rate == pytest.approx(theirs["selection_rate"], rel=1e-12)
        if "tpr" in theirs:
            assert rate.tpr == pytest.approx(theirs["tpr"], rel=1e-12)
            assert rate.fpr == pytest.approx(theirs["fpr"], rel=1e-12)
        else:
            assert (rate.tpr, rate.fpr, rate.labelled) == (None, None, None)
    assert found.disparate_impact_ratio == pytest.approx(expected["ratio"], rel=1e-12)
    assert found.demographic_parity_difference == pytest.approx(
        expected["difference"], rel=1e-12, abs=1e-15
    )
    if "odds" in expected:
        assert found.equalized_odds_difference == pytest.approx(expected["odds"], rel=1e-12)
    else:
        assert found.equalized_odds_difference is None


@pytest.mark.parametrize("groups", [2, 3, 4])
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("with_labels", [False, True])
def test_rates_and_differences_equal_fairlearns_on_random_windows(
    groups: int, seed: int, with_labels: bool
) -> None:
    y_pred, names, y_true = _window(3000, groups, 100 * groups + seed)
    found = group_rates(
        y_pred, names, positive=1, labels=y_true if with_labels else None, min_rows=30
    )
    _assert_equal(found, _fairlearn(y_pred, names, y_true if with_labels else None))
    assert (found.rows, found.dropped, found.excluded, found.reason) == (3000, 0, (), None)
    assert found.with_labels is with_labels
    json.dumps(found.to_dict(), allow_nan=False)


def test_text_decisions_polars_and_numpy_inputs_give_the_same_rates() -> None:
    y_pred, names, y_true = _window(2000, 3, 7)
    words = np.where(y_pred == 1, "approve", "deny").astype(object)
    truth = np.where(y_true == 1, "approve", "deny").astype(object)
    as_numbers = group_rates(y_pred, names, positive=1, labels=y_true)
    as_text = group_rates(list(words), pl.Series(names), positive="approve", labels=truth)
    as_booleans = group_rates(y_pred.astype(bool), names, positive=np.True_, labels=y_true)
    assert as_text.to_dict() == {**as_numbers.to_dict(), "positive": "approve"}
    assert as_booleans.to_dict() == {**as_numbers.to_dict(), "positive": True}


def test_groups_smaller_than_min_rows_are_reported_but_left_out_of_the_ratios() -> None:
    y_pred, names, y_true = _window(3000, 3, 11)
    y_pred = np.concatenate([y_pred, np.zeros(12, dtype=np.int64), np.ones(3, dtype=np.int64)])
    y_true = np.concatenate([y_true, np.ones(15, dtype=np.int64)])
    names = np.concatenate([names, np.array(["tiny"] * 12 + ["tinier"] * 3, dtype=object)])
    found = group_rates(y_pred, names, positive=1, labels=y_true)
    assert found.excluded == ("tinier", "tiny")
    assert found.excluded_labelled == ("tinier", "tiny")
    assert found.judged == ("g0", "g1", "g2")
    assert found.group("tiny").count == 12 and found.group("tiny").selection_rate == 0.0
    assert found.group("tinier").selection_rate == 1.0 and not found.group("tinier").judged
    assert found.reason is not None
    assert "fewer than min_rows=30 rows: tinier (3), tiny (12)" in found.reason
    # The differences are fairlearn's on the judged groups' rows; the per-group rates on all.
    kept = np.isin(names, list(found.judged))
    _assert_equal(
        replace(found, groups=tuple(g for g in found.groups if g.judged)),
        _fairlearn(y_pred[kept], names[kept], y_true[kept]),
    )
    everything = _fairlearn(y_pred, names, y_true)["by_group"]
    assert found.group("tiny").selection_rate == everything["tiny"]["selection_rate"]
    # With every group too small there is nothing to compare.
    alone = group_rates(y_pred[-15:], names[-15:], positive=1)
    assert (alone.disparate_impact_ratio, alone.demographic_parity_difference) == (None, None)
    assert alone.reason is not None and "no group has at least min_rows=30 rows" in alone.reason


def test_missing_group_values_are_a_group_and_missing_decisions_and_labels_are_left_out() -> None:
    y_pred, names, y_true = _window(3000, 2, 21)
    rng = np.random.default_rng(21)
    gaps = rng.random(3000) < 0.1
    names = names.copy()
    names[gaps] = None
    names[:5] = np.nan  # NaN is missing too
    gaps[:5] = True
    decisions = y_pred.astype(np.float64)
    no_decision = rng.random(3000) < 0.03
    decisions[no_decision] = np.nan
    truth: list[Any] = [None if rng.random() < 0.2 else int(t) for t in y_true]
    found = group_rates(decisions, names, positive=1, labels=truth)

    labelled_groups = np.where(gaps, MISSING_GROUP, names.astype(str))
    assert MISSING_GROUP in found.judged
    assert found.dropped == int(no_decision.sum())
    kept = ~no_decision
    everything = _fairlearn(y_pred[kept], labelled_groups[kept], None)
    for rate in found.groups:
        assert rate.count == everything["by_group"][rate.group]["count"]
        assert rate.selection_rate == pytest.approx(
            everything["by_group"][rate.group]["selection_rate"], rel=1e-12
        )
    assert found.disparate_impact_ratio == pytest.approx(everything["ratio"], rel=1e-12)
    # TPR and FPR over the rows that have a label (and a decision).
    known = kept & np.array([t is not None for t in truth])
    with_truth = _fairlearn(y_pred[known], labelled_groups[known], y_true[known])
    for rate in found.groups:
        assert rate.labelled == with_truth["by_group"][rate.group]["count"]
        assert rate.tpr == pytest.approx(with_truth["by_group"][rate.group]["tpr"], rel=1e-12)
        assert rate.fpr == pytest.approx(with_truth["by_group"][rate.group]["fpr"], rel=1e-12)
    assert found.equalized_odds_difference == pytest.approx(with_truth["odds"], rel=1e-12)
    polars_groups = pl.Series([None if g is None or g != g else g for g in names])
    assert group_rates(decisions, polars_groups, positive=1, labels=truth) == found


def test_a_group_without_positive_labels_has_no_tpr_and_leaves_the_tpr_range() -> None:
    y_pred = np.array([1, 0] * 40 + [1, 0, 0, 0] * 20)
    groups = np.array(["a"] * 80 + ["b"] * 80, dtype=object)
    y_true = np.array([1, 0] * 40 + [0] * 80)
    found = group_rates(y_pred, groups, positive=1, labels=y_true)
    assert found.group("b").tpr is None and found.group("b").positives == 0
    assert found.group("a").fpr == 0.0 and found.group("b").fpr == 0.25
    assert found.equalized_odds_difference == 0.25  # the FPR range; fairlearn's TPR of b is 0
    assert equalized_odds_difference(y_true, y_pred, sensitive_features=groups) == 1.0


def _rates(selection: dict[str, float], n: int = 1000) -> GroupRates:
    y_pred = np.concatenate(
        [(np.arange(n) < round(rate * n)).astype(np.int64) for rate in selection.values()]
    )
    groups = np.repeat(np.array(list(selection), dtype=object), n)
    return group_rates(y_pred, groups, positive=1)


def test_compare_fairness_alerts_below_the_minimum_or_below_the_approved_ratio() -> None:
    cases = [
        # (selection rates, approved, alert, words in the reason)
        ({"a": 0.50, "b": 0.45}, 0.92, False, "is at least 0.870"),
        ({"a": 0.50, "b": 0.38}, 0.80, True, "below the minimum 0.8"),
        ({"a": 0.50, "b": 0.42}, 0.95, True, "0.110 below the approved 0.950, more than 0.05"),
        ({"a": 0.50, "b": 0.35}, 0.95, True, "below the minimum 0.8 and more than 0.05 below"),
        ({"a": 0.50, "b": 0.44}, 0.92, False, "is at least 0.870"),  # exactly 0.880 ≥ 0.870
        ({"a": 0.50, "b": 0.42}, 0.86, False, "is at least 0.810"),
    ]
    for selection, approved, alert, words in cases:
        verdict = compare_fairness(_rates(selection), approved)
        ratio = selection["b"] / selection["a"]
        assert verdict.ratio == pytest.approx(ratio, rel=1e-12)
        assert verdict.alert is (ratio < 0.8 or ratio < approved - 0.05)
        assert verdict.alert is alert, (selection, approved)
        assert verdict.status == "ok"
        assert words in verdict.reason, verdict.reason
        assert verdict.reason.endswith(".") and "\n" not in verdict.reason
        assert f"{selection['b']:.3f} for b against {selection['a']:.3f} for a" in verdict.reason
        assert verdict.threshold == max(0.8, approved - 0.05)
        json.dumps(verdict.to_dict(), allow_nan=False)
    strict = compare_fairness(_rates({"a": 0.5, "b": 0.44}), 0.9, min_ratio=0.9, tolerance=0.0)
    assert strict.alert and math.isclose(strict.threshold, 0.9)


def test_compare_fairness_without_a_ratio_is_not_enough_data_and_no_alert() -> None:
    y_pred, names, _ = _window(40, 2, 3)
    verdict = compare_fairness(group_rates(y_pred, names, positive=1), 0.9)
    assert (verdict.status, verdict.alert, verdict.ratio) == ("not_enough_data", False, None)
    assert verdict.reason.startswith("The disparate impact ratio could not be computed (")
    nobody = group_rates(np.zeros(100, dtype=np.int64), ["a", "b"] * 50, positive=1)
    assert nobody.demographic_parity_difference == 0.0
    assert nobody.disparate_impact_ratio is None
    assert compare_fairness(nobody, 0.9).status == "not_enough_data"


def test_bad_inputs_and_settings_are_refused_with_one_line() -> None:
    y_pred, names, y_true = _window(200, 2, 5)
    rates = group_rates(y_pred, names, positive=1)
    cases: list[tuple[Any, str]] = [
        (lambda: group_rates(y_pred, names[:-1], positive=1), "groups has 199 values"),
        (lambda: group_rates(y_pred, names, positive=1, labels=y_true[:3]), "labels has 3"),
        (lambda: group_rates(y_pred, names, positive="yes"), "numbers but positive is text"),
        (lambda: group_rates(["yes", "no"], ["a", "b"], positive=1), "text but positive"),
        (lambda: group_rates(y_pred, names, positive=[1]), "positive must be"),  # type: ignore[arg-type]
        (lambda: group_rates(y_pred, names, positive=float("nan")), "finite"),
        (lambda: group_rates(y_pred, names, positive=1, min_rows=0), "min_rows"),
        (lambda: group_rates([1, 0], ["a", MISSING_GROUP], positive=1), "rename it"),
        (lambda: compare_fairness(rates, 1.2), "approved_ratio"),
        (lambda: compare_fairness(rates, 0.9, min_ratio=-0.1), "min_ratio"),
        (lambda: compare_fairness(rates, 0.9, tolerance=-0.01), "tolerance"),
    ]
    for call, message in cases:
        with pytest.raises(InvalidInput, match=message) as caught:
            call()
        assert "\n" not in str(caught.value)
