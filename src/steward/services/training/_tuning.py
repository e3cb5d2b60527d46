"""Optuna studies kept in Steward's own database, each trial recorded as a child run.

The study lives in the store (Optuna's journal storage over the ``tuning_journal`` table, see
``_journal.py``), so a worker in another process or on another machine joins it with
``steward tune STUDY`` and its trials count too. Trials
report the validation score after each warm-start stage; the median rule prunes poor ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from steward.artifacts import ArtifactStore
from steward.domain import Actor, MissingPolicy, Permission, Run, RunStatus
from steward.errors import InvalidInput, NotFound
from steward.services._access import require
from steward.services.datasets._service import DatasetService
from steward.services.training._runs import RunService
from steward.store import Store

if TYPE_CHECKING:
    from steward.ml import SplitFrames, Template

__all__ = [
    "STUDY_ATTR",
    "Objective",
    "TrialUpdate",
    "TuningResult",
    "create_study",
    "join_study",
    "load_study",
    "run_trials",
    "trial_run_name",
]

# The study's user attribute holding what a worker needs to rebuild the objective.
STUDY_ATTR = "steward"


@dataclass(frozen=True, slots=True)
class TrialUpdate:
    """One finished trial, for progress displays."""

    study: str
    done: int
    total: int | None
    number: int
    state: str
    value: float | None
    best: float | None


def create_study(store: Store, name: str, seed: int, config: dict[str, Any]) -> Any:
    import optuna

    from steward.services.training._journal import journal_storage

    if len(name) > 255 or not name.strip():
        raise InvalidInput("a study name has 1-255 characters")
    if store.journal_read(name, 0):  # checked first: Optuna would append before refusing
        raise InvalidInput(
            f"study {name!r} already exists: join it with `steward tune {name}`, or choose "
            "another {study} name",
            details={"field": "study"},
        )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            study_name=name,
            storage=journal_storage(store, name),
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5),
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise InvalidInput(
            f"study {name!r} already exists: join it with `steward tune {name}`, or choose "
            "another {study} name",
            details={"field": "study"},
        ) from None
    study.set_user_attr(STUDY_ATTR, config)
    return study


def load_study(store: Store, name: str) -> tuple[Any, dict[str, Any]]:
    """A study created by ``steward train`` and the configuration it was created with."""
    import optuna

    from steward.services.training._journal import journal_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(
            study_name=name,
            storage=journal_storage(store, name),
            sampler=optuna.samplers.TPESampler(),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5),
        )
    except KeyError:
        raise NotFound(f"no study named {name!r}") from None
    config = study.user_attrs.get(STUDY_ATTR)
    if not isinstance(config, dict):
        raise InvalidInput(f"study {name!r} was not created by `steward train`")
    return study, config


class Objective:
    """One trial: a child run of ``parent_id`` holding the trial's parameters and scores."""

    def __init__(
        self,
        *,
        runs: RunService,
        actor: Actor,
        parent_id: str,
        study: str,
        template: Any,
        fit: Callable[[dict[str, Any], Callable[[int, float], None]], float],
        last_stage: int,
        code: dict[str, Any],
        environment: dict[str, Any],
        metric: str = "validation_roc_auc",
    ) -> None:
        self._runs = runs
        self._actor = actor
        self._parent_id = parent_id
        self._study = study
        self._template = template
        self._fit = fit
        self._last_stage = last_stage
        self._code = code
        self._environment = environment
        self._metric = metric

    def __call__(self, trial: Any) -> float:
        import optuna

        params = self._template.suggest(trial)
        started = self._runs.now()
        scores: list[tuple[str, float, int]] = []
        state, status = "failed", RunStatus.FAILED

        def report(step: int, score: float) -> None:
            if self._last_stage:  # staged: Optuna needs the step's score to prune
                trial.report(score, step)
            scores.append((self._metric, score, step))
            if step < self._last_stage and trial.should_prune():
                raise optuna.TrialPruned(f"pruned after stage {step}")

        try:
            value = self._fit(params, report)
            state, status = "complete", RunStatus.FINISHED
            return value
        except optuna.TrialPruned:
            state, status = "pruned", RunStatus.FINISHED
            raise
        finally:
            self._runs.record(
                self._actor,
                trial_run_name(self._study, trial.number),
                parent_id=self._parent_id,
                started_at=started,
                status=status,
                params={**params, "study": self._study, "trial": trial.number},
                tags={"optuna.state": state},
                metrics=scores,
                code=self._code,
                environment=self._environment,
            )


def trial_run_name(study: str, number: int) -> str:
    """The name of the child run recording trial ``number`` (unique within a study)."""
    return f"{study} trial {number}"


def progress_callback(
    update: Callable[[TrialUpdate], None], total: int | None
) -> Callable[[Any, Any], None]:
    """An Optuna callback turning finished trials into ``TrialUpdate`` calls."""
    done = 0

    def callback(study: Any, trial: Any) -> None:
        nonlocal done
        done += 1
        try:
            best: float | None = float(study.best_value)
        except ValueError:
            best = None
        state = trial.state.name.lower()
        update(TrialUpdate(study.study_name, done, total, trial.number, state, trial.value, best))

    return callback


