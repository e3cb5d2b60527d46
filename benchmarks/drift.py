"""Drift benchmark: profile a reference table and compare a current batch with it, by hand.

The table is the drift peers' (``/work/shared/peers/drift``), generated here with numpy:
``--rows`` rows per side (default 1,000,000) of 20 float64 columns (normal, scaled normal,
lognormal, exponential and uniform, in turn) and 5 text categorical columns with 10 to 50
Zipf-like levels, as polars DataFrames. Seven inputs drift (num_00..num_04 by shifts of
0.3-0.56 standard deviations; cat_0 by moving 15 % of its mass, cat_3 by 10 % of rows in 5
new levels); the other 18 are drawn from the same law on both sides.

Measured: ``ReferenceProfile.build`` on the reference, ``detect`` on the current batch,
exact and with ``method="sketch"`` (median of ``--repeats``), the peak of memory allocated
during one ``detect`` (tracemalloc: numpy's copies; the batch itself is polars' and read
without copy) against the batch's size, and whether the verdicts are exactly the 7 drifted
inputs (the target). The floor is the plain numpy approach on the same data and threads: per
numeric column ``np.sort`` of both sides, one ``searchsorted`` merge for D and W1 and the
asymptotic KS p-value; per categorical column polars' counts and the JS distance. Its ratios
to Steward's numbers are the engine's overhead.

    .venv/bin/python benchmarks/drift.py [--rows N] [--repeats 3] [--json] [--smoke]
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats
from scipy.spatial import distance

from _harness import arguments, repeat, report, summary, timed
from steward.drift import ReferenceProfile, detect
from steward.samples import DRIFTED_INPUTS, drift_table

SEED = 20240601
WORKERS = 2


def table(n: int, seed: int, *, drift: bool) -> pl.DataFrame:
    """One side of the peers' table, ``n`` rows (``steward.samples.drift_table``)."""
    return pl.DataFrame(drift_table(n, seed, drift=drift)).with_columns(
        pl.col(f"cat_{i}").cast(pl.String) for i in range(5)
    )


def _floor_numeric(
    reference: npt.NDArray[np.float64], current: npt.NDArray[np.float64]
) -> dict[str, float]:
    a, b = np.sort(reference), np.sort(current)
    n, m = a.size, b.size
    where = np.searchsorted(a, b, side="right") + np.arange(m)
    is_b = np.zeros(n + m, dtype=bool)
    is_b[where] = True
    merged = np.empty(n + m)
    merged[where] = b
    merged[~is_b] = a
    seen_b = np.cumsum(is_b)
    gap = np.abs((np.arange(1, n + m + 1) - seen_b) / n - seen_b / m)
    step = np.diff(merged)
    ends = np.append(step > 0, True)
    d = float(gap[ends].max())
    w1 = float(np.vecdot(gap[:-1], step))
    p = float(stats.kstwo.sf(d, round(n * m / (n + m))))
    return {"d": d, "p": p, "w1_norm": w1 / max(float(np.std(a)), 0.001)}


def _floor_categorical(reference: pl.Series, current: pl.Series) -> dict[str, float]:
    counts = (
        reference.value_counts(name="ref")
        .join(current.value_counts(name="cur"), on=reference.name, how="full", coalesce=True)
        .fill_null(0)
    )
    p, q = counts.get_column("ref").to_numpy(), counts.get_column("cur").to_numpy()
    return {"js": float(distance.jensenshannon(p, q))}


def floor(reference: pl.DataFrame, current: pl.DataFrame) -> dict[str, dict[str, float]]:
    """The plain numpy/polars comparison of every column, on ``WORKERS`` threads."""

    def one(name: str) -> dict[str, float]:
        if reference.schema[name] == pl.String:
            return _floor_categorical(reference.get_column(name), current.get_column(name))
        return _floor_numeric(
            reference.get_column(name).to_numpy(), current.get_column(name).to_numpy()
        )

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return dict(zip(reference.columns, pool.map(one, reference.columns), strict=True))


