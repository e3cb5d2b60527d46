"""Test data and small helpers shared by test modules (fixtures live in ``conftest.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import MetaData, select

if TYPE_CHECKING:
    from steward.app import Application
    from steward.checks import CheckContext


def credit_frame(rows: int = 400, seed: int = 3) -> pd.DataFrame:
    """A small lending-like table: the label depends on income and the region, with missing
    values in both kinds of column and a declared sensitive attribute."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, rows)
    region = rng.choice(["north", "south", "east"], rows)
    group = rng.choice(["a", "b"], rows)
    score = (income - 50) / 15 + np.where(region == "north", 0.8, -0.4) + rng.normal(0, 1, rows)
    frame = pd.DataFrame(
        {
            "income": income,
            "debts": rng.integers(0, 6, rows),
            "region": region,
            "group": group,
            "approved": (score > 0).astype(int),
        }
    )
    frame.loc[frame.index % 17 == 0, "income"] = np.nan
    frame.loc[frame.index % 23 == 0, "region"] = None
    return frame


def diabetes() -> pd.DataFrame:
    """scikit-learn's bundled diabetes data (442 patients, disease progression after a year),
    with sex as the declared sensitive attribute."""
    from sklearn.datasets import load_diabetes

    frame: pd.DataFrame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = np.where(frame["sex"] == 1.0, "one", "two")
    return frame


def snapshot(app: Application) -> dict[str, Any]:
    """Every row of every table: to prove a refused operation wrote nothing."""
    tables = MetaData()
    tables.reflect(app.store.engine)
    with app.store.engine.connect() as conn:
        return {
            name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for name, table in tables.tables.items()
        }


def context_of(ref: str, *, parts: bool = False) -> CheckContext:
    """The check context of model version ``ref`` in the ambient SDK home (``sdk_env``), as
    ``steward.testing.check_context`` builds it; ``parts``: other parts of the split load on
    request (each through the SDK), else only the test rows are at hand."""
    from steward.app import open_session
    from steward.testing import check_context

    def load_part(part: str) -> tuple[Any, Any, Any]:
        with open_session() as (app, actor):
            return app.models.load_split(actor, ref, part)

    with open_session() as (app, actor):
        context = check_context(app, actor, ref)
    context.load_part = load_part if parts else None
    return context


# Production needs performance and fairness evidence (demographic parity ratio at least
# ``ratio`` for every attribute) and two stewards; fairness findings may be waived; staging
# needs performance evidence. It replaces the built-in pack of the models' tier (relax_floor:
# a second steward must endorse it), so tests judge its rules alone.
_CREDIT_POLICY = """\
format: steward.policy/v1
name: credit
selector:
  names: ["credit-*"]
relax_floor: true
stages:
  staging:
    evidence:
      - check: performance
  production:
    evidence:
      - check: performance
      - check: fairness
        thresholds:
          - metric: attributes.*.demographic_parity_ratio
            min: {ratio}
    approvals:
      - role: steward
        count: 2
    waivable: ["evidence.fairness.*"]
"""


def credit_policy(ratio: float) -> str:
    """The ``credit`` policy (models ``credit-*``) the governance tests apply."""
    return _CREDIT_POLICY.format(ratio=ratio)


SERVING_PEOPLE = (
    ("dana", "data_scientist"),
    ("eli", "ml_engineer"),
    ("sofia", "steward"),
    ("sam", "steward"),
    ("audra", "auditor"),
)


def serving_models(app: Application, home: Any) -> dict[str, Any]:
    """The serving tests' team; dana's credit-model@1 and @2 (data with an ``email`` column
    the PII scan flags, never an input), both approved for production by two stewards under
    the credit policy, and @3, unapproved. ``{"tokens": {name: token}, "refs": [...]}``."""
    from steward.services import TrainingRequest

    admin = app.authenticate(home.token)
    tokens = {name: app.identity.add_user(admin, name, [role])[1] for name, role in SERVING_PEOPLE}
    dana = app.authenticate(tokens["dana"])
    frame = credit_frame()
    frame["email"] = [f"applicant{i}@example.org" for i in range(len(frame))]
    app.datasets.register(dana, frame, name="credit", target="approved", sensitive=["group"])
    app.policies.apply(app.authenticate(tokens["sofia"]), credit_policy(0.5), "credit.yaml")
    app.policies.endorse(app.authenticate(tokens["sam"]), "credit")
    refs = []
    for seed in (1, 2, 3):
        request = TrainingRequest(dataset="credit", name="credit-model", seed=seed, checks=False)
        ref = app.training.train(dana, request).version.ref
        app.evidence.run(dana, ref, ["performance", "fairness"])
        if seed < 3:
            for steward in ("sofia", "sam"):
                app.governance.approve(app.authenticate(tokens[steward]), ref, "production")
        refs.append(ref)
    return {"tokens": tokens, "refs": refs}


def monitoring_models(app: Application, home: Any) -> dict[str, Any]:
    """The monitoring tests' team and endpoint: dana's credit-model@1 and @2, trained on 3,000
    rows of the credit table and approved for production by two stewards; ``credit`` was
    deployed @1, then @2 (what it serves). ``{"tokens": ..., "refs": [...]}``."""
    from steward.services import TrainingRequest

    admin = app.authenticate(home.token)
    tokens = {name: app.identity.add_user(admin, name, [role])[1] for name, role in SERVING_PEOPLE}
    dana = app.authenticate(tokens["dana"])
    app.datasets.register(
        dana, credit_frame(rows=3000, seed=5), name="credit", target="approved", sensitive=["group"]
    )
    app.policies.apply(app.authenticate(tokens["sofia"]), credit_policy(0.5), "credit.yaml")
    app.policies.endorse(app.authenticate(tokens["sam"]), "credit")
    refs = []
    for seed in (1, 2):
        request = TrainingRequest(dataset="credit", name="credit-model", seed=seed, checks=False)
        ref = app.training.train(dana, request).version.ref
        app.evidence.run(dana, ref, ["performance", "fairness"])
        for steward in ("sofia", "sam"):
            app.governance.approve(app.authenticate(tokens[steward]), ref, "production")
        refs.append(ref)
    eli = app.authenticate(tokens["eli"])
    for ref in refs:
        app.deployments.deploy(eli, ref, "credit")
    return {"tokens": tokens, "refs": refs}
