"""Evidence-check benchmark: the default suite on the demo model, by hand.

Target (issue 5): the default suite on the demo model completes in at most 60 s. The demo
model is the demo's: a gradient-boosting pipeline tuned on the bundled loan applications
(here with the template's default parameters, no tuning). Measured: ``steward check run`` as
the service runs it — loading and checking the model and split, every installed check,
storing plots and recording the evidence — and each check alone; the baseline is one
``predict_proba`` of the model on the test split.

    .venv/bin/python benchmarks/checks.py [--repeats 3] [--rows N] [--template T]
        [--checks A,B] [--json] [--smoke]

``--rows`` trains on the first N applications only (0: all of them); ``--template`` picks
another model family (a smoke run takes the quick logistic one); ``--checks`` runs only
those checks.
"""

from __future__ import annotations

import argparse
from typing import Any

from _harness import arguments, repeat, report, scratch_home, summary, timed
from steward.checks import available_checks
from steward.testing import check_context, train_sample

TARGET_S = 60
# A smoke run: a quick model, and the checks that take a second or less on it.
SMOKE: dict[str, Any] = {
    "rows": 300,
    "template": "logistic",
    "checks": "data,fairness,privacy,robustness",
}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template", default="hgb", help="the model's template (the demo's: hgb)")
    parser.add_argument("--checks", default="", help="comma-separated check ids (default: all)")


def main(argv: list[str] | None = None) -> int:
    args = arguments(
        __doc__,
        {"rows": 0},
        smoke=SMOKE,
        argv=argv,
        extra=_options,
    )
    with scratch_home() as home, home.session() as (app, actor):
        version = train_sample(app, actor, template=args.template, rows=args.rows or None)
        chosen = [c for c in args.checks.split(",") if c] or list(available_checks())
        suite = repeat(lambda: app.evidence.run(actor, version.ref, chosen), args.repeats)
        context = check_context(app, actor, version.ref)
        baseline = timed(lambda: context.model.predict_proba(context.X))
        each = {}
        for check_id in chosen:
            check = available_checks()[check_id]
            each[check_id] = timed(lambda: check().run(context))  # noqa: B023 - called now
    results: dict[str, Any] = {
        "suite": summary(suite),
        "per_check_s": each,
        "predict_proba_s": baseline,
        "test_rows": len(context.y),
        "target_s": TARGET_S,
    }
    median = results["suite"]["median_s"]
    line = (
        f"default suite ({', '.join(each)}) on {version.ref}: "
        f"{median:.2f} s median of {args.repeats} (target <= {TARGET_S} s); "
        + ", ".join(f"{k} {v:.2f} s" for k, v in each.items())
        + f"; one predict_proba on {len(context.y)} rows {baseline * 1000:.1f} ms"
    )
    return report("checks", args, results, ok=median <= TARGET_S, lines=[line])


if __name__ == "__main__":
    raise SystemExit(main())
