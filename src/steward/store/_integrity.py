"""Integrity reads beyond the ledger rows: the database triggers the migrations install, the
ledger head's frontier, and ranges of leaf hashes.

The triggers that make records append-only or immutable are defence in depth (verification
never relies on them), but one that is missing, disabled or rewritten means someone with
database access weakened the store, so ``audit verify`` reports it. The expected definitions
are spelled out below, as the migrations spell them (a test compares them with a freshly
migrated store on both backends); introspection reads ``sqlite_master`` on SQLite and
``pg_trigger``/``pg_proc`` on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from steward.domain import TreeHead
from steward.errors import Unavailable
from steward.store._reader import Reader
from steward.store._store import Store

__all__ = [
    "EXPECTED_TRIGGERS",
    "HeadState",
    "TriggerCheck",
    "check_triggers",
    "leaf_hashes_between",
    "read_head_state",
    "stored_frontier",
]


def _immutable_sqlite(table: str) -> dict[str, tuple[str, str]]:
    return {
        f"{table}_no_{op.lower()}": (
            table,
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} BEGIN SELECT "
            f"RAISE(ABORT, '{table} rows are immutable: {op} refused'); END",
        )
        for op in ("UPDATE", "DELETE")
    }


_FROZEN = "model_id, version, run_id, artifact, record, created_at, created_by, content_hash"

# name -> (table, the CREATE TRIGGER statement as the migrations issue it)
_SQLITE: dict[str, tuple[str, str]] = {
    **{
        f"ledger_events_no_{op.lower()}": (
            "ledger_events",
            f"CREATE TRIGGER ledger_events_no_{op.lower()} BEFORE {op} ON ledger_events BEGIN "
            f"SELECT RAISE(ABORT, 'the audit ledger is append-only: {op} refused'); END",
        )
        for op in ("UPDATE", "DELETE")
    },
    **_immutable_sqlite("dataset_versions"),
    **_immutable_sqlite("evidence"),
    "runs_sealed": (
        "runs",
        "CREATE TRIGGER runs_sealed BEFORE UPDATE ON runs WHEN OLD.status <> 'running' BEGIN "
        "SELECT RAISE(ABORT, 'runs rows are immutable once finished: UPDATE refused'); END",
    ),
    "runs_no_delete": (
        "runs",
        "CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs BEGIN SELECT RAISE(ABORT, "
        "'runs rows are immutable: DELETE refused'); END",
    ),
    **_immutable_sqlite("run_metrics"),
    "model_versions_frozen": (
        "model_versions",
        f"CREATE TRIGGER model_versions_frozen BEFORE UPDATE OF {_FROZEN} ON model_versions "
        "BEGIN SELECT RAISE(ABORT, 'model_versions rows are immutable but for their stage: "
        "UPDATE refused'); END",
    ),
    "model_versions_no_delete": (
        "model_versions",
        "CREATE TRIGGER model_versions_no_delete BEFORE DELETE ON model_versions BEGIN SELECT "
        "RAISE(ABORT, 'model_versions rows are immutable: DELETE refused'); END",
    ),
    **_immutable_sqlite("policies"),
    **_immutable_sqlite("approvals"),
    **_immutable_sqlite("waivers"),
    **_immutable_sqlite("comments"),
    **_immutable_sqlite("deployments"),
    **_immutable_sqlite("monitors"),
    **_immutable_sqlite("alert_states"),
}

_PG_FUNCTIONS = {
    "steward_ledger_append_only": (
        "BEGIN RAISE EXCEPTION 'the audit ledger is append-only: % refused', TG_OP; END"
    ),
    "steward_immutable_row": (
        "BEGIN RAISE EXCEPTION '% rows are immutable: % refused', TG_TABLE_NAME, TG_OP; END"
    ),
    "steward_sealed_run": (
        "BEGIN IF TG_OP = 'DELETE' OR OLD.status <> 'running' THEN RAISE EXCEPTION 'runs rows "
        "are immutable once finished: % refused', TG_OP; END IF; RETURN NEW; END"
    ),
}


_APPEND_ONLY = "steward_ledger_append_only"


def _pg(
    name: str, table: str, when: str, function: str = "steward_immutable_row", each: str = "ROW"
) -> dict[str, tuple[str, str]]:
    definition = (
        f"CREATE TRIGGER {name} BEFORE {when} ON {table} FOR EACH {each} "
        f"EXECUTE FUNCTION {function}()"
    )
    return {name: (table, definition)}


def _immutable_pg(table: str) -> dict[str, tuple[str, str]]:
    return {
        **_pg(f"{table}_no_update", table, "UPDATE"),
        **_pg(f"{table}_no_delete", table, "DELETE"),
    }


# name -> (table, the definition as pg_get_triggerdef prints it, schema names left out)
_POSTGRESQL: dict[str, tuple[str, str]] = {
    **_pg("ledger_events_append_only", "ledger_events", "DELETE OR UPDATE", _APPEND_ONLY),
    **_pg("ledger_events_no_truncate", "ledger_events", "TRUNCATE", _APPEND_ONLY, "STATEMENT"),
    **_pg("dataset_versions_immutable", "dataset_versions", "DELETE OR UPDATE"),
    **_pg("evidence_immutable", "evidence", "DELETE OR UPDATE"),
    **_pg("runs_sealed", "runs", "DELETE OR UPDATE", "steward_sealed_run"),
    **_pg("run_metrics_immutable", "run_metrics", "DELETE OR UPDATE"),
    **_pg("model_versions_frozen", "model_versions", f"UPDATE OF {_FROZEN}"),
    **_pg("model_versions_no_delete", "model_versions", "DELETE"),
    **_immutable_pg("policies"),
    **_immutable_pg("approvals"),
    **_immutable_pg("waivers"),
    **_immutable_pg("comments"),
    **_immutable_pg("deployments"),
    **_immutable_pg("monitors"),
    **_immutable_pg("alert_states"),
}

# What a store at this Steward's schema head must hold, per backend, in migration order.
EXPECTED_TRIGGERS: dict[str, dict[str, tuple[str, str]]] = {
    "sqlite": _SQLITE,
    "postgresql": _POSTGRESQL,
}

_SPACE = re.compile(r"\s+")
# pg_get_triggerdef qualifies the table (and a function off the search path) with its schema
_QUALIFIED = re.compile(r"(?<=\bON )\w+\.|(?<=\bFUNCTION )\w+\.")


def _normal(sql: str) -> str:
    return _SPACE.sub(" ", sql).strip().rstrip(";").strip()


@dataclass(frozen=True, slots=True)
class TriggerCheck:
    """``checked`` triggers were compared; ``problem`` names the first one that is wrong."""

    checked: int
    problem: str | None = None
    trigger: str | None = None


def check_triggers(reader: Reader) -> TriggerCheck:
    """Compare the store's guard triggers with the ones its migrations install.

    Reports the first (in migration order) that is missing (dropped), disabled, or whose
    definition or function differs from the migration's (rewritten). Triggers Steward does not
    know are ignored: an operator may add their own.
    """
    conn = reader._conn
    expected = EXPECTED_TRIGGERS[conn.dialect.name]
    if conn.dialect.name == "postgresql":
        return _check_postgresql(conn, expected)
    found = {
        name: (table, sql or "")
        for name, table, sql in conn.exec_driver_sql(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
        )
    }
    checked = 0
    for name, (table, sql) in expected.items():
        checked += 1
        if name not in found:
            return _missing(checked, name, table)
        if found[name][0] != table or _normal(found[name][1]) != _normal(sql):
            return _rewritten(checked, name, table)
    return TriggerCheck(checked)


def _check_postgresql(conn: Connection, expected: dict[str, tuple[str, str]]) -> TriggerCheck:
    rows = conn.execute(
        text(
            "SELECT t.tgname, c.relname, t.tgenabled, pg_get_triggerdef(t.oid), p.proname, "
            "p.prosrc FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE NOT t.tgisinternal AND pg_table_is_visible(c.oid)"
        )
    ).all()
    found = {row[0]: row for row in rows}
    checked = 0
    for name, (table, definition) in expected.items():
        checked += 1
        row = found.get(name)
        if row is None:
            return _missing(checked, name, table)
        _, relname, enabled, actual, function, source = row
        # 'O' fires in normal sessions, 'A' always; 'D' is disabled, 'R' fires only on replicas
        if enabled not in ("O", "A"):
            return TriggerCheck(
                checked,
                f"database trigger {name} on {table} is disabled (ALTER TABLE … DISABLE "
                "TRIGGER): the table is no longer guarded in the database",
                name,
            )
        if relname != table or _normal(_QUALIFIED.sub("", actual)) != _normal(definition):
            return _rewritten(checked, name, table)
        if _normal(source) != _normal(_PG_FUNCTIONS.get(function, "")):
            return TriggerCheck(
                checked,
                f"database trigger {name} on {table} runs function {function}, whose body "
                "differs from the migration's (replaced): the table is no longer guarded in "
                "the database",
                name,
            )
    return TriggerCheck(checked)


def _missing(checked: int, name: str, table: str) -> TriggerCheck:
    return TriggerCheck(
        checked,
        f"database trigger {name} on {table} is missing (dropped): the table is no longer "
        "guarded in the database",
        name,
    )


def _rewritten(checked: int, name: str, table: str) -> TriggerCheck:
    return TriggerCheck(
        checked,
        f"database trigger {name} on {table} differs from the migration's definition "
        "(rewritten): the table is no longer guarded as installed",
        name,
    )


# Read on every open and close of the application, so straight to the driver: compiling a
# SQLAlchemy select on a fresh engine costs more than the query (see _ledger_rows.py).
_HEAD = "SELECT tree_size, root_hash, frontier, timestamp, key_id, signature FROM ledger_head"
_LEAVES = "SELECT leaf_hash FROM ledger_events WHERE seq > {p} AND seq <= {p} ORDER BY seq"


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _head_row(conn: Connection) -> tuple[TreeHead | None, bytes]:
    cursor = conn.connection.cursor()
    try:
        cursor.execute(_HEAD + " WHERE id = 1")
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:
        return None, b""
    size, root, frontier, timestamp, key_id, signature = row
    if size == 0 and signature is None:
        return None, bytes(frontier)
    head = TreeHead(
        size=int(size),
        root_hash=bytes(root),
        timestamp=timestamp or "",
        key_id=key_id or "",
        signature=bytes(signature or b""),
    )
    return head, bytes(frontier)


def stored_frontier(reader: Reader) -> tuple[int, bytes]:
    """The ledger head row's ``(tree_size, frontier bytes)``, as stored (unchecked)."""
    head, frontier = _head_row(reader._conn)
    return (head.size if head else 0), frontier


