"""Registration benchmark: registering a large CSV, against polars reading it and writing Parquet.

Target (from the issue): registering a 1,000,000-row x 30-column CSV takes at most 3x the time
of reading it with polars and writing Parquet in the same script, with peak memory at most 3x
the table's in-memory size.

The script generates a deterministic, realistic CSV (``--rows``, default 1,000,000; 12 float
columns, 8 integer, 6 low-cardinality text, 2 identifier, 1 date and 1 boolean column, some
with missing values) in a temporary folder, then for ``--repeats`` rounds (default 3) times,
alternately:

* the **baseline**: ``polars.read_csv(path)`` then ``DataFrame.write_parquet``;
* **Steward, first version**: ``DatasetService.register`` under a fresh dataset name in a
  freshly initialised home, as a ``data_scientist`` (read, canonicalise, fingerprint, PII scan,
  profile, Parquet copy into the artifact store, one store transaction with evidence and a
  ledger event);
* **Steward, new version**: the same file registered again under the same name with other
  declarations, so a second version is created and checked against the contract derived from
  the first (everything above plus the pandera contract check).

The time ratio is median Steward / median baseline. The table's in-memory size is polars'
``estimated_size()`` of the baseline frame.

Peak memory is measured in separate child processes (this script with ``--child MODE``): each
records its RSS after imports and set-up, resets its peak-RSS mark, does the work once, and
reports its peak RSS (``VmHWM``; ``ru_maxrss`` carries the parent's RSS over fork/exec); the
memory ratio is (peak - pre-work RSS) / in-memory size. A further child re-enacts the stages
of a registration one by one (calling the same library functions the service calls, in the
same order), timing each and recording the peak RSS within it. ``--profile`` also runs one
registration of each kind under cProfile in a child and prints the top functions to stderr.

    .venv/bin/python benchmarks/register.py [--rows N] [--repeats N] [--json] [--profile]
        [--smoke]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from _harness import arguments, report
from _harness import machine as harness_machine

if TYPE_CHECKING:
    from steward.app import Application
    from steward.domain import Actor

DEFAULT_ROWS = 1_000_000
DEFAULT_REPEATS = 3
SEED = 20_240_601
TIME_TARGET = 3.0
MEMORY_TARGET = 3.0
TARGET_COLUMN = "churned"
SENSITIVE = ("gender",)
# Declarations of the later versions: they differ from the first, so each is a new version.
SENSITIVE_V2 = ("gender", "segment")
SENSITIVE_V3 = ("gender", "plan")
PROFILE_TOP = 30
CHILD_MODES = ("baseline", "steward", "steward-v2", "stages", "profile")

err_console = Console(stderr=True)


# --------------------------------------------------------------------------- data


FLOAT_COLUMNS = (
    "income",
    "balance",
    "tenure_years",
    "monthly_spend",
    "avg_session_min",
    "discount_rate",
    "latitude",
    "longitude",
    "risk_score",
    "utilisation",
    "last_payment",
    "satisfaction",
)
INT_COLUMNS = (
    "age",
    "n_visits",
    "n_purchases",
    "n_tickets",
    "region_code",
    "product_code",
    "days_inactive",
    TARGET_COLUMN,
)
CATEGORY_COLUMNS = ("segment", "channel", "plan", "device", "country", "gender")
ID_COLUMNS = ("customer_id", "referrer_id")
COUNTRIES: tuple[str, ...] = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "SE", "NO")
COUNTRIES += ("DK", "FI", "PL", "PT", "IE", "AT", "CH", "CA", "AU", "NZ")  # 20 levels


def generate_frame(rows: int, seed: int) -> pl.DataFrame:
    """A deterministic table of customers: 30 columns of the usual kinds, some missing."""
    rng = np.random.default_rng(seed)

    def holes(series: pl.Series, share: float) -> pl.Series:
        return series.scatter(np.flatnonzero(rng.random(rows) < share), None)

    def levels(name: str, values: tuple[str, ...], p: list[float]) -> pl.Series:
        index = rng.choice(len(values), size=rows, p=np.array(p) / sum(p))
        return pl.Series(name, values)[pl.Series(index)]

    floats = {
        "income": holes(pl.Series(rng.lognormal(10.5, 0.6, rows).round(2)), 0.02),
        "balance": pl.Series(rng.normal(2500, 1800, rows).round(2)),
        "tenure_years": pl.Series(rng.gamma(2.0, 2.5, rows).round(3)),
        "monthly_spend": holes(pl.Series(rng.gamma(3.0, 40.0, rows).round(2)), 0.02),
        "avg_session_min": pl.Series(rng.exponential(12.0, rows).round(3)),
        "discount_rate": pl.Series(rng.beta(2.0, 10.0, rows).round(4)),
        "latitude": pl.Series(rng.uniform(-60, 70, rows).round(6)),
        "longitude": pl.Series(rng.uniform(-180, 180, rows).round(6)),
        "risk_score": holes(pl.Series(rng.random(rows)), 0.02),  # full precision
        "utilisation": holes(pl.Series(rng.beta(2.0, 5.0, rows).round(4)), 0.02),
        "last_payment": holes(pl.Series(rng.gamma(2.0, 75.0, rows).round(2)), 0.02),
        "satisfaction": holes(pl.Series(rng.normal(3.8, 0.9, rows).clip(1, 5).round(1)), 0.02),
    }
    ints = {
        "age": pl.Series(rng.integers(18, 91, rows)),
        "n_visits": pl.Series(rng.poisson(12.0, rows)),
        "n_purchases": pl.Series(rng.poisson(3.0, rows)),
        "n_tickets": pl.Series(rng.poisson(0.4, rows)),
        "region_code": pl.Series(rng.integers(1, 51, rows)),
        "product_code": pl.Series(rng.integers(100, 1000, rows)),
        "days_inactive": pl.Series(rng.geometric(0.05, rows)),
        TARGET_COLUMN: pl.Series((rng.random(rows) < 0.18).astype(np.int64)),
    }
    categories = {
        "segment": levels(
            "segment",
            ("consumer", "small_business", "enterprise", "public_sector", "student"),
            [55, 20, 10, 5, 10],
        ),
        "channel": holes(
            levels("channel", ("web", "mobile_app", "store", "partner"), [40, 35, 20, 5]), 0.01
        ),
        "plan": levels("plan", ("basic", "standard", "premium"), [50, 35, 15]),
        "device": holes(
            levels("device", ("android", "ios", "desktop", "tablet"), [40, 30, 25, 5]), 0.03
        ),
        "country": levels("country", COUNTRIES, [float(20 - i) for i in range(20)]),
        "gender": holes(levels("gender", ("female", "male", "non_binary"), [49, 49, 2]), 0.04),
    }
    customer = pl.Series(rng.permutation(rows) + 1).cast(pl.String).str.zfill(7)
    referrer = pl.Series(rng.integers(1, 300_000, rows)).cast(pl.String).str.zfill(6)
    signup = np.datetime64("2015-01-01") + rng.integers(0, 3653, rows).astype("timedelta64[D]")
    frame = pl.DataFrame(
        {
            "customer_id": ("C" + customer),
            "signup_date": pl.Series(signup),
            **floats,
            **ints,
            **categories,
            "referrer_id": holes("R" + referrer, 0.3),
            "is_active": pl.Series(rng.random(rows) < 0.7),
        }
    )
    kinds = (*FLOAT_COLUMNS, *INT_COLUMNS, *CATEGORY_COLUMNS, *ID_COLUMNS, "signup_date")
    assert sorted(frame.columns) == sorted((*kinds, "is_active")), frame.columns
    return frame


# --------------------------------------------------------------------------- memory facts


def status_kib(field_name: str) -> int:
    """A ``/proc/self/status`` field in KiB (``VmRSS``, ``VmHWM``)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field_name} in /proc/self/status")


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def reset_peak() -> bool:
    """Reset the peak-RSS mark (``VmHWM``, and so ``ru_maxrss``) to the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def arrow_bytes() -> int:
    import pyarrow as pa

    return int(pa.default_memory_pool().bytes_allocated())


# --------------------------------------------------------------------------- results


@dataclass
class Round:
    baseline_seconds: float
    baseline_read_seconds: float
    baseline_write_seconds: float
    steward_seconds: float
    steward_v2_seconds: float


@dataclass
class Memory:
    mode: str
    pre_rss_mib: float
    peak_rss_mib: float
    increase_mib: float
    ratio: float  # increase / the table's in-memory size
    seconds: float
    ru_maxrss_mib: float  # as getrusage reports it (see the notes)
    arrow_peak_mib: float | None = None  # peak bytes held by Arrow's memory pool


@dataclass
class Stage:
    name: str
    seconds: float
    peak_increase_mib: float  # peak RSS within the stage, over the pre-work RSS
    rss_after_mib: float
    arrow_after_mib: float


@dataclass
class Stages:
    pre_rss_mib: float
    arrow_table_mib: float  # the canonical Arrow table's nbytes
    pii_sample_mib: float  # the row sample the PII scan reads, as polars, estimated_size()
    parquet_mib: float  # the Parquet copy Steward stores
    stages: list[Stage]


@dataclass
class Report:
    rows: int
    columns: int
    csv_mib: float
    in_memory_mib: float  # polars estimated_size() of the baseline frame
    parquet_mib_baseline: float
    repeats: int
    rounds: list[Round]
    baseline_median: float
    baseline_read_median: float
    baseline_write_median: float
    steward_median: float
    steward_v2_median: float
    time_ratio: float
    time_ratio_v2: float
    time_target: float
    memory: dict[str, Memory]
    memory_ratio: float
    memory_ratio_v2: float
    memory_ratio_baseline: float
    memory_target: float
    stages: Stages
    generate_seconds: float
    total_seconds: float
    notes: list[str] = field(default_factory=list)
    machine: dict[str, str] = field(default_factory=dict)


MIB = 1024 * 1024


def mib(n_bytes: float) -> float:
    return n_bytes / MIB


# --------------------------------------------------------------------------- the work


def baseline_once(csv: Path, out: Path) -> tuple[float, float, int]:
    """``(read seconds, write seconds, estimated size in bytes)`` of read_csv + write_parquet."""
    start = time.perf_counter()
    frame = pl.read_csv(csv)
    middle = time.perf_counter()
    frame.write_parquet(out)
    end = time.perf_counter()
    size = int(frame.estimated_size())
    del frame
    return middle - start, end - middle, size


def open_home(home: Path) -> tuple[Application, Actor]:
    """Initialise a fresh home with a ``bench`` data scientist; return the app and actor."""
    from steward.testing import make_home

    made = make_home(home, user="bench")  # the harness's scratch home, in place
    app = made.open()
    (home / "bench.token").write_text(made.token + "\n", "ascii")
    return warm(app), app.authenticate(made.token)


def reopen_home(home: Path) -> tuple[Application, Actor]:
    """Open an existing benchmark home as its ``bench`` user."""
    from steward.app import Application
    from steward.settings import Settings

    app = Application.open(Settings(home=home))
    token = (home / "bench.token").read_text("ascii").strip()
    return warm(app), app.authenticate(token)


def warm(app: Application) -> Application:
    """Import what a registration imports lazily, so no measured run pays for imports."""
    import pandera.polars  # noqa: F401  (the contract check)

    import steward.data  # noqa: F401

    _ = app.datasets, app.artifacts
    return app


def register(
    app: Application, actor: Actor, csv: Path, name: str, sensitive: tuple[str, ...]
) -> float:
    start = time.perf_counter()
    result = app.datasets.register(
        actor, csv, name=name, target=TARGET_COLUMN, sensitive=list(sensitive)
    )
    seconds = time.perf_counter() - start
    if not result.created:
        raise RuntimeError(f"{name}: registration created no new version ({result.note})")
    return seconds


# --------------------------------------------------------------------------- children


def child_baseline(csv: Path, scratch: Path) -> dict[str, Any]:
    pre = start_work()
    read_s, write_s, _ = baseline_once(csv, scratch / "child-baseline.parquet")
    return memory_facts("baseline", pre, read_s + write_s, arrow=False)


def child_steward(csv: Path, scratch: Path) -> dict[str, Any]:
    app, actor = open_home(scratch / "child-home")
    try:
        pre = start_work()
        seconds = register(app, actor, csv, "bench", SENSITIVE)
        return memory_facts("steward", pre, seconds, arrow=True)
    finally:
        app.close()


def child_steward_v2(csv: Path, home: Path) -> dict[str, Any]:
    app, actor = reopen_home(home)
    try:
        pre = start_work()
        seconds = register(app, actor, csv, "bench1", SENSITIVE_V3)
        return memory_facts("steward-v2", pre, seconds, arrow=True)
    finally:
        app.close()


def start_work() -> int:
    """Collect garbage, reset the peak-RSS mark, and return the RSS (KiB) before the work."""
    gc.collect()
    if not reset_peak():
        raise RuntimeError("cannot reset the peak RSS (/proc/self/clear_refs is not writable)")
    return status_kib("VmRSS")


def memory_facts(mode: str, pre_kib: int, seconds: float, *, arrow: bool) -> dict[str, Any]:
    # ru_maxrss after the reset; VmHWM agrees with it unless the kernel carried over the
    # parent's RSS at fork/exec (it keeps the larger of the two in ru_maxrss).
    facts: dict[str, Any] = {
        "mode": mode,
        "pre_rss_kib": pre_kib,
        "peak_rss_kib": maxrss_kib(),
        "vm_hwm_kib": status_kib("VmHWM"),
        "seconds": seconds,
    }
    if arrow:
        import pyarrow as pa

        facts["arrow_peak_bytes"] = int(pa.default_memory_pool().max_memory())
    return facts


def child_stages(csv: Path, home: Path) -> dict[str, Any]:
    """Re-enact a registration stage by stage, as ``DatasetService.register`` runs them."""
    from steward.artifacts import ArtifactStore
    from steward.data import (
        canonicalize,
        check_contract,
        fingerprint,
        profile_table,
        read_file,
        sample_rows,
        scan_pii,
        write_parquet,
    )
    from steward.services.datasets._service import PII_MIN_SHARE, PII_SAMPLE_ROWS

    app, actor = reopen_home(home)
    try:
        contract = app.datasets.contract(actor, "bench1@1")  # what a second version meets
    finally:
        app.close()
    scratch = Path(tempfile.mkdtemp(prefix="stages-", dir=home.parent))
    artifacts = ArtifactStore(str(scratch / "artifacts"))
    gc.collect()
    pre = status_kib("VmRSS")
    stages: list[dict[str, Any]] = []

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        reset_peak()
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        stages.append(
            {
                "name": name,
                "seconds": seconds,
                "peak_increase_mib": (status_kib("VmHWM") - pre) / 1024,
                "rss_after_mib": status_kib("VmRSS") / 1024,
                "arrow_after_mib": mib(arrow_bytes()),
            }
        )

    with stage("read_file (pyarrow CSV)"):
        raw = read_file(csv)
    with stage("canonicalize"):
        table = canonicalize(raw, str(csv))
    with stage("fingerprint"):
        fingerprint(table)
    del raw  # the service drops the raw table when _prepare returns
    with stage("sample rows for the PII scan"):
        frame = pl.from_arrow(sample_rows(table, PII_SAMPLE_ROWS))
    assert isinstance(frame, pl.DataFrame)
    with stage("scan_pii"):
        scan = scan_pii(frame, min_share=PII_MIN_SHARE)
    private = frozenset(f.column for f in scan.findings if f.source == "values")
    with stage("profile_table"):
        profile_table(table, private=private)
    with stage("check_contract (v2 only)"):
        check_contract(table, contract)
    parquet = scratch / "table.parquet"
    with stage("write_parquet (zstd)"):
        write_parquet(table, parquet)
    with stage("sha256 of the Parquet"):
        hasher = hashlib.sha256()
        with parquet.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(chunk)
    with stage("artifacts.put_file"):
        artifacts.put_file(parquet)
    return {
        "pre_rss_mib": pre / 1024,
        "arrow_table_mib": mib(table.nbytes),
        "pii_sample_mib": mib(frame.estimated_size()),
        "parquet_mib": mib(parquet.stat().st_size),
        "stages": stages,
    }


def child_profile(csv: Path, home: Path) -> dict[str, Any]:
    """cProfile one first-version and one new-version registration; print to stderr."""
    app, actor = reopen_home(home)
    try:
        for label, sensitive in (("first version", SENSITIVE), ("new version", SENSITIVE_V2)):
            profiler = cProfile.Profile()
            profiler.enable()
            register(app, actor, csv, "profiled", sensitive)
            profiler.disable()
            for sort in ("cumulative", "tottime"):
                buffer = io.StringIO()
                pstats.Stats(profiler, stream=buffer).sort_stats(sort).print_stats(PROFILE_TOP)
                err_console.print(f"\n[bold]cProfile: register, {label} (by {sort})[/bold]")
                err_console.out(buffer.getvalue(), highlight=False)
    finally:
        app.close()
    return {"mode": "profile"}


def run_child(mode: str, csv: Path, place: Path) -> dict[str, Any]:
    """Run this script with ``--child MODE`` and return the JSON line it prints."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", mode, str(csv), str(place)],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"child {mode} failed with exit code {result.returncode}")
    lines = result.stdout.strip().splitlines()
    loaded: dict[str, Any] = json.loads(lines[-1])
    return loaded


