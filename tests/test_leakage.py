"""Leakage does not pass: an input recorded after the outcome is a high privacy finding at the
default threshold even when it predicts the target with ROC AUC 0.95 rather than 0.99, and a
near-perfect held-out score is a high performance finding; neither fires on the bundled
mortgage data."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import steward
from factories import context_of as _context
from factories import credit_frame, diabetes
from steward.checks import CheckContext, get_check
from steward.domain import EvidenceStatus, Severity
from steward.samples import LOANAPP_SENSITIVE, LOANAPP_TARGET, loanapp
from steward.settings import Settings


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Checks are pure capabilities: SQLite is enough to train the models they judge."""
    return f"sqlite:///{tmp_path / 'store.db'}"


def _train(frame: pd.DataFrame, name: str, target: str, **options: Any) -> CheckContext:
    sensitive = ["group"] if "group" in frame.columns else ["sex"]
    steward.register_dataset(frame, name=name, target=target, sensitive=sensitive)
    return _context(steward.train(checks=False, dataset=name, name=f"{name}-model", **options).ref)


def test_an_input_that_alone_scores_0_95_is_leakage_at_the_default_threshold(
    sdk_env: Settings,
) -> None:
    """Like the recidivism inputs recorded after the outcome (0.96–0.97 alone), which the old
    threshold of 0.99 let through."""
    frame = credit_frame(1000)
    noise = np.random.default_rng(42).normal(0, 0.3, len(frame))
    frame["collections_later"] = frame["approved"] + noise  # known only after the decision
    ctx = _train(frame, "late", "approved")
    record = get_check("privacy")().run(ctx)
    auc = record.metrics["target_auc"]["collections_later"]
    assert 0.9 <= auc < 0.99
    (finding,) = [f for f in record.findings if f.code == "target_leakage"]
    assert finding.column == "collections_later" and finding.severity is Severity.HIGH
    assert "recorded after the outcome" in finding.message
    assert record.status is EvidenceStatus.FAILED and record.params["leakage_auc"] == 0.9
    # the legitimate inputs stay well below it
    assert all(v < 0.9 for c, v in record.metrics["target_auc"].items() if c != "collections_later")
    # the threshold is a parameter a policy can pin; the old one misses this column
    lenient = get_check("privacy")(leakage_auc=0.99).run(ctx)
    assert not [f for f in lenient.findings if f.code == "target_leakage"]


def test_the_demo_data_raises_no_leakage_or_near_perfect_finding(sdk_env: Settings) -> None:
    """The bundled mortgage applications, on the demo's split (seed 7): the strongest single
    input (gdlin, meeting the debt guidelines) scores 0.77 alone, far below 0.9."""
    steward.register_dataset(
        loanapp(), name="loans", target=LOANAPP_TARGET, sensitive=list(LOANAPP_SENSITIVE)
    )
    version = steward.train(
        checks=False, dataset="loans", name="loan-approval", template="hgb", seed=7
    )
    ctx = _context(version.ref)
    privacy = get_check("privacy")().run(ctx)
    scores = {c: v for c, v in privacy.metrics["target_auc"].items() if v is not None}
    assert len(scores) == len(version.features)
    strongest = max(scores, key=scores.__getitem__)
    assert strongest == "gdlin" and 0.7 < scores[strongest] < 0.8
    assert not [f for f in privacy.findings if f.code == "target_leakage"]
    assert privacy.status is EvidenceStatus.PASSED
    performance = get_check("performance")(bootstrap=20).run(ctx)
    assert performance.metrics["roc_auc"] < 0.95
    assert not [f for f in performance.findings if f.code == "near_perfect"]
    assert performance.status is EvidenceStatus.PASSED


def test_a_near_perfect_classifier_is_a_high_performance_finding(sdk_env: Settings) -> None:
    frame = credit_frame()
    frame["decision_code"] = frame["approved"] * 7 + 1  # the outcome, recorded as a code
    ctx = _train(frame, "leaky", "approved")
    record = get_check("performance")(bootstrap=20).run(ctx)
    assert record.metrics["roc_auc"] >= 0.99
    (finding,) = [f for f in record.findings if f.code == "near_perfect"]
    assert finding.severity is Severity.HIGH and "usually leakage" in finding.message
    assert finding.data is not None and finding.data["suspicious_score"] == 0.99
    assert finding.data["scores"]["roc_auc"] == record.metrics["roc_auc"]
    assert record.status is EvidenceStatus.FAILED
    # a policy may pin the threshold; at 1 only a perfect score on every row would fire
    relaxed = get_check("performance")(bootstrap=20, suspicious_score=1.0).run(ctx)
    perfect = max(relaxed.metrics["roc_auc"], relaxed.metrics["balanced_accuracy"]) >= 1.0
    assert any(f.code == "near_perfect" for f in relaxed.findings) is perfect
    # and the privacy check names the column
    privacy = get_check("privacy")().run(ctx)
    assert ("target_leakage", "decision_code") in {(f.code, f.column) for f in privacy.findings}


def test_a_near_perfect_regressor_is_a_high_performance_finding(sdk_env: Settings) -> None:
    frame = diabetes()
    noise = np.random.default_rng(0).normal(0, 2.0, len(frame))
    frame["progression_recorded"] = frame["target"] + noise  # measured at the follow-up
    ctx = _train(frame, "followup", "target")
    record = get_check("performance")(bootstrap=20).run(ctx)
    assert record.metrics["r2"] >= 0.99
    (finding,) = [f for f in record.findings if f.code == "near_perfect"]
    assert "R²" in finding.message and finding.severity is Severity.HIGH
    privacy = get_check("privacy")().run(ctx)
    assert ("target_leakage", "progression_recorded") in {
        (f.code, f.column) for f in privacy.findings
    }
    honest = _train(diabetes(), "honest", "target")
    assert not [
        f for f in get_check("performance")(bootstrap=20).run(honest).findings
        if f.code == "near_perfect"
    ]  # fmt: skip


class _Majority:
    """Always predicts the majority class; scores rank a little better than chance."""

    def __init__(self, y: np.ndarray) -> None:
        self._score = np.where(y == 1, 0.3, 0.2) + np.linspace(0.0, 0.25, len(y))

    def predict(self, x: Any) -> np.ndarray:
        return np.zeros(len(x), dtype=int)

    def predict_proba(self, x: Any) -> np.ndarray:
        return np.column_stack([1 - self._score, self._score])


def test_a_high_accuracy_on_a_rare_class_is_not_near_perfect(sdk_env: Settings) -> None:
    """Accuracy is 99.25% for a model that never predicts the rare class: balanced accuracy
    (0.5), not accuracy, is what the check holds against ``suspicious_score``."""
    steward.register_dataset(credit_frame(), name="credit", target="approved", sensitive=["group"])
    base = _context(steward.train(checks=False, dataset="credit", name="credit-model").ref)
    y = pd.Series(np.r_[np.ones(3, dtype=int), np.zeros(397, dtype=int)], name="approved")
    x = pd.concat([base.X] * 5, ignore_index=True)
    ctx = replace(base, X=x, y=y, A=pd.DataFrame(index=x.index), model=_Majority(y.to_numpy()))
    record = get_check("performance")(bootstrap=20).run(ctx)
    assert record.metrics["accuracy"] == pytest.approx(0.9925)
    assert record.metrics["balanced_accuracy"] == 0.5
    assert not [f for f in record.findings if f.code == "near_perfect"]
