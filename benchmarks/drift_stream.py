"""Streaming drift benchmark: a window of logged rows read from Parquet in bounded memory.

Writes ``--rows`` (default 10,000,000) current rows of the drift peers' table
(``steward.samples.drift_table``: 20 numeric and 5 categorical inputs, 7 of them drifted) as
prediction-log Parquet files in a temporary folder, one file per ``--file-rows`` (default
1,000,000) generated and written one at a time: columns ``model`` (``credit@2``), ``time``
(UTC) and ``inputs`` (JSON text, keys sorted, as the log holds them) plus a small
``outputs``; the log's other columns are never read by the scan, so they are left out. The
reference is ``--reference`` rows (default 1,000,000) of the undrifted table.

Measured, each in a fresh child process (this script with ``--child MODE SPEC``), after the
profile is built: the wall time and the peak RSS increase (``VmHWM`` from
``/proc/self/status`` after resetting it through ``/proc/self/clear_refs``, minus the RSS
before the work: everything the process holds, numpy's, polars' and pyarrow's memory alike)
of

- ``read``: one pass of ``log_batches`` (Parquet scan and JSON decode) and nothing else —
  the floor of any streaming comparison;
- ``stream``: ``detect_stream`` over ``log_batches``, once per ``--batch-rows`` size;
- ``whole`` (unless ``--skip-whole``): the whole window decoded into one frame and given to
  ``detect`` — the in-memory answer that the streamed one must equal.

Checked: the streamed verdicts are exactly the 7 drifted inputs, and every statistic of the
streamed report equals the whole-window one's (the largest relative difference is reported).
Also reported: the rows each pass read, and how many values the second pass kept per numeric
input (the only part of the memory that depends on the data rather than on the reference).
Linux only (``/proc``). ``--repeats`` is ignored: each measurement runs once (a 10M-row
stream takes minutes). A smoke run's children run in its own process (nothing measured).

    .venv/bin/python benchmarks/drift_stream.py [--rows N] [--reference N] [--file-rows N]
        [--batch-rows 50000,200000] [--skip-whole] [--json] [--smoke]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from _harness import arguments, report
from steward.drift import ReferenceProfile, _stream, detect
from steward.drift._parquet import log_batches
from steward.drift._stream import detect_stream
from steward.samples import DRIFTED_INPUTS, drift_table

SEED = 20240601
WORKERS = 2
MODEL = "credit@2"
EPOCH_MICROS = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()) * 1_000_000
CATEGORICAL = tuple(f"cat_{i}" for i in range(5))
MODES = ("read", "stream", "whole")

err_console = Console(stderr=True)


# --------------------------------------------------------------------------- data


def table(n: int, seed: int, *, drift: bool) -> pl.DataFrame:
    """One side of the peers' table, ``n`` rows, categorical inputs as text."""
    return pl.DataFrame(drift_table(n, seed, drift=drift)).with_columns(
        pl.col(name).cast(pl.String) for name in CATEGORICAL
    )


def write_log(folder: Path, rows: int, file_rows: int, tick: Callable[[int], None]) -> int:
    """The current window as log-style Parquet files, one generated chunk at a time; their
    total size in bytes."""
    written = 0
    for index, start in enumerate(range(0, rows, file_rows)):
        size = min(file_rows, rows - start)
        chunk = table(size, SEED + 1 + index, drift=True)
        names = sorted(chunk.columns)  # the log's JSON has its keys sorted
        # one record per 10 ms, as microseconds since the epoch
        micros = (np.arange(start, start + size, dtype=np.int64) * 10_000) + EPOCH_MICROS
        frame = pl.DataFrame(
            {
                "model": pl.repeat(MODEL, size, eager=True),
                "time": pl.Series(micros).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
                "inputs": chunk.select(pl.struct(names).struct.json_encode()).to_series(),
                "outputs": pl.repeat('{"prediction":"yes"}', size, eager=True),
            }
        )
        del chunk
        path = folder / f"part-{index:04d}.parquet"
        frame.write_parquet(path, statistics=True)  # as the log's compaction writes them
        written += path.stat().st_size
        del frame
        gc.collect()
        tick(size)
    return written


# --------------------------------------------------------------------------- memory


def status_bytes(field_name: str) -> int:
    """A ``/proc/self/status`` field (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field_name} in /proc/self/status")


def reset_peak() -> None:
    """Reset the peak-RSS mark (``VmHWM``) to the current RSS."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")


