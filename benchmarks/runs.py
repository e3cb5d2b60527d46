"""Run-tracking benchmark: logging 10,000 metric points through the SDK, by hand.

Target (issue 4): logging 10,000 metric points takes at most 2 s. Measured end to end inside
a ``steward.start_run`` block — ``run.log_metric`` 10,000 times, then the flush that writes
them — on a fresh SQLite home, next to a baseline in the same script: the same 10,000 rows
inserted with the bare ``sqlite3`` driver in one transaction.

    .venv/bin/python benchmarks/runs.py [--points 10000] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import steward
from steward.app import Application, initialize
from steward.settings import Settings


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="steward-bench-runs-") as tmp:
        folder = Path(tmp)
        settings = Settings(home=folder / "home")
        result = initialize(settings)
        with Application.open(settings) as app:
            _, token = app.identity.add_user(
                app.authenticate(result.token), "bench", ["data_scientist"]
            )
        os.environ["STEWARD_HOME"] = str(settings.home)
        os.environ["STEWARD_TOKEN"] = token
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(steward_seconds(args.points))
            theirs.append(baseline_seconds(folder, args.points))
    report: dict[str, Any] = {
        "points": args.points,
        "steward_median_s": statistics.median(ours),
        "baseline_median_s": statistics.median(theirs),
        "ratio": statistics.median(ours) / statistics.median(theirs),
        "target_s": 2.0,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{args.points:,} metric points: Steward {report['steward_median_s']:.3f} s "
            f"(median of {args.repeats}; target <= 2 s), bare sqlite3 insert "
            f"{report['baseline_median_s']:.3f} s, ratio {report['ratio']:.1f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
