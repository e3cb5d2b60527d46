"""Every benchmark under ``benchmarks/`` still runs: each at its tiny ``--smoke`` size, through
the shared harness, with its ``--json`` report (targets are not judged at that size).

Each script's ``main(argv)`` runs in the test's own process (a new interpreter per script
would only add its start-up to the suite); the environment and the working folder are
restored afterwards, and the script's modules forgotten."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py") if not p.stem.startswith("_"))
# Over ten seconds even at the smoke size (start-up spawns dozens of interpreters; serving
# trains a model and starts four servers).
LONGER = {"checks", "explain", "register", "serving", "startup"}


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
def test_a_benchmark_runs_at_its_smoke_size_and_reports_json(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import _harness
    environment = dict(os.environ)
    before = set(sys.modules)
    try:
        spec = importlib.util.spec_from_file_location(
            f"benchmark_{name}", BENCHMARKS / f"{name}.py"
        )
        assert spec is not None and spec.loader is not None
        script = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        code = script.main(["--smoke", "--json"])
    finally:
        os.environ.clear()
        os.environ.update(environment)
        for module in set(sys.modules) - before:
            if module == "_harness" or module.startswith("benchmark_"):
                del sys.modules[module]
    done = capsys.readouterr()
    assert code == 0, done.err[-2000:]
    document = json.loads(done.out)
    assert document["benchmark"] == name
    assert document["parameters"]["smoke"] is True and document["parameters"]["repeats"] == 1
    assert document["machine"]["python"] and document["machine"]["cpus"]
    assert document["results"]
