"""Identities, roles and permissions: who may do what, as data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "ROLE_PERMISSIONS",
    "Actor",
    "ApiToken",
    "Permission",
    "Role",
    "User",
    "validate_user_name",
]


class Role(StrEnum):
    """The roles of the product. A user holds one or more."""

    ADMIN = "admin"
    DATA_SCIENTIST = "data_scientist"
    ML_ENGINEER = "ml_engineer"
    STEWARD = "steward"
    AUDITOR = "auditor"


class Permission(StrEnum):
    """What an operation needs. Services check these; edges never decide access."""

    USER_READ = "user:read"
    USER_MANAGE = "user:manage"
    AUDIT_READ = "audit:read"
    AUDIT_EXPORT = "audit:export"
    DATASET_READ = "dataset:read"
    DATASET_WRITE = "dataset:write"
    RUN_READ = "run:read"
    RUN_WRITE = "run:write"
    MODEL_READ = "model:read"
    MODEL_WRITE = "model:write"
    EVIDENCE_WRITE = "evidence:write"
    POLICY_MANAGE = "policy:manage"
    MODEL_APPROVE = "model:approve"
    MODEL_PROMOTE = "model:promote"
    POLICY_WAIVE = "policy:waive"
    MODEL_COMMENT = "model:comment"
    WEBHOOK_MANAGE = "webhook:manage"
    MODEL_DEPLOY = "model:deploy"
    PREDICTION_READ = "prediction:read"
    PREDICTION_LABEL = "prediction:label"
    MONITOR_MANAGE = "monitor:manage"
    MONITOR_RUN = "monitor:run"
    ALERT_MANAGE = "alert:manage"
    TOKEN_ISSUE = "token:issue"  # noqa: S105 - a permission's name, not a secret
    CARD_MANAGE = "card:manage"


# The access matrix, documented in docs/access.md (a test keeps both in step). Reading the
# ledger is open to every role: the audit trail is the product's transparency, and it holds
# facts about changes, not the data itself.
_EVERYONE = frozenset(
    {
        Permission.AUDIT_READ,
        Permission.DATASET_READ,
        Permission.RUN_READ,
        Permission.MODEL_READ,
        # logged predictions hold no PII value (keyed hashes instead): auditors and stewards
        # read them like the ledger
        Permission.PREDICTION_READ,
    }
)
# What every role but the auditor's does: an auditor changes nothing, not even a comment
# or its own tokens (an admin resets those), so the record it audits holds no act of its.
_ACTING = frozenset({Permission.MODEL_COMMENT, Permission.TOKEN_ISSUE})
_BUILDER = {
    Permission.DATASET_WRITE,
    Permission.RUN_WRITE,
    Permission.MODEL_WRITE,
    Permission.EVIDENCE_WRITE,
    Permission.MODEL_APPROVE,
    Permission.MODEL_PROMOTE,
}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: _EVERYONE
    | _ACTING
    | {
        Permission.USER_READ,
        Permission.USER_MANAGE,
        # the inventory's keeper: reassigns a card whose owner left, edits any card
        Permission.CARD_MANAGE,
        Permission.AUDIT_EXPORT,
        Permission.POLICY_MANAGE,
        Permission.WEBHOOK_MANAGE,
    },
    Role.DATA_SCIENTIST: _EVERYONE | _ACTING | _BUILDER | {Permission.PREDICTION_LABEL},
    Role.ML_ENGINEER: _EVERYONE
    | _ACTING
    | _BUILDER
    | {
        Permission.MODEL_DEPLOY,
        Permission.PREDICTION_LABEL,
        Permission.MONITOR_MANAGE,
        Permission.MONITOR_RUN,
        Permission.ALERT_MANAGE,
    },
    Role.STEWARD: _EVERYONE
    | _ACTING
    | {
        Permission.USER_READ,
        Permission.EVIDENCE_WRITE,
        Permission.POLICY_MANAGE,
        Permission.MODEL_APPROVE,
        Permission.POLICY_WAIVE,
        Permission.WEBHOOK_MANAGE,
        # a steward watches what production does and answers its alerts
        Permission.MONITOR_MANAGE,
        Permission.MONITOR_RUN,
        Permission.ALERT_MANAGE,
    },
    Role.AUDITOR: _EVERYONE | {Permission.USER_READ, Permission.AUDIT_EXPORT},
}

_USER_NAME = re.compile(r"^[a-z][a-z0-9_.-]{1,62}$")


def validate_user_name(name: str) -> str:
    """Return ``name`` if it is a valid user name, else raise ``ValueError`` saying why."""
    if not _USER_NAME.fullmatch(name):
        raise ValueError(
            f"invalid user name {name!r}: use 2-63 characters, lower-case letters, digits, "
            "'_', '.' or '-', starting with a letter"
        )
    return name


@dataclass(frozen=True, slots=True)
class User:
    """A person or service account known to Steward."""

    id: int
    name: str
    roles: frozenset[Role]
    created_at: datetime
    created_by: str | None

    def to_dict(self) -> dict[str, Any]:
        """The user's JSON document: name, roles (sorted), when and by whom created."""
        return {
            "name": self.name,
            "roles": sorted(role.value for role in self.roles),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
        }


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token's public record; the secret itself is never stored."""

    id: str
    user_name: str
    created_at: datetime
    revoked_at: datetime | None
    # who issued it: the user's creator for a first token, the user for their own, an admin
    # for a reset (None for tokens issued before issuers were recorded)
    issued_by: str | None = None
    scopes: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        """The token's JSON document (never its secret); ``user`` is the holder's name."""
        return {
            "id": self.id,
            "user": self.user_name,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "active": self.active,
            "issued_by": self.issued_by,
            "scopes": list(self.scopes),
        }


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated identity acting on Steward. Every service call takes one."""

    user_id: int
    name: str
    roles: frozenset[Role]
    token_id: str | None = None
    # A scoped token (``predict:ENDPOINT``, ``feedback:ENDPOINT``) does only what its scopes
    # say, on the server's scoring routes: it holds no permission of its user's roles.
    scopes: tuple[str, ...] = ()

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.scopes:
            return frozenset()
        granted: set[Permission] = set()
        for role in self.roles:
            granted |= ROLE_PERMISSIONS[role]
        return frozenset(granted)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def to_dict(self) -> dict[str, Any]:
        """The identity's JSON document: name, roles and permissions (sorted), token id."""
        return {
            "name": self.name,
            "roles": sorted(role.value for role in self.roles),
            "permissions": sorted(p.value for p in self.permissions),
            "token_id": self.token_id,
            "scopes": list(self.scopes),
        }

    def has_scope(self, scope: str, endpoint: str) -> bool:
        """Whether the actor's token grants ``scope`` (``predict``, ``feedback``) on
        ``endpoint``: ``predict:NAME`` or ``predict:*``."""
        return f"{scope}:{endpoint}" in self.scopes or f"{scope}:*" in self.scopes
