"""Model building blocks: standard pipelines, splits, metrics and safe persistence.

Imports scikit-learn; only the code paths that train or load models import this package.
"""

from steward.ml._boosters import BOOSTER_FORMATS, BoosterClassifier, dump_native, load_native
from steward.ml._explain import Decomposed, decompose
from steward.ml._final import SplitFrames, final_model, trial_fitter
from steward.ml._frame import InputFrame
from steward.ml._inputs import MAX_CLASSES, InputPlan, frames, plan_inputs, target_values
from steward.ml._metrics import (
    PRIMARY_METRIC,
    classification_metrics,
    model_score,
    primary_metric,
    primary_score,
    regression_metrics,
)
from steward.ml._persist import TRUSTED_TYPES, dump_pickle, dump_skops, load_pickle, load_skops
from steward.ml._split import PARTS, SPLIT_FORMAT, check_split_document, make_split
from steward.ml._templates import TEMPLATES, Template, fit_staged

__all__ = [
    "BOOSTER_FORMATS",
    "MAX_CLASSES",
    "PARTS",
    "PRIMARY_METRIC",
    "SPLIT_FORMAT",
    "TEMPLATES",
    "TRUSTED_TYPES",
    "BoosterClassifier",
    "Decomposed",
    "InputFrame",
    "InputPlan",
    "SplitFrames",
    "Template",
    "check_split_document",
    "classification_metrics",
    "decompose",
    "dump_native",
    "dump_pickle",
    "dump_skops",
    "final_model",
    "fit_staged",
    "frames",
    "load_native",
    "load_pickle",
    "load_skops",
    "make_split",
    "model_score",
    "plan_inputs",
    "primary_metric",
    "primary_score",
    "regression_metrics",
    "target_values",
    "trial_fitter",
]
