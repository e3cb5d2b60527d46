"""What a run captures about where it ran: the code's git state and the environment."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["TRACKED_PACKAGES", "capture_code", "capture_environment"]

# Versions recorded with every run (those installed; none is imported to find its version).
TRACKED_PACKAGES = (
    "steward-mlops",
    "numpy",
    "pandas",
    "polars",
    "pyarrow",
    "scikit-learn",
    "scipy",
    "optuna",
    "skops",
    "fairlearn",
    "shap",
    "xgboost",
    "xgboost-cpu",
    "lightgbm",
)


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace")


def capture_code(cwd: Path) -> dict[str, Any]:
    """The git commit of ``cwd``, whether the tree is dirty, and a hash of the uncommitted diff.

    ``{"git": None}`` outside a repository (or without git). The diff hash covers tracked
    changes (``git diff HEAD``) and the list of untracked files, so two runs with the same
    commit and the same hash ran the same code.
    """
    top = _git(cwd, "rev-parse", "--show-toplevel")
    if top is None:
        return {"git": None}
    commit = (_git(cwd, "rev-parse", "HEAD") or "").strip() or None
    status = _git(cwd, "status", "--porcelain") or ""
    dirty = bool(status.strip())
    code: dict[str, Any] = {
        "git": {"commit": commit, "dirty": dirty, "root": top.strip()},
    }
    if dirty:
        diff = _git(cwd, "diff", "HEAD", "--binary") or ""
        untracked = _git(cwd, "ls-files", "--others", "--exclude-standard") or ""
        digest = hashlib.sha256((diff + "\0" + untracked).encode("utf-8")).hexdigest()
        code["git"]["diff_sha256"] = digest
    return code


def capture_environment() -> dict[str, Any]:
    packages = {}
    for name in TRACKED_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "executable": sys.executable,
        "packages": packages,
    }
