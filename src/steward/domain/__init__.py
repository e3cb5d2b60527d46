"""Pure, frozen value objects of Steward. No I/O, no frameworks."""

from steward.domain._identity import (
    ROLE_PERMISSIONS,
    Actor,
    ApiToken,
    Permission,
    Role,
    User,
    validate_user_name,
)
from steward.domain._ledger import EventType, LedgerEvent, TreeHead

__all__ = [
    "ROLE_PERMISSIONS",
    "Actor",
    "ApiToken",
    "EventType",
    "LedgerEvent",
    "Permission",
    "Role",
    "TreeHead",
    "User",
    "validate_user_name",
]
