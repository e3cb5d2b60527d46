"""``steward train`` and ``steward tune``: standard pipelines, tuned, registered with lineage.

Everything a bad request could trip on (dataset, target, columns, split, study name) is
checked before anything is written; from then on the work is a run: trials are its child
runs, and the model version it produces names it, the dataset version and the split.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from steward.artifacts import ArtifactStore
from steward.domain import (
    Actor,
    DatasetVersion,
    MissingPolicy,
    ModelVersion,
    Permission,
    Run,
    RunStatus,
    validate_name,
)
from steward.errors import InvalidInput
from steward.ledger import canonical_bytes
from steward.services._access import require
from steward.services._datasets import DatasetService
from steward.services._models import ModelService
from steward.services._runs import RunService
from steward.services._tuning import TrialUpdate
from steward.store import Store

__all__ = ["TrainingRequest", "TrainingResult", "TrainingService", "TuningResult"]


@dataclass(frozen=True, slots=True)
class TrainingRequest:
    dataset: str
    name: str
    template: str = "logistic"
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


@dataclass(frozen=True, slots=True)
class TrainingResult:
    version: ModelVersion
    run: Run


@dataclass(frozen=True, slots=True)
class TuningResult:
    study: str
    run: Run
    trials: int


@dataclass(slots=True)
class _Data:
    """The frames of each part of the split, and what the pipeline is built from."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    missing: MissingPolicy
    parts: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)


