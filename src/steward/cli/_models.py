"""``steward train``, ``steward tune`` and ``steward model …``: models and their versions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from steward.cli._common import (
    JSON_OPTION,
    deferred_progress,
    emit_json,
    ok,
    open_session,
    out,
    print_table,
)
from steward.domain import ModelVersion
from steward.errors import InvalidInput

__all__ = ["model_app", "train", "tune", "work_progress"]

model_app = typer.Typer(
    help="Inspect registered models and edit their cards.", no_args_is_help=True
)


@contextmanager
def work_progress(
    verb: str, trials: int
) -> Iterator[tuple[Callable[[Any], None] | None, Callable[[str, int, int], None]]]:
    """One bar on stderr for a training's trials (done of ``trials``, elapsed time, the best
    validation score so far; none when it does not tune), then for the default checks run
    after it."""
    from steward.cli._checks import check_progress

    with deferred_progress(elapsed=True, fields=("best",)) as move:

        def trial(update: Any) -> None:
            best = f"best validation score {update.best:.4f}" if update.best is not None else ""
            move(description=f"{verb} {update.study}", total=trials, advance=1, best=best)

        yield (trial if trials >= 1 else None), check_progress(move, best="", bar="checks")


def train(
    dataset: str = typer.Option(..., "--dataset", help="Dataset version to train on (NAME@N)."),
    name: str = typer.Option(..., "--name", help="The model to register a version of."),
    template: str | None = typer.Option(
        None,
        "--template",
        help="Pipeline: logistic (default), hgb, forest; ridge (default for regression); "
        "xgboost or lightgbm with their extras.",
    ),
    task: str | None = typer.Option(
        None,
        "--task",
        help="classification or regression (default: a numeric target with more than 50 "
        "distinct values is regressed).",
    ),
    trials: int = typer.Option(0, "--trials", help="Optuna trials to tune with (0: defaults)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the sampler and the model."),
    target: str | None = typer.Option(
        None, "--target", help="Target column (default: the dataset's declared target)."
    ),
    use_sensitive: list[str] = typer.Option(
        [], "--use-sensitive", help="Let this declared sensitive attribute be an input."
    ),
    use_pii: list[str] = typer.Option(
        [], "--use-pii", help="Let this PII-flagged column be an input."
    ),
    drop: list[str] = typer.Option([], "--drop", help="Leave this column out of the inputs."),
    test_size: float = typer.Option(0.2, "--test-size", help="Share of rows held out for test."),
    validation_size: float = typer.Option(
        0.2, "--validation-size", help="Share of rows held out for validation (tuning)."
    ),
    study: str | None = typer.Option(
        None, "--study", help="Name of the Optuna study (others join it with `steward tune`)."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Stop tuning after this many seconds."
    ),
    no_checks: bool = typer.Option(
        False, "--no-checks", help="Do not run the default evidence checks afterwards."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Train a standard pipeline on a dataset version, tune it, register the model version,
    and run the default evidence checks on it."""
    from steward.provenance import capture_code, capture_environment
    from steward.services import TrainingRequest

    request = TrainingRequest(
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
        checks=not no_checks,
    )
    from steward.cli._checks import print_evidence_summary

    with open_session() as (app, actor), work_progress("tuning", trials) as (trial, check):
        result = app.training.train(
            actor,
            request,
            code=capture_code(Path.cwd()),
            environment=capture_environment(),
            progress=trial,
            check_progress=check,
        )
    version, evidence = result.version, result.evidence
    if as_json:
        emit_json(version.to_dict())
        return
    ok(f"registered {version.ref} ({version.template}, run {version.run_id})")
    _print_metrics(version)
    if version.tuning:
        t = version.tuning
        out(
            f"  tuned: study {t['study']}, {t['trials']} trials ({t['complete']} complete, "
            f"{t['pruned']} pruned); best trial {t['best_trial']}"
        )
    if version.excluded:
        out("  left out: " + ", ".join(f"{c} ({why})" for c, why in version.excluded.items()))
    if evidence:
        out("  evidence:")
        print_evidence_summary(evidence)