def child_main(mode: str, csv: Path, place: Path) -> int:
    runners = {
        "baseline": child_baseline,
        "steward": child_steward,
        "steward-v2": child_steward_v2,
        "stages": child_stages,
        "profile": child_profile,
    }
    facts = runners[mode](csv, place)
    sys.stdout.write(json.dumps(facts) + "\n")
    return 0


# --------------------------------------------------------------------------- parent


def make_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<44}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )


def memory_result(facts: dict[str, Any], in_memory_bytes: int) -> Memory:
    pre = facts["pre_rss_kib"] * 1024
    peak = facts["vm_hwm_kib"] * 1024
    arrow_peak = facts.get("arrow_peak_bytes")
    return Memory(
        mode=facts["mode"],
        pre_rss_mib=mib(pre),
        peak_rss_mib=mib(peak),
        increase_mib=mib(peak - pre),
        ratio=(peak - pre) / in_memory_bytes,
        seconds=facts["seconds"],
        ru_maxrss_mib=mib(facts["peak_rss_kib"] * 1024),
        arrow_peak_mib=mib(arrow_peak) if arrow_peak is not None else None,
    )


def run(rows: int, repeats: int, profile: bool) -> Report:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="steward-bench-register-") as tmp:
        folder = Path(tmp)
        csv = folder / "customers.csv"
        with make_progress() as progress:
            task: TaskID = progress.add_task(f"generate {rows:,}-row CSV", total=1)
            start = time.perf_counter()
            frame = generate_frame(rows, SEED)
            columns = frame.width
            frame.write_csv(csv)
            del frame
            generate_seconds = time.perf_counter() - start
            progress.update(task, completed=1)

            task = progress.add_task("initialise a Steward home", total=1)
            app, actor = open_home(folder / "home")
            progress.update(task, completed=1)

            rounds: list[Round] = []
            in_memory = 0
            parquet_bytes = 0
            task = progress.add_task("rounds: baseline, Steward v1, Steward v2", total=repeats)
            try:
                for i in range(1, repeats + 1):
                    gc.collect()
                    out = folder / f"baseline-{i}.parquet"
                    read_s, write_s, in_memory = baseline_once(csv, out)
                    parquet_bytes = out.stat().st_size
                    out.unlink()
                    gc.collect()
                    steward_s = register(app, actor, csv, f"bench{i}", SENSITIVE)
                    gc.collect()
                    steward_v2_s = register(app, actor, csv, f"bench{i}", SENSITIVE_V2)
                    rounds.append(Round(read_s + write_s, read_s, write_s, steward_s, steward_v2_s))
                    progress.update(task, completed=i)
            finally:
                app.close()

            modes = ["baseline", "steward", "steward-v2", "stages"] + (
                ["profile"] if profile else []
            )
            task = progress.add_task("child processes: memory, stages", total=len(modes))
            facts: dict[str, dict[str, Any]] = {}
            for done, mode in enumerate(modes, start=1):
                place = folder if mode in ("baseline", "steward") else folder / "home"
                facts[mode] = run_child(mode, csv, place)
                progress.update(task, completed=done)
        csv_bytes = csv.stat().st_size

    memory = {
        mode: memory_result(facts[mode], in_memory)
        for mode in ("baseline", "steward", "steward-v2")
    }
    baseline_median = statistics.median(r.baseline_seconds for r in rounds)
    steward_median = statistics.median(r.steward_seconds for r in rounds)
    steward_v2_median = statistics.median(r.steward_v2_seconds for r in rounds)
    stages = facts["stages"]
    return Report(
        rows=rows,
        columns=columns,
        csv_mib=mib(csv_bytes),
        in_memory_mib=mib(in_memory),
        parquet_mib_baseline=mib(parquet_bytes),
        repeats=repeats,
        rounds=rounds,
        baseline_median=baseline_median,
        baseline_read_median=statistics.median(r.baseline_read_seconds for r in rounds),
        baseline_write_median=statistics.median(r.baseline_write_seconds for r in rounds),
        steward_median=steward_median,
        steward_v2_median=steward_v2_median,
        time_ratio=steward_median / baseline_median,
        time_ratio_v2=steward_v2_median / baseline_median,
        time_target=TIME_TARGET,
        memory=memory,
        memory_ratio=memory["steward"].ratio,
        memory_ratio_v2=memory["steward-v2"].ratio,
        memory_ratio_baseline=memory["baseline"].ratio,
        memory_target=MEMORY_TARGET,
        stages=Stages(
            pre_rss_mib=stages["pre_rss_mib"],
            arrow_table_mib=stages["arrow_table_mib"],
            pii_sample_mib=stages["pii_sample_mib"],
            parquet_mib=stages["parquet_mib"],
            stages=[Stage(**s) for s in stages["stages"]],
        ),
        generate_seconds=generate_seconds,
        total_seconds=time.perf_counter() - began,
        notes=NOTES,
        machine=machine(),
    )


