"""Run-tracking benchmark: logging 10,000 metric points through the SDK, by hand.

Target (issue 4): logging 10,000 metric points takes at most 2 s. Measured end to end inside
a ``steward.start_run`` block — ``run.log_metric`` 10,000 times, then the flush that writes
them — on a fresh SQLite home, next to a baseline in the same script: the same 10,000 rows
inserted with the bare ``sqlite3`` driver in one transaction.

    .venv/bin/python benchmarks/runs.py [--points 10000] [--repeats 5] [--json] [--smoke]
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

import steward
from _harness import arguments, report, scratch_home, summary

TARGET_S = 2.0


def steward_seconds(points: int) -> float:
    with steward.start_run("bench") as run:
        start = time.perf_counter()
        for step in range(points):
            run.log_metric("loss", 1.0 / (step + 1))
        run.flush()
        return time.perf_counter() - start


def baseline_seconds(folder: Path, points: int) -> float:
    connection = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS m (id INTEGER PRIMARY KEY, run_id TEXT, key TEXT, "
        "step INTEGER, value REAL, ts TEXT)"
    )
    rows = [("r", "loss", step, 1.0 / (step + 1), "2026-01-01T00:00:00Z") for step in range(points)]
    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        "INSERT INTO m (run_id, key, step, value, ts) VALUES (?, ?, ?, ?, ?)", rows
    )
    connection.execute("COMMIT")
    seconds = time.perf_counter() - start
    connection.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, {"points": 10_000}, smoke={"points": 200}, repeats=5, argv=argv)
    ours, theirs = [], []
    with scratch_home() as home:
        os.environ["STEWARD_HOME"] = str(home.settings.home)
        os.environ["STEWARD_TOKEN"] = home.token
        for _ in range(args.repeats):
            ours.append(steward_seconds(args.points))
            theirs.append(baseline_seconds(home.settings.home.parent, args.points))
    steward_median = statistics.median(ours)
    baseline_median = statistics.median(theirs)
    results: dict[str, Any] = {
        "points": args.points,
        "steward": summary(ours),
        "baseline": summary(theirs),
        "ratio": steward_median / baseline_median,
        "target_s": TARGET_S,
    }
    line = (
        f"{args.points:,} metric points: Steward {steward_median:.3f} s "
        f"(median of {args.repeats}; target <= {TARGET_S:g} s), bare sqlite3 insert "
        f"{baseline_median:.3f} s, ratio {results['ratio']:.1f}x"
    )
    return report("runs", args, results, ok=steward_median <= TARGET_S, lines=[line])


if __name__ == "__main__":
    raise SystemExit(main())