class TrainingService:
    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        datasets: DatasetService,
        runs: RunService,
        models: ModelService,
    ) -> None:
        self._store = store
        self._artifacts = artifacts
        self._datasets = datasets
        self._runs = runs
        self._models = models

    def train(
        self,
        actor: Actor,
        request: TrainingRequest,
        *,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        progress: Callable[[TrialUpdate], None] | None = None,
    ) -> TrainingResult:
        from steward.ml import TEMPLATES, frames, make_split, plan_inputs

        require(actor, Permission.RUN_WRITE, "train models")
        require(actor, Permission.MODEL_WRITE, "train models")
        try:
            validate_name("model", request.name)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        template = TEMPLATES.get(request.template)
        if template is None and request.template in ("xgboost", "lightgbm"):
            raise InvalidInput(
                f"template {request.template!r} needs the {request.template} extra: "
                f"pip install 'steward-mlops[{request.template}]'"
            )
        if template is None:
            raise InvalidInput(f"unknown template {request.template!r}: use {', '.join(TEMPLATES)}")
        if request.trials < 0 or request.seed < 0:
            raise InvalidInput("--trials and --seed take whole numbers from 0")
        version, table = self._datasets.load_version(actor, request.dataset)
        plan = plan_inputs(
            version,
            table,
            target=request.target,
            use_sensitive=request.use_sensitive,
            use_pii=request.use_pii,
            drop=request.drop,
        )
        dataset = {"ref": version.ref, "fingerprint": version.fingerprint}
        split = make_split(
            plan.rows,
            plan.labels,
            seed=request.seed,
            test_size=request.test_size,
            validation_size=request.validation_size,
            dataset=dataset,
        )
        data = _Data(plan.numeric, plan.categorical, version.missing)
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
            "fractions": split["fractions"],
            "sizes": {part: len(split[part]) for part in ("train", "validation", "test")},
        }
        return self._train(
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
        data: _Data,
        code: dict[str, Any] | None,
        environment: dict[str, Any] | None,
        progress: Callable[[TrialUpdate], None] | None,
    ) -> TrainingResult:
        study = None
        dataset = split_record["dataset"]
        if request.trials:
            from steward.services._tuning import create_study

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
                    "missing": version.missing.to_dict(),
                    "seed": request.seed,
                },
            )
        elif request.study:
            raise InvalidInput("--study names the study of a tuning run: add --trials N")

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
            params: dict[str, Any] = {}
            tuning = None
            fitted = None
            if study is not None:
                params, tuning, fitted = self._tune(
                    actor, study, run.id, template.name, data, request, code, environment, progress
                )
            model_bytes, metrics = self._fit_final(
                template.name, params, request.seed, data, plan, fitted
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
        draft = replace(draft, params={**template.defaults, **params}, format=template.format)
        registered = self._models.register(actor, draft, model_bytes)
        return TrainingResult(registered, run)

    def _tune(
        self,
        actor: Actor,
        study: Any,
        run_id: str,
        template_name: str,
        data: _Data,
        request: TrainingRequest,
        code: dict[str, Any],
        environment: dict[str, Any],
        progress: Callable[[TrialUpdate], None] | None,
    ) -> tuple[dict[str, Any], dict[str, Any], Any]:
        """The best parameters, the tuning summary, and the best trial's fitted pipeline when
        this process ran it (else ``None``: the final fit then refits with the parameters)."""
        from steward.services._tuning import trial_run_name, tuning_summary

        kept = self._optimize(
            actor,
            study,
            run_id,
            template_name,
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
        summary = tuning_summary(study, request.seed, named[0].id if named else None)
        best_params = dict(summary["best_params"])
        fitted = kept.get("pipeline") if kept.get("params") == best_params else None
        return best_params, summary, fitted

    def _optimize(
        self,
        actor: Actor,
        study: Any,
        run_id: str,
        template_name: str,
        seed: int,
        data: _Data,
        trials: int,
        timeout: float | None,
        code: dict[str, Any],
        environment: dict[str, Any],
        progress: Callable[[TrialUpdate], None] | None,
    ) -> dict[str, Any]:
        """Run the trials; return this process's best complete trial (params, pipeline)."""
        from steward.ml import TEMPLATES, fit_staged, primary_score
        from steward.services._tuning import Objective, progress_callback

        template = TEMPLATES[template_name]
        x_train, y_train, _ = data.parts["train"]
        x_val, y_val, _ = data.parts["validation"]
        classes = sorted(set(y_train.tolist()))
        kept: dict[str, Any] = {}

        def fit(params: dict[str, Any], report: Callable[[int, float], None]) -> float:
            pipeline = template.build(data.numeric, data.categorical, params, seed, data.missing)
            scores: list[float] = []

            def after_stage(step: int) -> None:
                score = primary_score(y_val, pipeline.predict_proba(x_val), classes)
                scores.append(score)
                report(step, score)

            fit_staged(template, pipeline, x_train, y_train, after_stage)
            if scores[-1] > kept.get("score", float("-inf")):  # every stage done: complete
                kept.update(score=scores[-1], params=dict(params), pipeline=pipeline)
            return scores[-1]

        objective = Objective(
            runs=self._runs,
            actor=actor,
            parent_id=run_id,
            study=study.study_name,
            template=template,
            fit=fit,
            last_stage=len(template.stages()) - 1,
            code=code,
            environment=environment,
        )
        callbacks = [progress_callback(progress, trials)] if progress else []
        # One thread per trial: a study runs in parallel by adding workers (`steward tune`),
        # and several workers' OpenMP pools on the same cores spin against each other.
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            study.optimize(objective, n_trials=trials, timeout=timeout, callbacks=callbacks)
        return kept

    def _fit_final(
        self,
        template_name: str,
        params: dict[str, Any],
        seed: int,
        data: _Data,
        plan: Any,
        fitted: Any = None,
    ) -> tuple[bytes, dict[str, dict[str, float]]]:
        """Fit on the training rows (or take the best trial's ``fitted`` pipeline: the same
        fit), save with skops, and score the *reloaded* model, so the recorded metrics are
        exactly what ``load_model`` on ``load_split`` reproduces."""
        from steward.ml import (
            TEMPLATES,
            classification_metrics,
            dump_native,
            dump_skops,
            fit_staged,
            load_native,
            load_skops,
        )

        template = TEMPLATES[template_name]
        x_train, y_train, _ = data.parts["train"]
        from threadpoolctl import threadpool_limits

        pipeline = fitted
        if pipeline is None:
            pipeline = template.build(data.numeric, data.categorical, params, seed, data.missing)
            with threadpool_limits(limits=1):  # as in the trials, so the refit is the same fit
                fit_staged(template, pipeline, x_train, y_train)
        if template.library:
            model_bytes = dump_native(pipeline)
            model = load_native(model_bytes)
        else:
            model_bytes = dump_skops(pipeline)
            model = load_skops(model_bytes)
        metrics = {}
        for part in ("validation", "test"):
            x, y, _ = data.parts[part]
            metrics[part] = classification_metrics(
                y, model.predict(x), model.predict_proba(x), plan.classes
            )
        return model_bytes, metrics

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

        from steward.services._tuning import load_study

        require(actor, Permission.RUN_WRITE, "run trials")
        if trials < 1:
            raise InvalidInput("--trials must be at least 1")
        study, config = load_study(self._store, study_name)
        return self._join(actor, study, config, trials, timeout, code, environment, progress)

    def _join(
        self,
        actor: Actor,
        study: Any,
        config: dict[str, Any],
        trials: int,
        timeout: float | None,
        code: dict[str, Any] | None,
        environment: dict[str, Any] | None,
        progress: Callable[[TrialUpdate], None] | None,
    ) -> TuningResult:
        import json

        from steward.ml import check_split_document, frames

        study_name = study.study_name
        version, table = self._datasets.load_version(actor, config["dataset"]["ref"])
        split = check_split_document(
            json.loads(self._artifacts.get_bytes(config["split"]["artifact"])),
            version.fingerprint,
        )
        features = (*config["numeric"], *config["categorical"])
        data = _Data(
            tuple(config["numeric"]),
            tuple(config["categorical"]),
            MissingPolicy.from_dict(config["missing"]),
        )
        for part in ("train", "validation"):
            data.parts[part] = frames(
                table,
                split[part],
                features=features,
                target=config["target"],
                sensitive=config["sensitive"],
            )
        code = code or {"git": None}
        environment = environment or {}
        run = self._runs.start(
            actor,
            f"tune {study_name}",
            params={"study": study_name, "trials": trials, "template": config["template"]},
            code=code,
            environment=environment,
        )
        try:
            self._runs.use_dataset(actor, run.id, version.ref, version.fingerprint)
            self._optimize(
                actor,
                study,
                run.id,
                config["template"],
                int(config["seed"]),
                data,
                trials,
                timeout,
                code,
                environment,
                progress,
            )
            run = self._runs.finish(actor, run.id)
        except BaseException:
            self._runs.finish(actor, run.id, RunStatus.FAILED)
            raise
        return TuningResult(study_name, run, trials)


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
        task="binary" if len(plan.classes) == 2 else "multiclass",
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
