"""The model registry: model cards, immutable versions, verified loading, lineage."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from steward.artifacts import ArtifactStore
from steward.domain import (
    CARD_FIELDS,
    Actor,
    Model,
    ModelRegistered,
    ModelUnsafeLoad,
    ModelUpdated,
    ModelVersion,
    Permission,
    Ref,
    Stage,
    validate_name,
)
from steward.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    Refused,
)
from steward.services._access import require
from steward.services._records import content_hash, record_event
from steward.services.datasets._service import DatasetService
from steward.services.models._cards import (
    DEFAULT_RISK_TIER,
    TIER_ORDER,
    checked_card,
    data_tier,
    new_card,
    plain,
    sealed_card,
)
from steward.store import Reader, Store
from steward.types import utc_iso

__all__ = ["DEFAULT_RISK_TIER", "ModelService"]

_REGISTER_ATTEMPTS = 5


class ModelService:
    def __init__(self, store: Store, artifacts: ArtifactStore, datasets: DatasetService) -> None:
        self._store = store
        self._artifacts = artifacts
        self._datasets = datasets

    # --- reading ---------------------------------------------------------------------------

    def list_models(self, actor: Actor) -> list[Model]:
        require(actor, Permission.MODEL_READ, "read models")
        with self._store.read() as reader:
            return reader.models()

    def model(self, actor: Actor, name: str) -> Model:
        require(actor, Permission.MODEL_READ, "read models")
        with self._store.read() as reader:
            model = reader.model(name)
        if model is None:
            raise NotFound(f"no model named {name!r}")
        return model

    def versions(self, actor: Actor, name: str) -> list[ModelVersion]:
        self.model(actor, name)
        with self._store.read() as reader:
            return reader.model_versions(name)

    def authors(self, actor: Actor, version: ModelVersion) -> tuple[str, ...]:
        """Everyone who authored ``version`` or a version it derives from (``parents``), and
        the model's creator: none of them may approve it."""
        found = [version.created_by]
        with self._store.read() as reader:
            model = reader.model(version.name)
            if model is not None:
                found.append(model.created_by)
            pending = list(version.parents)
            seen: set[str] = set()
            while pending:
                ref = pending.pop()
                if ref in seen:
                    continue
                seen.add(ref)
                try:
                    parent = resolve_model(reader, ref)
                except (InvalidInput, NotFound):
                    continue
                found.append(parent.created_by)
                pending.extend(parent.parents)
        return tuple(dict.fromkeys(found))

    def artifact_problem(self, version: ModelVersion) -> str | None:
        """Why the version's model file cannot be used (``"missing"``, or ``"does not match
        its hash"``), or ``None``. Streams the file; loads nothing."""
        return self._artifacts.problem(version.artifact)

    def get(self, actor: Actor, ref: str) -> ModelVersion:
        """The version ``ref`` names: ``NAME@N``, ``NAME@latest``, ``NAME@<stage>``, ``NAME``."""
        require(actor, Permission.MODEL_READ, "read models")
        with self._store.read() as reader:
            return resolve_model(reader, ref)

    # --- writing ---------------------------------------------------------------------------

    def register(
        self,
        actor: Actor,
        draft: ModelVersion,
        model_bytes: bytes,
        *,
        card: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Store the model file and record the next version of ``draft.name``.

        ``draft`` carries everything but the number, the artifact key and the hash. The model
        (and its card, from ``card``) is created on its first version. Nothing is left behind
        when registration fails: the file is removed unless another record already used it.
        """
        require(actor, Permission.MODEL_WRITE, "register models")
        try:
            validate_name("model", draft.name)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        key = f"sha256:{hashlib.sha256(model_bytes).hexdigest()}"
        existed = self._artifacts.exists(key)
        self._artifacts.put_bytes(model_bytes)
        try:
            for attempt in range(_REGISTER_ATTEMPTS):
                try:
                    return self._record_version(actor, replace(draft, artifact=key), card)
                except AlreadyExists:  # another process took the number: take the next one
                    if attempt == _REGISTER_ATTEMPTS - 1:
                        raise
            raise AssertionError("unreachable")
        except BaseException:
            if not existed:
                self._artifacts.delete(key)
            raise

    def register_estimator(
        self,
        actor: Actor,
        estimator: Any,
        *,
        name: str,
        features: Sequence[str] | None = None,
        dataset: str | None = None,
        run_id: str | None = None,
        trust_pickle: bool = False,
    ) -> ModelVersion:
        """Register a model fitted outside ``steward train`` (no recorded split).

        Saved with skops and checked to load with the trusted list; ``trust_pickle=True``
        stores a pickle instead, and the registration event records that format.
        """
        from steward.ml import dump_pickle, dump_skops, load_skops

        require(actor, Permission.MODEL_WRITE, "register models")
        if not hasattr(estimator, "predict"):
            raise InvalidInput(f"a {type(estimator).__name__} has no predict method")
        if trust_pickle:
            data, fmt = dump_pickle(estimator), "pickle"
        else:
            data, fmt = dump_skops(estimator), "skops"
            try:
                load_skops(data)
            except Refused as exc:
                raise InvalidInput(
                    f"{exc.message}; register it with the explicit pickle trust flag instead"
                ) from None
        names = list(features or getattr(estimator, "feature_names_in_", []))
        classes = [plain(c) for c in getattr(estimator, "classes_", [])]
        datasets: tuple[dict[str, Any], ...] = ()
        if dataset is not None:
            found = self._datasets.get(actor, dataset)
            datasets = ({"ref": found.ref, "fingerprint": found.fingerprint, "role": "training"},)
        task = "binary" if len(classes) == 2 else "multiclass" if classes else "unknown"
        draft = ModelVersion(
            name=name,
            version=0,
            run_id=run_id,
            artifact="",
            format=fmt,
            task=task,
            template=None,
            params={},
            signature={
                "inputs": [
                    {"name": n, "type": None, "kind": None, "categories": None} for n in names
                ],
                "output": {
                    "type": "class",
                    "task": task,
                    "classes": classes,
                    "probabilities": hasattr(estimator, "predict_proba"),
                },
            },
            metrics={},
            datasets=datasets,
            split=None,
            features=tuple(names),
            target=None,
            sensitive=(),
            sensitive_features=(),
            excluded={},
            tuning=None,
            created_at="",
            created_by="",
        )
        return self.register(actor, draft, data)

    def register_skops(
        self,
        actor: Actor,
        data: bytes,
        *,
        name: str,
        features: Sequence[str] | None = None,
        dataset: str | None = None,
        run_id: str | None = None,
    ) -> ModelVersion:
        """``register_estimator`` for a model sent as a skops file by another process (a
        remote client): loaded with the trusted list only, never unpickled."""
        from steward.ml import load_skops

        require(actor, Permission.MODEL_WRITE, "register models")
        try:
            estimator = load_skops(data)
        except Refused as exc:
            raise InvalidInput(
                f"{exc.message} (a remote client registers skops files only)"
            ) from None
        except Exception as exc:  # not a skops file at all
            raise InvalidInput(
                f"the model file is not a skops file: {type(exc).__name__}"
            ) from None
        return self.register_estimator(
            actor, estimator, name=name, features=features, dataset=dataset, run_id=run_id
        )

    def _record_version(
        self, actor: Actor, draft: ModelVersion, card: dict[str, Any] | None
    ) -> ModelVersion:
        with self._store.write(actor) as tx:
            now = utc_iso(tx.now)
            model = tx.model(draft.name)
            created: Model | None = None
            why = ""
            if model is None:
                fields = new_card(draft.name, actor.name, now, card or {}, tx)
                floor, why = data_tier(tx, draft)
                if TIER_ORDER[fields.risk_tier] < TIER_ORDER[floor]:
                    # A new name is not a way to shed a tier: the training data sets the start.
                    fields = replace(fields, risk_tier=floor)
                created = sealed_card(fields, now)
                tx.add_model(created)
                number = 1
            else:
                number = model.latest_version + 1
            version = replace(
                draft,
                version=number,
                created_at=now,
                created_by=actor.name,
                stage=Stage.NONE,
            )
            version = replace(version, content_hash=content_hash(version.record()))
            tx.add_model_version(version)
            registered = ModelRegistered(
                model=version.name,
                version=version.version,
                artifact=version.artifact,
                format=version.format,
                run=version.run_id,
                datasets=version.datasets,
                split=version.split["id"] if version.split else None,
                content_hash=version.content_hash,
                card_hash=created.content_hash if created else None,
                risk_tier=created.risk_tier.value if created else None,
                risk_tier_because=(why or None) if created else None,
            )
            record_event(tx, registered, subject=version.subject)
        return version

    def update(
        self, actor: Actor, name: str, changes: dict[str, Any], *, if_match: str | None = None
    ) -> Model:
        """Edit the model card; the ledger records the changed fields and the new card's hash.

        ``if_match``, the ``card_hash`` of the card as the caller last read it, makes the edit
        conditional: ``PreconditionFailed`` (and nothing changes) when someone else has
        edited the card since, so two editors cannot overwrite each other.

        Only the model's owner edits its card (or a ``card:manage`` holder: an admin, who
        reassigns a card whose owner left). The risk tier picks the policy pack a model must
        pass, so lowering it needs
        ``policy:manage`` (a steward's or an admin's call, not the model's builders') and may
        not be done by an author of the model; a policy manager may change the tier without
        ``model:write``. A refused edit is ledgered (``attempt.refused``)."""
        try:
            return self._update(actor, name, changes, if_match)
        except PermissionDenied as exc:
            from steward.services.governance._service import refused_attempt

            refused_attempt(self._store, actor, "model.update", f"model:{name}", None, exc)
            raise

    def _update(
        self, actor: Actor, name: str, changes: dict[str, Any], if_match: str | None
    ) -> Model:
        # a policy manager (a steward) may change the tier alone; the card is its owner's
        # (a model:write holder), or a card:manage holder's to edit
        tier_only = set(changes) == {"risk_tier"} and actor.can(Permission.POLICY_MANAGE)
        keeper = actor.can(Permission.CARD_MANAGE)
        if not tier_only and not keeper:
            require(actor, Permission.MODEL_WRITE, "edit model cards")
        unknown = set(changes) - set(CARD_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown model field(s) {', '.join(sorted(unknown))}")
        if not changes:
            raise InvalidInput("nothing to change: give at least one field")
        with self._store.write(actor) as tx:
            model = tx.model(name)
            if model is None:
                raise NotFound(f"no model named {name!r}")
            if if_match is not None and if_match != model.content_hash:
                raise PreconditionFailed(
                    f"the card of {name} was changed since it was read (its hash is now "
                    f"{model.content_hash}): read it again and redo the edit",
                    details={"card_hash": model.content_hash},
                )
            if not tier_only and not keeper and model.owner != actor.name:
                raise PermissionDenied(
                    f"{actor.name} is not the owner of {name} ({model.owner}): only its owner "
                    "edits its card (an admin may reassign its owner)",
                    details={"actor": actor.name, "reason": "owner", "owner": model.owner},
                )
            fields = checked_card(changes, tx, base=model.tags)
            tier = fields.get("risk_tier")
            if tier is not None and TIER_ORDER[tier] < TIER_ORDER[model.risk_tier]:
                require(
                    actor,
                    Permission.POLICY_MANAGE,
                    f"lower {name}'s risk tier from {model.risk_tier.value} to {tier.value}",
                )
                authors = {model.created_by, *(v.created_by for v in tx.model_versions(name))}
                if actor.name in authors:
                    raise PermissionDenied(
                        f"{actor.name} authored {name} and may not lower its risk tier (from "
                        f"{model.risk_tier.value} to {tier.value}): another policy:manage "
                        "holder decides that",
                        details={"actor": actor.name, "reason": "author", "field": "risk_tier"},
                    )
            updated = sealed_card(replace(model, **fields), utc_iso(tx.now))
            tx.update_model(updated)
            edited = ModelUpdated(
                model=name,
                changes={k: plain(v) for k, v in fields.items()},
                card_hash=updated.content_hash,
            )
            record_event(tx, edited, subject=f"model:{name}")
        return updated

    # --- loading ---------------------------------------------------------------------------

    def load(
        self, actor: Actor, ref: str, *, trust_pickle: bool = False
    ) -> tuple[ModelVersion, Any]:
        """The version and its fitted estimator, after checking the file's sha256.

        skops files load with Steward's reviewed list of trusted types only. A pickled
        version loads only with ``trust_pickle=True``, and that trust is ledgered first.
        """
        version, data = self.artifact(actor, ref, trust_pickle=trust_pickle)
        return version, deserialize(version, data)

    def artifact(
        self, actor: Actor, ref: str, *, trust_pickle: bool = False
    ) -> tuple[ModelVersion, bytes]:
        """The version and its model file's bytes (hash-checked), for ``deserialize``: a
        pickle is handed out only with ``trust_pickle=True``, ledgered first."""
        from steward.ml import BOOSTER_FORMATS

        version = self.get(actor, ref)
        data = self._artifacts.get_bytes(version.artifact)  # refuses a hash mismatch
        if version.format == "skops" or version.format in BOOSTER_FORMATS.values():
            return version, data
        if version.format != "pickle":
            raise InvalidInput(f"{version.ref} is stored as {version.format!r}, unknown here")
        if not trust_pickle:
            raise Refused(
                f"{version.ref} is stored as a pickle, which runs code when loaded: pass "
                "trust_pickle=True if you trust its author (the ledger records that you did)"
            )
        with self._store.write(actor) as tx:
            loaded = ModelUnsafeLoad(model=version.name, version=version.version, format="pickle")
            record_event(tx, loaded, subject=version.subject)
        return version, data

    def load_split(self, actor: Actor, ref: str, part: str) -> tuple[Any, Any, Any]:
        """``(X, y, A)`` for the rows of ``part`` the version was split into (pandas)."""
        from steward.ml import frames

        version, rows = self.split_rows(actor, ref, part)
        assert version.target is not None  # split_rows refuses a version without one
        return frames(
            rows,
            range(rows.num_rows),
            features=version.features,
            target=version.target,
            sensitive=version.sensitive,
        )

    def split_rows(self, actor: Actor, ref: str, part: str) -> tuple[ModelVersion, Any]:
        """The version and the rows of ``part`` of its split, in order (an Arrow table of the
        columns it reads, its target and sensitive attributes): what ``load_split`` makes
        its frames of, on this process or a remote one."""
        import pyarrow as pa

        from steward.ml import PARTS, check_split_document

        if part not in PARTS:
            raise InvalidInput(f"unknown split part {part!r}: use {', '.join(PARTS)}")
        version = self.get(actor, ref)
        if version.split is None or version.target is None:
            raise InvalidInput(f"{version.ref} has no recorded split")
        dataset, table = self._datasets.load_version(actor, version.split["dataset"]["ref"])
        document = check_split_document(
            json.loads(self._artifacts.get_bytes(version.split["artifact"])), dataset.fingerprint
        )
        columns = list(dict.fromkeys([*version.features, version.target, *version.sensitive]))
        taken = table.take(pa.array(document[part], type=pa.int64())).select(columns)
        return version, taken

    def lineage(self, actor: Actor, ref: str) -> dict[str, Any]:
        """Version → run (and its trials) → datasets → split, with the ledger entries."""
        from steward.services.models._lineage import model_lineage

        require(actor, Permission.MODEL_READ, "read models")
        require(actor, Permission.RUN_READ, "read runs")
        with self._store.read() as reader:
            return model_lineage(reader, resolve_model(reader, ref))


def deserialize(version: ModelVersion, data: bytes) -> Any:
    """The fitted estimator of ``version`` from its model file's bytes (already checked
    against the version's hash): skops with the reviewed list of trusted types, a booster's
    native format, or — the caller having been trusted with it — a pickle."""
    from steward.ml import BOOSTER_FORMATS, load_native, load_pickle, load_skops

    if version.format == "skops":
        return load_skops(data)
    if version.format in BOOSTER_FORMATS.values():
        return load_native(data)
    if version.format == "pickle":
        return load_pickle(data)
    raise InvalidInput(f"{version.ref} is stored as {version.format!r}, unknown here")


def resolve_model(reader: Reader, ref: str) -> ModelVersion:
    try:
        parsed = Ref.parse(ref)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    model = reader.model(parsed.name)
    if model is None:
        raise NotFound(f"no model named {parsed.name!r}")
    if parsed.version is not None or parsed.alias == "latest":
        number = parsed.version or model.latest_version
        version = reader.model_version(parsed.name, number)
        if version is None:
            raise NotFound(
                f"model {parsed.name!r} has no version {number} (latest is {model.latest_version})"
            )
        return version
    try:
        stage = Stage(parsed.alias or "")
    except ValueError:
        raise InvalidInput(
            f"unknown stage {parsed.alias!r} in {ref!r}: use NAME@N, NAME@latest or "
            f"NAME@{'|'.join(s.value for s in Stage if s is not Stage.NONE)}"
        ) from None
    found = reader.versions_in_stage(parsed.name, stage)
    if not found:
        raise NotFound(f"model {parsed.name!r} has no version in {stage.value}")
    return found[-1]
