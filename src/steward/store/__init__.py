"""Persistence of domain objects: one SQL implementation for SQLite and PostgreSQL."""

from steward.store._engine import current_revision, make_engine, migrate, require_head
from steward.store._schema import KNOWN_REVISIONS, SCHEMA_HEAD
from steward.store._store import Draft, Reader, Store, Writer

__all__ = [
    "KNOWN_REVISIONS",
    "SCHEMA_HEAD",
    "Draft",
    "Reader",
    "Store",
    "Writer",
    "current_revision",
    "make_engine",
    "migrate",
    "require_head",
]
