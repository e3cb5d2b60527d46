"""Start-up benchmark: how long ``steward whoami``, ``steward --help`` and ``steward --version``
take compared with a bare interpreter.

Runs ``python -c pass``, ``python -m steward whoami``, the installed ``steward whoami``,
``steward --help`` and ``steward --version`` ``--runs`` times each (default 20, interleaved,
after two untimed warm-up runs each) against a freshly initialised temporary home, and reports
median and minimum wall times, the difference to ``python -c pass`` and the ratio to it.
Targets, on the difference of the medians: ``whoami`` at most 0.5 s, ``--help`` and
``--version`` at most 0.3 s. Then runs ``python -X importtime -m steward whoami`` and
``… --help`` once each and lists the top-level packages with the largest cumulative import
time.

By default the children write and use bytecode caches (in a temporary
``PYTHONPYCACHEPREFIX``, so the source tree stays untouched), as an installed Steward
would; ``--as-is`` keeps the inherited environment instead (for instance
``PYTHONDONTWRITEBYTECODE=1``, which makes every run recompile Steward's own modules).

    .venv/bin/python benchmarks/startup.py [--runs N] [--json] [--as-is] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from _harness import arguments, report
from _harness import machine as harness_machine

DEFAULT_RUNS = 20
WARMUP_RUNS = 2
TOP_PACKAGES = 10
BASELINE = "python -c pass"
# Seconds a command may take beyond ``python -c pass`` (difference of the medians).
TARGETS = {"whoami": 0.5, "--help": 0.3, "--version": 0.3}
IMPORT_PROFILES = (("whoami",), ("--help",))

err_console = Console(stderr=True)


@dataclass
class Timing:
    command: str
    argv: list[str]
    runs: int
    median: float
    minimum: float
    mean: float
    stdev: float
    difference: float | None = None  # median minus the median of ``python -c pass``
    ratio: float | None = None  # median over the median of ``python -c pass``
    target: float | None = None  # the most ``difference`` may be, in seconds
    within_target: bool | None = None


@dataclass
class PackageImport:
    package: str
    cumulative_ms: float  # wall time of its outermost imports, including what they import
    self_ms: float  # time spent in its own modules only
    modules: int


@dataclass
class ImportProfile:
    command: str
    total_ms: float  # all imports of the run, wall time
    packages: list[PackageImport]


@dataclass
class Report:
    runs: int
    bytecode_cache: str
    timings: list[Timing]
    imports: list[ImportProfile]
    machine: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- running


def child_env(home: Path, pycache: Path | None) -> dict[str, str]:
    """The environment of every child: no inherited ``STEWARD_*``, the temporary home."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("STEWARD_")}
    env["STEWARD_HOME"] = str(home)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    run(argv, env)
    return time.perf_counter() - start


def commands() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {
        BASELINE: [sys.executable, "-c", "pass"],
        # The floor no CLI on this stack can go below: its three required libraries.
        "import sqlalchemy, typer, pydantic_settings": [
            sys.executable,
            "-c",
            "import sqlalchemy, typer, pydantic_settings",
        ],
        "python -m steward whoami": [sys.executable, "-m", "steward", "whoami"],
    }
    script = Path(sys.executable).parent / "steward"
    located = str(script) if script.exists() else shutil.which("steward")
    if located:
        found["steward whoami (installed script)"] = [located, "whoami"]
        found["steward --help (installed script)"] = [located, "--help"]
        found["steward --version (installed script)"] = [located, "--version"]
    else:
        err_console.print("[yellow]no installed `steward` script found: timing python -m[/]")
        found["python -m steward --help"] = [sys.executable, "-m", "steward", "--help"]
        found["python -m steward --version"] = [sys.executable, "-m", "steward", "--version"]
    return found


def target_of(argv: list[str]) -> float | None:
    return TARGETS.get(argv[-1])


