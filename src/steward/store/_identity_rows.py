"""Rows of users, their roles and API tokens, turned into frozen domain objects."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from steward.domain import ApiToken, Role, User
from steward.store._schema import api_tokens, user_roles, users

__all__ = [
    "insert_token",
    "insert_user",
    "list_tokens",
    "list_users",
    "mark_token_revoked",
    "role_rows",
    "token_by_id",
    "token_rows",
    "token_secret_hash",
    "token_state",
    "user_by_name",
]


def _roles_of(conn: Connection, user_ids: Iterable[int]) -> dict[int, frozenset[Role]]:
    found: dict[int, set[Role]] = {}
    ids = list(user_ids)
    if not ids:
        return {}
    rows = conn.execute(
        select(user_roles.c.user_id, user_roles.c.role).where(user_roles.c.user_id.in_(ids))
    )
    for user_id, role in rows:
        found.setdefault(user_id, set()).add(Role(role))
    return {user_id: frozenset(found.get(user_id, ())) for user_id in ids}


def user_by_name(conn: Connection, name: str) -> User | None:
    row = conn.execute(select(users).where(users.c.name == name)).one_or_none()
    if row is None:
        return None
    roles = _roles_of(conn, [row.id])[row.id]
    return User(row.id, row.name, roles, row.created_at, row.created_by)


def list_users(conn: Connection) -> list[User]:
    rows = conn.execute(select(users).order_by(users.c.name)).all()
    roles = _roles_of(conn, [row.id for row in rows])
    return [User(r.id, r.name, roles[r.id], r.created_at, r.created_by) for r in rows]


def insert_user(
    conn: Connection,
    *,
    name: str,
    roles: frozenset[Role],
    created_at: datetime,
    created_by: str | None,
) -> User:
    user_id = conn.execute(
        insert(users)
        .values(name=name, created_at=created_at, created_by=created_by)
        .returning(users.c.id)
    ).scalar_one()
    conn.execute(
        insert(user_roles), [{"user_id": user_id, "role": role.value} for role in sorted(roles)]
    )
    return User(user_id, name, roles, created_at, created_by)


def insert_token(
    conn: Connection,
    *,
    token_id: str,
    user: User,
    secret_hash: str,
    created_at: datetime,
    issued_by: str,
) -> ApiToken:
    conn.execute(
        insert(api_tokens).values(
            id=token_id,
            user_id=user.id,
            secret_hash=secret_hash,
            created_at=created_at,
            issued_by=issued_by,
        )
    )
    return ApiToken(token_id, user.name, created_at, None, issued_by)


def token_secret_hash(conn: Connection, token_id: str) -> tuple[str, datetime | None, str] | None:
    """``(secret_hash, revoked_at, user_name)`` of a token, or ``None``."""
    row = conn.execute(
        select(api_tokens.c.secret_hash, api_tokens.c.revoked_at, users.c.name)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.id == token_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


_TOKEN_COLUMNS = (
    api_tokens.c.id,
    users.c.name,
    api_tokens.c.created_at,
    api_tokens.c.revoked_at,
    api_tokens.c.issued_by,
)


def token_by_id(conn: Connection, token_id: str) -> ApiToken | None:
    row = conn.execute(
        select(*_TOKEN_COLUMNS)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.id == token_id)
    ).one_or_none()
    return None if row is None else ApiToken(row[0], row[1], row[2], row[3], row[4])


def list_tokens(conn: Connection, user_name: str | None = None) -> list[ApiToken]:
    query = select(*_TOKEN_COLUMNS).join(users, users.c.id == api_tokens.c.user_id)
    if user_name is not None:
        query = query.where(users.c.name == user_name)
    rows = conn.execute(query.order_by(api_tokens.c.created_at, api_tokens.c.id)).all()
    return [ApiToken(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def token_rows(conn: Connection) -> list[tuple[str, str | None, str, bool, str | None]]:
    """``(token id, user name, secret hash, revoked?, issued by)`` of every token row, for
    verification against the ledger; the user name is ``None`` when the user row is gone."""
    rows = conn.execute(
        select(
            api_tokens.c.id,
            users.c.name,
            api_tokens.c.secret_hash,
            api_tokens.c.revoked_at,
            api_tokens.c.issued_by,
        ).outerjoin(users, users.c.id == api_tokens.c.user_id)
    ).all()
    return [(r[0], r[1], r[2], r[3] is not None, r[4]) for r in rows]


def role_rows(conn: Connection) -> list[tuple[int, str]]:
    """``(user id, role)`` of every role row, orphans included."""
    return [(r[0], r[1]) for r in conn.execute(select(user_roles.c.user_id, user_roles.c.role))]


def mark_token_revoked(conn: Connection, token_id: str, revoked_at: datetime) -> bool:
    """Revoke an active token; ``False`` when it was already revoked."""
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=revoked_at)
    )
    return result.rowcount == 1


_TOKEN_STATE_SQL = {
    "sqlite": "SELECT u.name, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id "
    "WHERE t.id = ?",
    "postgresql": "SELECT u.name, t.revoked_at FROM api_tokens t JOIN users u "
    "ON u.id = t.user_id WHERE t.id = %s",
}


def token_state(conn: Connection, token_id: str) -> tuple[str, bool] | None:
    """``(user name, revoked?)`` of a token, or ``None``. Runs on every write transaction
    that carries an actor, so it speaks to the driver directly (as the ledger append does):
    building the SQLAlchemy statement would cost more than the query."""
    row = _raw_row(conn, _TOKEN_STATE_SQL, token_id)
    return None if row is None else (str(row[0]), row[1] is not None)


_TOKEN_AND_HEAD_SQL = {
    "sqlite": "SELECT revoked_at, (SELECT COALESCE(MAX(seq), 0) FROM ledger_events) "
    "FROM api_tokens WHERE id = ?",
    "postgresql": "SELECT revoked_at, (SELECT COALESCE(MAX(seq), 0) FROM ledger_events) "
    "FROM api_tokens WHERE id = %s",
}


def token_and_head(conn: Connection, token_id: str) -> tuple[bool, int] | None:
    """``(revoked?, ledger head seq)`` of a token in one statement, or ``None`` when the
    token is unknown: what a server checks on every API call, so it speaks to the driver
    directly, as ``token_state`` does."""
    row = _raw_row(conn, _TOKEN_AND_HEAD_SQL, token_id)
    return None if row is None else (row[0] is not None, int(row[1]))


def _raw_row(conn: Connection, sql: dict[str, str], token_id: str) -> Any:
    """The one row of ``sql`` (by dialect) for ``token_id``, through the driver's cursor."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql[conn.dialect.name], (token_id,))
        return cursor.fetchone()
    finally:
        cursor.close()
