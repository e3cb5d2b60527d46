"""Ledger benchmark: append and verify rates of the audit ledger, by hand.

Appends ``--events`` (default 100,000) events, one per write transaction, through the real
path (``Store.write`` + ``Writer.record``) on a freshly migrated store, then verifies the
whole ledger the way ``AuditService.verify`` does, and times the home's witness (the latest
signed tree head it has seen, checked when the application opens and advanced when it
closes; never on an append). Next to Steward's append rate it measures
a baseline: the same number of rows written by the bare driver (stdlib ``sqlite3`` or
``psycopg``), one transaction per event, with the same statements (read the head row, insert
the event, update the head) on tables of the same shape and indexes, but no hashing, no
signing and no SQLAlchemy. The ratio of the two is Steward's overhead over the SQL it needs.

SQLite runs with the store's own settings (WAL, ``synchronous=NORMAL``). PostgreSQL runs
when ``--pg-url`` is given: a fresh database is created on that server and dropped at the
end. Use a durable server (``fsync=on``, ``synchronous_commit=on``) for meaningful numbers;
the settings in force are printed with the results.

    .venv/bin/python benchmarks/ledger.py [--events N] [--pg-url URL] [--json] [--profile]
        [--smoke]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from _harness import arguments, report
from _harness import machine as harness_machine
from steward.domain import EventType
from steward.ledger import EventRow, Frontier, Signer, generate_key_file, verify_ledger
from steward.services.audit._service import _leaves_after
from steward.services.audit._witness import Witness
from steward.store import Store, leaf_hashes_between, make_engine, migrate
from steward.types import SystemClock

DEFAULT_EVENTS = 100_000
ACTOR = "admin"
PROGRESS_EVERY = 500
ROLES = ("data-scientist", "ml-engineer", "reviewer", "viewer")

err_console = Console(stderr=True)


# --------------------------------------------------------------------------- events


def event_for(i: int) -> tuple[EventType, str, dict[str, Any]]:
    """A realistic small event (body of about 200 bytes), varying with ``i``."""
    user = f"bench-user-{i:07d}"
    token_id = f"tok{(i * 2654435761) % 16**13:013x}"
    kind = i % 3
    if kind == 0:
        return (
            EventType.USER_CREATED,
            f"user:{user}",
            {"user": user, "roles": [ROLES[i % 4], ROLES[(i + 1) % 4]], "token_id": token_id},
        )
    if kind == 1:
        return EventType.TOKEN_ISSUED, f"user:{user}", {"user": user, "token_id": token_id}
    return (
        EventType.TOKEN_REVOKED,
        f"user:{user}",
        {"user": user, "token_id": token_id, "reason": "rotated by the benchmark"},
    )


def baseline_body(seq: int, ts: str) -> tuple[str, str, str]:
    """``(type, subject, body)``: a body of about Steward's size, formatted without encoding."""
    type_, subject, payload = event_for(seq)
    body = (
        f'{{"actor":"{ACTOR}","payload":{{"user":"{payload["user"]}","token_id":"tok0000000000000",'
        f'"roles":["data-scientist","viewer"]}},"seq":{seq},"subject":"{subject}",'
        f'"ts":"{ts}","type":"{type_.value}","v":1}}'
    )
    return type_.value, subject, body


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


# --------------------------------------------------------------------------- results


@dataclass
class BackendResult:
    backend: str
    events: int
    append_seconds: float
    append_rate: float
    baseline_seconds: float
    baseline_rate: float
    baseline_ratio: float  # baseline rate / Steward rate: how many times slower Steward is
    mean_body_bytes: float
    baseline_mean_body_bytes: float
    read_seconds: float
    read_rate: float
    verify_seconds: float
    verify_rate: float
    verify_in_memory_seconds: float
    verify_in_memory_rate: float
    witness: dict[str, float] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


# --------------------------------------------------------------------------- progress


def make_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>12}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    )


