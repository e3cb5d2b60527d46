"""One request's predictions as one log record, its inputs held column by column.

A batch line of a segment holds the rows one request was answered with: ``request_ids`` (one
per row), ``inputs`` (column name → the rows' values, in row order), ``contexts`` and
``outputs`` (one object per row), and the fields every row shares: ``time``, ``endpoint``,
``model``, ``latency_ms``. It is hashed, sequenced, sealed and anchored like a single record
(``steward.logs._record``: its canonical bytes are its object plus ``segment`` and ``seq``,
keys sorted), so writing a request of a hundred rows costs one encoding and one hash instead
of a hundred. Readers see one row per prediction either way (:func:`explode`); Parquet keeps
those rows with their place in the line (``row``), and verification puts a line together
again from them (:func:`implode`) to hash it. A line with ``request_ids`` is a batch; one with
``request_id`` a single record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from steward.logs._record import _OPTIONS, check_shared

__all__ = ["PredictionBatch", "batch_parts", "explode", "implode", "is_batch"]

_SHARED = ("time", "endpoint", "model", "latency_ms", "segment", "seq", "hash")


@dataclass(frozen=True)
class PredictionBatch:
    """The predictions of one request, as one record of the log (see the module docstring).

    ``request_ids`` holds one non-empty string per row; ``inputs`` maps each column to one
    value per row (already redacted: :func:`~steward.logs.redact_columns`); ``contexts`` and
    ``outputs`` hold one mapping per row; the other fields are a record's
    (:class:`~steward.logs.PredictionRecord`). Encoded when made: ``ValueError`` for a field
    out of form or a column of another length, ``TypeError`` for a value with no JSON form.
    """

    request_ids: Sequence[str]
    time: str
    endpoint: str
    model: str
    inputs: Mapping[str, Sequence[Any]]
    contexts: Sequence[Mapping[str, Any]]
    outputs: Sequence[Mapping[str, Any]]
    latency_ms: float
    _body: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        count = len(self.request_ids)
        if count == 0:
            raise ValueError("a batch holds at least one row")
        if {type(rid) for rid in self.request_ids} != {str} or not all(self.request_ids):
            raise ValueError("a batch's request_ids must be non-empty strings")
        latency = check_shared(self.time, self.endpoint, self.model, self.latency_ms)
        if not isinstance(self.inputs, Mapping):
            raise TypeError("a batch's inputs must map columns to values")
        if not {type(name) for name in self.inputs} <= {str} or set(
            map(len, self.inputs.values())
        ) - {count}:
            wrong = next(n for n, v in self.inputs.items() if type(n) is not str or len(v) != count)
            raise ValueError(f"input column {wrong!r} does not hold one value per row")
        contexts, outputs = (_dicts(getattr(self, n), count, n) for n in ("contexts", "outputs"))
        object.__setattr__(self, "latency_ms", latency)
        inputs = self.inputs if type(self.inputs) is dict else dict(self.inputs)
        document = self._document(self.request_ids, inputs, contexts, outputs)  # no copies
        object.__setattr__(self, "_body", orjson.dumps(document, option=_OPTIONS))

    def __len__(self) -> int:
        return len(self.request_ids)

    def to_dict(self) -> dict[str, Any]:
        """The batch's fields as a JSON-ready document (without segment, seq and hash)."""
        count = len(self.request_ids)
        return self._document(
            list(self.request_ids),
            {name: list(values) for name, values in self.inputs.items()},
            _dicts(self.contexts, count, "contexts"),
            _dicts(self.outputs, count, "outputs"),
        )

    def _document(
        self, request_ids: Sequence[str], inputs: Any, contexts: list[Any], outputs: list[Any]
    ) -> dict[str, Any]:
        return {
            "request_ids": request_ids,
            "time": self.time,
            "endpoint": self.endpoint,
            "model": self.model,
            "inputs": inputs,
            "contexts": contexts,
            "outputs": outputs,
            "latency_ms": self.latency_ms,
        }


def _dicts(items: Sequence[Any], count: int, name: str) -> list[Any]:
    """``items`` as ``count`` dicts (orjson writes dicts, not other mappings), copied only if
    needed; ``ValueError`` when they are not one mapping per row."""
    if len(items) == count:
        if {type(item) for item in items} <= {dict}:
            return list(items)
        if all(isinstance(item, Mapping) for item in items):
            return [dict(item) for item in items]
    raise ValueError(f"a batch's {name} must hold one mapping per row")


def is_batch(fields: Mapping[str, Any]) -> bool:
    """Whether a line's object is a batch (it has ``request_ids``)."""
    return "request_ids" in fields


def batch_parts(
    fields: Mapping[str, Any],
) -> tuple[list[Any], dict[str, list[Any]], list[Any], list[Any]] | None:
    """A batch line's ``(request_ids, inputs, contexts, outputs)`` when they have a batch's
    shape (a non-empty list of ids; one value per row in each input column, each context and
    each output list), else ``None``. Their values are not checked."""
    ids = fields.get("request_ids")
    inputs, contexts, outputs = (fields.get(n) for n in ("inputs", "contexts", "outputs"))
    if not (isinstance(ids, list) and ids and isinstance(inputs, dict)):
        return None
    count = len(ids)
    if not (isinstance(contexts, list) and isinstance(outputs, list)):
        return None
    if len(contexts) != count or len(outputs) != count:
        return None
    if not all(isinstance(v, list) and len(v) == count for v in inputs.values()):
        return None
    return ids, inputs, contexts, outputs


def explode(fields: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """A batch line's object as one record object per row, in row order, each with the
    line's shared fields and its ``row`` (0, 1, …); ``None`` when it is not a well-formed
    batch."""
    parts = batch_parts(fields)
    if parts is None:
        return None
    ids, inputs, contexts, outputs = parts
    count = len(ids)
    shared = {name: fields.get(name) for name in _SHARED}
    names = list(inputs)
    by_row = zip(*inputs.values(), strict=True) if names else ((),) * count
    return [
        {
            **shared,
            "request_id": rid,
            "inputs": dict(zip(names, values, strict=True)),
            "context": context,
            "outputs": output,
            "row": at,
        }
        for at, (rid, values, context, output) in enumerate(
            zip(ids, by_row, contexts, outputs, strict=True)
        )
    ]


def implode(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The batch line's object that :func:`explode` made ``rows`` of (rows of one line, in
    row order), or ``None`` when they cannot be one line's: another ``row`` numbering,
    shared fields or input columns that differ between rows. Equal to the original
    object exactly when the rows are as they were exploded, so its hash tells."""
    if not rows or [row.get("row") for row in rows] != list(range(len(rows))):
        return None
    first = rows[0]
    if any(row.get(name) != first.get(name) for row in rows for name in _SHARED):
        return None
    names = list(first.get("inputs") or {})
    if not all(isinstance(row.get("inputs"), dict) for row in rows):
        return None
    if any(list(row["inputs"]) != names for row in rows):
        return None
    return {
        **{name: first.get(name) for name in _SHARED},
        "request_ids": [row.get("request_id") for row in rows],
        "inputs": {name: [row["inputs"][name] for row in rows] for name in names},
        "contexts": [row.get("context") for row in rows],
        "outputs": [row.get("outputs") for row in rows],
    }
