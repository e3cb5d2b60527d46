"""The tuning journal: per-study logs appended in order, read from a position on."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from steward.ledger import canonical_bytes
from steward.store._schema import tuning_journal

__all__ = ["append_logs", "read_logs"]


# Optuna reads the journal before nearly every operation, so the read speaks to the driver
# directly (as the ledger append does); the statement matches ``tuning_journal``.
_READ_SQL = {
    "sqlite": "SELECT log FROM tuning_journal WHERE study = ? AND seq >= ? ORDER BY seq",
    "postgresql": "SELECT log FROM tuning_journal WHERE study = %s AND seq >= %s ORDER BY seq",
}


def read_logs(conn: Connection, study: str, start: int) -> list[dict[str, Any]]:
    cursor = conn.connection.cursor()
    try:
        cursor.execute(_READ_SQL[conn.dialect.name], (study, start))
        return [json.loads(log) for (log,) in cursor.fetchall()]
    finally:
        cursor.close()


def append_logs(conn: Connection, study: str, logs: list[dict[str, Any]]) -> None:
    """Append after the study's last log. Appends to one study are serialized (SQLite: the
    write transaction's database lock; PostgreSQL: a transaction-scoped advisory lock), so
    numbers are taken in commit order and a reader never sees a gap that fills in later."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:study))"), {"study": study})
    last = conn.execute(
        select(func.max(tuning_journal.c.seq)).where(tuning_journal.c.study == study)
    ).scalar()
    first = 0 if last is None else int(last) + 1
    conn.execute(
        insert(tuning_journal),
        [
            {"study": study, "seq": first + i, "log": canonical_bytes(log).decode("utf-8")}
            for i, log in enumerate(logs)
        ],
    )
