"""Policies: applying them (versioned, hashed, ledgered), choosing the one that governs a
model, and evaluating a version's gate for a stage.

The engine (``steward.policy.evaluate``) is pure; this service gathers its facts — the version,
its model card, its evidence, its training data's PII scan and validation, the approvals and
waivers, the store's clock — and answers a ``Decision``. Evaluating a gate changes nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

from steward.domain import (
    Actor,
    AppliedPolicy,
    Approval,
    AttemptRefused,
    Decision,
    Model,
    ModelVersion,
    Permission,
    PolicyApplied,
    PolicyEndorsed,
)
from steward.errors import InvalidInput, NotFound, PermissionDenied
from steward.services._access import require
from steward.services._records import new_approval, record_event
from steward.services.datasets._service import DatasetService
from steward.services.governance._governing import (
    FLOOR_STAGE,
    Governing,
    check_defaults,
    relaxation,
)
from steward.services.models._service import ModelService
from steward.store import Store
from steward.types import utc_iso

__all__ = ["GATED_STAGES", "PolicyService"]

GATED_STAGES = ("staging", "production")


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
                refused = AttemptRefused(
                    action="policy.apply",
                    target=source,
                    stage=None,
                    code=exc.code,
                    reason=exc.message,
                )
                record_event(tx, refused, subject=None)
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
        for stage, rules in policy.stages.items():
            for i, rule in enumerate(rules.evidence):
                cls = installed.get(rule.check)
                validate = getattr(cls, "validate_params", None)
                if rule.params and callable(validate):
                    try:
                        validate(rule.params)
                    except InvalidInput as exc:
                        raise InvalidInput(
                            f"{source}: stages.{stage}.evidence.{i}.params: {exc.message}"
                        ) from None
        if policy.name in PACKS:
            raise InvalidInput(
                f"{source}: the name {policy.name!r} is a built-in pack's; name the policy "
                "otherwise"
            )
        return policy, policy_hash(policy)

    def _apply(self, actor: Actor, text: str, source: str) -> tuple[AppliedPolicy, bool]:
        require(actor, Permission.POLICY_MANAGE, "apply policies")
        policy, digest = self.validate(text, source)
        with self._store.write(actor) as tx:
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
            event = PolicyApplied(
                policy=applied.name,
                version=applied.version,
                content_hash=digest,
                source_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                selector=applied.document["selector"],
                priority=applied.document["priority"],
            )
            record_event(tx, event, subject=applied.subject)
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

    def governing(self, actor: Actor, model: Model, authors: tuple[str, ...] = ()) -> Governing:
        """The applied policy that selects ``model`` with the highest priority (then the
        first name), else the built-in pack for its risk tier; with the tier's pack as the
        floor under an applied policy. ``authors`` (of the version being judged) decide
        whether a relaxation of the floor is in force for it."""
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
            endorsements = (
                [
                    a
                    for a in reader.approvals(chosen.subject)
                    if a.stage == FLOOR_STAGE and a.policy_hash == chosen.content_hash
                ]
                if chosen is not None
                else []
            )
        built_in = pack_for(tier)
        pack_hash = policy_hash(built_in)
        if chosen is None:
            return Governing(
                built_in,
                0,
                pack_hash,
                f"no applied policy selects {model.name}: the built-in {built_in.name} pack "
                f"for risk tier {tier}",
            )
        policy = Policy.model_validate(chosen.document)
        relaxed_by: tuple[str, ...] = ()
        note = f"the {built_in.name} pack of risk tier {tier} is enforced as the floor"
        if policy.relax_floor:
            relaxed_by, why_not = relaxation(chosen, endorsements, {model.created_by, *authors})
            note = (
                f"the {built_in.name} pack is relaxed by {chosen.name}@{chosen.version}, "
                f"applied by {relaxed_by[0]} and endorsed by {', '.join(relaxed_by[1:])}"
                if relaxed_by
                else f"{note}: {chosen.name}@{chosen.version} asks to relax it, but {why_not}"
            )
        combined = (
            chosen.content_hash
            if relaxed_by
            else hashlib.sha256(f"{chosen.content_hash}+{pack_hash}".encode()).hexdigest()
        )
        return Governing(
            policy,
            chosen.version,
            combined,
            f"applied policy {chosen.name}@{chosen.version} selects {model.name}",
            floor=built_in,
            floor_hash=pack_hash,
            relaxed_by=relaxed_by,
            floor_note=note,
        )

    def endorse(
        self, actor: Actor, name: str, version: int | None = None, comment: str = ""
    ) -> Approval:
        """Endorse applied policy ``name`` (its latest version by default) that relaxes the
        built-in packs: the second of the two ``policy:manage`` holders a relaxation needs.
        Refused (and ledgered) for the one who applied it and for an author of a model it
        governs."""
        from steward.services.governance._service import refused_attempt

        try:
            return self._endorse(actor, name, version, comment)
        except (PermissionDenied, InvalidInput, NotFound) as exc:
            target = f"policy:{name}@{version}" if version else f"policy:{name}"
            refused_attempt(self._store, actor, "policy.endorse", target, None, exc)
            raise

    def _endorse(self, actor: Actor, name: str, version: int | None, comment: str) -> Approval:
        from steward.policy import Policy

        require(actor, Permission.POLICY_MANAGE, "endorse policies")
        policy = self.get(actor, name, version)
        if policy.version == 0:
            raise InvalidInput(f"{name} is a built-in pack: only applied policies are endorsed")
        if not Policy.model_validate(policy.document).relax_floor:
            raise InvalidInput(
                f"policy {policy.name}@{policy.version} does not relax the built-in packs "
                "(relax_floor is false): it needs no endorsement"
            )
        if actor.name == policy.applied_by:
            raise PermissionDenied(
                f"{actor.name} applied {policy.name}@{policy.version} and may not also endorse "
                "it: relaxing a built-in pack needs two people",
                details={"actor": actor.name, "reason": "applied_by"},
            )
        authored = self._authored_governed(Policy.model_validate(policy.document))
        for person, what in ((actor.name, "endorse"), (policy.applied_by, "have applied")):
            if person in authored:
                raise PermissionDenied(
                    f"{person} authored {authored[person]}, which {policy.name}@"
                    f"{policy.version} governs: an author may not {what} a relaxation of "
                    "its own model's floor",
                    details={"actor": actor.name, "reason": "author"},
                )
        with self._store.write(actor) as tx:
            endorsement = new_approval(
                tx,
                actor,
                subject=policy.subject,
                stage=FLOOR_STAGE,
                decision="approve",
                comment=comment,
                artifact="",
                evidence_hash="",
                policy_hash=policy.content_hash,
            )
            tx.add_approval(endorsement)
            record_event(tx, PolicyEndorsed.of(endorsement), subject=endorsement.subject)
        return endorsement

    def _authored_governed(self, policy: Any) -> dict[str, str]:
        """Who authored a version of a model ``policy`` selects: ``{user: "NAME@N"}``."""
        authored: dict[str, str] = {}
        with self._store.read() as reader:
            for model in reader.models():
                if not policy.selector.matches(model.name, model.risk_tier.value, model.tags):
                    continue
                authored.setdefault(model.created_by, model.name)
                for version in reader.model_versions(model.name):
                    authored.setdefault(version.created_by, version.ref)
        return authored

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

    def decide_stages(
        self, actor: Actor, version: ModelVersion, stages: tuple[str, ...]
    ) -> dict[str, Decision]:
        """The decision for ``version`` entering each of ``stages``, from one gathering of
        its facts."""
        return {
            stage: decision
            for stage, (decision, _) in self._evaluate_all(actor, version, stages).items()
        }

    def _evaluate(
        self, actor: Actor, version: ModelVersion, stage: str
    ) -> tuple[Decision, Governing]:
        return self._evaluate_all(actor, version, (stage,))[stage]

    def _evaluate_all(
        self, actor: Actor, version: ModelVersion, stages: tuple[str, ...]
    ) -> dict[str, tuple[Decision, Governing]]:
        from dataclasses import replace

        from steward.policy import combine, evaluate

        model = self._models.model(actor, version.name)
        authors = self._models.authors(actor, version)
        governing = self.governing(actor, model, authors)
        facts = self._facts(actor, version, model, authors)
        floor = governing.enforced_floor
        decided = {}
        for stage in stages:
            decision = evaluate(
                governing.policy,
                stage,
                facts,
                policy_version=governing.version,
                policy_hash=governing.content_hash,
            )
            if floor is not None:
                under = evaluate(
                    floor, stage, facts, policy_version=0, policy_hash=governing.content_hash
                )
                decision = combine(decision, under, f"{floor.name} floor")
            decided[stage] = (replace(decision, floor=governing.floor_document()), governing)
        return decided

    def _facts(
        self, actor: Actor, version: ModelVersion, model: Model, authors: tuple[str, ...]
    ) -> Any:
        from steward.policy import OBSERVED_CHECKS, Facts

        with self._store.read() as reader:
            evidence = tuple(
                e for e in reader.evidence_for(version.subject) if e.check_id not in OBSERVED_CHECKS
            )
            approvals = tuple(reader.approvals(version.subject))
            waivers = tuple(reader.waivers(version.subject))
            alerts = reader.alert_states(version=version.ref)
        last: dict[str, Any] = {}
        for state in alerts:  # oldest first: the last state of each alert stands
            last[state.alert] = state
        open_alerts = tuple(
            (s.alert, s.severity, s.rule, s.monitor)
            for s in last.values()
            if s.status.value != "resolved"
        )
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
                "risk_tier": model.risk_tier.value,
                "description": model.description,
                "intended_use": model.intended_use,
                "limitations": model.limitations,
                "tags": dict(sorted(model.tags.items())),
            },
            evidence=evidence,
            pii_columns=pii,
            dataset_evidence=dataset_evidence,
            approvals=approvals,
            waivers=waivers,
            now=self._store.now(),
            split=version.split["id"] if version.split else None,
            check_defaults=check_defaults(),
            artifact_problem=self._models.artifact_problem(version),
            authors=authors,
            open_alerts=open_alerts,
        )
