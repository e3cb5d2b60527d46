"""What a training asks for, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from steward.domain import Evidence, ModelVersion, Run

__all__ = ["TrainingRequest", "TrainingResult"]


@dataclass(frozen=True, slots=True)
class TrainingRequest:
    dataset: str
    name: str
    # default: logistic for a classification target, ridge for a regression one
    template: str | None = None
    trials: int = 0
    seed: int = 0
    target: str | None = None
    use_sensitive: tuple[str, ...] = ()
    use_pii: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    test_size: float = 0.2
    validation_size: float = 0.2
    study: str | None = None
    timeout: float | None = None
    # classification, regression, or None: a numeric target with many values is regressed
    task: str | None = None
    # run the default evidence checks on the new version (``steward train`` without --no-checks)
    checks: bool = True
    # fixed hyperparameters (without trials): a retraining reuses its champion's
    params: dict[str, Any] | None = None
    # the versions the new one derives from (a retraining's champion): its lineage
    parents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TrainingResult:
    version: ModelVersion
    run: Run
    # the default checks' evidence on the version, when the request asked for it
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The training's JSON document: the version, its run and the checks' evidence."""
        return {
            "version": self.version.to_dict(),
            "run": self.run.to_dict(),
            "evidence": [record.to_dict() for record in self.evidence],
        }