def leaf_hashes_between(reader: Reader, after: int, up_to: int) -> list[bytes]:
    """Recorded leaf hashes of events ``after + 1 .. up_to``, in order (fewer if some are
    missing: the caller compares the count)."""
    conn = reader._conn
    cursor = conn.connection.cursor()
    try:
        cursor.execute(_LEAVES.format(p=_mark(conn)), (after, up_to))
        return [bytes(leaf) for (leaf,) in cursor.fetchall()]
    finally:
        cursor.close()


@dataclass(frozen=True, slots=True)
class HeadState:
    """The signed head, its stored frontier, and the leaves after a given position, read in
    one snapshot."""

    head: TreeHead | None
    frontier: bytes
    leaves: list[bytes]


@contextmanager
def _reachable(store: Store) -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        where = store.engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        raise Unavailable(f"cannot read the ledger head at {where}: {reason}") from None


def read_head_state(store: Store, *, leaves_after: int | None = None) -> HeadState:
    """One read transaction: the signed head, its frontier, and (when ``leaves_after`` is
    given) the leaf hashes after that position up to the head. A database failure is
    ``Unavailable``."""
    with _reachable(store), store.read() as reader:
        head, frontier = _head_row(reader._conn)
        leaves: list[bytes] = []
        if head is not None and leaves_after is not None and head.size > leaves_after:
            leaves = leaf_hashes_between(reader, leaves_after, head.size)
        return HeadState(head, frontier, leaves)
