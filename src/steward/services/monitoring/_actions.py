"""What a raised alert's rule does after the run that raised it has been recorded: each
action is a governed change of its own, ledgered by that change (see ``_service.py``)."""

from __future__ import annotations

from typing import Any

from steward.domain import Actor, Alert, Monitor
from steward.services.serving._deployments import DeploymentService

__all__ = ["take_actions"]


def take_actions(
    deployments: DeploymentService,
    actor: Actor,
    monitor: Monitor,
    ref: str,
    raised: tuple[Alert, ...],
    queued: dict[str, int],
) -> list[dict[str, Any]]:
    """The raised alerts' actions after notify, each ledgered by the change it makes."""
    outcomes: list[dict[str, Any]] = []
    for alert in raised:
        wanted = [a["action"] for a in alert.current.actions]
        reason = (
            f"monitor {monitor.name} alert {alert.id[:12]} ({alert.current.rule}, "
            f"{alert.current.severity}): {alert.current.message}"
        )[:1000]
        if "notify" in wanted:
            count = queued.get(alert.id, 0)
            said = (
                f"monitor.alert queued for {count} webhook(s)"
                if count
                else "no webhook subscribes to monitor.alert"
            )
            outcomes.append({"alert": alert.id, "action": "notify", "outcome": said})
        if "revalidate" in wanted:
            plan = deployments.plan(actor, monitor.endpoint)
            written = deployments.enforce(actor, plan)
            said = revalidated(plan, ref)
            outcomes.append(
                {
                    "alert": alert.id,
                    "action": "revalidate",
                    "outcome": said,
                    "ledgered": written,
                }
            )
        if "suspend" in wanted:
            state = deployments.suspend(actor, monitor.endpoint, ref, reason)
            if state is None:
                said = f"{monitor.endpoint} no longer serves {ref}: nothing to suspend"
            elif state.action == "rollback" and state.stable is not None:
                said = f"{monitor.endpoint} fell back to {state.stable.version}"
            else:
                said = f"{monitor.endpoint} stopped: it answers 503 with the reason"
            outcomes.append({"alert": alert.id, "action": "suspend", "outcome": said})
        if "retrain" in wanted:
            outcomes.append(
                {
                    "alert": alert.id,
                    "action": "retrain",
                    "outcome": f"retraining requested: `steward retrain {ref.split('@')[0]} "
                    f"--alert {alert.id[:12]}`",
                }
            )
    return outcomes


def revalidated(plan: Any, ref: str) -> str:
    """What re-evaluating the gate with the alert open found, and what the server does."""
    check = next((c for c in plan.checks if c.route.version == ref), None)
    if check is None or check.allowed:
        return f"{ref}'s gate passes with the alert open: it is served on"
    action, serving = plan.actions.get(ref, ("refuse", None))
    if action == "keep":
        then = "kept serving it (policy on_gate_failure: keep)"
    elif serving:
        then = f"the endpoint falls back to {serving}"
    else:
        then = "the endpoint answers 503 with the reason"
    return f"{ref}: {check.reason}; {then}"
