"""Every benchmark under ``benchmarks/`` still runs: each at its tiny ``--smoke`` size, through
the shared harness, with its ``--json`` report (targets are not judged at that size)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py") if not p.stem.startswith("_"))
# Over ten seconds even at the smoke size (start-up spawns dozens of interpreters).
LONGER = {"checks", "explain", "register", "startup"}


def test_every_benchmark_uses_the_harness() -> None:
    assert SCRIPTS, "no benchmark found"
    for name in SCRIPTS:
        tree = ast.parse((BENCHMARKS / f"{name}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "_harness" in imported, name


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in LONGER else n for n in SCRIPTS],
)
def test_a_benchmark_runs_at_its_smoke_size_and_reports_json(name: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--smoke", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert document["benchmark"] == name
    assert document["parameters"]["smoke"] is True and document["parameters"]["repeats"] == 1
    assert document["machine"]["python"] and document["machine"]["cpus"]
    assert document["results"]
