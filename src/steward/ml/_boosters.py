"""XGBoost and LightGBM templates, saved in the libraries' own formats.

Available when the ``xgboost`` or ``lightgbm`` extra is installed. The estimator is wrapped in
``BoosterClassifier``, which learns class indices 0..K-1 (XGBoost's requirement) and answers
in the original labels. A fitted pipeline is saved as a zip: the preparation steps with skops
(``prepare.skops``, loaded with the trusted list), the booster in its native format
(XGBoost's UBJSON, LightGBM's text model) and a manifest with the classes. Loading rebuilds
the booster with the library's own loader: nothing in the file is unpickled.
"""

from __future__ import annotations

import io
import json
import zipfile
from importlib.util import find_spec
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from steward.errors import InvalidInput

__all__ = ["BOOSTER_FORMATS", "BoosterClassifier", "dump_native", "installed", "load_native"]

NATIVE_FORMAT = "steward.native/v1"
# The model format recorded on the version, per library.
BOOSTER_FORMATS = {"xgboost": "skops+xgboost", "lightgbm": "skops+lightgbm"}


def installed(library: str) -> bool:
    return find_spec(library) is not None


class BoosterClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """An XGBoost or LightGBM classifier over class indices, answering in original labels."""

    def __init__(self, *, library: str = "xgboost", params: dict[str, Any] | None = None):
        self.library = library
        self.params = params

    def _estimator(self) -> Any:
        params = dict(self.params or {})
        if self.library == "xgboost":
            from xgboost import XGBClassifier

            return XGBClassifier(tree_method="hist", n_jobs=1, **params)
        from lightgbm import LGBMClassifier

        return LGBMClassifier(n_jobs=1, verbose=-1, **params)

    def fit(self, X: Any, y: Any) -> BoosterClassifier:
        self.classes_ = np.unique(np.asarray(y))
        self.estimator_ = self._estimator()
        self.estimator_.fit(X, np.searchsorted(self.classes_, np.asarray(y)))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        # the libraries answer in float32; rows are renormalized in float64 so they sum to 1
        proba = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
        return np.asarray(proba / proba.sum(axis=1, keepdims=True), dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])


def dump_native(pipeline: Pipeline) -> bytes:
    """The pipeline as a zip: preparation with skops, the booster natively, a manifest."""
    from steward.ml._persist import dump_skops

    model = pipeline.steps[-1][1]
    assert isinstance(model, BoosterClassifier)
    if model.library == "xgboost":
        native = bytes(model.estimator_.get_booster().save_raw(raw_format="ubj"))
        name = "model.ubj"
    else:
        native = model.estimator_.booster_.model_to_string().encode("utf-8")
        name = "model.txt"
    manifest = {
        "format": NATIVE_FORMAT,
        "library": model.library,
        "params": model.params or {},
        "classes": [c.item() if isinstance(c, np.generic) else c for c in model.classes_],
        "booster": name,
        "step": pipeline.steps[-1][0],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, sort_keys=True))
        archive.writestr("prepare.skops", dump_skops(Pipeline(pipeline.steps[:-1])))
        archive.writestr(name, native)
    return buffer.getvalue()


def load_native(data: bytes) -> Pipeline:
    """Rebuild a pipeline saved by ``dump_native`` (no unpickling anywhere)."""
    from steward.ml._persist import load_skops

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            prepare = load_skops(archive.read("prepare.skops"))
            native = archive.read(manifest["booster"])
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InvalidInput(f"not a readable {NATIVE_FORMAT} model file: {exc}") from None
    if manifest.get("format") != NATIVE_FORMAT or manifest.get("library") not in BOOSTER_FORMATS:
        raise InvalidInput(f"not a {NATIVE_FORMAT} model file")
    library = manifest["library"]
    if not installed(library):
        raise InvalidInput(f"this model needs {library}: pip install 'steward-mlops[{library}]'")
    model = BoosterClassifier(library=library, params=manifest["params"])
    model.classes_ = np.asarray(manifest["classes"])
    estimator: Any
    if library == "xgboost":
        from xgboost import XGBClassifier

        estimator = XGBClassifier()
        estimator.load_model(bytearray(native))
    else:
        import lightgbm

        estimator = _LightGBMBooster(lightgbm.Booster(model_str=native.decode("utf-8")))
    model.estimator_ = estimator
    return Pipeline([*prepare.steps, (manifest["step"], model)])


class _LightGBMBooster:
    """A loaded LightGBM booster answering ``predict_proba`` like the scikit-learn wrapper."""

    def __init__(self, booster: Any) -> None:
        self._booster = booster

    @property
    def booster_(self) -> Any:
        """The ``lightgbm.Booster`` (named as on the scikit-learn wrapper)."""
        return self._booster

    def predict_proba(self, X: Any) -> np.ndarray:
        raw = np.asarray(self._booster.predict(X), dtype=np.float64)
        if raw.ndim == 1:  # binary: the probability of class 1
            return np.column_stack([1.0 - raw, raw])
        return raw
