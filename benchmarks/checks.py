"""Evidence-check benchmark: the default suite on the demo model, by hand.

Target (issue 5): the default suite on the demo model completes in at most 60 s. The demo
model is the demo's: a gradient-boosting pipeline tuned on the bundled loan applications
(here with the template's default parameters, no tuning). Measured: ``steward check run`` as
the service runs it — loading and checking the model and split, every installed check,
storing plots and recording the evidence — and each check alone; the baseline is one
``predict_proba`` of the model on the test split.

    .venv/bin/python benchmarks/checks.py [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from steward.app import Application, initialize
from steward.checks import CheckContext, available_checks
from steward.samples import LOANAPP_SENSITIVE, LOANAPP_TARGET, loanapp
from steward.services import TrainingRequest
from steward.settings import Settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="steward-bench-checks-") as tmp:
        settings = Settings(home=Path(tmp) / "home")
        result = initialize(settings)
        with Application.open(settings) as app:
            admin = app.authenticate(result.token)
            _, token = app.identity.add_user(admin, "bench", ["data_scientist"])
            actor = app.authenticate(token)
            app.datasets.register(
                actor,
                loanapp(),
                name="loans",
                target=LOANAPP_TARGET,
                sensitive=list(LOANAPP_SENSITIVE),
            )
            version = app.training.train(
                actor,
                TrainingRequest(
                    checks=False, dataset="loans", name="loan-approval", template="hgb"
                ),
            ).version
            suite: list[float] = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                app.evidence.run(actor, version.ref)
                suite.append(time.perf_counter() - start)
            _, model = app.models.load(actor, version.ref)
            x, y, a = app.models.load_split(actor, version.ref, "test")
            start = time.perf_counter()
            model.predict_proba(x)
            baseline = time.perf_counter() - start
            each = {}
            for check_id, check in available_checks().items():
                context = CheckContext(
                    version=version,
                    model=model,
                    X=x,
                    y=y,
                    A=a,
                    load_part=lambda part: app.models.load_split(actor, version.ref, part),
                )
                start = time.perf_counter()
                check().run(context)
                each[check_id] = time.perf_counter() - start
    report = {
        "suite_median_s": statistics.median(suite),
        "suite_s": suite,
        "per_check_s": each,
        "predict_proba_s": baseline,
        "test_rows": len(y),
        "target_s": 60,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"default suite ({', '.join(each)}) on {version.ref}: "
            f"{report['suite_median_s']:.2f} s median of {args.repeats} (target <= 60 s); "
            + ", ".join(f"{k} {v:.2f} s" for k, v in each.items())
            + f"; one predict_proba on {len(y)} rows {baseline * 1000:.1f} ms"
        )
    return 0 if report["suite_median_s"] <= 60 else 1


if __name__ == "__main__":
    raise SystemExit(main())
