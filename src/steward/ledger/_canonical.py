"""Canonical JSON: the exact bytes a ledger leaf or a signed statement is computed from.

Rules (also implemented, independently, by the standalone verifier):

* UTF-8, no insignificant white space (``","`` and ``":"`` separators);
* object keys are strings, sorted by Unicode code point; duplicate keys cannot occur;
* strings are written as JSON strings with non-ASCII characters kept as UTF-8;
* integers are written in full (no exponent, any size); floats are written as the shortest
  decimal that reads back to the same IEEE-754 double (Python's ``repr``), so a number
  round-trips exactly; NaN and infinities are refused;
* ``true``, ``false``, ``null``, arrays; nothing else (no bytes, dates, decimals, sets).

The encoder refuses, with :class:`ValueError`, anything outside these rules rather than
guessing a representation: a ledger that silently stringified a type would not be canonical.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["canonical_bytes"]

_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: {value!r} has no canonical JSON form")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: key {key!r} is not a string")
            _check(item, f"{path}.{key}")
        return
    raise ValueError(f"{path}: {type(value).__name__} is not a JSON value")


def canonical_bytes(value: Any) -> bytes:
    """Encode ``value`` canonically; raise ``ValueError`` naming the first offending part."""
    _check(value, "$")
    try:
        return _encoder.encode(value).encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be UTF-8
        raise ValueError(f"$: string is not valid Unicode ({exc.reason})") from exc
