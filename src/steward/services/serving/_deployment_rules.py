"""The rules of deployments that need no store: which routes a deploy makes, which state a
rollback restores, the refusal of a failing gate, the last enforcement recorded, and the
parsing of times and endpoint names the deployment and prediction services share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from steward.domain import Decision, Deployment, ModelVersion, Route, validate_endpoint_name
from steward.errors import InvalidInput, Refused
from steward.store import Reader

__all__ = [
    "endpoint_name",
    "last_enforcement",
    "parse_time",
    "refusal",
    "rollback_target",
    "routes_for",
]


def parse_time(text: str, field: str = "at") -> datetime:
    """An ISO 8601 time with a zone, or a date (its start, UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{{{field}}} {text[:60]!r} is not an ISO 8601 time (2026-12-01T10:00:00Z) or date",
            details={"field": field},
        ) from None
    if moment.tzinfo is None:
        if len(text.strip()) == 10:
            return moment.replace(tzinfo=UTC)
        raise InvalidInput(
            f"{{{field}}} {text!r} has no time zone (add Z or +00:00)", details={"field": field}
        )
    return moment.astimezone(UTC)


def endpoint_name(name: str) -> str:
    """``name`` when it is a valid endpoint name, else ``InvalidInput`` naming the field."""
    try:
        return validate_endpoint_name(name)
    except ValueError as exc:
        raise InvalidInput(str(exc), details={"field": "endpoint"}) from None


def last_enforcement(reader: Reader, endpoint: str, version: str) -> dict[str, Any] | None:
    """The payload of the latest ``serving.enforced`` event about ``version`` of
    ``endpoint`` since it was last deployed, or ``None``."""
    events = reader.events_about(f"endpoint:{endpoint}", "serving.enforced", "deployment.changed")
    for event in reversed(events):
        if event.type == "deployment.changed":
            return None  # a deploy (or rollback) checked every version it serves
        if event.payload.get("version") == version:
            return event.payload
    return None


def routes_for(
    endpoint: str,
    current: Deployment | None,
    version: ModelVersion,
    canary: int | None,
    promote_canary: bool,
) -> tuple[str, tuple[Route, ...]]:
    """The action and routes a deploy of ``version`` to ``endpoint`` makes: a plain deploy,
    a canary beside the stable version, or the canary promoted."""
    stable = current.stable if current else None
    if canary is not None:
        if stable is None:
            raise InvalidInput(
                f"endpoint {endpoint} serves nothing yet: deploy a version before a canary",
                details={"field": "canary"},
            )
        if stable.version == version.ref:
            raise InvalidInput(
                f"{version.ref} is what {endpoint} serves already: a canary is another version",
                details={"field": "canary"},
            )
        return "canary", (
            Route(stable.version, 100 - canary, "stable"),
            Route(version.ref, canary, "canary"),
        )
    if promote_canary:
        current_canary = current.canary if current else None
        if current_canary is None:
            raise InvalidInput(
                f"endpoint {endpoint} has no canary to promote", details={"field": "promote_canary"}
            )
        if current_canary.version != version.ref:
            raise InvalidInput(
                f"the canary of {endpoint} is {current_canary.version}, not {version.ref}",
                details={"field": "promote_canary"},
            )
        return "promote_canary", (Route(version.ref, 100, "stable"),)
    return "deploy", (Route(version.ref, 100, "stable"),)


def rollback_target(history: list[Deployment]) -> Deployment | None:
    """The state a rollback from the latest one restores: the state in force before the
    current routes were deployed (through earlier rollbacks, stops and resumes)."""
    by_seq = {d.seq: d for d in history}

    def origin(state: Deployment) -> Deployment:
        while True:
            if state.action == "rollback" and state.restores in by_seq:
                state = by_seq[state.restores]
            elif state.action in ("stop", "resume") and state.seq - 1 in by_seq:
                state = by_seq[state.seq - 1]
            else:
                return state

    first = origin(history[-1])
    if first.seq - 1 not in by_seq:
        return None
    return origin(by_seq[first.seq - 1])


def refusal(version: ModelVersion, stage: str, decision: Decision, endpoint: str) -> Refused:
    """The refusal of deploying ``version``: its failing rules, the decision in details."""
    return Refused(
        f"{version.ref} may not be deployed to {endpoint}: its {stage} gate fails — "
        + "; ".join(f"{r.id}: {r.reason}" for r in decision.failed[:3]),
        details={"decision": decision.to_dict()},
    )