def _peak(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, {"rows": 1_000_000}, smoke={"rows": 2_000}, argv=argv)
    reference = table(args.rows, SEED, drift=False)
    current = table(args.rows, SEED + 1, drift=True)
    kept: dict[str, Any] = {}  # the last profile and report only (a profile is a table's size)

    def build_profile() -> None:
        kept["profile"] = ReferenceProfile.build(reference, workers=WORKERS)

    build = repeat(build_profile, args.repeats)
    profile: ReferenceProfile = kept["profile"]

    def compare_batch() -> None:
        kept["report"] = detect(profile, current, workers=WORKERS)

    compare = repeat(compare_batch, args.repeats)

    def compare_sketched() -> None:
        kept["sketched"] = detect(profile, current, workers=WORKERS, method="sketch")

    sketch = repeat(compare_sketched, args.repeats)
    floor_s = repeat(lambda: floor(reference, current), args.repeats)
    serialised = timed(profile.to_bytes)
    peak = _peak(lambda: detect(profile, current, workers=WORKERS))
    verdicts = set(kept["report"].drifted)
    sketch_verdicts = set(kept["sketched"].drifted)
    widest = max(
        (c.statistic_upper - c.statistic for c in kept["sketched"].columns if c.statistic_upper),
        default=0.0,
    )
    batch_bytes = current.estimated_size()
    column_bytes = args.rows * 8
    detect_s = summary(compare)["median_s"]
    build_s = summary(build)["median_s"]
    floor_median = summary(floor_s)["median_s"]
    exact = verdicts == DRIFTED_INPUTS and sketch_verdicts == DRIFTED_INPUTS
    sketch_s = summary(sketch)["median_s"]
    results: dict[str, Any] = {
        "rows_per_side": args.rows,
        "columns": reference.width,
        "workers": WORKERS,
        "build": summary(build),
        "detect": summary(compare),
        "floor": summary(floor_s),
        "detect_over_floor": detect_s / floor_median,
        "sketch": summary(sketch),
        "sketch_over_floor": sketch_s / floor_median,
        "sketch_widest_ks_bracket": widest,
        "sketch_drifted": sorted(sketch_verdicts),
        "build_and_detect_over_floor": (build_s + detect_s) / floor_median,
        "profile_to_bytes_s": serialised,
        "detect_peak_bytes": peak,
        "batch_bytes": batch_bytes,
        "peak_over_batch": peak / batch_bytes,
        "peak_in_column_copies": peak / column_bytes,
        "drifted": sorted(verdicts),
        "verdicts_exact": exact,
    }
    lines = [
        f"{args.rows:,} rows per side, {reference.width} columns, {WORKERS} threads",
        f"profile build: {build_s:.3f} s median of {args.repeats}",
        f"detect: {detect_s:.3f} s median; numpy floor (sorts both sides): {floor_median:.3f} s;"
        f" detect / floor {detect_s / floor_median:.2f}, (build + detect) / floor"
        f" {(build_s + detect_s) / floor_median:.2f}",
        f"detect, sketch: {sketch_s:.3f} s median ({sketch_s / floor_median:.2f} of the floor);"
        f" widest KS bracket {widest:.2e}; verdicts"
        f" {'the same' if sketch_verdicts == verdicts else 'DIFFERENT'}",
        f"detect peak memory: {peak / 1e6:.1f} MB = {peak / batch_bytes:.3f} of the batch"
        f" ({batch_bytes / 1e6:.0f} MB), {peak / column_bytes:.2f} column copies",
        f"verdicts: {', '.join(sorted(verdicts)) or 'none'}"
        f" ({'exactly the 7 drifted inputs' if exact else 'NOT the 7 drifted inputs'})",
    ]
    return report("drift", args, results, ok=exact, lines=lines)


if __name__ == "__main__":
    raise SystemExit(main())
