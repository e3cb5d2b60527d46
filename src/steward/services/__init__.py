"""Use cases. Each takes an authenticated ``Actor``, checks permission, and writes through
the store; the edges (CLI, API, UI, model server) are thin layers over these."""

from steward.services._access import require
from steward.services._app import Application
from steward.services._audit import AuditService, ExportSummary, InclusionProof, tree_head_dict
from steward.services._home import (
    SYSTEM_ACTOR,
    InitResult,
    initialize,
    public_key_path,
    read_saved_token,
    require_home,
    save_token,
    trusted_public_key,
    upgrade_store,
)
from steward.services._identity import IdentityService, hash_token, new_token, parse_roles

__all__ = [
    "SYSTEM_ACTOR",
    "Application",
    "AuditService",
    "ExportSummary",
    "IdentityService",
    "InclusionProof",
    "InitResult",
    "hash_token",
    "initialize",
    "new_token",
    "parse_roles",
    "public_key_path",
    "read_saved_token",
    "require",
    "require_home",
    "save_token",
    "tree_head_dict",
    "trusted_public_key",
    "upgrade_store",
]
