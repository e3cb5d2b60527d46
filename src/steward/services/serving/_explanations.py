"""Explanations on request: each scored row's top input contributions, computed with the
background sample the version's explainability evidence stored and the explainer of the
model's family (``steward.checks._attribution``), so an answer's explanation is the same kind
of evidence the gate judged.

A version with no explainability evidence has nothing to explain with: ``Refused``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from steward.artifacts import ArtifactStore
from steward.domain import Actor, ModelVersion, Permission
from steward.errors import InvalidInput, Refused
from steward.services._access import require
from steward.store import Store

__all__ = ["EXPLAIN_MAX_ROWS", "TOP_CONTRIBUTIONS", "ExplanationService", "RowExplainer"]

EXPLAIN_MAX_ROWS = 100
TOP_CONTRIBUTIONS = 5


@dataclass(frozen=True)
class RowExplainer:
    """Explains rows of one version: built once per version, used per request."""

    version: ModelVersion
    model: Any
    background: Any  # pandas DataFrame of raw input columns
    evidence_id: str
    seed: int = 0

    def explain(self, frame: Any, predicted: Any = None) -> list[dict[str, Any]]:
        """Per row: the explained output, the base value, and the ``TOP_CONTRIBUTIONS``
        inputs with the largest attributions (name and contribution; never an input's
        value, which may be personal data)."""
        from steward.checks._attribution import attribute

        if len(frame) > EXPLAIN_MAX_ROWS:
            raise InvalidInput(
                f"explanations are given for at most {EXPLAIN_MAX_ROWS} rows per request, "
                f"not {len(frame)}",
                details={"field": "explain"},
            )
        columns = list(self.background.columns)
        task = self.version.task
        found = attribute(self.model, frame[columns], self.background, task=task, seed=self.seed)
        classes = list(self.version.signature.get("output", {}).get("classes") or [])
        explained: list[dict[str, Any]] = []
        for row in range(len(frame)):
            output = 0
            if task == "multiclass" and predicted is not None and classes:
                output = classes.index(predicted[row]) if predicted[row] in classes else 0
            values = found.values[row, :, output]
            order = np.argsort(-np.abs(values), kind="stable")[:TOP_CONTRIBUTIONS]
            explained.append(
                {
                    "output": (
                        classes[1]
                        if task == "binary" and len(classes) == 2
                        else classes[output]
                        if classes
                        else self.version.target
                    ),
                    "units": found.units,
                    "explainer": found.explainer,
                    "base": float(found.base[row, output]),
                    "top": [{"input": columns[i], "contribution": float(values[i])} for i in order],
                    "evidence": self.evidence_id,
                }
            )
        return explained


class ExplanationService:
    def __init__(self, store: Store, artifacts: ArtifactStore) -> None:
        self._store = store
        self._artifacts = artifacts

    def explainer(self, actor: Actor, version: ModelVersion, model: Any) -> RowExplainer:
        """The explainer of ``version`` (whose fitted estimator is ``model``), with the
        background its latest explainability evidence stored."""
        import pandas as pd

        require(actor, Permission.MODEL_READ, "explain predictions")
        with self._store.read() as reader:
            evidence = [
                e for e in reader.evidence_for(version.subject) if e.check_id == "explainability"
            ]
        usable = [e for e in evidence if "background.parquet" in e.artifacts]
        if not usable:
            raise Refused(
                f"{version.ref} has no explainability evidence to explain with (run `steward "
                f"check run {version.ref} --check explainability`)"
            )
        latest = usable[-1]
        data = self._artifacts.get_bytes(latest.artifacts["background.parquet"])
        background = pd.read_parquet(io.BytesIO(data))
        seed = int(latest.params.get("seed", 0) or 0)
        return RowExplainer(version, model, background, latest.id, seed)
