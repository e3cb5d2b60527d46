"""SHAP benchmark: explaining 1,000 rows of a 20-feature tree model, by hand.

Target (issue 5): SHAP for 1,000 rows of a 20-feature tree model in at most 5 s. A generated
binary problem (20 numeric inputs, 5,000 rows: 3,000 train, 1,000 validation, 1,000 test) is
trained with each tree template at its default parameters. Measured per template: SHAP alone
(the family's explainer on the 1,000 prepared test rows), the whole ``explainability`` check
(SHAP, permutation importance with 5 repeats, two plots, the background sample) and, as the
baseline in the same process, one ``predict_proba`` on the 1,000 rows. The black-box path
(histogram gradient boosting with categorical inputs, 200 rows) is measured too.

    .venv/bin/python benchmarks/explain.py [--repeats 3] [--rows 5000] [--json] [--smoke]
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from _harness import arguments, repeat, report, scratch_home
from steward.checks import get_check
from steward.checks._plots import import_shap
from steward.ml import TEMPLATES, decompose
from steward.services import TrainingRequest
from steward.testing import check_context

if TYPE_CHECKING:
    from steward.app import Application
    from steward.domain import Actor

TARGET_S = 5.0


def problem(rows: int = 5000, inputs: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, inputs))
    weights = np.linspace(1.5, 0.0, inputs)  # the first inputs matter most, the last not at all
    score = x @ weights + 0.8 * x[:, 0] * x[:, 1] + rng.normal(0, 1.0, rows)
    frame = pd.DataFrame(x, columns=[f"x{i:02d}" for i in range(inputs)])
    frame["segment"] = np.where(x[:, 2] > 0, "upper", "lower")  # for the categorical case
    frame["label"] = (score > 0).astype(int)
    return frame


def _median(work: Callable[[], object], repeats: int) -> float:
    return statistics.median(repeat(work, repeats))


def measure(
    app: Application,
    actor: Actor,
    template: str,
    dataset: str,
    repeats: int,
) -> dict[str, float | str]:
    shap = import_shap()  # quiet: shap's import warns under matplotlib 3.11

    version = app.training.train(
        actor,
        TrainingRequest(
            checks=False,
            dataset=dataset,
            name=f"{dataset}-{template}",
            template=template,
            test_size=0.2,
            validation_size=0.2,
        ),
    ).version
    context = check_context(app, actor, version.ref)
    model, x = context.model, context.X
    parts = decompose(model)
    assert parts is not None
    row: dict[str, float | str] = {"rows": len(x), "family": parts.family}
    row["predict_proba_s"] = _median(lambda: model.predict_proba(x), repeats)
    if parts.family == "tree":
        z = parts.prepare.transform(x)
        explainer = shap.TreeExplainer(parts.tree_model)
        row["shap_s"] = _median(lambda: explainer(z, check_additivity=False), repeats)
    check = get_check("explainability")()
    records = []
    row["check_s"] = _median(lambda: records.append(check.run(context)), repeats)
    record = records[-1]
    row["explainer"] = record.metrics["explainer"]
    row["rows_explained"] = record.metrics["rows_explained"]
    row["spearman_top"] = record.metrics["rank_agreement"]["spearman_top"]
    return row


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, {"rows": 5000}, smoke={"rows": 400}, argv=argv)
    templates = [t for t in ("hgb", "forest", "xgboost", "lightgbm") if t in TEMPLATES]
    results: dict[str, dict[str, float | str]] = {}
    with scratch_home() as home, home.session() as (app, actor):
        frame = problem(args.rows)
        app.datasets.register(actor, frame.drop(columns="segment"), name="numeric", target="label")
        app.datasets.register(actor, frame, name="mixed", target="label")
        cases = [(t, "numeric") for t in templates] + [("hgb", "mixed")]
        for template, dataset in cases[:1] if args.smoke else cases:  # smoke: one family
            results[f"{template} on {dataset}"] = measure(
                app, actor, template, dataset, args.repeats
            )
    lines = [
        f"{name}: {row['explainer']} SHAP on {row['rows_explained']} rows"
        + (f", SHAP alone {row['shap_s']:.2f} s" if "shap_s" in row else "")
        + f", whole check {row['check_s']:.2f} s, predict_proba on {row['rows']} rows "
        f"{float(row['predict_proba_s']) * 1000:.1f} ms, Spearman (top ten) "
        f"{row['spearman_top']}"
        for name, row in results.items()
    ]
    worst = max(float(r["shap_s"]) for r in results.values() if "shap_s" in r)
    return report("explain", args, results, ok=worst <= TARGET_S, lines=lines)


if __name__ == "__main__":
    raise SystemExit(main())