class Ticker:
    """Advances a progress task every ``PROGRESS_EVERY`` steps (cheap inside timed loops)."""

    def __init__(self, progress: Progress, description: str, total: int) -> None:
        self._progress = progress
        self._task: TaskID = progress.add_task(description, total=total, rate="")
        self._start = time.perf_counter()
        self._done = 0

    def tick(self, done: int) -> None:
        if done % PROGRESS_EVERY == 0:
            self.update(done)

    def update(self, done: int) -> None:
        self._done = done
        elapsed = time.perf_counter() - self._start
        shown = f"{rate(done, elapsed):,.0f}/s" if elapsed > 0 else ""
        self._progress.update(self._task, completed=done, rate=shown)


def counted(rows: Iterable[EventRow], ticker: Ticker) -> Iterator[EventRow]:
    done = 0
    for row in rows:
        done += 1
        if done % PROGRESS_EVERY == 0:
            ticker.update(done)
        yield row
    ticker.update(done)


# --------------------------------------------------------------------------- profiling


@contextmanager
def maybe_profile(enabled: bool, label: str) -> Iterator[None]:
    if not enabled:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        for sort in ("tottime", "cumulative"):
            buffer = io.StringIO()
            pstats.Stats(profiler, stream=buffer).sort_stats(sort).print_stats(25)
            err_console.print(f"\n[bold]cProfile: {label} (by {sort})[/bold]")
            err_console.out(buffer.getvalue(), highlight=False)


# --------------------------------------------------------------------------- Steward


def steward_append(
    url: str, signer: Signer, events: int, progress: Progress, profile: bool
) -> tuple[float, float]:
    """Append ``events`` events, one per transaction; return ``(seconds, mean body bytes)``."""
    store = Store.open(url, signer=lambda: signer, clock=SystemClock())
    ticker = Ticker(progress, f"Steward append ({store.dialect})", events)
    body_bytes = 0
    try:
        with maybe_profile(profile, f"Steward append ({store.dialect})"):
            start = time.perf_counter()
            for i in range(1, events + 1):
                type_, subject, payload = event_for(i)
                with store.write(ACTOR) as tx:
                    event = tx.record(type_, subject=subject, payload=payload)
                body_bytes += len(event.body)
                ticker.tick(i)
            seconds = time.perf_counter() - start
        ticker.update(events)
    finally:
        store.close()
    return seconds, body_bytes / events


def steward_verify(
    url: str, signer: Signer, events: int, progress: Progress, profile: bool
) -> tuple[float, float, float]:
    """Time reading the rows, the full verification, and verification of rows in memory."""
    store = Store.open(url, clock=SystemClock())
    try:
        ticker = Ticker(progress, f"read rows ({store.dialect})", events)
        start = time.perf_counter()
        with store.read() as reader:
            count = sum(1 for _ in counted(reader.event_rows(), ticker))
        read_seconds = time.perf_counter() - start
        if count != events:
            raise RuntimeError(f"read {count} rows, expected {events}")

        ticker = Ticker(progress, f"verify ledger ({store.dialect})", events)
        with maybe_profile(profile, f"verify ({store.dialect})"):
            start = time.perf_counter()
            with store.read() as reader:
                head = reader.head()
                result = verify_ledger(
                    counted(reader.event_rows(), ticker), head, signer.public_key
                )
            verify_seconds = time.perf_counter() - start
        check(result.ok and result.events_checked == events, f"verification failed: {result}")

        with store.read() as reader:
            head = reader.head()
            rows = list(reader.event_rows())
        start = time.perf_counter()
        result = verify_ledger(rows, head, signer.public_key)
        in_memory_seconds = time.perf_counter() - start
        check(result.ok, f"verification (in memory) failed: {result}")
    finally:
        store.close()
    return read_seconds, verify_seconds, in_memory_seconds


