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


_SCALARS = (type(None), bool, int, str)


def _check(value: Any, path: str) -> None:
    # Exact type tests first: this runs on every ledger append, and most values are scalars.
    kind = type(value)
    if kind in _SCALARS:
        return
    if kind is float:
        if not math.isfinite(value):
            raise ValueError(f"{path}: {value!r} has no canonical JSON form")
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise ValueError(f"{path}: key {key!r} is not a string")
            if type(item) not in _SCALARS:
                _check(item, f"{path}.{key}")
        return
    if kind is list or kind is tuple:
        for index, item in enumerate(value):
            if type(item) not in _SCALARS:
                _check(item, f"{path}[{index}]")
        return
    # Subclasses (IntEnum, StrEnum, OrderedDict…) are checked by their base type.
    if isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        _check(float(value), path)
        return
    if isinstance(value, dict):
        _check(dict(value), path)
        return
    if isinstance(value, list | tuple):
        _check(list(value), path)
        return
    raise ValueError(f"{path}: {type(value).__name__} is not a JSON value")


def canonical_bytes(value: Any) -> bytes:
    """Encode ``value`` canonically; raise ``ValueError`` naming the first offending part."""
    _check(value, "$")
    try:
        return _encoder.encode(value).encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be UTF-8
        raise ValueError(f"$: string is not valid Unicode ({exc.reason})") from exc
