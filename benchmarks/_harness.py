"""What every benchmark here shares: its command line, a temporary home, the machine's facts,
timing with repeats, and one report (human lines, or ``--json``).

A benchmark script builds its parser with ``arguments(doc, sizes, smoke)``: every script takes
``--json``, ``--repeats N`` and ``--smoke``, which replaces its sizes with tiny ones (what
``tests/test_benchmarks.py`` runs, to keep the scripts working; a smoke run's targets are
not judged). It measures with ``repeat`` / ``timed`` and hands its results to ``report``,
which adds the machine's facts and the parameters, prints, and gives the exit code (1 when
a target is missed).

    args = arguments(__doc__, {"points": 10_000}, smoke={"points": 200})
    with scratch_home() as home, home.session() as (app, actor):
        samples = repeat(lambda: work(app, actor, args.points), args.repeats)
    return report("runs", args, {"seconds": summary(samples)}, ok=...)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from typing import Any

from steward.testing import ScratchHome, temporary_home

__all__ = [
    "arguments",
    "machine",
    "repeat",
    "report",
    "scratch_home",
    "summary",
    "timed",
]

_PACKAGES = ("numpy", "pandas", "polars", "pyarrow", "scikit-learn", "sqlalchemy", "optuna")


def arguments(
    doc: str | None,
    sizes: Mapping[str, int | float],
    *,
    smoke: Mapping[str, Any],
    repeats: int = 3,
    argv: list[str] | None = None,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """Parse the command line: ``--SIZE`` for each of ``sizes`` (its default), ``--repeats``,
    ``--json``, ``--smoke`` (``smoke``'s sizes and one repeat) and what ``extra`` adds."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    for name, default in sizes.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    parser.add_argument("--repeats", type=int, default=repeats, help="timed rounds")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, targets not judged")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        for name, value in smoke.items():
            setattr(args, name, value)
        args.repeats = 1
    return args


def machine() -> dict[str, Any]:
    """Where the numbers were taken: platform, Python, cores, Steward and library versions."""
    versions: dict[str, str | None] = {}
    for package in ("steward-mlops", *_PACKAGES):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "versions": versions,
    }


@contextmanager
def scratch_home(
    role: str = "data_scientist", *, db_url: str | None = None
) -> Iterator[ScratchHome]:
    """A temporary home with one user ``bench`` of ``role`` (``steward.testing``), removed
    afterwards; ``db_url``: an empty PostgreSQL database for its store."""
    with temporary_home(role, user="bench", db_url=db_url) as home:
        yield home


def timed(work: Callable[[], object]) -> float:
    """Seconds ``work()`` takes (wall clock, ``perf_counter``)."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def repeat(work: Callable[[], object], repeats: int) -> list[float]:
    """``timed(work)`` ``repeats`` times (at least once)."""
    return [timed(work) for _ in range(max(1, repeats))]


def summary(samples: list[float]) -> dict[str, Any]:
    """Median, best, worst and every sample, in seconds."""
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "samples_s": samples,
    }


def report(
    name: str,
    args: argparse.Namespace,
    results: Mapping[str, Any],
    *,
    ok: bool = True,
    lines: list[str] | None = None,
) -> int:
    """Print the benchmark's report — ``--json``: one document with the benchmark's name, its
    parameters, the machine's facts, the results and whether its targets were met; else
    ``lines`` (or the results, one per line) — and return the exit code: 1 when ``ok`` is
    false outside a smoke run."""
    parameters = {k: v for k, v in vars(args).items() if k not in {"json"}}
    if args.json:
        document = {
            "benchmark": name,
            "parameters": parameters,
            "machine": machine(),
            "results": dict(results),
            "targets_met": ok,
        }
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    else:  # ``lines=[]``: the script printed its own (a table)
        shown = lines if lines is not None else [f"{k}: {v}" for k, v in results.items()]
        if shown:
            sys.stdout.write("\n".join(shown) + "\n")
    return 0 if ok or args.smoke else 1
