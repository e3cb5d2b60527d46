"""The reference profile: what the engine keeps of a model version's training inputs.

Every statistic the engine reports equals scipy's on the raw data, so the profile keeps the
data exactly, in the form the statistics want: per numeric column the finite values sorted
(float64) with the counts of missing and of non-finite values set apart, per categorical
column the count of each category and of missing values. A current batch is then compared
with one sort of its own columns; the reference is never sorted again.

The profile serialises to bytes without pickle, deterministically (the same profile always
gives the same bytes, so it can be stored content-addressed):

    b"STWDRIFT" | header length (u64, little-endian) | header (UTF-8 JSON) | zero padding
    to a multiple of 8 | the numeric columns' sorted values (float64, little-endian), one
    after another in header order

The header holds the format version and, per column, its name, kind and counts. Reading
checks the layout, that the values are sorted and finite and that the counts agree, and
refuses anything else with ``InvalidInput``; the arrays read are views of the bytes.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from steward.drift._values import (
    Columns,
    Kind,
    category_counts,
    check_kinds,
    column_map,
    kind_of,
    numeric_array,
)
from steward.errors import InvalidInput

__all__ = ["CategoricalReference", "NumericReference", "ReferenceProfile", "map_columns"]

_MAGIC = b"STWDRIFT"
_VERSION = 1
_LENGTH = struct.Struct("<Q")

T = TypeVar("T")


def map_columns(work: Callable[[str], T], names: list[str], workers: int | None) -> list[T]:
    """``work(name)`` for every column, in order: on ``workers`` threads (by default one per
    usable core, at most one per column; sorting and searching release the GIL, so threads
    run in parallel), or in this thread when that is one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    count = workers or max(1, min(len(names), cores or 1))
    if count == 1:
        return [work(name) for name in names]
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(work, names))


@dataclass(frozen=True, eq=False)
class NumericReference:
    """A numeric reference column: its finite values sorted (read-only float64), how many
    values were missing (NaN, ``None``) and how many were ±inf, out of ``rows``."""

    values: npt.NDArray[np.float64]
    missing: int
    non_finite: int
    rows: int
    std: float
    """Population standard deviation of ``values`` (the scale of normalised W1)."""

    kind: Kind = field(default="numeric", init=False)


@dataclass(frozen=True, eq=False)
class CategoricalReference:
    """A categorical reference column: the count of each category label and of missing
    values, out of ``rows``."""

    counts: Mapping[str, int]
    missing: int
    rows: int

    kind: Kind = field(default="categorical", init=False)


Reference = NumericReference | CategoricalReference


def _numeric(name: str, values: Any) -> NumericReference:
    array = numeric_array(name, values)
    missing = int(np.count_nonzero(np.isnan(array)))
    finite = np.isfinite(array)
    kept = int(np.count_nonzero(finite))
    if array.size == 0:
        raise InvalidInput(f"reference column {name!r} is empty")
    if kept == 0:
        what = "missing" if missing == array.size else "missing or infinite"
        raise InvalidInput(f"reference column {name!r} has no usable value (all {what})")
    ordered = np.sort(array if kept == array.size else array[finite])
    ordered.setflags(write=False)
    return NumericReference(
        values=ordered,
        missing=missing,
        non_finite=array.size - missing - kept,
        rows=int(array.size),
        std=float(np.std(ordered)),
    )


def _categorical(name: str, values: Any) -> CategoricalReference:
    counts, missing, rows = category_counts(name, values)
    if rows == 0:
        raise InvalidInput(f"reference column {name!r} is empty")
    if not counts:
        raise InvalidInput(f"reference column {name!r} has no usable value (all missing)")
    return CategoricalReference(counts=dict(sorted(counts.items())), missing=missing, rows=rows)


