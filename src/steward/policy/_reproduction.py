"""Whether a reproduction agrees with the record it reproduces.

A reproduction is another identity's re-run of a recorded check with the recorded parameters
on the same rows. Results agree when the status, the findings (code and severity) and every
metric agree: strings, booleans and structure exactly, numbers to a relative tolerance of
1e-6 (an absolute 1e-9 near zero), which absorbs floating-point noise across machines and
library builds but not a changed result.
"""

from __future__ import annotations

import math
from typing import Any

from steward.domain import Evidence

__all__ = ["RELATIVE_TOLERANCE", "disagreements"]

RELATIVE_TOLERANCE = 1e-6
_ABSOLUTE_TOLERANCE = 1e-9
_LISTED = 5


def disagreements(original: Evidence, reproduction: Evidence) -> list[str]:
    """What differs between the two records' results (empty when they agree), at most a
    few items, each naming a metric path and both values."""
    found: list[str] = []
    if original.status is not reproduction.status:
        found.append(f"status {original.status.value} vs {reproduction.status.value}")
    mine = sorted((f.code, f.severity.label) for f in original.findings)
    theirs = sorted((f.code, f.severity.label) for f in reproduction.findings)
    if mine != theirs:
        found.append(f"findings {_short(mine)} vs {_short(theirs)}")
    _compare(original.metrics, reproduction.metrics, "", found)
    return found[:_LISTED]


def _short(findings: list[tuple[str, str]]) -> str:
    return "[" + ", ".join(f"{code} ({severity})" for code, severity in findings) + "]"


def _compare(a: Any, b: Any, path: str, found: list[str]) -> None:
    if len(found) >= _LISTED:
        return
    where = path or "metrics"
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                found.append(f"{sub} present in only one")
            else:
                _compare(a[key], b[key], sub, found)
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            found.append(f"{where} has {len(a)} vs {len(b)} items")
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, f"{path}.{i}" if path else str(i), found)
        return
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        if not math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=_ABSOLUTE_TOLERANCE):
            found.append(f"{where} {a:.6g} vs {b:.6g}")
        return
    if a != b:
        found.append(f"{where} {a!r} vs {b!r}"[:200])