NOTES = [
    "Times are medians over the rounds; rounds alternate baseline, Steward v1, Steward v2 in "
    "one process, reading the same CSV (in the page cache for all of them).",
    "Steward v1 registers the file under a fresh name (first version: no contract to check); "
    "Steward v2 registers it again under the same name with other declarations, so a second "
    "version is created and validated against the contract derived from the first.",
    "Memory is measured once per mode in a separate child process: RSS is process-wide, so it "
    "includes allocator caches (Arrow's mimalloc pool, polars' jemalloc, Python's arenas) and "
    "anything else the process touched. Each child resets its peak mark (/proc/self/clear_refs) "
    "after set-up; 'peak' is VmHWM after the work and 'increase' is that minus VmRSS after "
    "set-up. ru_maxrss is not used for the peak: the kernel keeps in it the RSS the child "
    "inherited from this (larger) parent at fork/exec, so it reports the parent's size.",
    "In-memory size is polars' estimated_size() of the baseline frame (polars reads the date "
    "column as text; Steward holds it as a timestamp, and its text as large_string).",
    "The stage breakdown is a re-enactment in a child process: the library functions "
    "DatasetService.register calls, in its order, each timed, with the peak RSS reset "
    "(/proc/self/clear_refs) before each stage. The store transaction (evidence, version row, "
    "ledger event) is not re-enacted. The re-enactment runs once, in a fresh process that "
    "first-touches all its memory (page faults), so its sum can exceed the in-process median "
    "and 'v1 median minus that sum' can be negative.",
]


