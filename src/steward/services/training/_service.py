"""``steward train`` and ``steward tune``: standard pipelines, tuned, registered with lineage.

Everything a bad request could trip on (dataset, target, columns, split, study name) is
checked before anything is written; from then on the work is a run: trials are its child
runs, and the model version it produces names it, the dataset version and the split.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from steward.artifacts import ArtifactStore
from steward.domain import (
    Actor,
    DatasetVersion,
    ModelVersion,
    Permission,
    Run,
    RunStatus,
    validate_name,
)
from steward.errors import InvalidInput
from steward.ledger import canonical_bytes
from steward.services._access import require
from steward.services.datasets._service import DatasetService
from steward.services.models._service import ModelService
from steward.services.training._request import TrainingRequest, TrainingResult
from steward.services.training._runs import RunService
from steward.services.training._tuning import TrialUpdate, TuningResult, join_study
from steward.store import Store

if TYPE_CHECKING:
    from steward.ml import SplitFrames
    from steward.services.evidence._service import EvidenceService

__all__ = ["TrainingRequest", "TrainingResult", "TrainingService", "TuningResult"]

# Seeds feed NumPy's and scikit-learn's generators, which take 32-bit unsigned seeds.
MAX_SEED = 2**32 - 1
MAX_TRIALS = 100_000


class TrainingService:
    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        datasets: DatasetService,
        runs: RunService,
        models: ModelService,
        evidence: EvidenceService,
    ) -> None:
        self._store = store
        self._artifacts = artifacts
        self._datasets = datasets
        self._runs = runs
        self._models = models
        self._evidence = evidence

    def admit(self, actor: Actor, request: TrainingRequest) -> Any:
        """What ``train`` refuses before it reads any data (permissions, the model's name,
        the template, trials and seed), so an edge that runs a training later (a job) can
        refuse it at once; the request's template."""
        from steward.ml import TEMPLATES

        require(actor, Permission.MODEL_WRITE, "train models")
        require(actor, Permission.RUN_WRITE, "train models")
        try:
            validate_name("model", request.name)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        template = TEMPLATES.get(request.template or "logistic")
        if template is None and request.template in ("xgboost", "lightgbm"):
            raise InvalidInput(
                f"template {request.template!r} needs the {request.template} extra: "
                f"pip install 'steward-mlops[{request.template}]'"
            )
        if template is None:
            raise InvalidInput(f"unknown template {request.template!r}: use {', '.join(TEMPLATES)}")
        if not 0 <= request.trials <= MAX_TRIALS:
            raise InvalidInput(
                f"trials must be a whole number from 0 to {MAX_TRIALS}, not {request.trials}",
                details={"field": "trials"},
            )
        if not 0 <= request.seed <= MAX_SEED:
            raise InvalidInput(
                f"seed must be a whole number from 0 to {MAX_SEED}, not {request.seed}",
                details={"field": "seed"},
            )
        return template

    def train(
        self,
        actor: Actor,
        request: TrainingRequest,
        *,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        progress: Callable[[TrialUpdate], None] | None = None,
        check_progress: Callable[[str, int, int], None] | None = None,
    ) -> TrainingResult:
        """Fit (and tune) ``request``'s pipeline, register the version, and — unless
        ``request.checks`` is false — run the default evidence checks on it, as every edge
        does (``progress`` reports trials, ``check_progress`` checks)."""
        from steward.ml import TEMPLATES, SplitFrames, frames, make_split, plan_inputs

        template = self.admit(actor, request)
        version, table = self._datasets.load_version(actor, request.dataset)
        plan = plan_inputs(
            version,
            table,
            target=request.target,
            use_sensitive=request.use_sensitive,
            use_pii=request.use_pii,
            drop=request.drop,
            task=request.task,
        )
        regression = plan.task == "regression"
        if regression and request.template is None:
            template = TEMPLATES["ridge"]
        wanted = "regression" if regression else "classification"
        if wanted not in template.tasks:
            able = [t for t in TEMPLATES.values() if wanted in t.tasks]
            raise InvalidInput(
                f"template {template.name!r} does not do {wanted} (target {plan.target!r}): "
                f"use {', '.join(t.name for t in able)}"
            )
        dataset = {"ref": version.ref, "fingerprint": version.fingerprint}
        split = make_split(
            plan.rows,
            plan.strata(),
            seed=request.seed,
            test_size=request.test_size,
            validation_size=request.validation_size,
            dataset=dataset,
        )
        data = SplitFrames(plan.numeric, plan.categorical, version.missing, regression=regression)
        for part in ("train", "validation", "test"):
            data.parts[part] = frames(
                table,
                split[part],
                features=plan.features,
                target=plan.target,
                sensitive=plan.sensitive,
            )
        split_bytes = canonical_bytes(split)
        split_record = {
            "id": hashlib.sha256(split_bytes).hexdigest(),
            "artifact": f"sha256:{hashlib.sha256(split_bytes).hexdigest()}",
            "dataset": dataset,
            "seed": request.seed,
            "stratified": True,
            "stratified_by": "target quantile bins" if regression else "class",
            "fractions": split["fractions"],
            "sizes": {part: len(split[part]) for part in ("train", "validation", "test")},
        }
        result = self._train(
            actor,
            request,
            template,
            version,
            plan,
            split,
            split_bytes,
            split_record,
            data,
            code,
            environment,
            progress,
        )
        if not request.checks:
            return result
        records = self._evidence.run(actor, result.version.ref, progress=check_progress)
        return replace(result, evidence=tuple(records))

    def _train(
        self,
        actor: Actor,
        request: TrainingRequest,
        template: Any,
        version: DatasetVersion,
        plan: Any,
        split: dict[str, Any],
        split_bytes: bytes,
        split_record: dict[str, Any],
        data: SplitFrames,
        code: dict[str, Any] | None,
        environment: dict[str, Any] | None,
        progress: Callable[[TrialUpdate], None] | None,
    ) -> TrainingResult:
        study = None
        dataset = split_record["dataset"]
        if request.params is not None and request.trials:
            raise InvalidInput(
                "fixed {params} and tuning {trials} exclude each other",
                details={"fields": ["params", "trials"]},
            )
        if request.trials:
            from steward.services.training._tuning import create_study

            study_name = request.study or f"{request.name}-{uuid.uuid4().hex[:8]}"
            study = create_study(
                self._store,
                study_name,
                request.seed,
                {
                    "model": request.name,
                    "template": template.name,
                    "dataset": dataset,
                    "split": split_record,
                    "target": plan.target,
                    "numeric": list(plan.numeric),
                    "categorical": list(plan.categorical),
                    "sensitive": list(plan.sensitive),
                    "task": plan.task,
                    "missing": version.missing.to_dict(),
                    "seed": request.seed,
                },
            )
        elif request.study:
            raise InvalidInput(
                "{study} names the study of a tuning run: add {trials} N",
                details={"fields": ["study", "trials"]},
            )

        # From here on, the work is recorded.
        code = code or {"git": None}
        environment = environment or {}
        run = self._runs.start(
            actor,
            f"train {request.name}",
            params={
                "template": template.name,
                "seed": request.seed,
                "trials": request.trials,
                "target": plan.target,
                "features": list(plan.features),
                "excluded": plan.excluded,
                "sensitive_features": list(plan.sensitive_features),
                "split": split_record["id"],
                "study": study.study_name if study is not None else None,
            },
            code=code,
            environment=environment,
        )
        try:
            self._runs.use_dataset(actor, run.id, version.ref, version.fingerprint)
            self._artifacts.put_bytes(split_bytes)
            self._runs.attach_artifact(actor, run.id, "split.json", split_record["artifact"])
            params: dict[str, Any] = dict(request.params or {})
            tuning = None
            fitted = None
            if study is not None:
                params, tuning, fitted = self._tune(
                    actor, study, run.id, template.name, data, request, code, environment, progress
                )
            from steward.ml import final_model

            model_bytes, metrics = final_model(
                template, params, request.seed, data, plan.classes, fitted
            )
            self._runs.log_params(actor, run.id, {"model_params": {**template.defaults, **params}})
            self._runs.log_metrics(
                actor,
                run.id,
                [
                    (f"{part}_{name}", value, 0)
                    for part, scores in metrics.items()
                    for name, value in scores.items()
                ],
            )
            model_key = self._artifacts.put_bytes(model_bytes)
            label = "model.skops" if template.format == "skops" else "model.zip"
            self._runs.attach_artifact(actor, run.id, label, model_key)
            run = self._runs.finish(actor, run.id)
        except BaseException:
            self._runs.finish(actor, run.id, RunStatus.FAILED)
            raise
        draft = _draft(request, template.name, plan, version, split_record, run, metrics, tuning)
        draft = replace(
            draft,
            params={**template.defaults, **params},
            format=template.format,
            parents=request.parents,
        )
        registered = self._models.register(actor, draft, model_bytes)
        return TrainingResult(registered, run)

    def _tune(
        self,
        actor: Actor,
        study: Any,
        run_id: str,
        template_name: str,
        data: SplitFrames,
        request: TrainingRequest,
        code: dict[str, Any],
        environment: dict[str, Any],
        progress: Callable[[TrialUpdate], None] | None,
    ) -> tuple[dict[str, Any], dict[str, Any], Any]:
        """The best parameters, the tuning summary, and the best trial's fitted pipeline when
        this process ran it (else ``None``: the final fit then refits with the parameters)."""
        from steward.ml import TEMPLATES, primary_metric
        from steward.services.training._tuning import run_trials, trial_run_name, tuning_summary

        kept = run_trials(
            self._runs,
            actor,
            study,
            run_id,
            TEMPLATES[template_name],
            request.seed,
            data,
            request.trials,
            request.timeout,
            code,
            environment,
            progress,
        )
        best = study.best_trial.number
        named = self._runs.named(actor, trial_run_name(study.study_name, best))
        summary = tuning_summary(
            study, request.seed, named[0].id if named else None, primary_metric(data.regression)
        )
        best_params = dict(summary["best_params"])
        fitted = kept.get("pipeline") if kept.get("params") == best_params else None
        return best_params, summary, fitted

    def admit_join(self, actor: Actor) -> None:
        """What ``join`` refuses first (the permission), for an edge that joins later."""
        require(actor, Permission.RUN_WRITE, "run trials")

    def join(
        self,
        actor: Actor,
        study_name: str,
        trials: int,
        *,
        timeout: float | None = None,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        progress: Callable[[TrialUpdate], None] | None = None,
    ) -> TuningResult:
        """Run ``trials`` more trials of an existing study from this process (a worker)."""
        return join_study(
            self._store,
            self._artifacts,
            self._datasets,
            self._runs,
            actor,
            study_name,
            trials,
            timeout=timeout,
            code=code or {"git": None},
            environment=environment or {},
            progress=progress,
        )


def _draft(
    request: TrainingRequest,
    template: str,
    plan: Any,
    version: DatasetVersion,
    split: dict[str, Any],
    run: Run,
    metrics: dict[str, dict[str, float]],
    tuning: dict[str, Any] | None,
) -> ModelVersion:
    return ModelVersion(
        name=request.name,
        version=0,
        run_id=run.id,
        artifact="",
        format="skops",
        task=plan.task,
        template=template,
        params={},
        signature=plan.signature(version),
        metrics=metrics,
        datasets=({"ref": version.ref, "fingerprint": version.fingerprint, "role": "training"},),
        split=split,
        features=plan.features,
        target=plan.target,
        sensitive=plan.sensitive,
        sensitive_features=plan.sensitive_features,
        excluded=plan.excluded,
        tuning=tuning,
        created_at="",
        created_by="",
    )