def steward_witness(url: str, signer: Signer, events: int, folder: Path) -> dict[str, float]:
    """Seconds of the witness's operations on the full ledger: the check ``Application.open``
    and the first write run (nothing new, and half the ledger appended since the witness),
    advancing it at close (extension, signature check, atomic write with fsync), witnessing a
    ledger for the first time, and what watching the tail adds to a full verification."""
    store = Store.open(url, clock=SystemClock())
    timings: dict[str, float] = {}
    try:
        half = events // 2
        with store.read() as reader:
            head = reader.head()
            leaves = leaf_hashes_between(reader, 0, half)
        assert head is not None
        frontier = Frontier()
        for leaf in leaves:
            frontier.append(leaf)
        half_head = signer.sign_tree_head(half, frontier.root(), now_iso())
        witness = Witness(folder / "witness.json")
        witness.record(half_head, frontier, now_iso())

        def timed(name: str, action: Callable[[], object], repeat: int = 1) -> None:
            start = time.perf_counter()
            for _ in range(repeat):
                action()
            timings[name] = (time.perf_counter() - start) / repeat

        timed("check, half the ledger appended since", lambda: witness.check(store))
        timed(
            "advance over half the ledger (at close)",
            lambda: witness.advance(store, lambda: signer.public_key, now_iso),
        )
        timed("check, nothing appended since (open)", lambda: witness.check(store), repeat=50)
        first = Witness(folder / "first.json")
        timed(
            "advance, first witness (init)",
            lambda: first.advance(store, lambda: signer.public_key, now_iso),
        )
        for name, after in (("verify rows, plain", None), ("verify rows, tail kept", half)):
            with store.read() as reader:
                rows = list(reader.event_rows())
            tail: list[bytes] = []
            start = time.perf_counter()
            source = rows if after is None else _leaves_after(rows, after, tail)
            check(verify_ledger(source, head, signer.public_key).ok, "verification failed")
            timings[name] = time.perf_counter() - start
    finally:
        store.close()
    return timings


