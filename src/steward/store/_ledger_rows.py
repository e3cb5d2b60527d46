"""Ledger rows: the one function that appends an event, and the queries that read them.

``append_event`` is called by :meth:`Transaction.record` only; it runs inside the caller's
write transaction, so an event and the state change it describes commit or vanish together.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Row, func, select

from steward.domain import LedgerEvent, TreeHead
from steward.errors import InvalidInput, LedgerTampered
from steward.ledger import EVENT_VERSION, EventRow, Frontier, Signer, canonical_bytes, leaf_hash
from steward.store._schema import ledger_events, ledger_head

__all__ = [
    "append_event",
    "count_events",
    "event_by_seq",
    "event_types_between",
    "events_about",
    "events_of_types",
    "iter_event_rows",
    "leaf_hashes",
    "read_head",
    "recent_events",
]


# The append path runs once per state change, so it speaks to the driver directly: building
# SQLAlchemy statements cost several times the SQL itself (see docs/benchmarks.md). The
# statements match the tables in _schema.py; the qmark and format styles are the two drivers'.
_APPEND_SQL = {
    "sqlite": (
        "SELECT tree_size, frontier, mac FROM ledger_head WHERE id = 1",
        "INSERT INTO ledger_events (seq, ts, type, actor, subject, body, leaf_hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        "UPDATE ledger_head SET tree_size = ?, root_hash = ?, frontier = ?, timestamp = ?, "
        "key_id = ?, signature = ?, mac = ? WHERE id = 1",
    ),
    "postgresql": (
        "SELECT tree_size, frontier, mac FROM ledger_head WHERE id = 1 FOR UPDATE",
        "INSERT INTO ledger_events (seq, ts, type, actor, subject, body, leaf_hash) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        "UPDATE ledger_head SET tree_size = %s, root_hash = %s, frontier = %s, timestamp = %s, "
        "key_id = %s, signature = %s, mac = %s WHERE id = 1",
    ),
}


def append_event(
    conn: Connection,
    signer: Signer,
    *,
    ts: str,
    type_: str,
    actor: str,
    subject: str | None,
    payload: dict[str, Any],
) -> LedgerEvent:
    """Append one event and re-sign the tree head, under the head row's lock."""
    select_head, insert_event, update_head = _APPEND_SQL[conn.dialect.name]
    # The DBAPI cursor of the caller's connection: same transaction, no per-statement
    # SQLAlchemy execution context (which costs more than the statement on SQLite).
    cursor = conn.connection.cursor()
    cursor.execute(select_head)
    head = cursor.fetchone()
    if head is None:
        raise LedgerTampered("the ledger head row is missing: run `steward audit verify`")
    size, frontier_bytes, mac = head
    frontier_bytes = bytes(frontier_bytes)
    # Only a holder of the signing key can have written this head: refuse one rewritten by
    # anyone else, so that a forged history is never extended and re-signed.
    if size and not (
        mac and hmac.compare_digest(bytes(mac), signer.head_mac(size, frontier_bytes))
    ):
        raise LedgerTampered(
            "the ledger head was changed outside Steward: refusing to append; "
            "run `steward audit verify`"
        )
    try:
        frontier = Frontier.from_bytes(size, frontier_bytes)
    except ValueError:
        raise LedgerTampered(
            "the ledger head is damaged (its frontier does not fit its size): refusing to "
            "append; run `steward audit verify`"
        ) from None
    seq = size + 1
    try:
        body = canonical_bytes(
            {
                "actor": actor,
                "payload": payload,
                "seq": seq,
                "subject": subject,
                "ts": ts,
                "type": type_,
                "v": EVENT_VERSION,
            }
        )
    except ValueError as exc:
        raise InvalidInput(f"event {type_} cannot be recorded: {exc}") from exc
    leaf = leaf_hash(body)
    frontier.append(leaf)
    signed = signer.sign_tree_head(frontier.size, frontier.root(), ts)
    text_body = body.decode("utf-8")
    duplicate: type[Exception] = getattr(conn.dialect.dbapi, "IntegrityError", Exception)
    try:
        cursor.execute(insert_event, (seq, ts, type_, actor, subject, text_body, leaf))
    except duplicate as exc:
        # A row already holds the next number: it was written outside Steward (the signed
        # head does not cover it). Refuse, as for a rewritten head.
        raise LedgerTampered(
            f"the ledger already holds an event {seq} that its signed head (size {size}) does "
            "not cover: it was written outside Steward; refusing to append; run "
            "`steward audit verify`"
        ) from exc
    new_frontier = frontier.to_bytes()
    cursor.execute(
        update_head,
        (
            signed.size,
            signed.root_hash,
            new_frontier,
            signed.timestamp,
            signed.key_id,
            signed.signature,
            signer.head_mac(signed.size, new_frontier),
        ),
    )
    cursor.close()
    return LedgerEvent(seq, ts, type_, actor, subject, payload, text_body, leaf)


