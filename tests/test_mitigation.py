"""Fairness mitigation: fairlearn's ThresholdOptimizer over a version, registered as a new
candidate version whose lineage names the original."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference
from fairlearn.postprocessing import ThresholdOptimizer

from conftest import Run, Seed, Seeded
from steward.app import Application, InitResult
from steward.domain import Actor
from steward.errors import InvalidInput
from steward.ml import classification_metrics
from steward.ml._mitigation import group_labels
from steward.services import TrainingRequest
from steward.settings import Settings


def biased_frame(rows: int = 2000, seed: int = 5) -> pd.DataFrame:
    """Group "b" has lower incomes, so a model of income approves it less often."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], rows, p=[0.6, 0.4])
    income = rng.normal(55, 12, rows) - np.where(group == "b", 10, 0)
    debts = rng.integers(0, 6, rows)
    score = (income - 50) / 12 - 0.2 * debts + rng.normal(0, 0.8, rows)
    return pd.DataFrame(
        {"income": income, "debts": debts, "group": group, "approved": (score > 0).astype(int)}
    )


def _dana(app: Application, home: InitResult) -> str:
    return app.identity.add_user(app.authenticate(home.token), "dana", ["data_scientist"])[1]


def _original(app: Application, home: InitResult) -> dict[str, Any]:
    """dana, and her logistic credit-model trained on the biased frame (no checks run)."""
    token = _dana(app, home)
    dana = app.authenticate(token)
    app.datasets.register(
        dana, biased_frame(), name="credit", target="approved", sensitive=["group"]
    )
    request = TrainingRequest(
        checks=False, dataset="credit", name="credit-model", template="logistic"
    )
    return {"dana": token, "original": app.training.train(dana, request).version.ref}


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> Seed:
    if "original" in request.fixturenames:
        return Seed("mitigation-original", _original)
    if "dana" in request.fixturenames:
        return Seed("mitigation-dana", lambda app, home: {"dana": _dana(app, home)})
    return Seed("initialised")


@pytest.fixture
def dana(app: Application, seeded: Seeded) -> Actor:
    return app.authenticate(seeded.facts["dana"])


@pytest.fixture
def original(seeded: Seeded) -> str:
    return str(seeded.facts["original"])


def test_mitigation_registers_a_candidate_equal_to_fairlearns_and_fairer(
    app: Application, admin: Actor, dana: Actor, original: str
) -> None:
    candidate = app.mitigation.mitigate(dana, original, attribute="group", checks=False)
    assert candidate.ref == "credit-model@2" and candidate.parents == (original,)
    mitigation = candidate.params["mitigation"]
    assert (
        mitigation["constraint"] == "demographic_parity" and mitigation["fitted_on"] == "validation"
    )
    assert candidate.split == app.models.get(dana, original).split  # same rows, same test
    assert "group" in candidate.features and "group" in candidate.sensitive_features
    assert [i["name"] for i in candidate.signature["inputs"]][-1] == "group"

    # independent computation: fairlearn's own ThresholdOptimizer over the original model,
    # fitted on the same validation rows, gives the same decision probabilities on test
    _, base = app.models.load(dana, original)
    xv, yv, av = app.models.load_split(dana, original, "validation")
    theirs = ThresholdOptimizer(
        estimator=base,
        constraints="demographic_parity",
        objective="balanced_accuracy_score",
        prefit=True,
        predict_method="predict_proba",
    ).fit(xv, yv, sensitive_features=group_labels(av["group"]))
    _, model = app.models.load(dana, candidate.ref)
    x, y, a = app.models.load_split(dana, candidate.ref, "test")
    assert "group" in x.columns
    expected = theirs._pmf_predict(x.drop(columns="group"), sensitive_features=a["group"])
    np.testing.assert_allclose(model.predict_proba(x), expected, rtol=0, atol=1e-12)

    # the recorded metrics reproduce exactly on load_split
    proba, predicted = model.predict_proba(x), model.predict(x)
    assert classification_metrics(y, predicted, proba, [0, 1]) == candidate.metrics["test"]
    # the same row always gets the same decision, whatever else the frame holds
    shuffled = x.sample(frac=1.0, random_state=1).assign(extra=1.0)
    assert (model.predict(shuffled) == pd.Series(predicted, index=x.index)[shuffled.index]).all()

    # fairer: the selection-rate gap between groups shrinks (fairlearn's metric)
    x1, y1, a1 = app.models.load_split(dana, original, "test")
    before = demographic_parity_difference(y1, base.predict(x1), sensitive_features=a1["group"])
    after = demographic_parity_difference(y, predicted, sensitive_features=a["group"])
    assert before > 0.2 and after < before / 2

    # the fairness check judges the candidate on its own predictions, as fairlearn does
    (fairness,) = app.evidence.run(dana, candidate.ref, ["fairness"])
    assert fairness.metrics["attributes"]["group"]["demographic_parity_difference"] == after

    lineage = app.models.lineage(dana, candidate.ref)
    assert [p["ref"] for p in lineage["parents"]] == [original]
    assert lineage["mitigation"]["attribute"] == "group"
    assert f"model:{original}" in {e["subject"] for e in lineage["ledger"]}
    assert app.audit.verify(admin).ok


