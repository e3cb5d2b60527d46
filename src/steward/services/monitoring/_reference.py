"""The reference a version is monitored against, summarised once and stored as evidence.

Built from the version's recorded split, the first time a monitor needs it (a deploy, a
monitor applied to its endpoint, or a run that meets a version without one), and never
again: no monitor re-reads the raw training data. It holds

- ``inputs``: the drift profile of the training rows' inputs (``steward.drift``), less the
  PII columns, which the prediction log keeps only as keyed hashes;
- ``outputs``: the profile of the version's predictions on its test rows (the predicted class
  and, for a classifier, the top score);
- ``calibration``: what label-free performance estimation needs, fitted on the test rows;
- ``multivariate``: the PCA reconstruction reference of the training inputs.

Each part is a content-addressed artifact; the record (``monitoring.reference``) names them
with the split and the PII columns left out, and is ledgered like every evidence record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from steward.domain import Actor, Evidence, EvidenceStatus, ModelVersion
from steward.errors import InvalidInput

__all__ = [
    "REFERENCE_CHECK",
    "Reference",
    "build_reference_draft",
    "chunk_rows",
    "load_reference",
    "scores_of",
]

REFERENCE_CHECK = "monitoring.reference"
REFERENCE_VERSION = "1"


@dataclass(frozen=True)
class Reference:
    """A version's stored reference, loaded for comparisons."""

    record: Evidence
    inputs: Any  # ReferenceProfile
    outputs: Any  # ReferenceProfile
    calibration: Any | None  # Calibration (classifiers)
    multivariate: Any | None  # MultivariateReference
    compared: tuple[str, ...]  # the inputs the profile holds
    classes: tuple[str, ...]


def chunk_rows(rows: int) -> int:
    """Rows per reference chunk, from which bands and thresholds are derived: 500 (as
    NannyML), fewer for a small reference so that it still makes ten chunks (at least 20
    rows each; a thinner reference is refused by the engine and its part left out)."""
    return max(20, min(500, rows // 10))


def scores_of(model: Any, x: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    """The model's predicted labels and (for a classifier with probabilities) its scores."""
    labels = np.asarray(model.predict(x))
    proba = None
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(x), dtype=np.float64)
    return labels, proba


def output_columns(
    labels: Any, proba: np.ndarray[Any, Any] | None, task: str
) -> dict[str, np.ndarray[Any, Any]]:
    """The outputs prediction drift compares: the predicted class as text (a regression's
    value as a number) and a classifier's top score."""
    if task == "regression":
        return {"prediction": np.asarray(labels, dtype=np.float64)}
    columns: dict[str, np.ndarray[Any, Any]] = {
        "prediction": np.asarray([str(v) for v in np.asarray(labels).tolist()], dtype=object)
    }
    if proba is not None:
        columns["score"] = proba.max(axis=1)
    return columns


def build_reference_draft(
    models: Any, artifacts: Any, actor: Actor, version: ModelVersion, pii: tuple[str, ...]
) -> tuple[Evidence, list[str]]:
    """The reference record's draft (sealed by the evidence service) and the artifact keys
    it stored (removed again by the caller if recording fails)."""
    from steward.drift import Calibration, MultivariateReference, ReferenceProfile

    if version.split is None or version.target is None:
        raise InvalidInput(
            f"{version.ref} has no recorded split: a monitoring reference is built from the "
            "rows the version was trained and tested on"
        )
    kinds = {
        entry["name"]: entry.get("kind", "numeric") for entry in version.signature.get("inputs", [])
    }
    compared = [name for name in version.features if name not in set(pii)]
    x_train, _, _ = models.load_split(actor, version.ref, "train")
    x_test, y_test, _ = models.load_split(actor, version.ref, "test")
    _, model = models.load(actor, version.ref)
    stored: list[str] = []

    def put(data: bytes) -> str:
        key: str = artifacts.put_bytes(data)
        stored.append(key)
        return key

    parts: dict[str, str] = {}
    metrics: dict[str, Any] = {"train_rows": len(x_train), "test_rows": len(x_test)}
    if compared:
        frame = {name: x_train[name].to_numpy() for name in compared}
        chosen = {name: kinds.get(name, "numeric") for name in compared}
        profile = ReferenceProfile.build(frame, kinds=chosen)
        parts["inputs"] = put(profile.to_bytes())
        try:
            multivariate = MultivariateReference.build(
                frame, kinds=chosen, chunk_rows=chunk_rows(len(x_train))
            )
        except InvalidInput as exc:  # too few rows or inputs: reported, not fatal
            metrics["multivariate"] = str(exc)
        else:
            parts["multivariate"] = put(multivariate.to_bytes())
    labels, proba = scores_of(model, x_test)
    outputs = ReferenceProfile.build(output_columns(labels, proba, version.task))
    parts["outputs"] = put(outputs.to_bytes())
    classes = [str(c) for c in version.signature.get("output", {}).get("classes") or []]
    if proba is not None and classes:
        truth = np.asarray([str(v) for v in np.asarray(y_test).tolist()], dtype=object)
        try:
            calibration = Calibration.fit(proba, truth, classes, chunk_rows=chunk_rows(len(x_test)))
        except InvalidInput as exc:
            metrics["calibration"] = str(exc)
        else:
            import json

            parts["calibration"] = put(
                json.dumps(calibration.to_dict(), sort_keys=True).encode("utf-8")
            )
    draft = Evidence(
        id="",
        subject=version.subject,
        check_id=REFERENCE_CHECK,
        check_version=REFERENCE_VERSION,
        status=EvidenceStatus.PASSED,
        params={},
        inputs={
            "model_artifact": version.artifact,
            "dataset": version.split["dataset"],
            "reference_of": version.split["id"],
            "compared": compared,
            "left_out": {name: "a PII column: logged as keyed hashes" for name in pii},
            "classes": classes,
        },
        metrics=metrics,
        findings=(),
        artifacts=parts,
        created_at="",
        created_by="",
        content_hash="",
    )
    return draft, stored


def load_reference(artifacts: Any, record: Evidence) -> Reference:
    """The stored reference of ``record`` (each part read back with its hash checked)."""
    import json

    from steward.drift import Calibration, MultivariateReference, ReferenceProfile

    parts = record.artifacts
    inputs = (
        ReferenceProfile.from_bytes(artifacts.get_bytes(parts["inputs"]))
        if "inputs" in parts
        else None
    )
    outputs = ReferenceProfile.from_bytes(artifacts.get_bytes(parts["outputs"]))
    calibration = (
        Calibration.from_dict(json.loads(artifacts.get_bytes(parts["calibration"])))
        if "calibration" in parts
        else None
    )
    multivariate = (
        MultivariateReference.from_bytes(artifacts.get_bytes(parts["multivariate"]))
        if "multivariate" in parts
        else None
    )
    return Reference(
        record=record,
        inputs=inputs,
        outputs=outputs,
        calibration=calibration,
        multivariate=multivariate,
        compared=tuple(record.inputs.get("compared", ())),
        classes=tuple(record.inputs.get("classes", ())),
    )
