"""Policies: applying them (versioned, hashed, ledgered), choosing the one that governs a
model, and evaluating a version's gate for a stage.

The engine (``steward.policy.evaluate``) is pure; this service gathers its facts — the version,
its model card, its evidence, its training data's PII scan and validation, the approvals and
waivers, the store's clock — and answers a ``Decision``. Evaluating a gate changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from steward.domain import (
    Actor,
    AppliedPolicy,
    Decision,
    EventType,
    Model,
    ModelVersion,
    Permission,
)
from steward.errors import InvalidInput, NotFound, PermissionDenied
from steward.services._access import require
from steward.services._datasets import DatasetService
from steward.services._models import ModelService
from steward.store import Store
from steward.types import utc_iso

__all__ = ["GATED_STAGES", "Governing", "PolicyService"]

GATED_STAGES = ("staging", "production")


@dataclass(frozen=True, slots=True)
class Governing:
    """The policy that governs a model: an applied one (``version`` ≥ 1) or a built-in pack
    (``version`` 0)."""

    policy: Any  # steward.policy.Policy
    version: int
    content_hash: str
    why: str

    @property
    def label(self) -> str:
        return (
            f"{self.policy.name}@{self.version}"
            if self.version
            else f"{self.policy.name} (built-in)"
        )


class PolicyService:
    def __init__(self, store: Store, datasets: DatasetService, models: ModelService) -> None:
        self._store = store
        self._datasets = datasets
        self._models = models

    # --- policies ----------------------------------------------------------------------------

    def apply(self, actor: Actor, text: str, source: str) -> tuple[AppliedPolicy, bool]:
        """Validate policy ``text`` (from ``source``) and record it as the next version of its
        name; ``(policy, False)`` when it equals the latest version (nothing recorded). A
        refusal records nothing but an ``attempt.refused`` ledger event (decision 0018)."""
        try:
            return self._apply(actor, text, source)
        except (PermissionDenied, InvalidInput) as exc:
            with self._store.write(actor.name) as tx:
                tx.record(
                    EventType.ATTEMPT_REFUSED,
                    subject=None,
                    payload={
                        "action": "policy.apply",
                        "target": source,
                        "stage": None,
                        "code": exc.code,
                        "reason": exc.message,
                    },
                )
            raise

    @staticmethod
    def validate(text: str, source: str) -> tuple[Any, str]:
        """``(policy, content hash)`` for a valid policy document; ``InvalidInput`` naming the
        file, line and field otherwise. Needs no store: CI can lint policies."""
        from steward.checks import available_checks
        from steward.policy import PACKS, load_policy, policy_hash

        installed = available_checks()
        policy = load_policy(
            text,
            source,
            metrics={check_id: cls.produces for check_id, cls in installed.items()},
            parameters={check_id: cls.param_names() for check_id, cls in installed.items()},
        )
        if policy.name in PACKS:
            raise InvalidInput(
                f"{source}: the name {policy.name!r} is a built-in pack's; name the policy "
                "otherwise"
            )
        return policy, policy_hash(policy)

    def _apply(self, actor: Actor, text: str, source: str) -> tuple[AppliedPolicy, bool]:
        require(actor, Permission.POLICY_MANAGE, "apply policies")
        policy, digest = self.validate(text, source)
        with self._store.write(actor.name) as tx:
            latest = tx.policy(policy.name)
            if latest is not None and latest.content_hash == digest:
                return latest, False
            applied = AppliedPolicy(
                name=policy.name,
                version=(latest.version + 1) if latest else 1,
                document=policy.document(),
                source=text,
                applied_at=utc_iso(tx.now),
                applied_by=actor.name,
                content_hash=digest,
            )
            tx.add_policy(applied)
            tx.record(
                EventType.POLICY_APPLIED,
                subject=applied.subject,
                payload={
                    "policy": applied.name,
                    "version": applied.version,
                    "content_hash": digest,
                    "source_hash": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                    "selector": applied.document["selector"],
                    "priority": applied.document["priority"],
                },
            )
        return applied, True

    def list_policies(self, actor: Actor, *, built_in: bool = False) -> list[AppliedPolicy]:
        """The latest version of each applied policy (and the built-in packs)."""
        from steward.policy import PACKS

        require(actor, Permission.MODEL_READ, "read policies")
        with self._store.read() as reader:
            applied = reader.policies()
        return applied + ([self.get(actor, name) for name in PACKS] if built_in else [])

    @staticmethod
    def schema() -> dict[str, Any]:
        """The JSON Schema of policy documents."""
        from steward.policy import Policy

        return Policy.model_json_schema()

    def get(self, actor: Actor, name: str, version: int | None = None) -> AppliedPolicy:
        """An applied policy, or a built-in pack (as version 0)."""
        from steward.policy import PACKS, pack, pack_text, policy_hash

        require(actor, Permission.MODEL_READ, "read policies")
        if name in PACKS and not version:
            built_in = pack(name)
            return AppliedPolicy(
                name=name,
                version=0,
                document=built_in.document(),
                source=pack_text(name),
                applied_at="",
                applied_by="steward",
                content_hash=policy_hash(built_in),
            )
        with self._store.read() as reader:
            found = reader.policy(name, version)
        if found is None:
            which = f"{name}@{version}" if version else name
            raise NotFound(f"no policy {which}")
        return found

    def governing(self, actor: Actor, model: Model) -> Governing:
        """The applied policy that selects ``model`` with the highest priority (then the
        first name), else the built-in pack for its risk tier."""
        from steward.policy import Policy, pack_for, policy_hash

        tier = model.risk_tier.value
        chosen: AppliedPolicy | None = None
        with self._store.read() as reader:
            for applied in reader.policies():
                policy = Policy.model_validate(applied.document)
                if not policy.selector.matches(model.name, tier, dict(model.tags)):
                    continue
                if chosen is None or applied.document["priority"] > chosen.document["priority"]:
                    chosen = applied
        if chosen is not None:
            return Governing(
                Policy.model_validate(chosen.document),
                chosen.version,
                chosen.content_hash,
                f"applied policy {chosen.name}@{chosen.version} selects {model.name}",
            )
        built_in = pack_for(tier)
        return Governing(
            built_in,
            0,
            policy_hash(built_in),
            f"no applied policy selects {model.name}: the built-in {built_in.name} pack for "
            f"risk tier {tier}",
        )

    # --- gates -------------------------------------------------------------------------------

    def gate(self, actor: Actor, ref: str, stage: str) -> tuple[Decision, Governing]:
        """Evaluate whether version ``ref`` may enter ``stage`` (changes nothing)."""
        require(actor, Permission.MODEL_READ, "evaluate gates")
        if stage not in GATED_STAGES:
            raise InvalidInput(f"unknown stage {stage!r}: gates guard {', '.join(GATED_STAGES)}")
        version = self._models.get(actor, ref)
        return self._evaluate(actor, version, stage)

    def decide(self, actor: Actor, version: ModelVersion, stage: str) -> Decision:
        """The decision for ``version`` (as just read) entering ``stage``."""
        return self._evaluate(actor, version, stage)[0]

    def _evaluate(
        self, actor: Actor, version: ModelVersion, stage: str
    ) -> tuple[Decision, Governing]:
        from steward.policy import evaluate

        model = self._models.model(actor, version.name)
        governing = self.governing(actor, model)
        facts = self._facts(actor, version, model)
        decision = evaluate(
            governing.policy,
            stage,
            facts,
            policy_version=governing.version,
            policy_hash=governing.content_hash,
        )
        return decision, governing

    def _facts(self, actor: Actor, version: ModelVersion, model: Model) -> Any:
        from steward.policy import Facts

        with self._store.read() as reader:
            evidence = tuple(reader.evidence_for(version.subject))
            approvals = tuple(reader.approvals(version.subject))
            waivers = tuple(reader.waivers(version.subject))
        pii: tuple[str, ...] = ()
        dataset_evidence: tuple[Any, ...] = ()
        if version.datasets:
            dataset_ref = version.datasets[0]["ref"]
            dataset = self._datasets.get(actor, dataset_ref)
            pii = dataset.pii_columns
            dataset_evidence = tuple(self._datasets.evidence(actor, dataset.ref))
        return Facts(
            subject=version.subject,
            author=version.created_by,
            artifact=version.artifact,
            features=version.features,
            card={
                "owner": model.owner,
                "description": model.description,
                "intended_use": model.intended_use,
                "limitations": model.limitations,
            },
            evidence=evidence,
            pii_columns=pii,
            dataset_evidence=dataset_evidence,
            approvals=approvals,
            waivers=waivers,
            now=self._store.now(),
            split=version.split["id"] if version.split else None,
        )
