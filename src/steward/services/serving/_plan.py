"""What an endpoint may serve now: each deployed version's gate and model file, checked at
this moment, and the governing policy's answer when one fails.

The same plan answers ``steward endpoint show``, a model server's loading and its periodic
re-checks, so the command line and every server process agree on what is served and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from steward.domain import Decision, Deployment, EndpointStatus, GateFailure, Route

__all__ = ["RouteCheck", "ServingPlan", "decide_routes"]


@dataclass(frozen=True, slots=True)
class RouteCheck:
    """A deployed version, checked now: may it be served, and if not, why."""

    route: Route
    allowed: bool
    reason: str
    failed: tuple[str, ...] = ()
    on_failure: GateFailure = GateFailure.FALLBACK
    decision: Decision | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.route.to_dict(),
            "allowed": self.allowed,
            "reason": self.reason,
            "failed": list(self.failed),
            "on_gate_failure": self.on_failure.value,
        }


@dataclass(frozen=True, slots=True)
class ServingPlan:
    """What endpoint ``deployment.endpoint`` serves now.

    ``routes`` are the versions actually served with their shares (empty: every request is
    answered 503 with ``unavailable``); ``checks`` the deployed routes as checked;
    ``actions`` what enforcement did, per failing deployed version (``fallback``, ``refuse``,
    ``keep``) with the version served in its place."""

    deployment: Deployment
    routes: tuple[Route, ...]
    checks: tuple[RouteCheck, ...]
    unavailable: str | None = None
    actions: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    checked_at: str = ""

    @property
    def endpoint(self) -> str:
        return self.deployment.endpoint

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "deployment": self.deployment.to_dict(),
            "serving": [r.to_dict() for r in self.routes],
            "checks": [c.to_dict() for c in self.checks],
            "unavailable": self.unavailable,
            "enforcement": {
                version: {"action": action, "serving": serving}
                for version, (action, serving) in sorted(self.actions.items())
            },
            "checked_at": self.checked_at,
        }


def decide_routes(
    deployment: Deployment,
    checks: tuple[RouteCheck, ...],
    fallbacks: list[RouteCheck],
    *,
    checked_at: str = "",
) -> ServingPlan:
    """The plan for ``deployment`` given its routes as checked and, newest first, the
    endpoint's earlier stable versions as checked (the fallback candidates).

    A failing canary is dropped (its share goes to the stable version). A failing stable
    version is handled as its policy says: ``keep`` serves it on (never for a model file
    that is not the registered one), ``refuse`` answers 503, ``fallback`` serves the newest
    earlier stable version that may be served, else 503."""
    if deployment.status is EndpointStatus.STOPPED:
        who = f"stopped by {deployment.created_by} at {deployment.created_at}"
        reason = f"endpoint {deployment.endpoint} is {who}: {deployment.reason}"
        return ServingPlan(deployment, (), checks, unavailable=reason, checked_at=checked_at)
    actions: dict[str, tuple[str, str | None]] = {}
    stable = next((c for c in checks if c.route.role == "stable"), None)
    canary = next((c for c in checks if c.route.role == "canary"), None)
    serving_stable: Route | None = None
    unavailable: str | None = None
    if stable is not None:
        if stable.allowed:
            serving_stable = stable.route
        else:
            action = stable.on_failure
            if action is GateFailure.KEEP and "artifact" in stable.failed:
                action = GateFailure.FALLBACK  # changed bytes are never served
            if action is GateFailure.KEEP:
                serving_stable = stable.route
                actions[stable.route.version] = ("keep", stable.route.version)
            elif action is GateFailure.FALLBACK:
                found = next((f for f in fallbacks if f.allowed), None)
                if found is not None:
                    serving_stable = Route(found.route.version, stable.route.share, "stable")
                actions[stable.route.version] = ("fallback", found.route.version if found else None)
            else:
                actions[stable.route.version] = ("refuse", None)
            if serving_stable is None:
                unavailable = f"{stable.route.version} may not be served: {stable.reason}"
    routes: list[Route] = []
    if canary is not None and canary.allowed and serving_stable is not None:
        routes = [serving_stable, canary.route]
    elif serving_stable is not None:
        routes = [Route(serving_stable.version, 100, "stable")]
        if canary is not None and not canary.allowed:
            actions[canary.route.version] = ("fallback", serving_stable.version)
    elif canary is not None and not canary.allowed:
        actions[canary.route.version] = ("refuse", None)
    return ServingPlan(
        deployment,
        tuple(routes),
        checks,
        unavailable=None if routes else unavailable or "nothing may be served",
        actions=actions,
        checked_at=checked_at,
    )
