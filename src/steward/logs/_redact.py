"""Keyed hashing of PII columns: joins stay possible, values are unrecoverable.

A value is replaced by ``"hmac-sha256:" + hex(HMAC-SHA256(key, canonical bytes))``, where the
canonical bytes are the value's JSON (orjson, keys sorted). Equal values under one key give
equal strings, so two records (or a record and a feedback label) still join on a redacted
column; without the key, even a guessable value (a postcode, a birth date) cannot be tested
against the hash. The type is part of the value: ``"42"`` and ``42`` hash differently.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson

__all__ = ["REDACTED_PREFIX", "new_log_key", "redact", "redact_columns"]

REDACTED_PREFIX = "hmac-sha256:"
_MIN_KEY = 16


def new_log_key() -> bytes:
    """A fresh redaction key: 32 random bytes. Keep it secret and keep it: a new key breaks
    joins with everything hashed under the old one."""
    return secrets.token_bytes(32)


def redact(values: Mapping[str, Any], pii: Collection[str], key: bytes) -> dict[str, Any]:
    """A copy of ``values`` with every value whose column is in ``pii`` keyed-hashed.

    ``None`` stays ``None`` (a missing value is not a secret, and hashing it would make every
    missing value join). Columns in ``pii`` that ``values`` lacks are ignored. Raises
    ``ValueError`` for a key shorter than 16 bytes and ``TypeError`` for a PII value with no
    JSON form.
    """
    _check_key(key)
    out = dict(values)
    for column in pii:
        value = out.get(column)
        if value is not None:
            out[column] = _hashed(value, key)
    return out


def redact_columns(
    columns: Mapping[str, Sequence[Any]], pii: Collection[str], key: bytes
) -> dict[str, list[Any]]:
    """:func:`redact` for a batch's inputs, column by column: a copy of ``columns`` (column →
    the rows' values) with each value of a column in ``pii`` keyed-hashed, ``None`` kept."""
    _check_key(key)
    out = {column: list(values) for column, values in columns.items()}
    for column in pii:
        values = out.get(column)
        if values is not None:
            out[column] = [None if value is None else _hashed(value, key) for value in values]
    return out


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < _MIN_KEY:
        raise ValueError(f"the redaction key must be at least {_MIN_KEY} bytes")


def _hashed(value: Any, key: bytes) -> str:
    data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return REDACTED_PREFIX + hmac.digest(key, data, "sha256").hex()