def measure(
    argvs: dict[str, list[str]], env: dict[str, str], runs: int, warmups: int = WARMUP_RUNS
) -> list[Timing]:
    samples: dict[str, list[float]] = {name: [] for name in argvs}
    with Progress(
        TextColumn("[bold]{task.description:<36}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    ) as progress:
        warm = progress.add_task("warm-up", total=warmups * len(argvs))
        for _ in range(warmups):
            for argv in argvs.values():
                run(argv, env)
                progress.advance(warm)
        tasks = {name: progress.add_task(name, total=runs) for name in argvs}
        for _ in range(runs):  # interleaved, so drifting machine load hits every command alike
            for name, argv in argvs.items():
                samples[name].append(timed(argv, env))
                progress.advance(tasks[name])

    base = statistics.median(samples[BASELINE])
    timings = []
    for name, values in samples.items():
        median = statistics.median(values)
        timing = Timing(
            command=name,
            argv=argvs[name],
            runs=len(values),
            median=median,
            minimum=min(values),
            mean=statistics.fmean(values),
            stdev=statistics.stdev(values) if len(values) > 1 else 0.0,
        )
        if name != BASELINE:
            timing.difference = median - base
            timing.ratio = median / base
            timing.target = target_of(argvs[name])
            if timing.target is not None:
                timing.within_target = timing.difference <= timing.target
        timings.append(timing)
    return timings


# --------------------------------------------------------------------------- importtime


@dataclass
class _Node:
    name: str
    level: int
    self_us: int
    cumulative_us: int
    children: list[_Node] = field(default_factory=list)

    @property
    def package(self) -> str:
        return self.name.split(".", 1)[0]


def parse_importtime(stderr: str) -> list[_Node]:
    """The import tree of ``-X importtime`` output (which lists children before parents)."""
    stack: list[_Node] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name = line.split(":", 1)[1].split("|", 2)
        raw = name.rstrip()
        level = (len(raw) - len(raw.lstrip())) // 2
        node = _Node(raw.strip(), level, int(self_us), int(cumulative_us))
        children: list[_Node] = []
        while stack and stack[-1].level > level:
            children.append(stack.pop())
        node.children = children[::-1]
        stack.append(node)
    return stack


def packages_by_import_time(roots: list[_Node]) -> tuple[float, list[PackageImport]]:
    """Per top-level package: cumulative time of its outermost imports, and its own time."""
    cumulative: dict[str, int] = {}
    own: dict[str, int] = {}
    modules: dict[str, int] = {}

    def walk(node: _Node, enclosing: frozenset[str]) -> None:
        package = node.package
        if package not in enclosing:
            cumulative[package] = cumulative.get(package, 0) + node.cumulative_us
        own[package] = own.get(package, 0) + node.self_us
        modules[package] = modules.get(package, 0) + 1
        inner = enclosing | {package}
        for child in node.children:
            walk(child, inner)

    for root in roots:
        walk(root, frozenset())
    total_ms = sum(root.cumulative_us for root in roots) / 1000
    ranked = sorted(cumulative, key=lambda name: cumulative[name], reverse=True)
    return total_ms, [
        PackageImport(name, cumulative[name] / 1000, own[name] / 1000, modules[name])
        for name in ranked[:TOP_PACKAGES]
    ]


# --------------------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    """The harness's facts, and the interpreter the timed commands run."""
    return {**harness_machine(), "executable": sys.executable}


def render(report: Report) -> None:
    console = Console()
    targets = ", ".join(f"{name} ≤ {limit} s" for name, limit in TARGETS.items())
    table = Table(
        title=f"Steward start-up: {report.runs} runs each, bytecode cache "
        f"{report.bytecode_cache}; targets, median − pass: {targets}"
    )
    columns = ("command", "median (s)", "min (s)", "mean ± sd (s)", "× pass", "− pass (s)")
    for column in columns:
        table.add_column(column, justify="left" if column == "command" else "right")
    for timing in report.timings:
        verdict = ratio = ""
        if timing.difference is not None and timing.ratio is not None:
            ratio = f"{timing.ratio:.1f}×"
            verdict = f"{timing.difference:+.3f}"
            if timing.within_target is not None:
                mark = "[green]ok[/]" if timing.within_target else "[red]over[/]"
                verdict += f" {mark} (≤ {timing.target})"
        table.add_row(
            timing.command,
            f"{timing.median:.3f}",
            f"{timing.minimum:.3f}",
            f"{timing.mean:.3f} ± {timing.stdev:.3f}",
            ratio,
            verdict,
        )
    console.print(table)

    for profile in report.imports:
        imports = Table(
            title=f"python -X importtime -m steward {profile.command}: top {TOP_PACKAGES} "
            f"packages (all imports: {profile.total_ms:.0f} ms)"
        )
        imports.add_column("package")
        imports.add_column("cumulative (ms)", justify="right")
        imports.add_column("own modules (ms)", justify="right")
        imports.add_column("modules", justify="right")
        for package in profile.packages:
            imports.add_row(
                package.package,
                f"{package.cumulative_ms:.1f}",
                f"{package.self_ms:.1f}",
                str(package.modules),
            )
        console.print(imports)
    console.print(
        "cumulative: time of the package's outermost imports, including everything they "
        "import (so `steward` includes its dependencies); own: its modules alone.",
        highlight=False,
    )
    console.print(", ".join(f"{key} {value}" for key, value in report.machine.items()))


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="keep the inherited environment (no temporary bytecode cache)",
    )


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, {"runs": DEFAULT_RUNS}, smoke={"runs": 2}, argv=argv, extra=_options)
    if args.runs < 2:
        raise SystemExit("--runs must be at least 2")

    with tempfile.TemporaryDirectory(prefix="steward-startup-") as tmp:
        folder = Path(tmp)
        pycache = None if args.as_is else folder / "pycache"
        env = child_env(folder / "home", pycache)
        run([sys.executable, "-m", "steward", "init"], env)
        # a smoke run: no warm-up, one import profile
        warmups = 0 if args.smoke else WARMUP_RUNS
        timings = measure(commands(), env, args.runs, warmups)
        profiles = []
        for extra in IMPORT_PROFILES[:1] if args.smoke else IMPORT_PROFILES:
            traced = run([sys.executable, "-X", "importtime", "-m", "steward", *extra], env)
            total_ms, packages = packages_by_import_time(parse_importtime(traced.stderr))
            profiles.append(ImportProfile(" ".join(extra), total_ms, packages))

    if args.as_is:
        cache = "as inherited"
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            cache += " (PYTHONDONTWRITEBYTECODE set)"
    else:
        cache = "on (temporary PYTHONPYCACHEPREFIX, warmed)"
    result = Report(args.runs, cache, timings, profiles, machine())
    if not args.json:
        render(result)
    met = all(t.within_target is not False for t in timings)
    return report("startup", args, asdict(result), ok=met, lines=[])


if __name__ == "__main__":
    sys.exit(main())
