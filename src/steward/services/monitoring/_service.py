"""Monitors: applying them, running them, and the alerts they raise.

A run judges the window of the endpoint's served (stable) version against that version's
reference and approved evidence (``_judge.py``), and records, in one transaction with one
``monitor.ran`` event, its result as evidence about the version (``monitor``: immutable, with
its time series and plots) and each alert a rule raised (with its ``monitor.alert`` webhook
when the rule notifies). An alert already open for the same monitor, rule and version is not
raised again. The rule's other actions follow the commit, each ledgered by the change it
makes: ``revalidate`` re-evaluates the endpoint's gate with the alert open and records what
the serving policy does about it; ``suspend`` falls back to the previous deployment or stops
the endpoint; ``retrain`` leaves the alert open as a retraining request that
``steward retrain`` answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from steward.artifacts import ArtifactStore
from steward.domain import (
    Actor,
    Alert,
    AlertEntry,
    AlertState,
    AlertStatus,
    Evidence,
    EvidenceEntry,
    EvidenceStatus,
    ModelVersion,
    Monitor,
    MonitorApplied,
    MonitorRan,
    Permission,
    status_from,
)
from steward.errors import InvalidInput, NotFound, Refused
from steward.services._access import require
from steward.services._records import content_hash, record_event
from steward.services.datasets._service import DatasetService
from steward.services.evidence._service import EvidenceService
from steward.services.governance._notifier import Notifier
from steward.services.models._service import ModelService
from steward.services.monitoring._actions import take_actions
from steward.services.monitoring._alerts import alerts_of, webhook_data
from steward.services.monitoring._reference import (
    REFERENCE_CHECK,
    Reference,
    build_reference_draft,
    load_reference,
)
from steward.services.serving._deployments import DeploymentService
from steward.services.serving._predictions import PredictionService
from steward.store import Store
from steward.types import utc_iso

__all__ = ["MONITOR_CHECK", "MonitorRun", "MonitoringService"]

MONITOR_CHECK = "monitor"
MONITOR_CHECK_VERSION = "1"


@dataclass(frozen=True)
class MonitorRun:
    """What one run recorded and did."""

    monitor: Monitor
    record: Evidence
    raised: tuple[Alert, ...]
    still_open: tuple[Alert, ...]
    outcomes: tuple[dict[str, Any], ...] = field(default=())

    @property
    def alerted(self) -> bool:
        return bool(self.raised or self.still_open)

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": f"{self.monitor.name}@{self.monitor.version}",
            "endpoint": self.monitor.endpoint,
            "evidence": self.record.to_dict(),
            "raised": [a.to_dict() for a in self.raised],
            "still_open": [a.to_dict() for a in self.still_open],
            "actions": list(self.outcomes),
        }


class MonitoringService:
    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        datasets: DatasetService,
        models: ModelService,
        evidence: EvidenceService,
        deployments: DeploymentService,
        predictions: PredictionService,
        notifier: Notifier,
    ) -> None:
        self._store = store
        self._artifacts = artifacts
        self._datasets = datasets
        self._models = models
        self._evidence = evidence
        self._deployments = deployments
        self._predictions = predictions
        self._notifier = notifier

    # --- monitors ------------------------------------------------------------------------

    def apply(self, actor: Actor, text: str, source: str = "<monitor>") -> tuple[Monitor, bool]:
        """Apply a monitor document: its first version, or the next one when it changed.
        ``(monitor, changed)``; an unchanged document writes nothing."""
        from steward.policy import load_monitor

        require(actor, Permission.MONITOR_MANAGE, "apply monitors")
        spec = load_monitor(text, source)
        return self._apply(actor, spec, text)

    def add(self, actor: Actor, document: dict[str, Any]) -> tuple[Monitor, bool]:
        """Apply a monitor given as data (the CLI's flags), validated as a document is."""
        import yaml

        return self.apply(actor, yaml.safe_dump(document, sort_keys=False), "<command line>")

    def _apply(self, actor: Actor, spec: Any, source: str) -> tuple[Monitor, bool]:
        current = self._deployments.current(actor, spec.endpoint)  # NotFound: unknown endpoint
        if current.stable is not None:  # refused before anything is written when it cannot be
            self.reference(actor, current.stable.version)
        document = spec.document()
        with self._store.write(actor) as tx:
            tx.lock(f"monitor:{spec.name}")
            versions = tx.monitors(spec.name)
            if versions and versions[-1].document == document:
                return versions[-1], False
            monitor = Monitor(
                id=uuid.uuid4().hex,
                name=spec.name,
                version=(versions[-1].version + 1) if versions else 1,
                endpoint=spec.endpoint,
                document=document,
                source=source,
                created_at=utc_iso(tx.now),
                created_by=actor.name,
            )
            monitor = replace(monitor, content_hash=content_hash(monitor.content()))
            tx.add_monitor(monitor)
            record_event(tx, MonitorApplied.of(monitor), subject=monitor.subject)
        return monitor, True

    def list_monitors(self, actor: Actor) -> list[Monitor]:
        """The current version of every monitor, by name."""
        require(actor, Permission.MODEL_READ, "read monitors")
        with self._store.read() as reader:
            every = reader.monitors()
        latest: dict[str, Monitor] = {}
        for monitor in every:
            latest[monitor.name] = monitor
        return [latest[name] for name in sorted(latest)]

    def get(self, actor: Actor, name: str) -> Monitor:
        require(actor, Permission.MODEL_READ, "read monitors")
        with self._store.read() as reader:
            versions = reader.monitors(name)
        if not versions:
            raise NotFound(f"no monitor named {name[:80]!r} (`steward monitor list`)")
        return versions[-1]

    def spec(self, monitor: Monitor) -> Any:
        from steward.policy import MonitorSpec

        return MonitorSpec.model_validate(monitor.document)

    def runs(self, actor: Actor, name: str) -> list[Evidence]:
        """The recorded runs of monitor ``name`` (every version), oldest first."""
        monitor = self.get(actor, name)
        refs: set[str] = set()
        with self._store.read() as reader:
            for state in reader.deployments(monitor.endpoint):
                refs.update(r.version for r in state.routes)
            found = [
                e
                for ref in sorted(refs)
                for e in reader.evidence_for(f"model:{ref}")
                if _is_run_of(e, monitor.name)
            ]
        return sorted(found, key=lambda e: e.created_at)

    def due(self, actor: Actor, now: datetime | None = None) -> list[str]:
        """The names of the monitors with a schedule that are due: never run on the version
        their endpoint serves now, or last run at least one schedule ago."""
        from steward.policy import parse_duration

        now = now or self._store.now()
        names = []
        for monitor in self.list_monitors(actor):
            schedule = monitor.document.get("schedule")
            if not schedule:
                continue
            last = self.last_run(actor, monitor.name)
            if last is None or (now - last).total_seconds() >= parse_duration(schedule):
                names.append(monitor.name)
        return names

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of monitor documents."""
        from steward.policy import MonitorSpec

        return MonitorSpec.model_json_schema()

    def last_run(self, actor: Actor, name: str) -> datetime | None:
        """When monitor ``name`` last ran on the version its endpoint serves now (``None``:
        never), for a scheduler."""
        monitor = self.get(actor, name)
        stable = self._deployments.current(actor, monitor.endpoint).stable
        if stable is None:
            return None
        with self._store.read() as reader:
            records = reader.evidence_for(f"model:{stable.version}")
        times = [e.created_at for e in records if _is_run_of(e, monitor.name)]
        return datetime.fromisoformat(max(times).replace("Z", "+00:00")) if times else None

    # --- references ----------------------------------------------------------------------

    def stored_reference(self, actor: Actor, ref: str) -> Evidence | None:
        """Version ``ref``'s monitoring reference if one was recorded, else ``None``."""
        return self._stored_reference(self._models.get(actor, ref))

    def _stored_reference(self, version: ModelVersion) -> Evidence | None:
        with self._store.read() as reader:
            found = [
                e for e in reader.evidence_for(version.subject) if e.check_id == REFERENCE_CHECK
            ]
        return found[-1] if found else None

    def admit_reference(self, actor: Actor, ref: str) -> None:
        """Refuse, before anything is read, whoever may not record a reference."""
        require(actor, Permission.EVIDENCE_WRITE, "record a monitoring reference")
        self._models.get(actor, ref)

    def reference(self, actor: Actor, ref: str) -> Evidence:
        """Version ``ref``'s monitoring reference, built and recorded the first time."""
        models = self._models
        version = models.get(actor, ref)
        found = self._stored_reference(version)
        if found is not None:
            return found
        require(actor, Permission.EVIDENCE_WRITE, "record a monitoring reference")
        pii: tuple[str, ...] = ()
        for used in version.datasets:
            pii += self._datasets.get(actor, used["ref"]).pii_columns
        draft, stored = build_reference_draft(models, self._artifacts, actor, version, pii)
        try:
            (record,) = self._evidence.record(actor, version.subject, [draft])
        except BaseException:
            for key in stored:
                if not self._referenced(key):
                    self._artifacts.delete(key)
            raise
        return record

    def _referenced(self, key: str) -> bool:
        with self._store.read() as reader:
            return any(key in e.artifacts.values() for e in reader.evidence_for())

    def estimate(self, actor: Actor, ref: str, x: Any) -> dict[str, Any]:
        """What the label-free estimate says of version ``ref`` on inputs ``x`` (a frame of
        its inputs): a what-if, recorded nowhere. ``InvalidInput`` when the version has no
        calibration to estimate with."""
        from steward.drift import estimate

        reference = self.loaded_reference(actor, ref)
        if reference.calibration is None:
            raise InvalidInput(f"{ref}'s reference has no calibration to estimate with")
        version, model = self._models.load(actor, ref)
        inputs = [str(i["name"]) for i in version.signature.get("inputs", [])]
        missing = [name for name in inputs if name not in getattr(x, "columns", ())]
        if missing or not len(x):
            named = ", ".join(missing[:10]) if missing else "no rows"
            raise InvalidInput(f"the inputs to estimate on lack {ref}'s inputs: {named}")
        try:
            scores = model.predict_proba(x[inputs] if inputs else x)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(
                f"{ref} could not score the inputs to estimate on ({type(exc).__name__}): check "
                "their types against its signature"
            ) from None
        found: dict[str, Any] = estimate(reference.calibration, scores).to_dict()
        return found

    def loaded_reference(self, actor: Actor, ref: str) -> Reference:
        """Version ``ref``'s monitoring reference, read back for comparisons."""
        return load_reference(self._artifacts, self.reference(actor, ref))

    # --- runs ----------------------------------------------------------------------------

    def admit_run(self, actor: Actor, name: str) -> Monitor:
        """What ``run`` refuses first (the permission, an unknown monitor), for an edge that
        runs it later (a job)."""
        require(actor, Permission.MONITOR_RUN, "run monitors")
        return self.get(actor, name)

    def run(
        self,
        actor: Actor,
        name: str,
        *,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> MonitorRun:
        """Run monitor ``name`` once on its window (see the module docstring)."""
        from steward.services.monitoring._judge import judge
        from steward.services.monitoring._plots import run_plots
        from steward.services.monitoring._window import decode_window, select, since_of

        require(actor, Permission.MONITOR_RUN, "run monitors")
        steps = ["reference", "window", "judge", "record", "actions"]

        def step(i: int) -> None:
            if progress is not None:
                progress(steps[i] if i < len(steps) else "", i, len(steps))

        monitor = self.get(actor, name)
        spec = self.spec(monitor)
        deployment = self._deployments.current(actor, monitor.endpoint)
        stable = deployment.stable
        if stable is None:
            raise Refused(f"endpoint {monitor.endpoint} serves no version to monitor")
        version = self._models.get(actor, stable.version)
        step(0)
        reference = self.loaded_reference(actor, version.ref)
        step(1)
        now = self._store.now()
        seconds = None
        if spec.window.duration is not None:
            from steward.policy import parse_duration

            seconds = parse_duration(spec.window.duration)
        since = since_of(seconds, now)
        frame = self._predictions.read(
            actor, monitor.endpoint, since=since.isoformat() if since else None
        )
        chosen = select(frame, version.ref, spec.window.rows, since)
        attributes = tuple(spec.fairness.attributes) if spec.fairness else ()
        window = decode_window(chosen, version, reference.compared, attributes)
        step(2)
        judgement = judge(
            spec,
            reference,
            window,
            task=version.task,
            approved=dict(version.metrics.get("test", {})),
            approved_fairness=self._approved_fairness(actor, version, attributes),
        )
        step(3)
        plots = run_plots(judgement, monitor.name) if judgement.status == "ok" else {}
        stored = []
        artifacts: dict[str, str] = {}
        for label, data in plots.items():
            key = self._artifacts.put_bytes(data)
            artifacts[label] = key
            stored.append(key)
        findings = judgement.findings()
        status = status_from(findings)
        if judgement.status == "not_enough_data":
            status = EvidenceStatus.NOT_APPLICABLE
        draft = Evidence(
            id="",
            subject=version.subject,
            check_id=MONITOR_CHECK,
            check_version=MONITOR_CHECK_VERSION,
            status=status,
            params={"monitor": f"{monitor.name}@{monitor.version}", "document": monitor.document},
            inputs={
                "endpoint": monitor.endpoint,
                "model_artifact": version.artifact,
                "reference": reference.record.id,
                "window": {
                    "rows": window.rows,
                    "first": window.first,
                    "last": window.last,
                    "labelled": int(window.labelled.sum()),
                },
            },
            metrics={"status": judgement.status, "reason": judgement.reason, **judgement.metrics},
            findings=findings,
            artifacts=artifacts,
            created_at="",
            created_by="",
            content_hash="",
        )
        try:
            record, raised, still_open, queued = self._record_run(
                actor, monitor, version.ref, draft, judgement
            )
        except BaseException:
            for key in stored:
                if not self._referenced(key):
                    self._artifacts.delete(key)
            raise
        step(4)
        outcomes = take_actions(self._deployments, actor, monitor, version.ref, raised, queued)
        step(5)
        return MonitorRun(monitor, record, raised, still_open, tuple(outcomes))

    def _approved_fairness(
        self, actor: Actor, version: Any, attributes: tuple[str, ...]
    ) -> dict[str, float]:
        """Each attribute's disparate-impact ratio in the version's latest fairness evidence
        on its test split (what was approved)."""
        if not attributes:
            return {}
        split = version.split["id"] if version.split else None
        with self._store.read() as reader:
            records = [
                e
                for e in reader.evidence_for(version.subject)
                if e.check_id == "fairness" and e.inputs.get("split") == split
            ]
        if not records:
            return {}
        found: dict[str, float] = {}
        for attribute in attributes:
            value = records[-1].metrics.get("attributes", {}).get(attribute, {})
            ratio = value.get("disparate_impact_ratio") if isinstance(value, dict) else None
            if isinstance(ratio, int | float):
                found[attribute] = float(ratio)
        return found

    def _record_run(
        self, actor: Actor, monitor: Monitor, ref: str, draft: Evidence, judgement: Any
    ) -> tuple[Evidence, tuple[Alert, ...], tuple[Alert, ...], dict[str, int]]:
        from steward.services.governance._webhooks import queue_notifications

        with self._store.write(actor) as tx:
            tx.lock(f"monitor:{monitor.name}")
            now = utc_iso(tx.now)
            record = replace(draft, id=uuid.uuid4().hex, created_at=now, created_by=actor.name)
            record = replace(record, content_hash=content_hash(record.content()))
            tx.add_evidence(record)
            standing = alerts_of(tx.alert_states(version=ref))
            raised: list[Alert] = []
            still: list[Alert] = []
            queued: dict[str, int] = {}
            for fired in judgement.fired:
                same = [
                    a
                    for a in standing
                    if a.open
                    and a.current.rule == fired.rule.name
                    and _name_of(a.current.monitor) == monitor.name
                ]
                if same:
                    still.append(same[-1])
                    continue
                state = AlertState(
                    id=uuid.uuid4().hex,
                    alert=uuid.uuid4().hex,
                    seq=1,
                    status=AlertStatus.OPEN,
                    monitor=f"{monitor.name}@{monitor.version}",
                    endpoint=monitor.endpoint,
                    version=ref,
                    rule=fired.rule.name,
                    severity=fired.rule.severity,
                    message=fired.message[:2000],
                    evidence=record.id,
                    actions=tuple(
                        {"action": a, "outcome": "requested"} for a in fired.rule.actions
                    ),
                    note="",
                    created_at=now,
                    created_by=actor.name,
                )
                state = replace(state, content_hash=content_hash(state.content()))
                tx.add_alert_state(state)
                if "notify" in fired.rule.actions:
                    queued[state.alert] = queue_notifications(
                        tx, "monitor.alert", webhook_data(state)
                    )
                raised.append(Alert(state, now, actor.name, (state,)))
            ran = MonitorRan(
                monitor=f"{monitor.name}@{monitor.version}",
                endpoint=monitor.endpoint,
                subject=record.subject,
                evidence=(EvidenceEntry.of(record),),
                alerts=tuple(AlertEntry.of(a.current) for a in raised),
            )
            record_event(tx, ran, subject=record.subject)
        if any(x["action"] == "notify" for a in raised for x in a.current.actions):
            self._notifier.notify()
        return record, tuple(raised), tuple(still), queued


def _name_of(monitor_ref: str) -> str:
    """The monitor's name in ``NAME@V``."""
    return monitor_ref.split("@")[0]


def _is_run_of(record: Evidence, name: str) -> bool:
    """Whether ``record`` is a run of monitor ``name`` (any version of it)."""
    return record.check_id == MONITOR_CHECK and _name_of(str(record.params.get("monitor"))) == name
