"""Rows of applied policies, as frozen domain objects."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select

from steward.domain import AppliedPolicy
from steward.ledger import canonical_bytes
from steward.store._schema import policies

__all__ = ["insert_policy", "latest_policies", "policy_version", "policy_versions"]


def _policy(row: Row[Any]) -> AppliedPolicy:
    return AppliedPolicy(
        name=row.name,
        version=row.version,
        document=json.loads(row.document),
        source=row.source,
        applied_at=row.applied_at,
        applied_by=row.applied_by,
        content_hash=row.content_hash,
    )


def insert_policy(conn: Connection, policy: AppliedPolicy) -> None:
    conn.execute(
        insert(policies).values(
            name=policy.name,
            version=policy.version,
            document=canonical_bytes(policy.document).decode("utf-8"),
            source=policy.source,
            applied_at=policy.applied_at,
            applied_by=policy.applied_by,
            content_hash=policy.content_hash,
        )
    )


def policy_version(conn: Connection, name: str, version: int | None) -> AppliedPolicy | None:
    """Version ``version`` of policy ``name`` (the latest when ``None``)."""
    query = select(policies).where(policies.c.name == name)
    if version is None:
        query = query.order_by(policies.c.version.desc()).limit(1)
    else:
        query = query.where(policies.c.version == version)
    row = conn.execute(query).one_or_none()
    return None if row is None else _policy(row)


def policy_versions(conn: Connection, name: str | None = None) -> list[AppliedPolicy]:
    """Every applied version (of ``name``), by name then version."""
    query = select(policies).order_by(policies.c.name, policies.c.version)
    if name is not None:
        query = query.where(policies.c.name == name)
    return [_policy(row) for row in conn.execute(query)]


def latest_policies(conn: Connection) -> list[AppliedPolicy]:
    """The latest version of each applied policy, by name."""
    latest = (
        select(policies.c.name, func.max(policies.c.version).label("latest"))
        .group_by(policies.c.name)
        .subquery()
    )
    query = (
        select(policies)
        .join(
            latest,
            (latest.c.name == policies.c.name) & (latest.c.latest == policies.c.version),
        )
        .order_by(policies.c.name)
    )
    return [_policy(row) for row in conn.execute(query)]
