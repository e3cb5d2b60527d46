"""Running evidence checks on a model version and recording what they found.

Every requested check runs first, on the version's hash-verified model and its recorded test
split; then all the evidence is written in one transaction with one ``evidence.recorded``
ledger event that carries each record's content hash. A bad request (unknown check, no
split) writes nothing; nor does a check that crashes: plots it stored are removed again.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from steward.artifacts import ArtifactStore
from steward.domain import (
    Actor,
    DatasetVersion,
    Evidence,
    EvidenceEntry,
    EvidenceRecorded,
    ModelVersion,
    Permission,
)
from steward.errors import InvalidInput, NotFound, PermissionDenied
from steward.services._access import require
from steward.services._records import content_hash, record_event
from steward.services.datasets._service import DatasetService
from steward.services.models._service import ModelService
from steward.store import Store
from steward.types import utc_iso

if TYPE_CHECKING:
    from steward.services.evidence._reproduction import Reproduction

__all__ = ["EvidenceService", "Judging", "validate"]


@dataclass
class Judging:
    version: ModelVersion
    model: Any
    rows: tuple[Any, Any, Any]
    inputs: dict[str, Any]
    pii_columns: tuple[str, ...]
    dataset_evidence: tuple[Evidence, ...]
    load_part: Callable[[str], tuple[Any, Any, Any]] | None


class EvidenceService:
    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        datasets: DatasetService,
        models: ModelService,
        computed_by: str = "client",
    ) -> None:
        self._store = store
        self._computed_by = computed_by  # "server" in a Steward server's processes
        self._artifacts = artifacts
        self._datasets = datasets
        self._models = models

    def run(
        self,
        actor: Actor,
        ref: str,
        check_ids: Sequence[str] = (),
        *,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        on: str | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> list[Evidence]:
        """Run ``check_ids`` (default: every installed check) on version ``ref``;
        ``params`` gives parameters by check id (``{"fairness": {"bins": 5}}``). The checks
        judge the version's recorded test split, or every row of dataset version ``on`` (one
        with the columns the model reads, its target and sensitive attributes). Every
        parameter is checked against the check's declared constraints before anything
        runs."""
        version, installed, chosen = self.admit(actor, ref, check_ids, params=params, on=on)
        params = params or {}
        judging = self._judging(actor, version, on)
        runs = [(check_id, installed[check_id](**params.get(check_id, {}))) for check_id in chosen]
        drafts = self._run_checks(judging, runs, {}, progress)
        return self._record(actor, version.subject, drafts)

    def admit(
        self,
        actor: Actor,
        ref: str,
        check_ids: Sequence[str] = (),
        *,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        on: str | None = None,
    ) -> tuple[ModelVersion, dict[str, Any], list[str]]:
        """What ``run`` refuses before any check runs (the permission, unknown checks and
        parameters, a version without a split), so an edge that runs the checks later (a
        job) refuses at once: ``(version, installed checks, the checks to run)``."""
        from steward.checks import available_checks

        require(actor, Permission.EVIDENCE_WRITE, "run evidence checks")
        installed = available_checks()
        params = params or {}
        unknown = [c for c in (*check_ids, *params) if c not in installed]
        if unknown:
            raise InvalidInput(
                f"no check {', '.join(map(repr, unknown))}: installed are {', '.join(installed)}"
            )
        chosen = list(dict.fromkeys(check_ids)) or list(installed)
        idle = [c for c in params if c not in chosen]
        if idle:
            raise InvalidInput(f"parameters given for check(s) not run: {', '.join(idle)}")
        for check_id, given in params.items():
            validate(installed[check_id], check_id, given)
        version = self._models.get(actor, ref)
        if on is None and version.split is None:
            raise InvalidInput(
                f"{version.ref} has no recorded split: checks judge a version on the test rows "
                "it was evaluated on (train it with `steward train`, or name a dataset version "
                "to judge it on)"
            )
        return version, installed, chosen

    def reproduce(
        self,
        actor: Actor,
        ref: str,
        check_ids: Sequence[str] = (),
        *,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> list[Reproduction]:
        """Re-run the latest recorded evidence of each check (``check_ids``, default every
        check with evidence) on version ``ref``, with the recorded parameters on the same
        rows, as ``actor``: another identity than the record's producer and the version's
        authors. Each re-run is recorded as evidence that reproduces the original
        (``inputs.reproduces``), agreeing or not; a policy can require agreement. Refusals
        are ledgered."""
        from steward.services.evidence._reproduction import reproduce
        from steward.services.governance._service import refused_attempt

        try:
            return reproduce(self, actor, ref, check_ids, progress)
        except (PermissionDenied, InvalidInput, NotFound) as exc:
            refused_attempt(self._store, actor, "check.reproduce", ref, None, exc)
            raise

    def admit_reproduction(self, actor: Actor, ref: str) -> ModelVersion:
        """What ``reproduce`` refuses first (the permission, an unknown version), ledgered as
        ``reproduce`` ledgers it, for an edge that reproduces later (a job)."""
        from steward.services.governance._service import refused_attempt

        try:
            require(actor, Permission.EVIDENCE_WRITE, "reproduce evidence")
            return self._models.get(actor, ref)
        except (PermissionDenied, InvalidInput, NotFound) as exc:
            refused_attempt(self._store, actor, "check.reproduce", ref, None, exc)
            raise

    def _judging(self, actor: Actor, version: ModelVersion, on: str | None) -> Judging:
        """What checks judge: the rows (the recorded test split, or every row of dataset
        version ``on``), the hash-verified model, the data's own evidence."""
        if on is not None:
            dataset, x, y, a = self._other_rows(actor, version, on)
            judged: dict[str, Any] = {
                "dataset": {"ref": dataset.ref, "fingerprint": dataset.fingerprint},
                "split": None,
                "rows": "all",
            }
        else:
            assert version.split is not None
            dataset = self._datasets.get(actor, version.split["dataset"]["ref"])
            x, y, a = self._models.load_split(actor, version.ref, "test")
            judged = {"dataset": version.split["dataset"], "split": version.split["id"]}
        _, model = self._models.load(actor, version.ref)
        parts: dict[str, tuple[Any, Any, Any]] = {}

        def load_part(part: str) -> tuple[Any, Any, Any]:
            if part not in parts:
                parts[part] = self._models.load_split(actor, version.ref, part)
            return parts[part]

        return Judging(
            version=version,
            model=model,
            rows=(x, y, a),
            inputs={"model_artifact": version.artifact, **judged},
            pii_columns=dataset.pii_columns,
            dataset_evidence=tuple(self._datasets.evidence(actor, dataset.ref)),
            load_part=load_part if version.split is not None else None,
        )

    def _run_checks(
        self,
        judging: Judging,
        runs: list[tuple[str, Any]],
        reproduces: Mapping[str, Evidence],
        progress: Callable[[str, int, int], None] | None,
    ) -> list[Evidence]:
        """Run each check on what ``judging`` holds; the drafts carry their provenance. A
        crash removes the plots the run stored."""
        from steward.checks import CheckContext
        from steward.services.evidence._check_code import check_provenance

        stored: list[str] = []

        def store_plot(data: bytes) -> str:
            key = f"sha256:{hashlib.sha256(data).hexdigest()}"
            if not self._artifacts.exists(key):
                stored.append(key)
            return self._artifacts.put_bytes(data)

        x, y, a = judging.rows
        drafts: list[Evidence] = []
        try:
            for done, (check_id, check) in enumerate(runs):
                if progress is not None:
                    progress(check_id, done, len(runs))
                inputs = dict(judging.inputs)
                if check_id in reproduces:
                    inputs["reproduces"] = reproduces[check_id].id
                context = CheckContext(
                    version=judging.version,
                    model=judging.model,
                    X=x,
                    y=y,
                    A=a,
                    inputs=inputs,
                    pii_columns=judging.pii_columns,
                    dataset_evidence=judging.dataset_evidence,
                    store=store_plot,
                    load_part=judging.load_part,
                )
                draft = check.run(context)
                provenance = {
                    **check_provenance(type(check)),
                    "computed_by": self._computed_by,
                }
                drafts.append(replace(draft, provenance=provenance))
            if progress is not None:
                progress("", len(runs), len(runs))
            return drafts
        except BaseException:
            for key in stored:
                self._artifacts.delete(key)
            raise

    def _other_rows(
        self, actor: Actor, version: ModelVersion, ref: str
    ) -> tuple[DatasetVersion, Any, Any, Any]:
        """Every row of dataset version ``ref`` with a target, as ``(X, y, A)``."""
        import numpy as np

        from steward.ml import frames

        if version.target is None:
            raise InvalidInput(
                f"{version.ref} records no target: register it from training to judge it"
            )
        dataset, table = self._datasets.load_version(actor, ref)
        needed = [*version.features, version.target, *version.sensitive]
        lacking = [c for c in dict.fromkeys(needed) if c not in table.column_names]
        if lacking:
            raise InvalidInput(
                f"{dataset.ref} lacks column(s) {', '.join(lacking)} that {version.ref} needs"
            )
        present = ~np.asarray(table.column(version.target).is_null().to_numpy(zero_copy_only=False))
        rows = np.flatnonzero(present)
        if not len(rows):
            raise InvalidInput(f"{dataset.ref} has no row with a value for {version.target!r}")
        x, y, a = frames(
            table,
            rows,
            features=version.features,
            target=version.target,
            sensitive=version.sensitive,
        )
        classes = version.signature["output"].get("classes")
        if classes:
            unknown = sorted({str(v) for v in set(y.tolist()) - set(classes)})
            if unknown:
                raise InvalidInput(
                    f"{dataset.ref} has target values {', '.join(unknown[:5])} that "
                    f"{version.ref} never learned (classes: {classes})"
                )
        return dataset, x, y, a

    def record(self, actor: Actor, subject: str, drafts: list[Evidence]) -> list[Evidence]:
        """Seal ``drafts`` (id, time, author, content hash) and store them about ``subject``
        in one transaction with one ``evidence.recorded`` event (for capabilities beside the
        checks, such as monitoring, whose records are evidence too)."""
        require(actor, Permission.EVIDENCE_WRITE, "record evidence")
        return self._record(actor, subject, drafts)

    def _record(self, actor: Actor, subject: str, drafts: list[Evidence]) -> list[Evidence]:
        with self._store.write(actor) as tx:
            now = utc_iso(tx.now)
            sealed = []
            for draft in drafts:
                record = replace(draft, id=uuid.uuid4().hex, created_at=now, created_by=actor.name)
                record = replace(record, content_hash=content_hash(record.content()))
                tx.add_evidence(record)
                sealed.append(record)
            recorded = EvidenceRecorded(
                subject=subject, evidence=tuple(EvidenceEntry.of(e) for e in sealed)
            )
            record_event(tx, recorded, subject=subject)
        return sealed

    def installed(self) -> list[dict[str, Any]]:
        """The installed checks: id, version, task types, model families, class."""
        from steward.checks import available_checks

        return [
            {
                "id": check_id,
                "version": cls.version,
                "tasks": sorted(cls.capabilities.tasks),
                "families": sorted(cls.capabilities.families)
                if cls.capabilities.families is not None
                else None,
                "class": f"{cls.__module__}.{cls.__qualname__}",
            }
            for check_id, cls in available_checks().items()
        ]

    def list_evidence(self, actor: Actor, ref: str) -> list[Evidence]:
        """Every evidence record about version ``ref``, oldest first."""
        version = self._models.get(actor, ref)
        with self._store.read() as reader:
            return reader.evidence_for(version.subject)

    def artifact(self, actor: Actor, ref: str, evidence_id: str, name: str) -> bytes:
        """The bytes of the file ``name`` (a plot, a table) that evidence record
        ``evidence_id`` about version ``ref`` stored, hash-checked against the record."""
        version = self._models.get(actor, ref)
        with self._store.read() as reader:
            record = reader.evidence(evidence_id)
        if record is None or record.subject != version.subject:
            raise NotFound(f"evidence {evidence_id[:64]!r} is not a record about {ref}")
        key = record.artifacts.get(name)
        if key is None:
            stored = ", ".join(sorted(record.artifacts)) or "none"
            raise NotFound(
                f"evidence {evidence_id[:12]} stored no file {name[:64]!r} (it stored: {stored})"
            )
        return self._artifacts.get_bytes(key)


def validate(cls: Any, check_id: str, given: Mapping[str, Any]) -> None:
    """Refuse parameters the check does not take or whose values its declared constraints
    refuse (exit 2 before anything runs; see ``Check.validate_params``)."""
    del check_id  # named by the error itself
    cls.validate_params(given)