def measured(work: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """``work()``, its wall time and the peak RSS increase it caused."""
    gc.collect()
    before = status_bytes("VmRSS")
    reset_peak()
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    return result, {
        "seconds": seconds,
        "rss_before_bytes": before,
        "peak_increase_bytes": status_bytes("VmHWM") - before,
    }


# --------------------------------------------------------------------------- children


def _profile(reference_rows: int) -> ReferenceProfile:
    frame = table(reference_rows, SEED, drift=False)
    profile = ReferenceProfile.build(frame, workers=WORKERS)
    del frame
    return profile


def _kinds(profile: ReferenceProfile) -> dict[str, Any]:
    return {name: column.kind for name, column in profile.columns.items()}


def _accumulator_bytes(profile: ReferenceProfile) -> int:
    """What ``detect_stream`` keeps per numeric input: 16 bytes per distinct reference value,
    16 more each when the reference repeats values."""
    total = 0
    for column in profile.columns.values():
        values = getattr(column, "values", None)
        if values is not None:
            distinct = 1 + int(np.count_nonzero(values[1:] != values[:-1]))
            total += (16 + (16 if distinct < values.size else 0)) * distinct
    return total


@contextmanager
def counting_gathered() -> Iterator[list[int]]:
    """How many values the second pass keeps, per numeric input that needs it (recorded by
    wrapping the private step that integrates them, restored afterwards)."""
    kept: list[int] = []
    area = _stream._Crossing.area

    def counting(self: Any, values: Any, group: Any, points: Any) -> float:
        kept.append(int(values.size))
        return area(self, values, group, points)

    _stream._Crossing.area = counting  # type: ignore[method-assign]
    try:
        yield kept
    finally:
        _stream._Crossing.area = area  # type: ignore[method-assign]


def child(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    files = sorted(Path(spec["folder"]).glob("*.parquet"))
    profile = _profile(spec["reference"])
    kinds = _kinds(profile)
    facts: dict[str, Any] = {
        "mode": mode,
        "profile_bytes": len(profile.to_bytes()),
        "accumulator_bytes": _accumulator_bytes(profile),
    }
    if mode == "read":

        def read() -> int:
            return sum(
                frame.height for frame in log_batches(files, kinds, model=MODEL, batch_rows=100_000)
            )

        facts["rows"], facts["measure"] = measured(read)
    elif mode == "stream":
        passes: list[int] = []
        batch_bytes: list[int] = []

        def batches() -> Iterator[pl.DataFrame]:
            passes.append(0)
            for frame in log_batches(files, kinds, model=MODEL, batch_rows=spec["batch_rows"]):
                passes[-1] += frame.height
                if len(batch_bytes) < 1:
                    batch_bytes.append(int(frame.estimated_size()))
                yield frame

        with counting_gathered() as gathered:
            found, facts["measure"] = measured(
                lambda: detect_stream(profile, batches, workers=WORKERS)
            )
        facts["rows_per_pass"] = passes
        facts["second_pass_values"] = gathered
        facts["decoded_batch_bytes"] = batch_bytes[0] if batch_bytes else 0
        facts["report"] = found.to_dict()
    else:

        def whole() -> dict[str, Any]:
            started = time.perf_counter()
            frame = pl.concat(list(log_batches(files, kinds, model=MODEL, batch_rows=1_000_000)))
            read_s = time.perf_counter() - started
            result = detect(profile, frame, workers=WORKERS).to_dict()
            return {
                "read_s": read_s,
                "detect_s": time.perf_counter() - started - read_s,
                "rows": frame.height,
                "frame_bytes": int(frame.estimated_size()),
                "report": result,
            }

        found, facts["measure"] = measured(whole)
        facts.update(found)
    return facts


def run_child(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    """This script with ``--child MODE SPEC``; the JSON line it prints."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", mode, json.dumps(spec)],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {mode} failed with exit code {done.returncode}")
    loaded: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


# --------------------------------------------------------------------------- comparison


def largest_difference(streamed: dict[str, Any], whole: dict[str, Any]) -> tuple[float, list[str]]:
    """The largest relative difference between the two reports' numbers, and every field
    that differs otherwise (names, statuses, methods, verdicts)."""
    worst, different = 0.0, []
    for got, wanted in zip(streamed["columns"], whole["columns"], strict=True):
        for field, value in got.items():
            other = wanted[field]
            if isinstance(value, float) and isinstance(other, float):
                if value != other:
                    worst = max(worst, abs(value - other) / max(abs(other), 1e-300))
            elif value != other:
                different.append(f"{got['name']}.{field}: {value!r} != {other!r}")
    if streamed["settings"] != whole["settings"]:
        different.append("settings")
    return worst, different


# --------------------------------------------------------------------------- parent


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--batch-rows", default="50000,200000", help="comma-separated batch sizes to stream with"
    )
    parser.add_argument("--skip-whole", action="store_true", help="no whole-window detect")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "SPEC"), help=argparse.SUPPRESS)


def main(argv: list[str] | None = None) -> int:
    args = arguments(
        __doc__,
        {"rows": 10_000_000, "reference": 1_000_000, "file_rows": 1_000_000},
        smoke={"rows": 3_000, "reference": 2_000, "file_rows": 1_000, "batch_rows": "700"},
        repeats=1,
        argv=argv,
        extra=_options,
    )
    if args.child:
        mode, spec = args.child
        sys.stdout.write(json.dumps(child(mode, json.loads(spec))) + "\n")
        return 0
    sizes = [int(size) for size in str(args.batch_rows).split(",")]
    progress = Progress(
        TextColumn("[bold]{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=args.json or args.smoke,
    )
    with tempfile.TemporaryDirectory(prefix="steward-drift-stream-") as folder, progress:
        writing = progress.add_task("write log Parquet (rows)", total=args.rows)
        started = time.perf_counter()
        parquet_bytes = write_log(
            Path(folder),
            args.rows,
            args.file_rows,
            lambda size: progress.advance(writing, size),
        )
        write_s = time.perf_counter() - started
        plan = [("read", None)] + [("stream", size) for size in sizes]
        plan += [] if args.skip_whole else [("whole", None)]
        children = progress.add_task("child processes (read, stream, whole)", total=len(plan))
        facts: list[dict[str, Any]] = []
        for mode, size in plan:
            spec = {"folder": folder, "reference": args.reference, "batch_rows": size}
            # A smoke run measures nothing: its children run in this process, which is faster.
            done = child(mode, spec) if args.smoke else run_child(mode, spec)
            facts.append({"batch_rows": size, **done})
            progress.advance(children)

    read = facts[0]
    streams = [f for f in facts if f["mode"] == "stream"]
    whole = next((f for f in facts if f["mode"] == "whole"), None)
    verdicts = [set(f["report"]["drifted"]) for f in streams]
    exact = all(v == DRIFTED_INPUTS for v in verdicts)
    equal = True
    for stream in streams:
        stream["seconds_over_read"] = stream["measure"]["seconds"] / read["measure"]["seconds"]
        if whole is not None:
            worst, different = largest_difference(stream["report"], whole["report"])
            stream["largest_relative_difference_to_whole"] = worst
            stream["fields_differing_from_whole"] = different
            equal = equal and not different and worst <= 1e-9
        del stream["report"]
    if whole is not None:
        del whole["report"]
    mb = 1e6
    lines = [
        f"{args.rows:,} logged rows × 25 inputs in {math.ceil(args.rows / args.file_rows)}"
        f" Parquet files ({parquet_bytes / mb:,.0f} MB, written in {write_s:.0f} s);"
        f" reference {args.reference:,} rows (profile {read['profile_bytes'] / mb:.0f} MB);"
        f" {WORKERS} threads",
        f"read + decode only: {read['measure']['seconds']:.1f} s,"
        f" peak RSS +{read['measure']['peak_increase_bytes'] / mb:.0f} MB",
    ]
    for stream in streams:
        measure = stream["measure"]
        lines.append(
            f"detect_stream, batches of {stream['batch_rows']:,}: {measure['seconds']:.1f} s"
            f" ({stream['seconds_over_read']:.2f}× one read; passes"
            f" {len(stream['rows_per_pass'])}, the second keeping"
            f" {sum(stream['second_pass_values']):,} values), peak RSS"
            f" +{measure['peak_increase_bytes'] / mb:.0f} MB (counts"
            f" {stream['accumulator_bytes'] / mb:.0f} MB, one decoded batch"
            f" {stream['decoded_batch_bytes'] / mb:.0f} MB)"
            + (
                f"; largest relative difference to whole-window detect"
                f" {stream['largest_relative_difference_to_whole']:.1e}"
                if whole is not None
                else ""
            )
        )
    if whole is not None:
        lines.append(
            f"whole window in memory + detect: {whole['measure']['seconds']:.1f} s (read"
            f" {whole['read_s']:.1f} s, detect {whole['detect_s']:.1f} s), peak RSS"
            f" +{whole['measure']['peak_increase_bytes'] / mb:,.0f} MB"
            f" (frame {whole['frame_bytes'] / mb:,.0f} MB)"
        )
    lines.append(
        f"verdicts: {', '.join(sorted(verdicts[0])) if verdicts else 'none'}"
        f" ({'exactly the 7 drifted inputs' if exact else 'NOT the 7 drifted inputs'}"
        + (", equal to whole-window detect)" if whole is not None and equal else ")")
    )
    results: dict[str, Any] = {
        "rows": args.rows,
        "reference_rows": args.reference,
        "columns": 25,
        "workers": WORKERS,
        "parquet_bytes": parquet_bytes,
        "write_s": write_s,
        "memory_measure": "VmHWM - VmRSS before, after clear_refs, in a fresh child process",
        "children": facts,
        "verdicts_exact": exact,
        "equal_to_whole": equal if whole is not None else None,
    }
    return report("drift_stream", args, results, ok=exact and equal, lines=lines)


if __name__ == "__main__":
    raise SystemExit(main())