def read_head(conn: Connection) -> TreeHead | None:
    """The latest signed tree head, or ``None`` while the ledger is empty."""
    row = conn.execute(select(ledger_head).where(ledger_head.c.id == 1)).one_or_none()
    if row is None or (row.tree_size == 0 and row.signature is None):
        return None
    return TreeHead(
        size=row.tree_size,
        root_hash=bytes(row.root_hash),
        timestamp=row.timestamp or "",
        key_id=row.key_id or "",
        signature=bytes(row.signature or b""),
    )


_ROW_COLUMNS = (
    ledger_events.c.seq,
    ledger_events.c.ts,
    ledger_events.c.type,
    ledger_events.c.actor,
    ledger_events.c.subject,
    ledger_events.c.body,
    ledger_events.c.leaf_hash,
)


def iter_event_rows(conn: Connection, batch: int = 10_000) -> Iterator[EventRow]:
    """Every event row in sequence order, streamed in batches by keyset pagination.

    Read through the DBAPI cursor of ``conn`` (same transaction and snapshot): verification
    reads every row, and SQLAlchemy's per-row result processing would double its cost.
    """
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    # Only the driver's placeholder and an int are interpolated; values go as parameters.
    query = (
        "SELECT seq, ts, type, actor, subject, body, leaf_hash FROM ledger_events "  # noqa: S608
        f"WHERE seq > {mark} ORDER BY seq LIMIT {int(batch)}"
    )
    cursor = conn.connection.cursor()
    try:
        last = 0
        while True:
            cursor.execute(query, (last,))
            rows = cursor.fetchall()
            for seq, ts, type_, actor, subject, body, leaf in rows:
                yield (seq, ts, type_, actor, subject, body, bytes(leaf))
            if len(rows) < batch:
                return
            last = rows[-1][0]
    finally:
        cursor.close()


def _to_event(row: Row[Any]) -> LedgerEvent:
    payload = json.loads(row.body).get("payload", {})
    return LedgerEvent(
        seq=row.seq,
        ts=row.ts,
        type=row.type,
        actor=row.actor,
        subject=row.subject,
        payload=payload if isinstance(payload, dict) else {"value": payload},
        body=row.body,
        leaf_hash=bytes(row.leaf_hash),
    )


def recent_events(
    conn: Connection,
    *,
    limit: int,
    type_: str | None = None,
    subject: str | None = None,
) -> list[LedgerEvent]:
    """The newest ``limit`` events (optionally of one type or subject), oldest first."""
    query = select(ledger_events)
    if type_ is not None:
        query = query.where(ledger_events.c.type == type_)
    if subject is not None:
        query = query.where(ledger_events.c.subject == subject)
    rows = conn.execute(query.order_by(ledger_events.c.seq.desc()).limit(limit)).all()
    return [_to_event(row) for row in reversed(rows)]


def events_of_types(conn: Connection, types: tuple[str, ...]) -> list[LedgerEvent]:
    """Every event of the given types, in sequence order."""
    rows = conn.execute(
        select(ledger_events).where(ledger_events.c.type.in_(types)).order_by(ledger_events.c.seq)
    ).all()
    return [_to_event(row) for row in rows]


def event_types_between(conn: Connection, after: int, up_to: int) -> set[str]:
    """The types of events ``after`` < seq <= ``up_to`` (the primary key's range)."""
    rows = conn.execute(
        select(ledger_events.c.type)
        .distinct()
        .where(ledger_events.c.seq > after, ledger_events.c.seq <= up_to)
    ).all()
    return {row.type for row in rows}


def event_by_seq(conn: Connection, seq: int) -> LedgerEvent | None:
    row = conn.execute(select(ledger_events).where(ledger_events.c.seq == seq)).one_or_none()
    return None if row is None else _to_event(row)


def leaf_hashes(conn: Connection, up_to: int) -> list[bytes]:
    """Recorded leaf hashes of events 1..``up_to``, in order."""
    rows = conn.execute(
        select(ledger_events.c.leaf_hash)
        .where(ledger_events.c.seq <= up_to)
        .order_by(ledger_events.c.seq)
    ).scalars()
    return [bytes(value) for value in rows]


def count_events(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(ledger_events)).scalar_one())


def events_about(conn: Connection, subject: str, types: tuple[str, ...]) -> list[LedgerEvent]:
    """Events of the given types about ``subject``, in sequence order (indexed by subject)."""
    rows = conn.execute(
        select(ledger_events)
        .where(ledger_events.c.subject == subject, ledger_events.c.type.in_(types))
        .order_by(ledger_events.c.seq)
    ).all()
    return [_to_event(row) for row in rows]
