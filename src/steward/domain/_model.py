"""Registered models: an editable card per model and immutable, numbered versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "CARD_FIELDS",
    "Model",
    "ModelVersion",
    "RiskTier",
    "Stage",
    "model_card_content",
]


class Stage(StrEnum):
    """Where a version stands. Moving between stages is the policy gates' job."""

    NONE = "none"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"


class RiskTier(StrEnum):
    """Risk tiers after the EU AI Act's: the tier picks the policy pack a model must pass."""

    MINIMAL = "minimal"
    LIMITED = "limited"
    HIGH = "high"


# The editable fields of a model card (``steward model update``).
CARD_FIELDS: tuple[str, ...] = (
    "owner",
    "risk_tier",
    "description",
    "intended_use",
    "limitations",
    "tags",
)


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    owner: str
    risk_tier: RiskTier
    description: str
    intended_use: str
    limitations: str
    tags: dict[str, str]
    created_at: str
    created_by: str
    updated_at: str
    latest_version: int = 0
    content_hash: str = ""

    def content(self) -> dict[str, Any]:
        return model_card_content(
            name=self.name,
            owner=self.owner,
            risk_tier=self.risk_tier.value,
            description=self.description,
            intended_use=self.intended_use,
            limitations=self.limitations,
            tags=self.tags,
            created_at=self.created_at,
            created_by=self.created_by,
            updated_at=self.updated_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """The model card's JSON document: the hashed card, the version count and the card's
        hash (``card_hash``)."""
        return {
            **self.content(),
            "latest_version": self.latest_version,
            "card_hash": self.content_hash,
        }


def model_card_content(**fields: Any) -> dict[str, Any]:
    """What a model card's hash covers (every field but the version count)."""
    return dict(sorted(fields.items()))


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """An immutable, numbered version of a model.

    ``signature`` names the inputs (columns, types, categories) and the output (classes);
    ``split`` identifies the exact train/validation/test rows (its ``id`` is the SHA-256 of
    the split document — row indices, seed, fractions, dataset — stored as an artifact);
    ``artifact`` is the key (``sha256:…``) of the serialized estimator, checked on every
    load. Only ``stage`` changes after registration,
    and it is not part of ``content_hash``.
    """

    name: str
    version: int
    run_id: str | None
    artifact: str
    format: str
    task: str
    template: str | None
    params: dict[str, Any]
    signature: dict[str, Any]
    metrics: dict[str, dict[str, float]]
    datasets: tuple[dict[str, Any], ...]
    split: dict[str, Any] | None
    features: tuple[str, ...]
    target: str | None
    sensitive: tuple[str, ...]
    sensitive_features: tuple[str, ...]
    excluded: dict[str, str]
    tuning: dict[str, Any] | None
    created_at: str
    created_by: str
    content_hash: str = ""
    stage: Stage = Stage.NONE
    parents: tuple[str, ...] = field(default=())

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def subject(self) -> str:
        return f"model:{self.ref}"

    def record(self) -> dict[str, Any]:
        """The version's content as stored (everything but the stage and the hash)."""
        return {
            "artifact": self.artifact,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "datasets": list(self.datasets),
            "excluded": self.excluded,
            "features": list(self.features),
            "format": self.format,
            "metrics": self.metrics,
            "name": self.name,
            "params": self.params,
            "parents": list(self.parents),
            "run_id": self.run_id,
            "sensitive": list(self.sensitive),
            "sensitive_features": list(self.sensitive_features),
            "signature": self.signature,
            "split": self.split,
            "target": self.target,
            "task": self.task,
            "template": self.template,
            "tuning": self.tuning,
            "version": self.version,
        }

    def to_dict(self) -> dict[str, Any]:
        """The version's JSON document: the record, its reference, stage and content hash."""
        return {
            **self.record(),
            "ref": self.ref,
            "stage": self.stage.value,
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_record(
        cls, record: dict[str, Any], *, content_hash: str, stage: Stage
    ) -> ModelVersion:
        return cls(
            name=record["name"],
            version=int(record["version"]),
            run_id=record["run_id"],
            artifact=record["artifact"],
            format=record["format"],
            task=record["task"],
            template=record["template"],
            params=record["params"],
            signature=record["signature"],
            metrics=record["metrics"],
            datasets=tuple(record["datasets"]),
            split=record["split"],
            features=tuple(record["features"]),
            target=record["target"],
            sensitive=tuple(record["sensitive"]),
            sensitive_features=tuple(record["sensitive_features"]),
            excluded=record["excluded"],
            tuning=record["tuning"],
            created_at=record["created_at"],
            created_by=record["created_by"],
            content_hash=content_hash,
            stage=stage,
            parents=tuple(record.get("parents", ())),
        )
