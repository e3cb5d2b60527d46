"""Demo steps for models: tune a standard pipeline, register it, trace and reload it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from steward.demo._data_steps import escape

if TYPE_CHECKING:
    from steward.demo._walkthrough import DemoContext

__all__ = ["step_evidence", "step_lineage", "step_reproduce", "step_tune"]

MODEL = "loan-approval"
TRIALS = 20


def _say(ctx: DemoContext, text: str) -> None:
    ctx.console.print(text, highlight=False)


def step_tune(ctx: DemoContext) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from steward.provenance import capture_code, capture_environment
    from steward.services import TrainingRequest

    dana = ctx.actors["dana"]
    _say(
        ctx,
        f"dana tunes a gradient-boosting pipeline on loans@1: {TRIALS} Optuna trials, the study "
        "kept in Steward's own database, each trial a child run, poor ones pruned early.",
    )
    with Progress(
        TextColumn("  {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[best]}"),
        console=ctx.console,
    ) as progress:
        task = progress.add_task("trials", total=TRIALS, best="")

        def update(trial: Any) -> None:
            best = f"best validation ROC AUC {trial.best:.4f}" if trial.best is not None else ""
            progress.update(task, advance=1, best=best)

        result = ctx.app.training.train(
            dana,
            TrainingRequest(
                checks=False, dataset="loans@1", name=MODEL, template="hgb", trials=TRIALS, seed=7
            ),
            code=capture_code(ctx.workdir),
            environment=capture_environment(),
            progress=update,
        )
    version = result.version
    tuning = version.tuning or {}
    test = version.metrics["test"]
    _say(
        ctx,
        f"  [bold]{version.ref}[/] registered: {tuning.get('complete')} trials complete, "
        f"{tuning.get('pruned')} pruned; best trial {tuning.get('best_trial')}",
    )
    _say(
        ctx,
        f"  test split: ROC AUC {test['roc_auc']:.4f}, accuracy {test['accuracy']:.4f}, "
        f"balanced accuracy {test['balanced_accuracy']:.4f}",
    )
    left_out = ", ".join(f"{c} ({why})" for c, why in version.excluded.items())
    _say(ctx, f"  kept out of the model's inputs: {left_out}")
    _say(
        ctx,
        f"  saved with skops ({version.artifact[:19]}…): loading rebuilds only reviewed types",
    )
    ctx.models[MODEL] = version.ref


def step_lineage(ctx: DemoContext) -> None:
    from rich.tree import Tree
    from sklearn.metrics import roc_auc_score

    ref = ctx.models[MODEL]
    audra = ctx.actors["audra"]
    lineage = ctx.app.models.lineage(audra, ref)
    tree = Tree(f"[bold]{lineage['model']}[/] artifact {lineage['artifact'][:23]}…")
    run = lineage["run"]
    branch = tree.add(
        f"run {run['id'][:12]} ({run['name']}, {run['status']}, by {run['actor']}, "
        f"python {run['python']})"
    )
    tuning = lineage["tuning"]
    branch.add(
        f"study {tuning['study']}: {run['trials']} trial runs, best trial "
        f"{tuning['best_trial']} (run {str(tuning['best_run'])[:12]})"
    )
    for item in lineage["datasets"]:
        branch.add(
            f"dataset {item['ref']}: {item['rows']:,} rows, fingerprint {item['fingerprint'][:16]}…"
        )
    split = lineage["split"]
    sizes = split["sizes"]
    branch.add(
        f"split {split['id'][:16]}… (seed {split['seed']}, stratified): "
        f"{sizes['train']} train / {sizes['validation']} validation / {sizes['test']} test"
    )
    ledger = tree.add("ledger")
    for event in lineage["ledger"]:
        ledger.add(f"#{event['seq']} {event['type']} {event['subject']}")
    _say(ctx, "audra asks where the model came from (steward model lineage):")
    ctx.console.print(tree)

    dana = ctx.actors["dana"]
    version, model = ctx.app.models.load(dana, ref)
    x, y, a = ctx.app.models.load_split(dana, ref, "test")
    recomputed = roc_auc_score(y, model.predict_proba(x)[:, 1])
    same = recomputed == version.metrics["test"]["roc_auc"]
    _say(
        ctx,
        f"dana reloads {ref} (sha256 checked) and its test split ({len(x)} rows; sensitive "
        f"attributes {', '.join(a.columns)} travel alongside): ROC AUC {recomputed:.6f} — "
        f"{'reproduced exactly' if same else 'DIFFERENT from the record'}",
    )
    ctx.app.models.update(
        dana,
        MODEL,
        {
            "risk_tier": "high",
            "description": "Scores mortgage applications for approval.",
            "intended_use": "Decision support for loan officers; a person decides.",
            "limitations": "Trained on 1990 Boston applications; not for other markets.",
        },
    )
    _say(ctx, "dana classifies the model as high risk and documents its use: ledgered.")


def step_evidence(ctx: DemoContext) -> None:
    ref = ctx.models[MODEL]
    dana = ctx.actors["dana"]
    records = ctx.app.evidence.run(dana, ref)
    _say(
        ctx,
        f"dana runs the installed evidence checks on {ref}'s test split "
        "(steward check run); the evidence is ledgered:",
    )
    plots = ctx.workdir / "plots"
    plots.mkdir(exist_ok=True)
    for record in records:
        metrics = record.metrics
        headline = ", ".join(
            f"{name} {metrics[name]:.3f} [{metrics['ci'][name][0]:.3f}, "
            f"{metrics['ci'][name][1]:.3f}]"
            for name in ("roc_auc", "accuracy", "brier")
            if name in metrics.get("ci", {})
        )
        if record.check_id == "fairness":
            headline = "disparate impact ratio " + ", ".join(
                f"{name} {summary['disparate_impact_ratio']:.3f}"
                for name, summary in metrics.get("attributes", {}).items()
            )
        if record.check_id == "privacy":
            strongest = max(metrics["target_auc"].items(), key=lambda item: item[1] or 0.0)
            headline = (
                f"no leakage (strongest single input {strongest[0]}, ROC AUC "
                f"{strongest[1]:.3f}), no proxy of {' or '.join(metrics['proxy_auc'])} "
                f"at ROC AUC ≥ {record.params['proxy_auc']}"
                if record.status.value == "passed"
                else "see findings"
            )
        if record.check_id == "data":
            headline = "the data's own evidence: " + ", ".join(
                f"{e['check_id']} {e['status']}" for e in metrics.get("evidence", [])
            )
        if record.check_id == "explainability":
            top = ", ".join(
                f"{name} {value:.3f}" for name, value in list(metrics["mean_abs_shap"].items())[:3]
            )
            spearman = metrics["rank_agreement"]["spearman_top"]
            headline = (
                f"{metrics['explainer']} SHAP, mean |SHAP| ({metrics['units']}): {top}; rank "
                f"agreement with permutation importance on the top ten {spearman:.2f}"
                if spearman is not None
                else f"{metrics['explainer']} SHAP: {top}"
            )
        if record.check_id == "robustness":
            headline = "flip rates " + ", ".join(
                f"{name} {rate:.1%}" if rate is not None else f"{name} crashed"
                for name, rate in metrics["flip_rate"].items()
            )
        status = record.status.value
        _say(ctx, f"  {record.check_id} v{record.check_version}: {status} — {headline}")
        for finding in record.findings:
            _say(ctx, f"    {finding.severity.label}: {escape(finding.message)}")
        for name in sorted(record.artifacts):
            target = plots / f"{record.check_id}-{name}"
            target.write_bytes(ctx.app.evidence.artifact(ctx.admin, ref, record.id, name))
            kind = "plot" if name.endswith((".png", ".svg")) else "file"
            _say(ctx, f"    {kind} saved: {target}")


def step_reproduce(ctx: DemoContext) -> None:
    ref = ctx.models[MODEL]
    sofia = ctx.actors["sofia"]
    _say(
        ctx,
        "Evidence computed in dana's own process is only as honest as that process: for a "
        "high-risk model the pack wants it reproduced by someone else. sofia re-runs the "
        "recorded checks with the recorded parameters and seeds (steward check reproduce):",
    )
    for result in ctx.app.evidence.reproduce(sofia, ref, ["performance", "fairness"]):
        verdict = "[green]results agree[/]" if result.agrees else "[red]results DIFFER[/]"
        code = result.original.provenance.get("code_sha256", "")[:12]
        _say(
            ctx,
            f"  {result.original.check_id} evidence {result.original.id[:12]} by "
            f"{result.original.created_by} (check code {code}…): {verdict}",
        )
