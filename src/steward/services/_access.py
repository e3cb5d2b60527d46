"""Permission checks: the one place an actor's rights are judged."""

from __future__ import annotations

from steward.domain import Actor, Permission
from steward.errors import PermissionDenied

__all__ = ["require"]


def require(actor: Actor, permission: Permission, doing: str) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` holds ``permission``."""
    if not actor.can(permission):
        roles = ", ".join(sorted(actor.roles)) or "no role"
        raise PermissionDenied(
            f"{actor.name} ({roles}) may not {doing}: it needs the {permission.value} permission",
            details={"actor": actor.name, "permission": permission.value},
        )
