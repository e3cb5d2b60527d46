"""Evidence checks: the interface, the entry-point registry, the conformance kit, and the
``performance`` check against scikit-learn's own numbers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import metrics
from sklearn.linear_model import LogisticRegression

import steward
from conftest import Seed, sdk_seed
from factories import context_of, credit_frame
from steward.checks import (
    Capabilities,
    Check,
    CheckContext,
    ConformanceError,
    available_checks,
    check_conformance,
    get_check,
)
from steward.domain import Evidence, EvidenceStatus
from steward.errors import InvalidInput
from steward.settings import Settings


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Checks are pure capabilities: SQLite is enough to train the model they judge."""
    return f"sqlite:///{tmp_path / 'store.db'}"


def _credit_model(settings: Settings) -> dict[str, Any]:
    steward.register_dataset(credit_frame(), name="credit", target="approved", sensitive=["group"])
    steward.train(checks=False, dataset="credit", name="credit-model", seed=2)
    return {}


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> Seed:
    """dana's credit-model@1 (no checks run) for the tests that take ``context``."""
    if "context" in request.fixturenames:
        return sdk_seed("checks-credit-model", _credit_model)
    return Seed("initialised")


@pytest.fixture
def context(sdk_env: Settings) -> CheckContext:
    return context_of("credit-model@1")


def test_the_builtin_performance_check_is_registered_like_any_plugin() -> None:
    checks = available_checks()
    assert checks["performance"].__module__ == "steward.checks._performance"
    assert get_check("performance") is checks["performance"]
    with pytest.raises(InvalidInput, match="no check 'nope'"):
        get_check("nope")


def test_performance_numbers_equal_scikit_learns(context: CheckContext) -> None:
    check = get_check("performance")(bootstrap=50, seed=7)
    record = check.run(context)
    y = np.asarray(context.y)
    proba = context.model.predict_proba(context.X)
    predicted = context.model.predict(context.X)
    m = record.metrics
    assert m["accuracy"] == metrics.accuracy_score(y, predicted)
    assert m["balanced_accuracy"] == metrics.balanced_accuracy_score(y, predicted)
    assert m["roc_auc"] == metrics.roc_auc_score(y, proba[:, 1])
    assert m["pr_auc"] == metrics.average_precision_score(y == 1, proba[:, 1])
    assert m["f1"] == metrics.f1_score(y, predicted)
    assert m["log_loss"] == metrics.log_loss(y, proba)
    assert m["brier"] == metrics.brier_score_loss(y == 1, proba[:, 1])
    assert m["confusion_matrix"]["matrix"] == metrics.confusion_matrix(y, predicted).tolist()
    # the recorded test metrics of the version are the same numbers
    for name in ("accuracy", "balanced_accuracy", "roc_auc", "f1", "log_loss"):
        assert m[name] == context.version.metrics["test"][name]
    for low, high in m["ci"].values():  # percentile bootstrap intervals
        assert low <= high
    assert m["ci"]["roc_auc"][0] <= m["roc_auc"] <= m["ci"]["roc_auc"][1]
    assert record.status is EvidenceStatus.PASSED
    assert record.params == {
        "bootstrap": 50,
        "confidence": 0.95,
        "seed": 7,
        "calibration_bins": 10,
        "suspicious_score": 0.99,
    }
    again = get_check("performance")(bootstrap=50, seed=7).run(context)
    other = get_check("performance")(bootstrap=50, seed=8).run(context)
    assert again.metrics == record.metrics and other.metrics["ci"] != record.metrics["ci"]


def test_every_installed_check_passes_the_conformance_kit(context: CheckContext) -> None:
    for check in available_checks().values():
        # Steward's own checks declare a constraint for every parameter
        check_conformance(check, context, require_constraints=True)


class Sloppy(Check):
    """Breaks the parameter rule: derives a value in __init__."""

    id = "sloppy"
    version = "1"

    def __init__(self, *, threshold: float = 0.5) -> None:
        self.threshold = float(threshold)

    def run(self, context: CheckContext) -> Evidence:
        return context.evidence(self, metrics={"threshold": self.threshold})


class Restless(Check):
    """Breaks determinism and the capability rule."""

    id = "restless"
    version = "1"
    capabilities = Capabilities(tasks=frozenset({"binary"}))
    calls = 0

    def __init__(self) -> None:
        pass

    def run(self, context: CheckContext) -> Evidence:
        Restless.calls += 1
        return context.evidence(self, metrics={"calls": Restless.calls})


class Meddler(Check):
    """Changes the data it judges."""

    id = "meddler"
    version = "1"

    def __init__(self) -> None:
        pass

    def run(self, context: CheckContext) -> Evidence:
        context.X.iloc[0, 0] = -1.0
        return context.evidence(self, metrics={})


class Infinite(Check):
    id = "infinite"
    version = "1"

    def __init__(self) -> None:
        pass

    def run(self, context: CheckContext) -> Evidence:
        return context.evidence(self, metrics={"ratio": float("inf")})


