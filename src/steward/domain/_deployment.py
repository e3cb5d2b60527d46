"""Deployments: which model versions an endpoint serves, with what share of its traffic.

A ``Deployment`` is one state of an endpoint, in force from ``created_at`` until the next
one; an endpoint's history is the sequence of its states (``seq`` 1, 2, …), each recorded
with one ledger event. States are never edited: a rollback or a stop is a new state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "DEPLOY_ACTIONS",
    "Deployment",
    "EndpointStatus",
    "GateFailure",
    "Route",
    "deployment_content",
    "validate_endpoint_name",
]

_ENDPOINT = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
DEPLOY_ACTIONS = ("deploy", "canary", "promote_canary", "rollback", "stop", "resume")


def validate_endpoint_name(name: str) -> str:
    """``name`` if it is a valid endpoint name, else ``ValueError`` saying why. Endpoint names
    appear in URLs and in the prediction log's folder names, so they are kept plain."""
    if not _ENDPOINT.fullmatch(name):
        raise ValueError(
            f"invalid endpoint name {name[:80]!r}: use 1-63 characters, lower-case letters, "
            "digits or '-', starting with a letter"
        )
    return name


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"


class GateFailure(StrEnum):
    """What a server does when a served version's gate stops passing (policy
    ``serving.on_gate_failure``)."""

    FALLBACK = "fallback"  # serve the last version of the endpoint whose gate passes, else 503
    REFUSE = "refuse"  # answer 503 with the reason
    KEEP = "keep"  # keep serving it, and say so (ledgered)


@dataclass(frozen=True, slots=True)
class Route:
    """A version an endpoint sends ``share`` percent of its traffic to."""

    version: str  # NAME@N
    share: int  # 1..100
    role: str  # "stable" or "canary"

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "share": self.share, "role": self.role}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Route:
        return cls(version=str(data["version"]), share=int(data["share"]), role=str(data["role"]))


@dataclass(frozen=True, slots=True)
class Deployment:
    """One state of endpoint ``endpoint``: its routes, its status, and who made it, why.

    ``stage`` is the stage whose gate every served version must pass (production unless the
    endpoint was created for staging); ``restores`` is the state a rollback brought back.
    """

    id: str
    endpoint: str
    seq: int
    action: str
    routes: tuple[Route, ...]
    stage: str
    status: EndpointStatus
    reason: str
    restores: int | None
    created_at: str
    created_by: str
    content_hash: str = ""

    @property
    def stable(self) -> Route | None:
        return next((r for r in self.routes if r.role == "stable"), None)

    @property
    def canary(self) -> Route | None:
        return next((r for r in self.routes if r.role == "canary"), None)

    @property
    def subject(self) -> str:
        return f"endpoint:{self.endpoint}"

    def content(self) -> dict[str, Any]:
        """What the content hash covers: every field but the id and the hash."""
        return deployment_content(
            endpoint=self.endpoint,
            seq=self.seq,
            action=self.action,
            routes=[r.to_dict() for r in self.routes],
            stage=self.stage,
            status=self.status.value,
            reason=self.reason,
            restores=self.restores,
            created_at=self.created_at,
            created_by=self.created_by,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.content(), "content_hash": self.content_hash}


def deployment_content(**fields: Any) -> dict[str, Any]:
    """A deployment's hashed content, in its canonical key set."""
    keys = (
        "endpoint",
        "seq",
        "action",
        "routes",
        "stage",
        "status",
        "reason",
        "restores",
        "created_at",
        "created_by",
    )
    return {key: fields[key] for key in keys}
