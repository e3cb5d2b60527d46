"""Remote training, tuning, mitigation and retraining: done where the server runs, as
jobs whose progress the embedded callbacks show (see ``_base``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from steward.domain import (
    Actor,
    DatasetVersion,
    Evidence,
    ModelVersion,
)
from steward.errors import NotFound
from steward.remote._base import _evidence, _mover, _Remote, _version_path
from steward.remote._documents import decode
from steward.remote._http import segment
from steward.remote._registry import RemoteModels

__all__ = ["RemoteMitigation", "RemoteRetraining", "RemoteTraining"]


class RemoteTraining(_Remote):
    def admit(self, actor: Actor, request: Any) -> Any:
        """Checked by the server when the training is asked for."""

    def admit_join(self, actor: Actor) -> None:
        """Checked by the server when the trials are asked for."""

    def train(
        self,
        actor: Actor,
        request: Any,
        *,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        progress: Callable[[Any], None] | None = None,
        check_progress: Callable[[str, int, int], None] | None = None,
    ) -> Any:
        """``environment`` is the server's, where the training runs; ``code`` the caller's."""
        import dataclasses

        from steward.domain import Run
        from steward.services import TrainingResult

        body = {**dataclasses.asdict(request), "code": code}
        answer = self._api.post("/training", body)
        result = self._api.wait(answer, _mover(progress, check_progress))
        return TrainingResult(
            version=decode(ModelVersion, result["version"]),
            run=decode(Run, result["run"]),
            evidence=_evidence(result["evidence"]),
        )

    def join(
        self,
        actor: Actor,
        study_name: str,
        trials: int,
        *,
        timeout: float | None = None,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        progress: Callable[[Any], None] | None = None,
    ) -> Any:
        from steward.domain import Run
        from steward.services import TuningResult

        body = {"study": study_name, "trials": trials, "timeout": timeout, "code": code}
        result = self._api.wait(self._api.post("/tuning", body), _mover(progress, None))
        return TuningResult(
            study=result["study"], run=decode(Run, result["run_record"]), trials=result["trials"]
        )


class RemoteMitigation(_Remote):
    def admit(self, actor: Actor, ref: str) -> ModelVersion:
        """Checked by the server when the mitigation is asked for."""
        return RemoteModels(self._api).get(actor, ref)

    def mitigate(
        self,
        actor: Actor,
        ref: str,
        *,
        attribute: str,
        constraint: str = "demographic_parity",
        objective: str = "balanced_accuracy_score",
        seed: int = 0,
        checks: bool = True,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> ModelVersion:
        body = {
            "attribute": attribute,
            "constraint": constraint,
            "objective": objective,
            "seed": seed,
            "checks": checks,
        }
        answer = self._api.post(_version_path("models", ref) + "/mitigations", body)
        return decode(ModelVersion, self._api.wait(answer, _mover(None, progress)))


class RemoteRetraining(_Remote):
    def champion(self, actor: Actor, name: str) -> ModelVersion:
        if "@" in name:
            return RemoteModels(self._api).get(actor, name)
        try:
            return RemoteModels(self._api).get(actor, f"{name}@production")
        except NotFound:
            return RemoteModels(self._api).get(actor, f"{name}@latest")

    def admit(self, actor: Actor, name: str) -> ModelVersion:
        """Checked by the server when the retraining is asked for."""
        return self.champion(actor, name)

    def retrain(
        self,
        actor: Actor,
        name: str,
        *,
        dataset: str | None = None,
        trials: int = 0,
        alert: str | None = None,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        progress: Any = None,
        check_progress: Any = None,
    ) -> Any:
        from steward.domain import Run
        from steward.services import Retraining, TrainingResult

        body = {"name": name, "dataset": dataset, "trials": trials, "alert": alert, "code": code}
        found = self._api.wait(
            self._api.post("/retraining", body), _mover(progress, check_progress)
        )
        training = found["training"]
        return Retraining(
            champion=decode(ModelVersion, found["champion_version"]),
            result=TrainingResult(
                version=decode(ModelVersion, training["version"]),
                run=decode(Run, training["run"]),
                evidence=_evidence(training["evidence"]),
            ),
            comparison=decode(Evidence, found["comparison"]),
            alert=found["alert"],
        )

    def from_predictions(
        self,
        actor: Actor,
        endpoint: str,
        *,
        name: str,
        base: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Any:
        from steward.services import Registration

        body = {"name": name, "base": base, "since": since, "until": until}
        found = self._api.post(f"/endpoints/{segment(endpoint)}/datasets", body)
        return Registration(
            version=decode(DatasetVersion, found["version"]),
            created=bool(found["created"]),
            evidence=_evidence(found["evidence"]),
            note=found["note"],
        )
