"""Demo steps for monitoring: a monitor on the served endpoint, quiet traffic, then shifted
traffic that raises a drift alert whose rule suspends the version, the label-free estimate
before labels arrive and the realised metric after, and a retraining that produces a
challenger, compared with its champion, approved and deployed as a canary."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from steward.demo._data_steps import escape
from steward.demo._model_steps import MODEL
from steward.demo._serving_steps import ENDPOINT, SETTLE_SECONDS

if TYPE_CHECKING:
    from steward.demo._walkthrough import DemoContext

__all__ = ["step_drift", "step_monitor", "step_retrain"]

MONITOR = f"""\
format: steward.monitor/v1
name: loans-watch
endpoint: {ENDPOINT}
window: {{rows: 300}}
performance: {{metrics: [accuracy, roc_auc]}}
estimation: {{metrics: [accuracy, roc_auc]}}
alerts:
  - name: inputs-drifted
    when: input_drift
    severity: high
    actions: [notify, suspend, retrain]
  - {{name: accuracy-estimate, when: estimated_performance, severity: medium}}
  - {{name: accuracy-fell, when: performance, severity: high}}
"""
ROWS = 300


def _say(ctx: DemoContext, text: str) -> None:
    ctx.console.print(text, highlight=False)


def _applications(ctx: DemoContext, shift: float = 0.0) -> tuple[list[dict[str, Any]], Any, Any]:
    """Test-split applications as JSON rows (the strongest numeric input moved by ``shift``
    of its spread), their outcomes, and their sensitive attributes."""

    eli = ctx.actors["eli"]
    x, y, a = ctx.app.models.load_split(eli, ctx.models[MODEL], "test")
    x = x.copy()
    moved = ctx.extras.get("moved")
    if moved is not None and shift:
        x[moved] = _moved(x[moved], shift)
    rows = [
        {k: (None if v != v else v) for k, v in row.items()}
        for row in x.astype(object).to_dict("records")
    ]
    repeat = -(-ROWS // len(rows))
    return (
        (rows * repeat)[:ROWS],
        (list(y) * repeat)[:ROWS],
        (a.to_dict("records") * repeat)[:ROWS],
    )


def _moved(values: Any, shift: float) -> Any:
    """``values`` moved by ``shift`` standard deviations, kept within their observed range
    (new applicants, not impossible ones: the data contract still holds)."""
    import numpy as np

    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    return (values + shift * float(np.nanstd(values))).clip(low, high)


def _harmful_shift(ctx: DemoContext) -> tuple[str, float]:
    """The change of applicants the demo plays: among the five continuous inputs (20 or more
    values) with the largest mean |SHAP| (the version's explainability evidence), each moved
    by ±2 standard deviations within its range, the one under which the model's calibrated
    confidence falls most — the kind of shift a label-free estimate exists to catch."""
    eli = ctx.actors["eli"]
    version = ctx.app.models.get(eli, ctx.models[MODEL])
    x, _, _ = ctx.app.models.load_split(eli, version.ref, "test")
    numeric = [
        i["name"]
        for i in version.signature["inputs"]
        if i["kind"] == "numeric" and x[i["name"]].nunique() >= 20
    ]
    ranked = numeric[:5]
    for record in reversed(ctx.app.evidence.list_evidence(eli, version.ref)):
        shap = record.metrics.get("mean_abs_shap") if record.check_id == "explainability" else None
        if isinstance(shap, dict):
            ranked = [k for _, k in sorted((-v, k) for k, v in shap.items() if k in numeric)][:5]
            break
    best = (float("inf"), ranked[0], 2.0)
    for name in ranked:
        for sign in (2.0, -2.0):
            moved = x.copy()
            moved[name] = _moved(moved[name], sign)
            found = ctx.app.monitoring.estimate(eli, version.ref, moved)
            value = next(m["value"] for m in found["metrics"] if m["name"] == "accuracy")
            if value is not None and value < best[0]:
                best = (value, name, sign)
    return best[1], best[2]


def _send(ctx: DemoContext, rows: list[dict[str, Any]], sensitive: list[Any]) -> list[str]:
    server = ctx.extras["server"]
    token = ctx.tokens["portal"]
    ids: list[str] = []
    for start in range(0, len(rows), 50):
        body = {
            "instances": rows[start : start + 50],
            "context": [
                {k: (None if v != v else v) for k, v in attrs.items()}
                for attrs in sensitive[start : start + 50]
            ],
        }
        status, answer = server.call(f"/predict/{ENDPOINT}", body, token)
        assert status == 200, answer
        ids += answer["request_ids"]
    return ids


def _summary(run: Any) -> str:
    metrics = run.record.metrics
    if metrics.get("status") == "not_enough_data":
        return str(metrics.get("reason"))
    drifted = metrics.get("input_drift", {}).get("drifted") or []
    parts = [f"{len(drifted)} input(s) drifted" + (f" ({', '.join(drifted)})" if drifted else "")]
    for m in metrics.get("estimated_performance", {}).get("metrics", []):
        if m["name"] == "accuracy" and m.get("value") is not None:
            parts.append(
                f"estimated accuracy {m['value']:.3f} [{m['lower']:.3f}, {m['upper']:.3f}]"
            )
    performance = metrics.get("performance", {})
    for m in performance.get("metrics", []) if performance.get("status") == "ok" else []:
        if m["name"] == "accuracy" and m.get("value") is not None:
            parts.append(f"realised accuracy {m['value']:.3f} [{m['lower']:.3f}, {m['upper']:.3f}]")
    return "; ".join(parts)


def _tracked(before: Any, after: Any) -> str:
    """Whether the estimate made before the labels came held against the realised metric."""

    def accuracy(run: Any, section: str) -> dict[str, Any] | None:
        found = run.record.metrics.get(section) or {}
        return next((m for m in found.get("metrics", []) if m["name"] == "accuracy"), None)

    estimated = accuracy(before, "estimated_performance")
    realised = accuracy(after, "performance")
    if not estimated or not realised or realised.get("value") is None:
        return "no estimate or realised accuracy to compare"
    inside = estimated["lower"] <= realised["value"] <= estimated["upper"]
    if inside:
        return (
            f"the estimate made before the labels held: realised {realised['value']:.3f} lies "
            f"in its band [{estimated['lower']:.3f}, {estimated['upper']:.3f}]"
        )
    return (
        f"realised {realised['value']:.3f} lies outside the estimate's band "
        f"[{estimated['lower']:.3f}, {estimated['upper']:.3f}]: these applicants' outcomes "
        "changed with their inputs (concept drift), which no label-free estimate can see — "
        "its evidence says so, and the realised metric is the check"
    )


def step_monitor(ctx: DemoContext) -> None:
    eli = ctx.actors["eli"]
    monitor, _ = ctx.app.monitoring.apply(eli, MONITOR, "loans-watch.yaml")
    reference = ctx.app.monitoring.reference(eli, ctx.models[MODEL])
    _say(
        ctx,
        f"eli applies monitor {monitor.name}@{monitor.version} to {ENDPOINT} (steward monitor "
        f"apply): windows of the last {ROWS} predictions; rules: "
        + ", ".join(f"{r['name']} → {', '.join(r['actions'])}" for r in monitor.document["alerts"]),
    )
    _say(
        ctx,
        f"  {ctx.models[MODEL]}'s reference is summarised once (evidence {reference.id[:12]}): "
        f"its training inputs exactly, its test predictions, a calibration for estimating "
        f"performance before labels — parts {', '.join(sorted(reference.artifacts))}",
    )
    rows, _, sensitive = _applications(ctx)
    _send(ctx, rows, sensitive)
    run = ctx.app.monitoring.run(eli, monitor.name)
    _say(
        ctx,
        f"  {ROWS} ordinary applications through the server, then a run (steward monitor run "
        f"{monitor.name}): {_summary(run)} — no alert",
    )


def step_drift(ctx: DemoContext) -> None:
    eli, sofia = ctx.actors["eli"], ctx.actors["sofia"]
    server = ctx.extras["server"]
    moved, sign = _harmful_shift(ctx)
    ctx.extras["moved"] = moved
    rows, outcomes, sensitive = _applications(ctx, shift=sign)
    ids = _send(ctx, rows, sensitive)
    ctx.extras["shifted"] = (ids, outcomes)
    run = ctx.app.monitoring.run(eli, "loans-watch")
    _say(
        ctx,
        f"the applicants change: {moved} moves by {sign:+.0f} standard deviations. The next "
        f"run, before any outcome is known: {_summary(run)}",
    )
    for alert in run.raised:
        _say(
            ctx,
            f"  [red]alert {alert.id[:12]}[/] ({alert.current.severity}, "
            f"{alert.current.rule}): {alert.current.message[:110]}",
        )
    for outcome in run.outcomes:
        _say(ctx, f"  {outcome['action']}: {outcome['outcome']}")
    token = ctx.tokens["portal"]
    deadline = time.monotonic() + 30
    status, answer = server.call(f"/predict/{ENDPOINT}", {"instances": rows[:1]}, token)
    while status == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        status, answer = server.call(f"/predict/{ENDPOINT}", {"instances": rows[:1]}, token)
    message = answer["error"]["message"] if isinstance(answer, dict) and "error" in answer else ""
    _say(ctx, f"  the running server now answers {status}: {message[:200]}")
    labels = [{"request_id": i, "label": int(v)} for i, v in zip(ids, outcomes, strict=True)]
    ctx.app.predictions.label(eli, ENDPOINT, labels)
    ctx.extras["alert"] = next(a.id for a in run.raised if a.current.rule == "inputs-drifted")
    again = ctx.app.monitoring.run(eli, "loans-watch")
    _say(
        ctx,
        f"the outcomes of those {len(labels)} applications arrive (steward feedback); a run "
        f"on the same version: {_summary(again)}",
    )
    for alert in again.raised:
        _say(
            ctx,
            f"  [red]alert {alert.id[:12]}[/] ({alert.current.severity}, "
            f"{alert.current.rule}): {alert.current.message[:110]}",
        )
    _say(ctx, "  " + _tracked(run, again))
    ctx.app.alerts.acknowledge(sofia, ctx.extras["alert"], "retraining on the new applicants")
    _say(ctx, f"  sofia acknowledges alert {ctx.extras['alert'][:12]} (steward alert ack)")


def _canary_counts(ctx: DemoContext, canary: str) -> tuple[dict[str, int], str]:
    """Which version the running server answers keyed applicants from (or the status it
    refused them with), once it has picked the canary up; and the first refusal's reason."""
    server, token = ctx.extras["server"], ctx.tokens["portal"]
    rows, _, _ = _applications(ctx)

    def served(count: int) -> tuple[dict[str, int], str]:
        seen: dict[str, int] = {}
        refusal = ""
        for i in range(count):
            body = {"instances": rows[:1], "key": f"applicant-{i}"}
            status, answer = server.call(f"/predict/{ENDPOINT}", body, token)
            model = answer["model"] if status == 200 else str(status)
            if status != 200 and not refusal:
                refusal = str(answer.get("error", {}).get("message", ""))
            seen[model] = seen.get(model, 0) + 1
        return seen, refusal

    deadline = time.monotonic() + 30
    while not {canary, "422"} & set(served(20)[0]) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(SETTLE_SECONDS)
    return served(200)


def step_retrain(ctx: DemoContext) -> None:
    dana, eli, sofia = ctx.actors["dana"], ctx.actors["eli"], ctx.actors["sofia"]
    registered = ctx.app.retraining.from_predictions(
        dana, ENDPOINT, name="loans-retrain", base="loans@1"
    )
    _say(
        ctx,
        f"dana adds the labelled predictions to the training data (steward dataset "
        f"from-predictions {ENDPOINT} --name loans-retrain --base loans@1): "
        f"{registered.version.ref}, {registered.version.rows:,} rows, what came from the log "
        "still PII-redacted",
    )
    done = ctx.app.retraining.retrain(
        dana, MODEL, dataset=registered.version.ref, alert=ctx.extras["alert"]
    )
    ctx.extras["comparison"] = done.comparison.id
    challenger = done.result.version
    auc = done.comparison.metrics["metrics"]["roc_auc"]
    _say(
        ctx,
        f"  steward retrain {MODEL} --dataset {registered.version.ref}: challenger "
        f"{challenger.ref}, the champion's recipe ({challenger.template}, its parameters, seed), "
        f"lineage naming {done.champion.ref}",
    )
    if auc.get("value") is not None:
        _say(
            ctx,
            f"  on the same rows: ROC AUC {auc['champion']:.3f} → {auc['challenger']:.3f}, "
            f"difference {auc['value']:+.3f} (paired bootstrap 95% [{auc['lower']:+.3f}, "
            f"{auc['upper']:+.3f}]); fairness side by side in evidence {done.comparison.id[:12]}",
        )
    decision, _ = ctx.app.policies.gate(eli, challenger.ref, "production")
    failed = ", ".join(r.id for r in decision.failed[:4]) or "none"
    _say(ctx, f"  its own production gate first fails ({failed}): no shortcut for a challenger")
    ctx.extras["challenger"] = challenger.ref
    ctx.app.evidence.reproduce(sofia, challenger.ref, ["performance", "fairness"])
    for steward in ("sofia", "sam"):
        ctx.app.governance.approve(ctx.actors[steward], challenger.ref, "production", "ok")
    decision, _ = ctx.app.policies.gate(eli, challenger.ref, "production")
    unfair = [r.id for r in decision.failed if r.id.startswith("evidence.fairness.")]
    if unfair:
        _say(
            ctx,
            f"  sofia reproduces its evidence and approves with sam, but its gate fails "
            f"{', '.join(unfair[:2])}: the new data made it less fair — it stays out",
        )
        mitigated = ctx.app.mitigation.mitigate(dana, challenger.ref, attribute="race")
        ctx.app.evidence.reproduce(sofia, mitigated.ref, ["performance", "fairness"])
        for steward in ("sofia", "sam"):
            ctx.app.governance.approve(ctx.actors[steward], mitigated.ref, "production", "ok")
        challenger = mitigated
        decision, _ = ctx.app.policies.gate(eli, challenger.ref, "production")
        _say(
            ctx,
            f"  dana mitigates it (group thresholds on race): {challenger.ref}, its lineage "
            f"naming {challenger.parents[0]}; reproduced, approved — gate "
            + ("passes" if decision.allowed else "still fails"),
        )
    if decision.allowed:
        ctx.app.alerts.resolve(sofia, ctx.extras["alert"], f"challenger {challenger.ref}")
        ctx.app.deployments.resume(eli, ENDPOINT)
        ctx.app.deployments.deploy(eli, challenger.ref, ENDPOINT, canary=10)
        counts, refusal = _canary_counts(ctx, challenger.ref)
        _say(
            ctx,
            f"  sofia resolves the alert; eli resumes {ENDPOINT} and deploys {challenger.ref} "
            f"as a 10% canary (steward deploy {challenger.ref} --endpoint {ENDPOINT} "
            "--canary 10): of 200 applicants, "
            + ", ".join(
                f"{n} to {v}" if "@" in v else f"{n} answered {v}"
                for v, n in sorted(counts.items())
            ),
        )
        if refusal:
            _say(
                ctx,
                f"  the canary's share is refused ({escape(refusal[:120])}): the mitigated "
                "version takes the sensitive attribute as an input, which the portal's "
                f"requests, shaped for {ctx.models[MODEL]}, do not carry — a canary needs "
                "clients that can feed both versions",
            )
    else:
        reasons = "; ".join(f"{r.id}: {r.reason}"[:90] for r in decision.failed[:2])
        _say(ctx, f"  its gate still fails — {reasons}: it stays out of production")