def tune(
    study: str = typer.Argument(..., help="The study to join (named by `steward train`)."),
    trials: int = typer.Option(..., "--trials", help="How many trials this worker runs."),
    timeout: float | None = typer.Option(None, "--timeout", help="Stop after this many seconds."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Join a tuning study from this process or machine: run trials, each a child run."""
    from steward.provenance import capture_code, capture_environment

    with open_session() as (app, actor), work_progress("joining", trials) as (progress, _):
        result = app.training.join(
            actor,
            study,
            trials,
            timeout=timeout,
            code=capture_code(Path.cwd()),
            environment=capture_environment(),
            progress=progress,
        )
    if as_json:
        emit_json(result.to_dict())
        return
    ok(f"ran {result.trials} trial(s) of study {result.study} (run {result.run.id})")


def _print_metrics(version: ModelVersion) -> None:
    for part in ("validation", "test"):
        scores = version.metrics.get(part, {})
        if scores:
            out(f"  {part}: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(scores.items())))


@model_app.command("list")
def list_models(as_json: bool = JSON_OPTION) -> None:
    """Every model with its owner, risk tier and latest version."""
    with open_session() as (app, actor):
        models = app.models.list_models(actor)
    if as_json:
        emit_json([m.to_dict() for m in models])
        return
    from rich.table import Table

    table = Table("model", "latest", "owner", "risk tier", "description")
    for model in models:
        table.add_row(
            model.name,
            str(model.latest_version),
            model.owner,
            model.risk_tier.value,
            model.description[:60],
        )
    print_table(table)


@model_app.command("show")
def show(
    ref: str = typer.Argument(..., help="NAME@N, NAME@latest, NAME@production or NAME."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A model version: card, signature, metrics, datasets, split, artifact, stage."""
    with open_session() as (app, actor):
        version = app.models.get(actor, ref)
        model = app.models.model(actor, version.name)
    if as_json:
        emit_json({**version.to_dict(), "model": model.to_dict()})
        return
    out(f"{version.ref} — stage {version.stage.value}, by {version.created_by}")
    out(f"  registered {version.created_at}")
    out(f"  owner {model.owner}, risk tier {model.risk_tier.value}")
    for label, text in (
        ("description", model.description),
        ("intended use", model.intended_use),
        ("limitations", model.limitations),
    ):
        if text:
            out(f"  {label}: {text}")
    kind = "regressor" if version.task == "regression" else f"{version.task} classifier"
    out(f"  {kind} ({version.template or 'registered estimator'})")
    out(f"  artifact {version.artifact} ({version.format})")
    out(f"  inputs: {', '.join(version.features)}")
    classes = version.signature["output"].get("classes")
    out(f"  target: {version.target}" + (f"; classes {classes}" if classes else ""))
    if version.sensitive:
        used = ", ".join(version.sensitive_features) or "none"
        out(f"  sensitive attributes: {', '.join(version.sensitive)} (used as inputs: {used})")
    _print_metrics(version)
    for item in version.datasets:
        out(f"  dataset {item['ref']} (fingerprint {item['fingerprint'][:16]}…)")
    if version.split:
        sizes = version.split["sizes"]
        out(
            f"  split {version.split['id'][:16]}… (seed {version.split['seed']}): "
            f"{sizes['train']} train / {sizes['validation']} validation / {sizes['test']} test"
        )
    out(f"  run {version.run_id}; content hash {version.content_hash}")


@model_app.command("lineage")
def lineage(
    ref: str = typer.Argument(..., help="NAME@N, NAME@latest or NAME."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Where a version came from: its run and trials, the datasets, the split, the ledger."""
    with open_session() as (app, actor):
        document = app.models.lineage(actor, ref)
    if as_json:
        emit_json(document)
        return
    print_lineage(document)


def print_lineage(document: dict[str, Any]) -> None:
    out(f"{document['model']}  artifact {document['artifact']}")
    mitigation = document.get("mitigation")
    for parent in document.get("parents", []):
        how = (
            f": {mitigation['constraint']} thresholds on {mitigation['attribute']}, fitted on "
            f"its {mitigation['fitted_on']} rows"
            if mitigation
            else ""
        )
        out(f"├─ derived from {parent['ref']} (artifact {parent['artifact']}){how}")
    run = document["run"]
    if run:
        git = run.get("git") or {}
        commit = git.get("commit", "no git") if git else "no git"
        out(
            f"└─ run {run['id']} ({run['name']}, {run['status']}, by {run['actor']}, "
            f"commit {commit}, python {run['python']})"
        )
        tuning = document.get("tuning")
        if tuning:
            out(
                f"   ├─ study {tuning['study']}: {tuning['trials']} trials, best trial "
                f"{tuning['best_trial']} (run {tuning['best_run']}), {tuning['metric']} "
                f"{tuning['best_value']:.4f}"
            )
    for item in document["datasets"]:
        fingerprint = item["fingerprint"][:16]
        out(f"   ├─ dataset {item['ref']} ({item['rows']} rows, fingerprint {fingerprint}…)")
    split = document["split"]
    if split:
        sizes = split["sizes"]
        out(
            f"   └─ split {split['id'][:16]}… seed {split['seed']}, stratified: "
            f"{sizes['train']}/{sizes['validation']}/{sizes['test']} rows"
        )
    out("   ledger: " + ", ".join(f"#{e['seq']} {e['type']}" for e in document["ledger"]))


@model_app.command("mitigate")
def mitigate(
    ref: str = typer.Argument(..., help="The version to mitigate (NAME@N, NAME@latest)."),
    attribute: str = typer.Option(
        ..., "--attribute", help="The declared sensitive attribute whose groups get thresholds."
    ),
    constraint: str = typer.Option(
        "demographic_parity",
        "--constraint",
        help="demographic_parity, equalized_odds, or a *_rate_parity of fairlearn's.",
    ),
    objective: str = typer.Option(
        "balanced_accuracy_score", "--objective", help="What the thresholds maximize."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the randomized decisions."),
    no_checks: bool = typer.Option(
        False, "--no-checks", help="Do not run the default evidence checks afterwards."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a fairness-mitigated candidate: fairlearn's ThresholdOptimizer over the
    version, fitted on its validation rows, as the model's next version (lineage names the
    original)."""
    from steward.cli._checks import print_evidence_summary

    with open_session() as (app, actor):
        with work_progress("mitigating", 0) as (_, check):
            version = app.mitigation.mitigate(
                actor,
                ref,
                attribute=attribute,
                constraint=constraint,
                objective=objective,
                seed=seed,
                checks=not no_checks,
                progress=check,
            )
        evidence = [] if no_checks else app.evidence.list_evidence(actor, version.ref)
    if as_json:
        emit_json(version.to_dict())
        return
    ok(
        f"registered {version.ref}, mitigated from {version.parents[0]} "
        f"({constraint} on {attribute})"
    )
    _print_metrics(version)
    if evidence:
        out("  evidence:")
        print_evidence_summary(evidence)


@model_app.command("update")
def update(
    name: str = typer.Argument(..., help="The model."),
    risk_tier: str | None = typer.Option(None, "--risk-tier", help="minimal, limited or high."),
    owner: str | None = typer.Option(None, "--owner", help="The user accountable for it."),
    description: str | None = typer.Option(None, "--description", help="What it does."),
    intended_use: str | None = typer.Option(None, "--intended-use", help="What it is for."),
    limitations: str | None = typer.Option(
        None, "--limitations", help="Where it must not be used."
    ),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE (repeatable)."),
    untag: list[str] = typer.Option([], "--untag", help="Remove the tag KEY (repeatable)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Edit a model's card; every change is ledgered."""
    changes: dict[str, Any] = {
        key: value
        for key, value in (
            ("risk_tier", risk_tier),
            ("owner", owner),
            ("description", description),
            ("intended_use", intended_use),
            ("limitations", limitations),
        )
        if value is not None
    }
    tags: dict[str, str | None] = {}
    for item in tag:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--tag {item!r}: use KEY=VALUE")
        tags[key] = value
    for key in untag:
        tags[key] = None
    if tags:
        changes["tags"] = tags
    with open_session() as (app, actor):
        model = app.models.update(actor, name, changes)
    if as_json:
        emit_json(model.to_dict())
        return
    ok(f"updated model {name}: {', '.join(sorted(changes))}")