def check(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(message)


# --------------------------------------------------------------------------- baselines

_HEAD_SELECT = "SELECT tree_size, frontier, root_hash FROM baseline_head WHERE id = 1"
_EVENT_INSERT = (
    "INSERT INTO baseline_events (seq, ts, type, actor, subject, body, leaf_hash) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})"
)
_HEAD_UPDATE = (
    "UPDATE baseline_head SET tree_size = {p}, root_hash = {p}, frontier = {p}, "
    "timestamp = {p}, key_id = {p}, signature = {p} WHERE id = 1"
)
_KEY_ID = "ab" * 32
_SIGNATURE = bytes(64)


def _baseline_schema(seq_type: str, blob: str) -> list[str]:
    return [
        f"CREATE TABLE baseline_events (seq {seq_type} PRIMARY KEY, ts VARCHAR(32) NOT NULL, "
        "type VARCHAR(64) NOT NULL, actor VARCHAR(63) NOT NULL, subject VARCHAR(255), "
        f"body TEXT NOT NULL, leaf_hash {blob} NOT NULL)",
        "CREATE INDEX ix_baseline_events_type ON baseline_events (type)",
        "CREATE INDEX ix_baseline_events_subject ON baseline_events (subject)",
        f"CREATE TABLE baseline_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
        f"tree_size {seq_type} NOT NULL, root_hash {blob} NOT NULL, frontier {blob} NOT NULL, "
        f"timestamp VARCHAR(32), key_id VARCHAR(64), signature {blob})",
    ]


def _baseline_row(seq: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    ts = now_iso()
    type_, subject, body = baseline_body(seq, ts)
    leaf = seq.to_bytes(32, "big")
    event = (seq, ts, type_, ACTOR, subject, body, leaf)
    head = (seq, leaf, bytes(32 * seq.bit_count()), ts, _KEY_ID, _SIGNATURE)
    return event, head


def sqlite_baseline(path: Path, events: int, progress: Progress) -> tuple[float, float]:
    """Seconds for ``events`` bare-driver appends, and their mean body size in bytes."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for statement in _baseline_schema("INTEGER", "BLOB"):
            conn.execute(statement)
        conn.execute(
            "INSERT INTO baseline_head (id, tree_size, root_hash, frontier) VALUES (1, 0, ?, ?)",
            (bytes(32), b""),
        )
        insert, update = _EVENT_INSERT.format(p="?"), _HEAD_UPDATE.format(p="?")
        ticker = Ticker(progress, "baseline sqlite3", events)
        body_bytes = 0
        start = time.perf_counter()
        for seq in range(1, events + 1):
            event, head = _baseline_row(seq)
            body_bytes += len(event[5])
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_HEAD_SELECT).fetchone()
            conn.execute(insert, event)
            conn.execute(update, head)
            conn.execute("COMMIT")
            ticker.tick(seq)
        seconds = time.perf_counter() - start
        ticker.update(events)
    finally:
        conn.close()
    return seconds, body_bytes / events


def pg_baseline(conninfo: str, events: int, progress: Progress) -> tuple[float, float]:
    """Seconds for ``events`` bare-driver appends, and their mean body size in bytes."""
    with psycopg.connect(conninfo) as conn:
        with conn.transaction():
            for statement in _baseline_schema("BIGINT", "BYTEA"):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO baseline_head (id, tree_size, root_hash, frontier) "
                "VALUES (1, 0, %s, %s)",
                (bytes(32), b""),
            )
        insert, update = _EVENT_INSERT.format(p="%s"), _HEAD_UPDATE.format(p="%s")
        select = _HEAD_SELECT + " FOR UPDATE"
        ticker = Ticker(progress, "baseline psycopg", events)
        body_bytes = 0
        start = time.perf_counter()
        for seq in range(1, events + 1):
            event, head = _baseline_row(seq)
            body_bytes += len(event[5])
            with conn.transaction():
                conn.execute(select).fetchone()
                conn.execute(insert, event)
                conn.execute(update, head)
            ticker.tick(seq)
        seconds = time.perf_counter() - start
        ticker.update(events)
    return seconds, body_bytes / events


# --------------------------------------------------------------------------- backends


def run_backend(
    backend: str,
    url: str,
    signer: Signer,
    events: int,
    baseline: Callable[[Progress], tuple[float, float]],
    settings: dict[str, str],
    profile: bool,
    folder: Path,
) -> BackendResult:
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    with make_progress() as progress:
        append_seconds, body = steward_append(url, signer, events, progress, profile)
        read_s, verify_s, memory_s = steward_verify(url, signer, events, progress, profile)
        witness = steward_witness(url, signer, events, folder)
        baseline_seconds, baseline_body_bytes = baseline(progress)
    append_rate = rate(events, append_seconds)
    baseline_rate = rate(events, baseline_seconds)
    return BackendResult(
        backend=backend,
        events=events,
        append_seconds=append_seconds,
        append_rate=append_rate,
        baseline_seconds=baseline_seconds,
        baseline_rate=baseline_rate,
        baseline_ratio=baseline_rate / append_rate,
        mean_body_bytes=body,
        baseline_mean_body_bytes=baseline_body_bytes,
        read_seconds=read_s,
        read_rate=rate(events, read_s),
        verify_seconds=verify_s,
        verify_rate=rate(events, verify_s),
        verify_in_memory_seconds=memory_s,
        verify_in_memory_rate=rate(events, memory_s),
        witness=witness,
        settings=settings,
    )


def sqlite_settings(url: str) -> dict[str, str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    finally:
        engine.dispose()
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return {
        "sqlite_version": sqlite3.sqlite_version,
        "journal_mode": str(journal),
        "synchronous": names.get(int(synchronous or 0), str(synchronous)),
    }


def run_sqlite(events: int, profile: bool) -> BackendResult:
    with tempfile.TemporaryDirectory(prefix="steward-bench-") as tmp:
        folder = Path(tmp)
        signer = generate_key_file(folder / "keys" / "ledger.pem")
        url = f"sqlite:///{folder / 'steward.db'}"
        settings = sqlite_settings(url)
        return run_backend(
            "sqlite",
            url,
            signer,
            events,
            lambda progress: sqlite_baseline(folder / "baseline.db", events, progress),
            settings,
            profile,
            folder,
        )


def run_postgres(pg_url: str, events: int, profile: bool) -> BackendResult:
    name = f"steward_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            settings = {
                key: str(conn.execute(text(f"SHOW {key}")).scalar()).split(" ")[0]
                for key in ("server_version", "fsync", "synchronous_commit", "wal_sync_method")
            }
        if settings["fsync"] != "on" or settings["synchronous_commit"] != "on":
            err_console.print(
                "[bold red]warning:[/] this PostgreSQL server is not durable "
                f"(fsync={settings['fsync']}, synchronous_commit="
                f"{settings['synchronous_commit']}): its numbers are not meaningful"
            )
        url = make_url(pg_url).set(database=name)
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            with tempfile.TemporaryDirectory(prefix="steward-bench-") as tmp:
                signer = generate_key_file(Path(tmp) / "keys" / "ledger.pem")
                return run_backend(
                    "postgresql",
                    url.render_as_string(hide_password=False),
                    signer,
                    events,
                    lambda progress: pg_baseline(conninfo, events, progress),
                    settings,
                    profile,
                    Path(tmp),
                )
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --------------------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    """The harness's facts, and the drivers this benchmark measures."""
    return {
        **harness_machine(),
        "sqlite": sqlite3.sqlite_version,
        "psycopg": psycopg.__version__,
    }


def render(results: list[BackendResult], facts: dict[str, Any]) -> None:
    console = Console()
    table = Table(title=f"Steward ledger benchmark ({results[0].events:,} events)")
    table.add_column("measure")
    for result in results:
        table.add_column(result.backend, justify="right")

    def row(label: str, cell: Callable[[BackendResult], str]) -> None:
        table.add_row(label, *(cell(result) for result in results))

    row("append, Steward (events/s)", lambda r: f"{r.append_rate:,.0f}")
    row("append, Steward (s)", lambda r: f"{r.append_seconds:,.2f}")
    row("append, bare driver (events/s)", lambda r: f"{r.baseline_rate:,.0f}")
    row("append, bare driver (s)", lambda r: f"{r.baseline_seconds:,.2f}")
    row("bare driver / Steward", lambda r: f"{r.baseline_ratio:.2f}x")
    row("body bytes, Steward (mean)", lambda r: f"{r.mean_body_bytes:.0f}")
    row("body bytes, bare driver (mean)", lambda r: f"{r.baseline_mean_body_bytes:.0f}")
    table.add_section()
    row("read rows only (events/s)", lambda r: f"{r.read_rate:,.0f}")
    row("read rows only (s)", lambda r: f"{r.read_seconds:,.3f}")
    row("full verify (events/s)", lambda r: f"{r.verify_rate:,.0f}")
    row("full verify (s)", lambda r: f"{r.verify_seconds:,.3f}")
    row(
        "  verify minus read (s)",
        lambda r: f"{r.verify_seconds - r.read_seconds:,.3f}",
    )
    row("verify rows in memory (events/s)", lambda r: f"{r.verify_in_memory_rate:,.0f}")
    row("verify rows in memory (s)", lambda r: f"{r.verify_in_memory_seconds:,.3f}")
    table.add_section()
    for name in results[0].witness:

        def witness_ms(result: BackendResult, name: str = name) -> str:
            return f"{result.witness[name] * 1000:,.2f}"

        row(f"witness: {name} (ms)", witness_ms)
    table.add_section()
    keys = sorted({key for result in results for key in result.settings})
    for key in keys:
        table.add_row(key, *(result.settings.get(key, "") for result in results))
    console.print(table)
    console.print(", ".join(f"{key} {value}" for key, value in facts.items()), highlight=False)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pg-url", help="SQLAlchemy URL of a PostgreSQL server to also measure")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile Steward's append and verify (stderr)"
    )


def main(argv: list[str] | None = None) -> int:
    args = arguments(
        __doc__, {"events": DEFAULT_EVENTS}, smoke={"events": 200}, argv=argv, extra=_options
    )
    if args.events < 1:
        raise SystemExit("--events must be at least 1")

    results = [run_sqlite(args.events, args.profile)]
    if args.pg_url:
        results.append(run_postgres(args.pg_url, args.events, args.profile))
    if not args.json:
        render(results, machine())
    document = {"backends": [asdict(result) for result in results], "drivers": machine()}
    return report("ledger", args, document, lines=[])


if __name__ == "__main__":
    sys.exit(main())