def _versions(app: Application, actor: Actor) -> tuple[int, int]:
    with app.store.read() as reader:
        return reader.event_count(), len(app.models.versions(actor, "credit-model"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"attribute": "region"}, "'region' is not a declared sensitive attribute"),
        ({"constraint": "fairness"}, "unknown constraint 'fairness'"),
        ({"objective": "profit"}, "unknown objective 'profit'"),
        ({"ref": "credit-model@9"}, "has no version 9"),
    ],
)
def test_bad_mitigation_requests_are_refused_and_write_nothing(
    app: Application, dana: Actor, original: str, changes: dict[str, str], message: str
) -> None:
    before = _versions(app, dana)
    request: dict[str, Any] = {"ref": original, "attribute": "group", **changes}
    with pytest.raises(Exception, match=message) as raised:
        app.mitigation.mitigate(dana, request.pop("ref"), checks=False, **request)
    assert raised.type.__name__ in {"InvalidInput", "NotFound"}
    assert _versions(app, dana) == before
    mitigated = app.mitigation.mitigate(dana, original, attribute="group", checks=False)
    with pytest.raises(InvalidInput, match="already mitigated"):
        app.mitigation.mitigate(dana, mitigated.ref, attribute="group", checks=False)


def test_cli_mitigate_registers_runs_checks_and_shows_lineage(
    initialised: Run, tmp_path: Path, settings: Settings
) -> None:
    created = initialised("user", "add", "dana", "--role", "data_scientist", "--json").json()
    token = str(created["token"])
    path = tmp_path / "credit.csv"
    biased_frame().to_csv(path, index=False)
    args = ["--name", "credit", "--target", "approved", "--sensitive", "group"]
    assert initialised("dataset", "register", str(path), *args, token=token).code == 0
    trained = initialised(
        "train", "--dataset", "credit", "--name", "credit-model", "--no-checks", token=token
    )
    assert trained.code == 0, trained.stderr
    result = initialised("model", "mitigate", "credit-model@1", "--attribute", "group", token=token)
    assert result.code == 0, result.stderr
    assert "registered credit-model@2, mitigated from credit-model@1" in result.stdout
    assert "fairness: passed" in result.stdout or "fairness: warning" in result.stdout
    lineage = initialised("model", "lineage", "credit-model@2", token=token)
    assert "derived from credit-model@1" in lineage.stdout
    refused = initialised(
        "model", "mitigate", "credit-model@1", "--attribute", "income", token=token
    )
    assert refused.code == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "'income' is not a declared sensitive attribute" in refused.stderr