@pytest.mark.parametrize(
    ("check", "rule"),
    [
        (Sloppy, "does not store its parameters unchanged"),
        (Restless, "different evidence when run again"),
        (Meddler, "changed the context's data"),
        (Infinite, "metrics.ratio is inf"),
    ],
)
def test_the_kit_names_the_rule_a_check_breaks(
    context: CheckContext, check: type[Check], rule: str
) -> None:
    with pytest.raises(ConformanceError, match=rule):
        check_conformance(check, context)


def test_a_check_answers_not_applicable_outside_its_capabilities(context: CheckContext) -> None:
    foreign = replace(context.version, task="regression")
    record = get_check("fairness")().run(
        CheckContext(version=foreign, model=context.model, X=context.X, y=context.y, A=context.A)
    )
    assert record.status is EvidenceStatus.NOT_APPLICABLE
    assert "regression models are outside" in record.metrics["reason"]


def test_a_third_party_check_registered_by_entry_point_is_found_and_conforms(
    third_party: None, context: CheckContext
) -> None:
    checks = available_checks()
    assert set(checks) == {
        "acme.positive_rate",
        "data",
        "explainability",
        "fairness",
        "performance",
        "privacy",
        "robustness",
    }
    plugin = checks["acme.positive_rate"]
    check_conformance(plugin, context)
    record: Any = plugin().run(context)
    assert record.metrics["positive_rate"] == float((context.predicted == 1).mean())


def test_fairness_numbers_equal_fairlearns(context: CheckContext) -> None:
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

    record = get_check("fairness")().run(context)
    summary = record.metrics["attributes"]["group"]
    y = (np.asarray(context.y) == 1).astype(int)
    predicted = (context.model.predict(context.X) == 1).astype(int)
    group = context.A["group"].to_numpy()
    frame = MetricFrame(
        metrics={
            "count": count,
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "accuracy": metrics.accuracy_score,
        },
        y_true=y,
        y_pred=predicted,
        sensitive_features=group,
    )
    for name, row in frame.by_group.iterrows():
        ours = summary["groups"][str(name)]
        assert ours["count"] == row["count"]
        for metric in ("selection_rate", "tpr", "fpr", "accuracy"):
            assert ours[metric] == row[metric]
    kwargs = {"sensitive_features": group}
    assert summary["demographic_parity_difference"] == demographic_parity_difference(
        y, predicted, **kwargs
    )
    assert summary["demographic_parity_ratio"] == demographic_parity_ratio(y, predicted, **kwargs)
    judged = np.isin(group, summary["judged_groups"])
    assert summary["judged_groups"] == ["a", "b"]  # both groups have enough test rows
    assert summary["disparate_impact_ratio"] == demographic_parity_ratio(
        y[judged], predicted[judged], sensitive_features=group[judged]
    )
    assert summary["equalized_odds_difference"] == equalized_odds_difference(y, predicted, **kwargs)
    assert record.metrics["min_disparate_impact_ratio"] == summary["disparate_impact_ratio"]


def test_fairness_bins_numeric_attributes_and_judges_their_intersection(sdk_env: Settings) -> None:
    frame = credit_frame()
    frame["age"] = np.random.default_rng(1).integers(18, 80, len(frame))
    steward.register_dataset(frame, name="aged", target="approved", sensitive=["group", "age"])
    version = steward.train(checks=False, dataset="aged", name="aged-model")
    x, y, a = steward.load_split(version.ref, "test")
    ctx = CheckContext(version=version, model=steward.load_model(version.ref), X=x, y=y, A=a)
    record = get_check("fairness")(min_group_size=15).run(ctx)
    attributes = record.metrics["attributes"]
    assert set(attributes) == {"group", "age", "group × age"}
    assert len(attributes["age"]["groups"]) == 4  # quartile bins
    assert record.metrics["binning"] == {"age": "quantiles"}
    assert sum(g["count"] for g in attributes["group × age"]["groups"].values()) == len(y)
    small = [f for f in record.findings if f.code == "small_group"]
    assert small and all(f.severity.label == "low" for f in small)
    with pytest.raises(InvalidInput, match=r"sensitive attribute\(s\) income not declared"):
        get_check("fairness")(attributes=("income",)).run(ctx)
    # a declared scheme: legal age bands instead of quartiles
    banded = get_check("fairness")(edges={"age": [40, 65]}, min_group_size=5).run(ctx)
    bands = banded.metrics["attributes"]["age"]["groups"]
    assert set(bands) == {"< 40", "[40, 65)", "≥ 65"}
    ages = a["age"].to_numpy()
    assert bands["< 40"]["count"] == int((ages < 40).sum())
    assert bands["≥ 65"]["count"] == int((ages >= 65).sum())
    assert banded.metrics["binning"] == {"age": {"edges": [40, 65]}}
    with pytest.raises(InvalidInput, match=r"fairness\.edges must be .* strictly increasing"):
        get_check("fairness")(edges={"age": [65, 40]}).run(ctx)
    with pytest.raises(InvalidInput, match="edges given for income"):
        get_check("fairness")(edges={"income": [10]}).run(ctx)