def tuning_summary(
    study: Any, seed: int | None, best_run: str | None, metric: str = "roc_auc"
) -> dict[str, Any]:
    """What the model version records about the study that chose its parameters."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    states = [t.state for t in trials]
    best = study.best_trial
    return {
        "study": study.study_name,
        "metric": f"validation {metric}",
        "direction": "maximize",
        "trials": len(trials),
        "complete": states.count(optuna.trial.TrialState.COMPLETE),
        "pruned": states.count(optuna.trial.TrialState.PRUNED),
        "failed": states.count(optuna.trial.TrialState.FAIL),
        "best_trial": best.number,
        "best_value": float(best.value),
        "best_run": best_run,
        "best_params": dict(best.params),
        # workers that joined with `steward tune` sample with their own, unseeded samplers
        "sampler": f"TPESampler(seed={seed}) in the training process",
        "pruner": "MedianPruner(n_startup_trials=5)",
        "optuna": optuna.__version__,
    }


@dataclass(frozen=True, slots=True)
class TuningResult:
    study: str
    run: Run
    trials: int

    def to_dict(self) -> dict[str, Any]:
        """The join's JSON document: the study, this worker's run (by id) and its trials."""
        return {"study": self.study, "run": self.run.id, "trials": self.trials}


def run_trials(
    runs: RunService,
    actor: Actor,
    study: Any,
    run_id: str,
    template: Template,
    seed: int,
    data: SplitFrames,
    trials: int,
    timeout: float | None,
    code: dict[str, Any],
    environment: dict[str, Any],
    progress: Callable[[TrialUpdate], None] | None,
) -> dict[str, Any]:
    """Run trials of ``study`` as children of run ``run_id``; return this process's best
    complete trial (``score``, ``params``, fitted ``pipeline``), empty if none completed."""
    from threadpoolctl import threadpool_limits

    from steward.ml import primary_metric, trial_fitter

    fit, kept = trial_fitter(template, data, seed)
    objective = Objective(
        runs=runs,
        actor=actor,
        parent_id=run_id,
        study=study.study_name,
        template=template,
        fit=fit,
        last_stage=len(template.stages()) - 1,
        metric=f"validation_{primary_metric(data.regression)}",
        code=code,
        environment=environment,
    )
    callbacks = [progress_callback(progress, trials)] if progress else []
    # One thread per trial: a study runs in parallel by adding workers (`steward tune`), and
    # several workers' OpenMP pools on the same cores spin against each other.
    with threadpool_limits(limits=1):
        study.optimize(objective, n_trials=trials, timeout=timeout, callbacks=callbacks)
    return kept


def join_study(
    store: Store,
    artifacts: ArtifactStore,
    datasets: DatasetService,
    runs: RunService,
    actor: Actor,
    study_name: str,
    trials: int,
    *,
    timeout: float | None,
    code: dict[str, Any],
    environment: dict[str, Any],
    progress: Callable[[TrialUpdate], None] | None,
) -> TuningResult:
    """Run ``trials`` more trials of a study created by ``steward train``, as a worker: its
    own run, with the trials as children; the data and split are the study's, verified."""
    import json

    from steward.ml import TEMPLATES, SplitFrames, check_split_document, frames

    require(actor, Permission.RUN_WRITE, "run trials")
    if trials < 1:
        raise InvalidInput("{trials} must be at least 1", details={"field": "trials"})
    study, config = load_study(store, study_name)
    version, table = datasets.load_version(actor, config["dataset"]["ref"])
    split = check_split_document(
        json.loads(artifacts.get_bytes(config["split"]["artifact"])), version.fingerprint
    )
    data = SplitFrames(
        tuple(config["numeric"]),
        tuple(config["categorical"]),
        MissingPolicy.from_dict(config["missing"]),
        regression=config.get("task") == "regression",
    )
    for part in ("train", "validation"):
        data.parts[part] = frames(
            table,
            split[part],
            features=(*data.numeric, *data.categorical),
            target=config["target"],
            sensitive=config["sensitive"],
        )
    run = runs.start(
        actor,
        f"tune {study_name}",
        params={"study": study_name, "trials": trials, "template": config["template"]},
        code=code,
        environment=environment,
    )
    try:
        runs.use_dataset(actor, run.id, version.ref, version.fingerprint)
        run_trials(
            runs,
            actor,
            study,
            run.id,
            TEMPLATES[config["template"]],
            int(config["seed"]),
            data,
            trials,
            timeout,
            code,
            environment,
            progress,
        )
        run = runs.finish(actor, run.id)
    except BaseException:
        runs.finish(actor, run.id, RunStatus.FAILED)
        raise
    return TuningResult(study_name, run, trials)