def _reference(name: str, values: Any, kind: Kind | None) -> Reference:
    if kind is None:
        kind = kind_of(name, values)
        if kind is None:
            raise InvalidInput(f"reference column {name!r} has no usable value (all missing)")
    return _numeric(name, values) if kind == "numeric" else _categorical(name, values)


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """Per input column of a model version, what the current batches are compared with.
    Build it with :meth:`build`; store it with :meth:`to_bytes` / :meth:`from_bytes`."""

    columns: Mapping[str, Reference]

    @classmethod
    def build(
        cls,
        columns: Columns,
        *,
        kinds: Mapping[str, str] | None = None,
        workers: int | None = None,
    ) -> ReferenceProfile:
        """The profile of ``columns`` (name → values, or a polars DataFrame). ``kinds`` gives
        a column's kind (``"numeric"`` or ``"categorical"``) instead of detecting it.

        ``InvalidInput`` (one line) when there is no column, a kind is unknown or names no
        column, a column is empty, has no usable value (all missing) or mixes numbers and
        text without a declared kind."""
        found = column_map(columns, "the reference")
        if not found:
            raise InvalidInput("the reference has no column")
        given = check_kinds(kinds, found)
        names = list(found)

        def one(name: str) -> Reference:
            return _reference(name, found[name], given.get(name))

        built = map_columns(one, names, workers)
        return cls(columns=dict(zip(names, built, strict=True)))

    def to_bytes(self) -> bytes:
        """The profile as bytes (the layout in the module docstring); the same profile gives
        the same bytes."""
        entries: list[dict[str, Any]] = []
        arrays: list[npt.NDArray[np.float64]] = []
        for name, column in self.columns.items():
            if isinstance(column, NumericReference):
                entries.append(
                    {
                        "name": name,
                        "kind": "numeric",
                        "values": int(column.values.size),
                        "missing": column.missing,
                        "non_finite": column.non_finite,
                        "rows": column.rows,
                        "std": column.std,
                    }
                )
                arrays.append(column.values)
            else:
                entries.append(
                    {
                        "name": name,
                        "kind": "categorical",
                        "categories": list(column.counts),
                        "counts": list(column.counts.values()),
                        "missing": column.missing,
                        "rows": column.rows,
                    }
                )
        header = json.dumps(
            {"format": _VERSION, "columns": entries},
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        start = len(_MAGIC) + _LENGTH.size + len(header)
        padding = b"\0" * (-start % 8)
        parts = [_MAGIC, _LENGTH.pack(len(header)), header, padding]
        parts.extend(array.astype("<f8", copy=False).tobytes() for array in arrays)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> ReferenceProfile:
        """The profile ``data`` holds (written by :meth:`to_bytes`); ``InvalidInput`` when the
        bytes are not a profile of this format or are inconsistent."""
        try:
            return cls(columns=_read(memoryview(data)))
        except (KeyError, TypeError, ValueError, struct.error) as error:
            raise InvalidInput(f"not a drift reference profile: {error}") from None


def _read(data: memoryview) -> dict[str, Reference]:
    if bytes(data[: len(_MAGIC)]) != _MAGIC:
        raise ValueError("wrong magic bytes")
    (length,) = _LENGTH.unpack_from(data, len(_MAGIC))
    start = len(_MAGIC) + _LENGTH.size
    header = json.loads(bytes(data[start : start + length]).decode())
    if header.get("format") != _VERSION:
        raise ValueError(f"format {header.get('format')!r}, expected {_VERSION}")
    offset = start + length
    offset += -offset % 8
    columns: dict[str, Reference] = {}
    for entry in header["columns"]:
        name = entry["name"]
        if not isinstance(name, str) or name in columns:
            raise ValueError(f"bad or repeated column name {name!r}")
        if entry["kind"] == "numeric":
            count = _count(entry["values"], 1)
            if offset + 8 * count > len(data):
                raise ValueError(f"column {name!r} is truncated")
            values = np.frombuffer(data, dtype="<f8", count=count, offset=offset)
            offset += 8 * count
            if not (np.isfinite(values).all() and (values[1:] >= values[:-1]).all()):
                raise ValueError(f"column {name!r} is not sorted and finite")
            missing, non_finite = _count(entry["missing"]), _count(entry["non_finite"])
            rows = _count(entry["rows"])
            std = entry["std"]
            if rows != count + missing + non_finite or not isinstance(std, float | int):
                raise ValueError(f"column {name!r}: inconsistent counts")
            columns[name] = NumericReference(
                values=values.astype(np.float64, copy=False),
                missing=missing,
                non_finite=non_finite,
                rows=rows,
                std=float(std),
            )
        elif entry["kind"] == "categorical":
            labels, numbers = entry["categories"], entry["counts"]
            if not labels or len(labels) != len(numbers) or len(set(labels)) != len(labels):
                raise ValueError(f"column {name!r}: inconsistent categories")
            counts = {str(label): _count(n, 1) for label, n in zip(labels, numbers, strict=True)}
            missing, rows = _count(entry["missing"]), _count(entry["rows"])
            if rows != sum(counts.values()) + missing:
                raise ValueError(f"column {name!r}: inconsistent counts")
            columns[name] = CategoricalReference(counts=counts, missing=missing, rows=rows)
        else:
            raise ValueError(f"column {name!r}: unknown kind {entry['kind']!r}")
    if offset != len(data):
        raise ValueError("trailing bytes")
    if not columns:
        raise ValueError("no column")
    return columns


def _count(value: object, least: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"bad count {value!r}")
    return value