def test_fairness_flags_a_four_fifths_violation_and_is_not_applicable_without_attributes(
    context: CheckContext,
) -> None:
    biased = CheckContext(
        version=context.version,
        model=_Favouring(context.model, context.A["group"]),
        X=context.X,
        y=context.y,
        A=context.A,
    )
    biased_record = get_check("fairness")().run(biased)
    (finding,) = [f for f in biased_record.findings if f.code == "four_fifths_rule"]
    assert finding.severity.label == "high" and biased_record.status is EvidenceStatus.FAILED
    empty = CheckContext(
        version=context.version, model=context.model, X=context.X, y=context.y, A=context.A[[]]
    )
    assert get_check("fairness")().run(empty).status is EvidenceStatus.NOT_APPLICABLE


class _Favouring:
    """A model that approves group "a" always and group "b" rarely (a biased model)."""

    def __init__(self, model: Any, groups: Any) -> None:
        self._model = model
        self._groups = groups

    def predict(self, x: Any) -> Any:
        favoured = self._groups.loc[x.index].to_numpy() == "a"
        return np.where(favoured, 1, (np.arange(len(x)) % 10 == 0).astype(int))

    def predict_proba(self, x: Any) -> Any:
        p = self.predict(x).astype(float)
        return np.column_stack([1 - p, p])


def test_privacy_finds_leakage_proxies_and_sensitive_inputs(sdk_env: Settings) -> None:
    frame = credit_frame()
    frame["outcome_code"] = frame["approved"] * 7 + 1  # recorded after the decision
    frame["group_code"] = np.where(frame["group"] == "a", 10.0, 20.0)  # derived from group
    steward.register_dataset(frame, name="leaky", target="approved", sensitive=["group"])
    version = steward.train(
        checks=False, dataset="leaky", name="leaky-model", use_sensitive=["group"]
    )
    x, y, a = steward.load_split(version.ref, "test")
    ctx = CheckContext(version=version, model=steward.load_model(version.ref), X=x, y=y, A=a)
    check_conformance(get_check("privacy"), ctx)
    record = get_check("privacy")().run(ctx)
    by_code = {(f.code, f.column) for f in record.findings}
    assert ("target_leakage", "outcome_code") in by_code
    assert ("proxy", "group_code") in by_code
    assert ("proxy", "group") in by_code  # the attribute itself, opted in as an input
    assert ("sensitive_input", "group") in by_code
    assert not any(code == "target_leakage" and col == "income" for code, col in by_code)
    # the AUCs are scikit-learn's, recomputed here the same way for one column
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.tree import DecisionTreeClassifier

    proba = cross_val_predict(
        DecisionTreeClassifier(max_depth=4, random_state=0),
        np.nan_to_num(x[["income"]].to_numpy(dtype=float), nan=-1e12),
        y,
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
        method="predict_proba",
    )
    assert record.metrics["target_auc"]["income"] == metrics.roc_auc_score(y == 1, proba[:, 1])
    assert record.status is EvidenceStatus.FAILED  # leakage is high


def test_privacy_flags_a_pii_input_that_was_opted_in(context: CheckContext) -> None:
    flagged = replace(context, pii_columns=("income",))
    record = get_check("privacy")().run(flagged)
    assert ("pii_input", "income") in {(f.code, f.column) for f in record.findings}


@pytest.mark.parametrize("template", ["logistic", "hgb", "forest"])
def test_robustness_never_crashes_a_steward_pipeline(sdk_env: Settings, template: str) -> None:
    steward.register_dataset(credit_frame(), name="credit", target="approved", sensitive=["group"])
    version = steward.train(
        checks=False, dataset="credit", name=f"robust-{template}", template=template
    )
    x, y, a = steward.load_split(version.ref, "test")
    model = steward.load_model(version.ref)
    ctx = CheckContext(version=version, model=model, X=x, y=y, A=a)
    record = get_check("robustness")(seed=3).run(ctx)
    flips = record.metrics["flip_rate"]
    assert set(flips) == {"noise", "missing", "unseen:region"}
    assert all(0.0 <= rate <= 1.0 for rate in flips.values())
    assert not [f for f in record.findings if f.code == "crash"]
    # the unseen-category flip rate, recomputed
    unseen = x.copy()
    unseen["region"] = "__steward_unseen__"
    expected = float(np.mean(model.predict(unseen) != model.predict(x)))
    assert flips["unseen:region"] == expected


def test_robustness_reports_a_model_that_crashes_on_missing_values(context: CheckContext) -> None:
    frame = credit_frame().dropna()
    bare = LogisticRegression().fit(frame[["income", "debts"]], frame["approved"])
    x = context.X[["income", "debts"]].fillna(50.0)
    version = replace(context.version, signature={"inputs": [], "output": {"classes": [0, 1]}})
    ctx = CheckContext(version=version, model=bare, X=x, y=context.y, A=context.A)
    record = get_check("robustness")().run(ctx)
    (crash,) = [f for f in record.findings if f.code == "crash"]
    assert crash.severity.label == "critical" and "under missing" in crash.message
    assert record.metrics["flip_rate"]["missing"] is None
    assert record.status is EvidenceStatus.FAILED
