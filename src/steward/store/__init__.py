"""Persistence of domain objects: one SQL implementation for SQLite and PostgreSQL."""

from steward.store._engine import current_revision, make_engine, migrate, require_head
from steward.store._integrity import (
    EXPECTED_TRIGGERS,
    HeadState,
    TriggerCheck,
    check_triggers,
    leaf_hashes_between,
    read_head_state,
    stored_frontier,
)
from steward.store._reader import Reader
from steward.store._schema import KNOWN_REVISIONS, SCHEMA_HEAD
from steward.store._store import Store
from steward.store._writer import Draft, Writer

__all__ = [
    "EXPECTED_TRIGGERS",
    "KNOWN_REVISIONS",
    "SCHEMA_HEAD",
    "Draft",
    "HeadState",
    "Reader",
    "Store",
    "TriggerCheck",
    "Writer",
    "check_triggers",
    "current_revision",
    "leaf_hashes_between",
    "make_engine",
    "migrate",
    "read_head_state",
    "require_head",
    "stored_frontier",
]
