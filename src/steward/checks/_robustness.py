"""``robustness``: how often predictions change under small disturbances of the inputs, and
that the model never crashes on them.

On the version's test split, each disturbance is applied to a copy of the inputs and the
share of rows whose predicted class changes (the flip rate) is measured:

- **noise**: every numeric input plus Gaussian noise of ``noise`` times its standard deviation;
- **missing**: each input cell replaced by a missing value with probability ``missing_rate``;
- **unseen category**: one categorical input at a time set to a level never seen in training.

For a regressor, a prediction counts as changed (flipped) when it moves by more than
``shift`` times the standard deviation of the test split's target.

A disturbance that makes the model raise is a critical finding (a deployed model would fail
on such a request); a flip rate above ``max_flip_rate`` is a medium one.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from steward.checks._base import Capabilities, Check, CheckContext
from steward.checks._params import SEED, Interval, ParameterConstraints
from steward.domain import Evidence, Finding, Severity

__all__ = ["Robustness"]

UNSEEN = "__steward_unseen__"


class Robustness(Check):
    id = "robustness"
    version = "1"
    capabilities = Capabilities(tasks=frozenset({"binary", "multiclass", "regression"}))
    produces = ("flip_rate.*", "max_flip_rate", "rows")
    parameter_constraints: ClassVar[ParameterConstraints] = {
        # no noise or no missing cells would disturb nothing and pass for nothing
        "noise": [Interval(float, 0, None, closed="neither")],
        "missing_rate": [Interval(float, 0, 1, closed="right")],
        "max_flip_rate": [Interval(float, 0, 1, closed="both")],
        "shift": [Interval(float, 0, None, closed="left")],
        "seed": [SEED],
    }

    def __init__(
        self,
        *,
        noise: float = 0.05,
        missing_rate: float = 0.1,
        max_flip_rate: float = 0.1,
        shift: float = 0.1,
        seed: int = 0,
    ) -> None:
        self.noise = noise
        self.missing_rate = missing_rate
        self.max_flip_rate = max_flip_rate
        self.shift = shift
        self.seed = seed

    def run(self, context: CheckContext) -> Evidence:
        self.validate_params(self.get_params())
        refusal = self.capabilities.refuses(context.version)
        if refusal is not None:
            return context.not_applicable(self, refusal)
        kinds = {i["name"]: i.get("kind") for i in context.version.signature.get("inputs", [])}
        x = context.X
        numeric = [c for c in x.columns if kinds.get(c) == "numeric"]
        if not kinds:  # a model registered without a typed signature
            numeric = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c].dtype)]
        categorical = [c for c in x.columns if c not in numeric]
        rng = np.random.default_rng(self.seed)
        disturbed: dict[str, pd.DataFrame] = {}
        if numeric:
            noisy = x.copy()
            for column in numeric:
                values = noisy[column].astype("float64")
                scale = float(np.nanstd(values.to_numpy())) * self.noise
                noisy[column] = values + rng.normal(0.0, scale, len(values))
            disturbed["noise"] = noisy
        holes = x.astype(object).copy()
        mask = rng.random(holes.shape) < self.missing_rate
        disturbed["missing"] = holes.mask(mask, np.nan)
        for column in categorical:
            unseen = x.copy()
            unseen[column] = UNSEEN
            disturbed[f"unseen:{column}"] = unseen

        baseline = context.predicted
        if context.version.task == "regression":
            tolerance = self.shift * float(np.std(np.asarray(context.y, dtype=np.float64)))

            def changed(predicted: np.ndarray) -> np.ndarray:
                moved = np.abs(predicted.astype(np.float64) - baseline.astype(np.float64))
                return np.asarray(moved > tolerance)

        else:

            def changed(predicted: np.ndarray) -> np.ndarray:
                return np.asarray(predicted != baseline)

        flips: dict[str, float | None] = {}
        findings: list[Finding] = []
        for name, frame in disturbed.items():
            try:
                predicted = np.asarray(context.model.predict(frame))
            except Exception as exc:  # the point of the check: note it, do not crash
                flips[name] = None
                findings.append(
                    Finding(
                        "crash",
                        Severity.CRITICAL,
                        f"the model raised {type(exc).__name__} under {name}: {exc}"[:300],
                    )
                )
                continue
            rate = float(np.mean(changed(predicted)))
            flips[name] = rate
            if rate > self.max_flip_rate:
                findings.append(
                    Finding(
                        "unstable",
                        Severity.MEDIUM,
                        f"{rate:.1%} of predictions change under {name} "
                        f"(more than {self.max_flip_rate:.0%})",
                        data={"disturbance": name, "flip_rate": rate},
                    )
                )
        metrics: dict[str, Any] = {
            "flip_rate": flips,
            "max_flip_rate": max((v for v in flips.values() if v is not None), default=None),
            "rows": len(x),
        }
        return context.evidence(self, metrics=metrics, findings=tuple(findings))