def machine() -> dict[str, Any]:
    """The harness's facts, with memory and the table libraries this benchmark measures."""
    import pandera
    import pyarrow as pa

    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        **harness_machine(),
        "memory": f"{total / 1024**3:.1f} GiB",
        "arrow pool": pa.default_memory_pool().backend_name,
        "pandera": pandera.__version__,
    }


# --------------------------------------------------------------------------- output


def verdict(ratio: float, target: float) -> str:
    return "[green]met[/green]" if ratio <= target else "[red]missed[/red]"


def render(report: Report) -> None:
    console = Console()
    table = Table(title=f"Steward registration: {report.rows:,} rows x {report.columns} columns")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("CSV size", f"{report.csv_mib:,.1f} MiB", "")
    table.add_row("in-memory size (polars estimated_size)", f"{report.in_memory_mib:,.1f} MiB", "")
    table.add_row("canonical Arrow table (nbytes)", f"{report.stages.arrow_table_mib:,.1f} MiB", "")
    table.add_row("Parquet written by the baseline", f"{report.parquet_mib_baseline:,.1f} MiB", "")
    table.add_row("Parquet stored by Steward", f"{report.stages.parquet_mib:,.1f} MiB", "")
    table.add_section()
    table.add_row(f"baseline, median of {report.repeats} (s)", f"{report.baseline_median:.2f}", "")
    table.add_row("  polars read_csv (s)", f"{report.baseline_read_median:.2f}", "")
    table.add_row("  polars write_parquet (s)", f"{report.baseline_write_median:.2f}", "")
    table.add_row("Steward register, first version (s)", f"{report.steward_median:.2f}", "")
    table.add_row(
        "time ratio, first version / baseline",
        f"{report.time_ratio:.2f}x",
        f"<= {report.time_target:g}x {verdict(report.time_ratio, report.time_target)}",
    )
    table.add_row("Steward register, new version (s)", f"{report.steward_v2_median:.2f}", "")
    table.add_row(
        "time ratio, new version / baseline",
        f"{report.time_ratio_v2:.2f}x",
        f"<= {report.time_target:g}x {verdict(report.time_ratio_v2, report.time_target)}",
    )
    for i, r in enumerate(report.rounds, start=1):
        table.add_row(
            f"  round {i}: baseline / v1 / v2 (s)",
            f"{r.baseline_seconds:.2f} / {r.steward_seconds:.2f} / {r.steward_v2_seconds:.2f}",
            "",
        )
    labels = {"baseline": "baseline", "steward": "first version", "steward-v2": "new version"}
    for mode, memory in report.memory.items():
        table.add_section()
        label = labels[mode]
        table.add_row(f"{label}: RSS after set-up (MiB)", f"{memory.pre_rss_mib:,.0f}", "")
        table.add_row(f"{label}: peak RSS (MiB)", f"{memory.peak_rss_mib:,.0f}", "")
        table.add_row(f"{label}: peak increase (MiB)", f"{memory.increase_mib:,.0f}", "")
        if memory.arrow_peak_mib is not None:
            table.add_row(f"{label}: Arrow pool peak (MiB)", f"{memory.arrow_peak_mib:,.0f}", "")
        target = (
            f"<= {report.memory_target:g}x {verdict(memory.ratio, report.memory_target)}"
            if mode != "baseline"
            else "(comparison)"
        )
        table.add_row(f"{label}: memory ratio", f"{memory.ratio:.2f}x", target)
    console.print(table)

    stages = Table(title="Stages of a registration (a re-enactment, one run, in a child)")
    stages.add_column("stage", no_wrap=True)
    for header in ("s", "% of v1", "peak MiB", "x mem", "RSS MiB", "Arrow MiB"):
        stages.add_column(header, justify="right")
    first_version = 0.0
    for s in report.stages.stages:
        contract = s.name.startswith("check_contract")
        if not contract:
            first_version += s.seconds
        stages.add_row(
            s.name,
            f"{s.seconds:.2f}",
            "-" if contract else f"{s.seconds / report.steward_median:.0%}",
            f"{s.peak_increase_mib:,.0f}",
            f"{s.peak_increase_mib / report.in_memory_mib:.2f}x",
            f"{s.rss_after_mib:,.0f}",
            f"{s.arrow_after_mib:,.0f}",
        )
    stages.add_section()
    rest = report.steward_median - first_version
    stages.add_row("sum of first-version stages", f"{first_version:.2f}", "", "", "", "", "")
    stages.add_row("v1 median minus that sum", f"{rest:.2f}", f"{rest / report.steward_median:.0%}")
    console.print(stages)
    console.print(
        "peak MiB: peak RSS within the stage over the RSS after set-up "
        f"({report.stages.pre_rss_mib:,.0f} MiB); x mem: that over the in-memory size; "
        "RSS MiB: RSS after the stage; Arrow MiB: bytes held by Arrow's memory pool after "
        "the stage. The row sample the PII scan reads is "
        f"{report.stages.pii_sample_mib:,.1f} MiB.",
        highlight=False,
    )
    for note in report.notes:
        console.print(f"- {note}", highlight=False)
    console.print(
        ", ".join(f"{key} {value}" for key, value in report.machine.items()), highlight=False
    )
    console.print(
        f"CSV generated in {report.generate_seconds:.1f} s; whole benchmark "
        f"{report.total_seconds:.0f} s",
        highlight=False,
    )


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile one registration of each kind in a child process (stderr)",
    )
    parser.add_argument("--child", choices=CHILD_MODES, help=argparse.SUPPRESS)
    parser.add_argument("child_args", nargs="*", help=argparse.SUPPRESS)


def main(argv: list[str] | None = None) -> int:
    args = arguments(
        __doc__,
        {"rows": DEFAULT_ROWS},
        smoke={"rows": 2_000},
        repeats=DEFAULT_REPEATS,
        argv=argv,
        extra=_options,
    )
    if args.child:
        csv, place = (Path(a) for a in args.child_args)
        return child_main(args.child, csv, place)
    if args.child_args:
        raise SystemExit(f"unexpected arguments: {' '.join(args.child_args)}")
    if args.rows < 10:
        raise SystemExit("--rows must be at least 10")
    if args.repeats < 1:
        raise SystemExit("--repeats must be at least 1")

    result = run(args.rows, args.repeats, args.profile)
    if not args.json:
        render(result)
    met = result.time_ratio <= result.time_target and all(
        m.ratio <= result.memory_target for mode, m in result.memory.items() if mode != "baseline"
    )
    return report("register", args, asdict(result), ok=met, lines=[])


if __name__ == "__main__":
    sys.exit(main())
