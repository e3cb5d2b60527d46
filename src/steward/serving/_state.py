"""One server process's state: the application facade, the server's identity, what it
serves, the prediction log, the token cache, and the refresher that keeps them current.

The refresher polls the ledger's signed head every ``RELOAD_SECONDS``: any change (a deploy,
rollback, promotion, approval, waiver, new evidence, a revoked token) rebuilds what is
served from the services' plans and empties the token cache; every ``RECHECK_SECONDS`` it
rebuilds anyway, because time alone changes gates (a waiver expiring, evidence ageing). So a
change reaches every worker within about ``RELOAD_SECONDS`` plus one rebuild, without a
restart, and requests in flight finish on the state they started with.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import subprocess
import sys
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from steward.app import Application
from steward.domain import Actor
from steward.errors import StewardError
from steward.serving._coalesce import COALESCE_ROWS, Coalescer
from steward.serving._metrics import Metrics
from steward.serving._runtime import EndpointRuntime, LoadedVersion, Serving
from steward.types import utc_iso

if TYPE_CHECKING:
    from steward.monitoring import MonitorScheduler

__all__ = ["COMPACT_SECONDS", "RECHECK_SECONDS", "RELOAD_SECONDS", "ServerState"]

RELOAD_SECONDS = 1.0
RECHECK_SECONDS = 30.0
COMPACT_SECONDS = 60.0  # at most one compaction child per worker this often
_log = logging.getLogger("steward.serving")


class ServerState:
    """Built once per worker process by the app's lifespan; shared by its requests."""

    def __init__(
        self,
        app: Application,
        actor: Actor,
        *,
        metrics: Metrics,
        reload_seconds: float = RELOAD_SECONDS,
        recheck_seconds: float = RECHECK_SECONDS,
        fsync: bool = True,
        scheduler: MonitorScheduler | None = None,
        coalesce_rows: int = COALESCE_ROWS,
    ) -> None:
        from steward.logs import PredictionLog

        self.app = app
        self.actor = actor
        self.metrics = metrics
        # concurrent requests for one version share a call of its model (0: never)
        self.coalescer = Coalescer(coalesce_rows, observe=metrics.called)
        self.reload_seconds = reload_seconds
        self.recheck_seconds = recheck_seconds
        self.serving = Serving()
        self.log_key = app.predictions.log_key()
        self.log = PredictionLog(
            app.predictions.root,
            on_sealed=self._sealed,
            fsync=fsync,
            max_age_seconds=300.0,
        )
        self._batcher: Any = None
        self._tokens: dict[str, Actor] = {}
        self._loaded: dict[str, LoadedVersion] = {}
        self._head: tuple[int, bytes] | None = None  # the ledger head last seen
        self._last_rebuild = 0.0
        self._last_poll_ok = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._compactor: subprocess.Popen[bytes] | None = None
        self._compact_due = True  # what an earlier process left may wait
        self._loaded_new = False  # an estimator loaded since the heap was last frozen
        self._last_compact = -COMPACT_SECONDS
        self.rebuilds = 0
        self.scheduler = scheduler  # starts scheduled monitor runs (None: none here)

    # --- life ----------------------------------------------------------------------------

    def start(self) -> None:
        """Anchor what an earlier (crashed) process left, load what is deployed, and start
        the refresher (which also ticks the monitor scheduler, if any)."""
        self.app.predictions.recover(self.actor, compact=False)  # compacted in a child
        self.refresh(force=True)
        self._after_load()  # the modules too, loaded or not
        self._thread = threading.Thread(target=self._run, name="steward-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.scheduler is not None:  # its running monitors: a bounded wait, then killed
            self.scheduler.stop()
        if self._batcher is not None:
            self._batcher.close()
        self.log.close()  # seals the open segment; on_sealed anchors it
        self.metrics.worker_stopped()
        self._compact(wait=True)

    def _run(self) -> None:
        while not self._stop.wait(self.reload_seconds):
            try:
                if self.refresh() and self._loaded_new:
                    self._after_load()
                self._compact()
                pending = getattr(self.app.notifier, "run_pending", None)
                if pending is not None:  # deferred delivery: webhooks queued by changes
                    pending()
            except Exception:  # the refresher must outlive a bad moment of the store
                _log.exception("refreshing what is served failed; serving the last state")
            if self.scheduler is None:
                continue
            try:  # after the refresh, and apart: its failure neither skips nor stops that
                self.scheduler.tick()
            except Exception:
                _log.exception("starting due monitor runs failed; trying at the next check")

    # --- tokens --------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> Actor:
        """The actor of ``token``, from the cache when this process has already checked it
        since the ledger last changed (no database round trip), else strictly by the
        identity service."""
        if token:
            key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
            found = self._tokens.get(key)
            if found is not None:
                return found
        actor = self.app.authenticate(token)
        if token:
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            self._tokens[key] = actor
        return actor

    # --- what is served ------------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> bool:
        """Rebuild what is served when the ledger moved for anything but the prediction
        log's bookkeeping (``DeploymentService.ledger_change``), the recheck period passed,
        or ``force``; ``True`` when rebuilt."""
        try:
            marker, moved = self.app.deployments.ledger_change(self._head)
            self._last_poll_ok = time.monotonic()
        except Exception as exc:  # the store is unreachable: keep serving, not ready
            self.serving = replace(self.serving, problems=(f"the store cannot be read: {exc}",))
            raise
        due = time.monotonic() - self._last_rebuild >= self.recheck_seconds
        if moved:
            self._tokens = {}  # a revocation (or any identity change) takes effect now
        self._head = marker  # moved by segments sealed (or pruned) alone: nothing to rebuild
        if not (force or due or moved):
            return False
        self._last_rebuild = time.monotonic()
        self.serving = self._build()
        self.rebuilds += 1
        self._last_poll_ok = time.monotonic()
        return True

    def _build(self) -> Serving:
        endpoints: dict[str, EndpointRuntime] = {}
        problems: list[str] = []
        wanted: set[str] = set()
        for plan in self.app.deployments.plans(self.actor):
            try:
                self.app.deployments.enforce(self.actor, plan)
            except StewardError as exc:
                problems.append(f"{plan.endpoint}: enforcement not recorded: {exc.message}")
            routes: list[tuple[LoadedVersion, int, str]] = []
            unavailable = plan.unavailable
            for route in plan.routes:
                wanted.add(route.version)
                try:
                    loaded = self._load(route.version, plan.deployment.stage)
                except StewardError as exc:
                    unavailable = f"{route.version} could not be loaded: {exc.message}"
                    problems.append(f"{plan.endpoint}: {unavailable}")
                    self._refused_load(plan.endpoint, route.version, exc)
                    routes = []
                    break
                routes.append((loaded, route.share, route.role))
            if unavailable and plan.deployment.status.value == "active":
                problems.append(f"{plan.endpoint}: {unavailable}")
            endpoints[plan.endpoint] = EndpointRuntime(
                plan.endpoint, tuple(routes), unavailable, plan.deployment.stage
            )
            for loaded, _, _ in routes:
                self.metrics.loaded.labels(plan.endpoint, loaded.ref).set(1)
        self._loaded = {ref: v for ref, v in self._loaded.items() if ref in wanted}
        return Serving(endpoints, utc_iso(self.app.store.now()), tuple(problems))

    def _load(self, ref: str, stage: str) -> LoadedVersion:
        cached = self._loaded.get(ref)
        version = self.app.models.get(self.actor, ref)
        governance = {
            "stage": version.stage.value,
            "gate": stage,
            "gate_passes": True,
            "content_hash": version.content_hash,
            "artifact": version.artifact,
        }
        if cached is not None and cached.version.artifact == version.artifact:
            # the stage may have moved (a promotion): the metadata says so
            return replace(cached, version=version, governance=governance)
        from steward.serving._validate import Validator

        _, estimator = self.app.models.load(self.actor, ref)  # checks the file's sha256
        rules = self.app.deployments.serving_rules(self.actor, ref)
        pii: set[str] = set()
        for used in version.datasets:
            pii.update(self.app.datasets.get(self.actor, used["ref"]).pii_columns)
        output = version.signature.get("output", {})
        steps = getattr(estimator, "steps", None)
        takes_array = steps is None and list(getattr(estimator, "feature_names_in_", [])) == list(
            version.features
        )
        loaded = LoadedVersion(
            version=version,
            estimator=estimator,
            validator=Validator(
                version.signature,
                pii=pii,
                max_rows=rules.max_batch_rows,
                unseen_categories=rules.unseen_categories,
            ),
            pii=frozenset(pii),
            sensitive=frozenset(version.sensitive) - pii,
            stage=stage,
            governance=governance,
            classes=tuple(output.get("classes") or getattr(estimator, "classes_", ())),
            takes_array=takes_array,
        )
        self._loaded[ref] = loaded
        self._loaded_new = True
        return loaded

    def _refused_load(self, endpoint: str, ref: str, exc: StewardError) -> None:
        try:
            self.app.deployments.record_enforcement(
                self.actor,
                endpoint,
                ref,
                allowed=False,
                action="refuse",
                serving=None,
                reason=f"not loaded: {exc.message}",
                failed=("artifact",) if exc.code in ("integrity", "not_found") else (exc.code,),
            )
        except StewardError:
            _log.exception("could not ledger the refused load of %s", ref)

    # --- explanations ---------------------------------------------------------------------

    def explain(self, loaded: LoadedVersion, frame: Any, labels: Any) -> list[dict[str, Any]]:
        """Each row's top contributions (in a thread of the pool: SHAP is CPU work)."""
        explainer = loaded.explainers.get("shap")
        if explainer is None:
            explainer = self.app.explanations.explainer(
                self.actor, loaded.version, loaded.estimator
            )
            loaded.explainers["shap"] = explainer
        explained: list[dict[str, Any]] = explainer.explain(frame, labels)
        return explained

    # --- readiness -----------------------------------------------------------------------

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready when the store answered recently and every active endpoint is loaded."""
        serving = self.serving
        problems = list(serving.problems)
        if time.monotonic() - self._last_poll_ok > max(5.0, 5 * self.reload_seconds):
            problems.insert(0, "the store has not answered recently")
        return not problems, {
            "ready": not problems,
            "checked_at": serving.checked_at,
            "endpoints": {
                name: {
                    "serving": [
                        {"version": v.ref, "share": share, "role": role}
                        for v, share, role in e.routes
                    ],
                    "unavailable": e.unavailable,
                }
                for name, e in sorted(serving.endpoints.items())
            },
            "problems": problems,
        }

    # --- the log -------------------------------------------------------------------------

    async def write(self, records: list[Any]) -> None:
        """Return once ``records`` are durable (group commit across this worker's requests)."""
        if self._batcher is None:
            from steward.serving._batching import LogBatcher

            self._batcher = LogBatcher(self.log)
        await self._batcher.write(records)

    def _sealed(self, segment: Any) -> None:
        # Called from the log's notifier thread; a failure leaves the segment sealed but not
        # anchored, and the next start's recover() anchors it.
        self.app.predictions.sealed(self.actor, segment, compact=False)
        self._compact_due = True

    def _compact(self, *, wait: bool = False) -> None:
        """Compact sealed segments to Parquet in a short-lived child process (``python -m
        steward.logs compact``): Parquet needs polars, tens of MB a worker need not hold,
        and the work would take the worker's interpreter from its requests. At most one
        child per worker, at most every ``COMPACT_SECONDS`` unless compaction is behind
        (more than ``BACKLOG`` sealed segments wait); ``wait``: now, to the end (when the
        worker stops)."""
        running = self._compactor
        if running is not None:
            if running.poll() is None and not wait:
                return
            running.wait()
            self._compactor = None
        if not (self._compact_due or wait):
            return
        if (
            not wait
            and time.monotonic() - self._last_compact < COMPACT_SECONDS
            and not self.app.predictions.compaction_behind()  # behind: now
        ):
            return
        if not self.app.predictions.compaction_due():
            self._compact_due = False
            return
        self._compact_due = False
        self._last_compact = time.monotonic()
        command = [sys.executable, "-m", "steward.logs", "compact", str(self.app.predictions.root)]
        child = subprocess.Popen(  # our own interpreter and module
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        if wait:
            try:
                child.wait(timeout=120)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            return
        self._compactor = child

    def _after_load(self) -> None:
        """After loading what is served: one BLAS/OpenMP thread for the libraries a model
        load may have brought in after the worker set its limit (an OpenMP runtime loaded
        with the first estimator would otherwise use every core); then collect once and keep
        every object alive now (the modules, the models) out of the cyclic collector's
        passes, which would otherwise walk them all again and again while serving. The
        refresher calls it only after a rebuild that loaded an estimator."""
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
        gc.collect()
        gc.freeze()
        self._loaded_new = False
