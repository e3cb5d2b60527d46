"""The Python SDK: module-level functions over the embedded application.

Each call reads the settings (``STEWARD_*``), opens the home, authenticates with the token in
``STEWARD_TOKEN`` or the one saved by ``steward init``/``login``, and closes the home again:
exactly what the CLI does, so the SDK and CLI obey the same permissions and ledger rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from steward.app import Application, open_session
from steward.domain import Actor, DatasetVersion, MetricPoint, ModelVersion, Run, RunStatus
from steward.errors import InvalidInput, Refused
from steward.provenance import capture_code, capture_environment
from steward.settings import Settings

__all__ = [
    "ActiveRun",
    "active_run",
    "load_dataset",
    "load_model",
    "load_split",
    "register_dataset",
    "register_model",
    "start_run",
    "train",
]

_ACTIVE: ContextVar[ActiveRun | None] = ContextVar("steward_active_run", default=None)


def register_dataset(
    data: Any,
    *,
    name: str,
    target: str | None = None,
    sensitive: Sequence[str] = (),
    missing: str = "impute",
    settings: Settings | None = None,
) -> DatasetVersion:
    """Register a pandas or polars DataFrame (or a CSV/Parquet path) as a dataset version.

    Returns the new version, or the existing one when the same table with the same
    declarations is already registered under ``name``.
    """
    with open_session(settings) as (app, actor):
        result = app.datasets.register(
            actor, data, name=name, target=target, sensitive=sensitive, missing=missing
        )
    return result.version


def load_dataset(
    ref: str,
    *,
    kind: Literal["pandas", "polars", "arrow"] = "pandas",
    settings: Settings | None = None,
) -> Any:
    """The table of dataset version ``ref`` (``NAME@N``, ``NAME``), hash-verified."""
    if kind not in ("pandas", "polars", "arrow"):
        raise InvalidInput(f"unknown kind {kind!r}: use pandas, polars or arrow")
    with open_session(settings) as (app, actor):
        version, table = app.datasets.load_version(actor, ref)
    current = _ACTIVE.get()
    if current is not None:
        current.use_dataset(version.ref, version.fingerprint)
    if kind == "arrow":
        return table
    if kind == "polars":
        import polars as pl

        return pl.from_arrow(table)
    return table.to_pandas()


def load_model(ref: str, *, trust_pickle: bool = False, settings: Settings | None = None) -> Any:
    """The fitted estimator of model version ``ref`` (``predict``/``predict_proba``).

    The file's sha256 is checked against the registry first, and skops rebuilds only
    Steward's reviewed list of types. A version stored as a pickle loads only with
    ``trust_pickle=True``, which the ledger records.
    """
    with open_session(settings) as (app, actor):
        return app.models.load(actor, ref, trust_pickle=trust_pickle)[1]


def load_split(
    ref: str,
    part: Literal["train", "validation", "test"] = "test",
    *,
    settings: Settings | None = None,
) -> tuple[Any, Any, Any]:
    """``(X, y, A)``: the exact rows of ``part`` that version ``ref`` was split into.

    ``X`` holds the model's inputs, ``y`` the target, ``A`` the dataset's declared sensitive
    attributes (fairlearn's ``sensitive_features``; an empty frame when none are declared).
    """
    with open_session(settings) as (app, actor):
        return app.models.load_split(actor, ref, part)


def train(
    *,
    dataset: str,
    name: str,
    template: str | None = None,
    task: str | None = None,
    trials: int = 0,
    seed: int = 0,
    target: str | None = None,
    use_sensitive: Sequence[str] = (),
    use_pii: Sequence[str] = (),
    drop: Sequence[str] = (),
    test_size: float = 0.2,
    validation_size: float = 0.2,
    study: str | None = None,
    timeout: float | None = None,
    checks: bool = True,
    settings: Settings | None = None,
) -> ModelVersion:
    """What ``steward train`` does: fit (and tune) a standard pipeline, register the version,
    and run the default evidence checks on it (``checks=False``: ``--no-checks``).

    The keywords are the command's options (see ``steward train --help``)."""
    from steward.services import TrainingRequest

    with open_session(settings) as (app, actor):
        result = app.training.train(
            actor,
            TrainingRequest(
                dataset=dataset,
                name=name,
                template=template,
                task=task,
                trials=trials,
                seed=seed,
                target=target,
                use_sensitive=tuple(use_sensitive),
                use_pii=tuple(use_pii),
                drop=tuple(drop),
                test_size=test_size,
                validation_size=validation_size,
                study=study,
                timeout=timeout,
                checks=checks,
            ),
            code=capture_code(Path.cwd()),
            environment=capture_environment(),
        )
    return result.version


def register_model(
    model: Any,
    *,
    name: str,
    features: Sequence[str] | None = None,
    dataset: str | None = None,
    trust_pickle: bool = False,
    settings: Settings | None = None,
) -> ModelVersion:
    """Register an estimator fitted elsewhere as the next version of ``name``.

    Saved with skops when every type in it is on Steward's trusted list; otherwise refused,
    unless ``trust_pickle=True`` (stored as a pickle; the ledger records the format). Inside
    a ``start_run`` block the version names that run.
    """
    current = _ACTIVE.get()
    if current is not None:
        current.flush()
    with open_session(settings) as (app, actor):
        return app.models.register_estimator(
            actor,
            model,
            name=name,
            features=features,
            dataset=dataset,
            run_id=current.id if current is not None else None,
            trust_pickle=trust_pickle,
        )


class ActiveRun:
    """The run a ``with steward.start_run(...)`` block is recording.

    Metrics are buffered and written in batches (and when the block ends); parameters, tags
    and artifacts are written at once. Reading a dataset with ``steward.load_dataset`` inside
    the block records that dataset version as an input of the run (lineage).
    """

    FLUSH_EVERY = 2_000

    def __init__(self, app: Application, actor: Actor, run: Run) -> None:
        self._app = app
        self._actor = actor
        self._run = run
        self._pending: list[tuple[str, float, int]] = []
        self._steps: dict[str, int] = {}
        self._open = True

    @property
    def id(self) -> str:
        return self._run.id

    @property
    def name(self) -> str:
        return self._run.name

    @property
    def run(self) -> Run:
        """The run as stored now (after the block: finished, with its content hash)."""
        if not self._open:
            return self._run
        self.flush()
        return self._app.runs.get(self._actor, self._run.id)

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def _live(self) -> Application:
        if not self._open:
            raise Refused(f"run {self._run.id} has ended: finished runs do not change")
        return self._app

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._live().runs.log_params(self._actor, self._run.id, params)

    def set_tag(self, key: str, value: str) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self._live().runs.set_tags(self._actor, self._run.id, tags)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record ``value`` at ``step`` (default: the next step of this metric, from 0)."""
        self._live()
        if step is None:
            step = self._steps.get(key, 0)
        self._steps[key] = step + 1
        self._pending.append((key, value, step))
        if len(self._pending) >= self.FLUSH_EVERY:
            self.flush()

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def log_artifact(self, path: str | Path, name: str | None = None) -> str:
        """Store a file with the run; returns its artifact key (``sha256:…``)."""
        return self._live().runs.log_artifact(self._actor, self._run.id, Path(path), name)

    def use_dataset(self, ref: str, fingerprint: str) -> None:
        self._live().runs.use_dataset(self._actor, self._run.id, ref, fingerprint)

    def metrics(self) -> list[MetricPoint]:
        """Every metric point of the run, in the order they were logged."""
        if not self._open:  # after the block: read through a short session of our own
            with open_session(self._app.settings) as (app, actor):
                return app.runs.metrics(actor, self._run.id)
        self.flush()
        return self._app.runs.metrics(self._actor, self._run.id)

    def flush(self) -> None:
        if self._pending and self._run.status is RunStatus.RUNNING:
            pending, self._pending = self._pending, []
            self._app.runs.log_metrics(self._actor, self._run.id, pending)

    def _finish(self, status: RunStatus) -> None:
        self.flush()
        self._run = self._app.runs.finish(self._actor, self._run.id, status)


def active_run() -> ActiveRun | None:
    """The run the current ``start_run`` block records, if any."""
    return _ACTIVE.get()


@contextmanager
def start_run(
    name: str,
    *,
    parent: ActiveRun | str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> Iterator[ActiveRun]:
    """Record a run: ``with steward.start_run(name="baseline") as run: run.log_metric(...)``.

    Captures the git state of the working directory, the Python environment and the acting
    identity at the start; finishes the run when the block ends (``failed`` if it raised), at
    which point its whole content is hashed into the ledger. A run started inside another
    one is its child unless ``parent`` says otherwise.
    """
    with open_session(settings) as (app, actor):
        outer = _ACTIVE.get()
        parent_id = parent.id if isinstance(parent, ActiveRun) else parent
        if parent is None and outer is not None:
            parent_id = outer.id
        run = app.runs.start(
            actor,
            name,
            parent_id=parent_id,
            params=params,
            tags=tags,
            code=capture_code(Path.cwd()),
            environment=capture_environment(),
        )
        active = ActiveRun(app, actor, run)
        token = _ACTIVE.set(active)
        try:
            yield active
        except BaseException:
            active._finish(RunStatus.FAILED)
            raise
        else:
            active._finish(RunStatus.FINISHED)
        finally:
            _ACTIVE.reset(token)
            active._open = False
