"""Deployments as governed state: deploy, canary, promote the canary, roll back, stop,
resume; each one state of the endpoint and one ledger event, in one transaction under a lock
on the endpoint.

Deploying evaluates the gate of the endpoint's stage (production unless the endpoint was
created for staging) with the engine ``promote`` uses; a refusal changes nothing and is
ledgered (``attempt.refused``). A rollback brings back the state in force before the current
one's routes were deployed; rolling back again goes further back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from steward.domain import (
    Actor,
    Deployment,
    DeploymentChanged,
    EndpointStatus,
    GateFailure,
    Permission,
    Route,
    ServingEnforced,
)
from steward.errors import InvalidInput, NotFound, PermissionDenied, Refused, StewardError
from steward.services._access import require
from steward.services._records import content_hash, record_event
from steward.services.governance._policies import GATED_STAGES, PolicyService
from steward.services.governance._service import refused_attempt
from steward.services.models._service import ModelService, resolve_model
from steward.services.serving._changes import LedgerMark, ledger_change
from steward.services.serving._deployment_rules import (
    endpoint_name,
    last_enforcement,
    parse_time,
    refusal,
    rollback_target,
    routes_for,
)
from steward.services.serving._plan import RouteCheck, ServingPlan, decide_routes
from steward.store import Reader, Store
from steward.types import utc_iso

__all__ = ["DeploymentService"]

T = TypeVar("T")


class DeploymentService:
    def __init__(self, store: Store, models: ModelService, policies: PolicyService) -> None:
        self._store = store
        self._models = models
        self._policies = policies

    # --- changes -------------------------------------------------------------------------

    def deploy(
        self,
        actor: Actor,
        ref: str,
        endpoint: str,
        *,
        canary: int | None = None,
        promote_canary: bool = False,
        stage: str | None = None,
    ) -> tuple[Deployment, bool]:
        """Deploy version ``ref`` to ``endpoint`` (created on first deploy, for ``stage``,
        production by default): all of its traffic, ``canary`` percent of it beside the
        current version, or — ``promote_canary`` — all of it once it was the canary. The
        gate of the endpoint's stage must pass now, for every version the new state serves.
        ``(state, changed)``: deploying what is already deployed changes nothing."""
        return self._guarded(
            actor,
            "deploy",
            f"endpoint:{endpoint}",
            stage,
            lambda: self._deploy(actor, ref, endpoint, canary, promote_canary, stage),
        )

    def _deploy(
        self,
        actor: Actor,
        ref: str,
        endpoint: str,
        canary: int | None,
        promote_canary: bool,
        stage: str | None,
    ) -> tuple[Deployment, bool]:
        require(actor, Permission.MODEL_DEPLOY, "deploy models")
        endpoint = endpoint_name(endpoint)
        if stage is not None and stage not in GATED_STAGES:
            raise InvalidInput(
                f"unknown {{stage}} {stage!r}: endpoints serve {', '.join(GATED_STAGES)}",
                details={"field": "stage"},
            )
        if canary is not None and promote_canary:
            raise InvalidInput(
                "give {canary} or {promote_canary}, not both",
                details={"fields": ["canary", "promote_canary"]},
            )
        if canary is not None and not 1 <= canary <= 99:
            raise InvalidInput(
                f"{{canary}} is a percentage of traffic from 1 to 99, not {canary}",
                details={"field": "canary"},
            )
        version = self._models.get(actor, ref)
        with self._store.write(actor) as tx:
            tx.lock(f"endpoint:{endpoint}")
            history = tx.deployments(endpoint)
            current = history[-1] if history else None
            in_stage = current.stage if current else (stage or "production")
            if current is not None and stage is not None and stage != current.stage:
                raise InvalidInput(
                    f"endpoint {endpoint} serves {current.stage}, not {stage}",
                    details={"field": "stage"},
                )
            action, routes = routes_for(endpoint, current, version, canary, promote_canary)
            if (
                current is not None
                and current.status is EndpointStatus.ACTIVE
                and current.routes == routes
            ):
                return current, False
            decisions: dict[str, Any] = {}
            for route in routes:
                served = (
                    version if route.version == version.ref else resolve_model(tx, route.version)
                )
                decision = self._policies.decide(actor, served, in_stage)
                if not decision.allowed:
                    raise refusal(served, in_stage, decision, endpoint)
                decisions[route.version] = decision.summary()
            state = self._new_state(
                tx,
                actor,
                endpoint,
                history,
                action=action,
                routes=routes,
                stage=in_stage,
                status=EndpointStatus.ACTIVE,
            )
            record_event(tx, DeploymentChanged.of(state, decisions), subject=state.subject)
        return state, True

    def rollback(self, actor: Actor, endpoint: str) -> Deployment:
        """Bring back the routes in force before the current ones were deployed (their gates
        must pass now); rolling back again goes further back. ``Refused`` when there is
        nothing earlier."""
        return self._guarded(
            actor, "rollback", f"endpoint:{endpoint}", None, lambda: self._rollback(actor, endpoint)
        )

    def _rollback(self, actor: Actor, endpoint: str) -> Deployment:
        require(actor, Permission.MODEL_DEPLOY, "roll back deployments")
        endpoint = endpoint_name(endpoint)
        with self._store.write(actor) as tx:
            tx.lock(f"endpoint:{endpoint}")
            history = tx.deployments(endpoint)
            if not history:
                raise NotFound(f"no endpoint named {endpoint!r}")
            target = rollback_target(history)
            if target is None:
                raise Refused(
                    f"endpoint {endpoint} has no earlier deployment to roll back to "
                    f"(it serves what its first deployment did)"
                )
            current = history[-1]
            decisions, failing = self._admit(tx, actor, target.routes, current.stage)
            if failing is not None:
                served, decision = failing
                raise refusal(served, current.stage, decision, endpoint)
            state = self._new_state(
                tx,
                actor,
                endpoint,
                history,
                action="rollback",
                routes=target.routes,
                stage=current.stage,
                status=current.status,
                restores=target.seq,
            )
            record_event(tx, DeploymentChanged.of(state, decisions), subject=state.subject)
        return state

    def suspend(self, actor: Actor, endpoint: str, version: str, reason: str) -> Deployment | None:
        """A monitoring alert's ``suspend``: stop serving ``version`` on ``endpoint`` — fall
        back to the state before it was deployed when that state's versions pass their gates
        now (a rollback), else stop the endpoint (503 with ``reason``). ``None`` when the
        endpoint no longer serves ``version`` as its stable route, or is already stopped."""
        require(actor, Permission.MONITOR_RUN, "suspend a served version")
        name = endpoint_name(endpoint)
        with self._store.write(actor) as tx:
            tx.lock(f"endpoint:{name}")
            history = tx.deployments(name)
            if not history:
                raise NotFound(f"no endpoint named {name!r}")
            current = history[-1]
            stable = current.stable
            if stable is None or stable.version != version:
                return None
            if current.status is EndpointStatus.STOPPED:
                return None
            target = rollback_target(history)
            decisions: dict[str, Any] = {}
            if target is not None and all(r.version != version for r in target.routes):
                decisions, failing = self._admit(tx, actor, target.routes, current.stage)
                if failing is not None:
                    target = None
            else:
                target = None
            if target is not None:
                state = self._new_state(
                    tx,
                    actor,
                    name,
                    history,
                    action="rollback",
                    routes=target.routes,
                    stage=current.stage,
                    status=current.status,
                    reason=reason,
                    restores=target.seq,
                )
            else:
                state = self._new_state(
                    tx,
                    actor,
                    name,
                    history,
                    action="stop",
                    routes=current.routes,
                    stage=current.stage,
                    status=EndpointStatus.STOPPED,
                    reason=reason,
                )
            record_event(tx, DeploymentChanged.of(state, decisions), subject=state.subject)
        return state

    def _admit(
        self, tx: Any, actor: Actor, routes: tuple[Route, ...], stage: str
    ) -> tuple[dict[str, Any], tuple[Any, Any] | None]:
        """Each route's gate decision for ``stage`` now: ``(summaries by version, None)``,
        or the first version whose gate fails with its decision."""
        decisions: dict[str, Any] = {}
        for route in routes:
            served = resolve_model(tx, route.version)
            decision = self._policies.decide(actor, served, stage)
            if not decision.allowed:
                return decisions, (served, decision)
            decisions[route.version] = decision.summary()
        return decisions, None

    def stop(self, actor: Actor, endpoint: str, reason: str) -> Deployment:
        """Stop serving ``endpoint``: every request is answered 503 with ``reason``."""
        if not reason.strip():
            raise InvalidInput("stopping an endpoint needs a {reason}", details={"field": "reason"})
        return self._status(actor, endpoint, EndpointStatus.STOPPED, reason.strip())

    def resume(self, actor: Actor, endpoint: str) -> Deployment:
        """Serve a stopped endpoint's routes again (their gates are checked as ever)."""
        return self._status(actor, endpoint, EndpointStatus.ACTIVE, "")

    def _status(
        self, actor: Actor, endpoint: str, status: EndpointStatus, reason: str
    ) -> Deployment:
        action = "stop" if status is EndpointStatus.STOPPED else "resume"

        def change() -> Deployment:
            require(actor, Permission.MODEL_DEPLOY, f"{action} endpoints")
            name = endpoint_name(endpoint)
            with self._store.write(actor) as tx:
                tx.lock(f"endpoint:{name}")
                history = tx.deployments(name)
                if not history:
                    raise NotFound(f"no endpoint named {name!r}")
                current = history[-1]
                if current.status is status:
                    raise Refused(f"endpoint {name} is already {status.value}")
                state = self._new_state(
                    tx,
                    actor,
                    name,
                    history,
                    action=action,
                    routes=current.routes,
                    stage=current.stage,
                    status=status,
                    reason=reason,
                )
                record_event(tx, DeploymentChanged.of(state, {}), subject=state.subject)
            return state

        return self._guarded(actor, action, f"endpoint:{endpoint}", None, change)

    def _new_state(
        self,
        tx: Any,
        actor: Actor,
        endpoint: str,
        history: list[Deployment],
        *,
        action: str,
        routes: tuple[Route, ...],
        stage: str,
        status: EndpointStatus,
        reason: str = "",
        restores: int | None = None,
    ) -> Deployment:
        state = Deployment(
            id=uuid.uuid4().hex,
            endpoint=endpoint,
            seq=(history[-1].seq + 1) if history else 1,
            action=action,
            routes=routes,
            stage=stage,
            status=status,
            reason=reason,
            restores=restores,
            created_at=utc_iso(tx.now),
            created_by=actor.name,
        )
        state = replace(state, content_hash=content_hash(state.content()))
        tx.add_deployment(state)
        return state

    # --- reading -------------------------------------------------------------------------

    def list_endpoints(self, actor: Actor) -> list[Deployment]:
        """The current state of every endpoint, by name."""
        require(actor, Permission.MODEL_READ, "list endpoints")
        with self._store.read() as reader:
            return reader.current_deployments()

    def current(self, actor: Actor, endpoint: str) -> Deployment:
        require(actor, Permission.MODEL_READ, "read endpoints")
        history = self.history(actor, endpoint)
        return history[-1]

    def history(self, actor: Actor, endpoint: str) -> list[Deployment]:
        """Every state of ``endpoint``, oldest first; ``NotFound`` for an unknown endpoint."""
        require(actor, Permission.MODEL_READ, "read endpoints")
        endpoint = endpoint_name(endpoint)
        with self._store.read() as reader:
            history = reader.deployments(endpoint)
        if not history:
            raise NotFound(f"no endpoint named {endpoint!r}")
        return history

    def at(self, actor: Actor, endpoint: str, when: str) -> dict[str, Any]:
        """What ``endpoint`` served at time ``when``: the state then in force and what servers
        enforced on it until then (``serving.enforced`` events)."""
        moment = parse_time(when)
        history = self.history(actor, endpoint)
        in_force = [d for d in history if parse_time(d.created_at) <= moment]
        if not in_force:
            raise NotFound(
                f"endpoint {endpoint} did not exist at {utc_iso(moment)} (first deployed "
                f"{history[0].created_at})"
            )
        state = in_force[-1]
        enforced = []
        with self._store.read() as reader:
            for event in reader.events_about(f"endpoint:{endpoint}", "serving.enforced"):
                when_recorded = parse_time(event.ts)
                if parse_time(state.created_at) <= when_recorded <= moment:
                    enforced.append({"seq": event.seq, "ts": event.ts, **event.payload})
        serving = {r.version: r.share for r in state.routes}
        for done in enforced:  # the latest enforcement per version counts
            if not done["allowed"]:
                share = serving.pop(done["version"], None)
                if done["serving"] and share is not None and done["action"] != "keep":
                    serving[done["serving"]] = serving.get(done["serving"], 0) + share
                elif done["action"] == "keep" and share is not None:
                    serving[done["version"]] = share
        return {
            "endpoint": endpoint,
            "at": utc_iso(moment),
            "deployment": state.to_dict(),
            "enforced": enforced,
            "serving": (
                {} if state.status is EndpointStatus.STOPPED else dict(sorted(serving.items()))
            ),
        }

    # --- what may be served now ----------------------------------------------------------

    def plan(self, actor: Actor, endpoint: str) -> ServingPlan:
        """Check every version ``endpoint`` routes to — its gate for the endpoint's stage
        and its model file — and answer what it may serve now, as its policy says."""
        history = self.history(actor, endpoint)
        return self._plan(actor, history)

    def ledger_change(self, since: LedgerMark | None) -> tuple[LedgerMark | None, bool]:
        """The ledger's head, and whether anything that may change what is served happened
        since the head ``since`` (``steward.services.serving._changes``): a model server's
        poll, one read, no actor (it reveals a size and a hash, which any reader may see)."""
        return ledger_change(self._store, since)

    def plans(self, actor: Actor) -> list[ServingPlan]:
        """``plan`` of every endpoint (a model server's check)."""
        require(actor, Permission.MODEL_READ, "read endpoints")
        with self._store.read() as reader:
            every = reader.deployments()
        by_endpoint: dict[str, list[Deployment]] = {}
        for state in every:
            by_endpoint.setdefault(state.endpoint, []).append(state)
        return [self._plan(actor, history) for _, history in sorted(by_endpoint.items())]

    def _plan(self, actor: Actor, history: list[Deployment]) -> ServingPlan:
        current = history[-1]
        cache: dict[str, RouteCheck] = {}

        def check(route: Route) -> RouteCheck:
            if route.version not in cache:
                cache[route.version] = self._check(actor, route, current.stage)
            found = cache[route.version]
            return replace(found, route=route)

        checks = tuple(check(r) for r in current.routes)
        fallbacks: list[RouteCheck] = []
        stable = current.stable
        if stable is not None and not checks[0].allowed:
            seen = {stable.version}
            for earlier in reversed(history[:-1]):
                route = earlier.stable
                if route is None or route.version in seen:
                    continue
                seen.add(route.version)
                candidate = check(route)
                fallbacks.append(candidate)
                if candidate.allowed:
                    break
        return decide_routes(current, checks, fallbacks, checked_at=utc_iso(self._store.now()))

    def _check(self, actor: Actor, route: Route, stage: str) -> RouteCheck:
        try:
            version = self._models.get(actor, route.version)
        except NotFound as exc:
            return RouteCheck(route, False, exc.message, ("version",))
        decision, governing = self._policies.gate(actor, version.ref, stage)
        on_failure = GateFailure(governing.policy.serving_rules().on_gate_failure)
        if decision.allowed:
            return RouteCheck(route, True, "its gate passes", (), on_failure, decision)
        failed = tuple(r.id for r in decision.failed)
        reason = "; ".join(f"{r.id}: {r.reason}" for r in decision.failed[:3])
        return RouteCheck(route, False, f"its {stage} gate fails — {reason}", failed, on_failure)

    def serving_rules(self, actor: Actor, ref: str) -> Any:
        """The governing policy's serving rules for version ``ref``."""
        version = self._models.get(actor, ref)
        model = self._models.model(actor, version.name)
        governing = self._policies.governing(actor, model, self._models.authors(actor, version))
        return governing.policy.serving_rules()

    def retention_days(self, actor: Actor) -> int:
        """The longest ``serving.retention_days`` among the policies governing every version
        any endpoint has served (the floor, 183 days, when there is none): how long the
        prediction log must keep its records."""
        from steward.policy import RETENTION_FLOOR_DAYS

        require(actor, Permission.MODEL_READ, "read endpoints")
        with self._store.read() as reader:
            served = {r.version for state in reader.deployments() for r in state.routes}
        days = RETENTION_FLOOR_DAYS
        for ref in sorted(served):
            try:
                days = max(days, self.serving_rules(actor, ref).retention_days)
            except NotFound:
                continue
        return int(days)

    def record_enforcement(
        self,
        actor: Actor,
        endpoint: str,
        version: str,
        *,
        allowed: bool,
        action: str,
        serving: str | None,
        reason: str,
        failed: tuple[str, ...] = (),
    ) -> bool:
        """Ledger that ``version`` of ``endpoint`` may (not) be served now and what was done,
        unless that is what was last recorded for it (several server processes notice the
        same change: one event is written). ``True`` when an event was written. Nothing to
        record (the common case, every rebuild of every worker) costs one read, no write
        transaction."""

        def recorded(reader: Reader) -> bool:
            last = last_enforcement(reader, endpoint, version)
            if last is None:
                return allowed  # a deployed version may be served until found otherwise
            return bool((last["allowed"], last["serving"]) == (allowed, serving))

        with self._store.read() as reader:
            if recorded(reader):
                return False
        with self._store.write(actor) as tx:
            tx.lock(f"endpoint:{endpoint}")
            if recorded(tx):  # another process recorded it meanwhile
                return False
            event = ServingEnforced(
                endpoint=endpoint,
                version=version,
                allowed=allowed,
                action=action,
                serving=serving,
                reason=reason,
                failed=failed,
            )
            record_event(tx, event, subject=f"endpoint:{endpoint}")
        return True

    def enforce(self, actor: Actor, plan: ServingPlan) -> int:
        """Ledger what ``plan`` changed for each deployed version (see
        ``record_enforcement``); the number of events written."""
        written = 0
        for check in plan.checks:
            action, serving = plan.actions.get(check.route.version, ("restored", None))
            if check.allowed:
                serving = check.route.version
            written += self.record_enforcement(
                actor,
                plan.endpoint,
                check.route.version,
                allowed=check.allowed,
                action=action,
                serving=serving,
                reason=check.reason,
                failed=check.failed,
            )
        return written

    # --- refusals ------------------------------------------------------------------------

    def _guarded(
        self, actor: Actor, action: str, target: str, stage: str | None, work: Callable[[], T]
    ) -> T:
        try:
            return work()
        except StewardError as exc:
            if isinstance(exc, PermissionDenied | Refused | InvalidInput | NotFound):
                refused_attempt(self._store, actor, action, target, stage, exc)
            raise
