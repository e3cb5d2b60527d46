"""The columnar form of records: one schema for what readers return, and that schema plus
``row`` for Parquet files.

One row per prediction. ``inputs``, ``context`` and ``outputs`` are JSON text (orjson, keys
sorted): their keys differ from model to model, and text read back gives the very values that
were hashed. ``time`` is a UTC timestamp in microseconds, which is exactly the precision of a
record time. ``row`` is a prediction's place in its batch line (``steward.logs._batch``), and
null for a single record; Parquet files written before batches lack it and read as null.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
import polars as pl

from steward.logs._batch import batch_parts, explode, implode, is_batch

__all__ = [
    "COLUMNS",
    "SCHEMA",
    "STORED",
    "Columns",
    "fields_of_frame",
    "frame_of_rows",
    "lines_of_frame",
    "row_of_fields",
    "rows_of_fields",
]

SCHEMA: dict[str, pl.DataType] = {
    "request_id": pl.String(),
    "time": pl.Datetime("us", "UTC"),
    "endpoint": pl.String(),
    "model": pl.String(),
    "inputs": pl.String(),
    "context": pl.String(),
    "outputs": pl.String(),
    "latency_ms": pl.Float64(),
    "segment": pl.String(),
    "seq": pl.Int64(),
    "hash": pl.String(),
}
COLUMNS = tuple(SCHEMA)
STORED: dict[str, pl.DataType] = {**SCHEMA, "row": pl.Int64()}
_JSON = ("inputs", "context", "outputs")
_TEXT = ("request_id", "time", "endpoint", "model", "segment", "hash")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_PARSE = "%Y-%m-%dT%H:%M:%S%.fZ"
_FORMAT = "%Y-%m-%dT%H:%M:%S%.6fZ"


def rows_of_fields(fields: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """A segment line's object as its rows (one for a record, one per prediction for a
    batch), or ``None`` when it is not a well-formed record or batch."""
    if fields is None:
        return None
    if not is_batch(fields):
        row = row_of_fields(fields)
        return None if row is None else [row]
    exploded = explode(fields)
    if exploded is None:
        return None
    rows: list[dict[str, Any]] = []
    for one in exploded:
        row = row_of_fields(one)
        if row is None:
            return None
        rows.append(row)
    return rows


def row_of_fields(fields: dict[str, Any] | None) -> dict[str, Any] | None:
    """A record's object (a single record's line, or one row :func:`explode` made of a
    batch) as a row (JSON columns as text), or ``None`` when it is not a record (a field
    missing or of the wrong type)."""
    if fields is None:
        return None
    at = fields.get("row")
    if at is not None and (isinstance(at, bool) or not isinstance(at, int)):
        return None
    row: dict[str, Any] = {"row": at}
    for name in _TEXT:
        value = fields.get(name)
        if not isinstance(value, str):
            return None
        row[name] = value
    if _TIME.fullmatch(row["time"]) is None:
        return None
    for name in _JSON:
        value = fields.get(name)
        if not isinstance(value, dict):
            return None
        row[name] = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    latency, seq = fields.get("latency_ms"), fields.get("seq")
    if isinstance(latency, bool) or not isinstance(latency, int | float):
        return None
    if isinstance(seq, bool) or not isinstance(seq, int):
        return None
    row["latency_ms"] = float(latency)
    row["seq"] = seq
    return row


def frame_of_rows(rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """Rows (from :func:`row_of_fields`) as a frame of :data:`STORED`."""
    columns = Columns()
    for row in rows:
        columns.add_row(row)
    return columns.frame()


class Columns:
    """Rows of :data:`STORED` gathered column by column: a batch line's rows are added with
    one check and one list operation per column where :func:`rows_of_fields` would build a
    dict per row (compaction and reading a segment pay for every row of every line). The
    rows added are exactly the rows :func:`rows_of_fields` makes of the same lines."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: dict[str, list[Any]] = {name: [] for name in STORED}

    def __len__(self) -> int:
        return len(self._data["seq"])

    def add_row(self, row: dict[str, Any]) -> None:
        """Add one row as :func:`row_of_fields` makes it."""
        for name, values in self._data.items():
            values.append(row[name])

    def add_line(self, fields: dict[str, Any] | None) -> bool:
        """Add a segment line's rows (one for a record, one per prediction for a batch);
        ``False``, adding nothing, when it is not a well-formed record or batch."""
        if fields is None:
            return False
        if not is_batch(fields):
            row = row_of_fields(fields)
            if row is None:
                return False
            self.add_row(row)
            return True
        found = _batch_columns(fields)
        if found is None:
            return False
        for name, values in found.items():
            self._data[name].extend(values)
        return True

    def frame(self) -> pl.DataFrame:
        """The rows added, as a frame of :data:`STORED`, in the order they were added."""
        data = self._data
        times = pl.Series("time", data["time"], dtype=pl.String())
        frame = pl.DataFrame(
            {name: data[name] for name in STORED if name != "time"},
            schema={name: dtype for name, dtype in STORED.items() if name != "time"},
        )
        parsed = times.str.to_datetime(_PARSE, time_unit="us", time_zone="UTC")
        return frame.with_columns(parsed).select(tuple(STORED))


def _batch_columns(fields: dict[str, Any]) -> dict[str, list[Any]] | None:
    """A batch line's rows column by column (as :func:`rows_of_fields` makes them, row by
    row, of :func:`explode`'s objects), or ``None`` when it is not a well-formed batch."""
    parts = batch_parts(fields)
    if parts is None:
        return None
    ids, inputs, contexts, outputs = parts
    count = len(ids)
    # JSON text and Parquet give values of exact types: a set of types is isinstance here
    if {type(rid) for rid in ids} != {str}:
        return None
    if not {type(c) for c in contexts} | {type(o) for o in outputs} <= {dict}:
        return None
    shared = {name: fields.get(name) for name in ("time", "endpoint", "model", "segment", "hash")}
    when = shared["time"]
    if not (all(isinstance(value, str) for value in shared.values()) and isinstance(when, str)):
        return None
    if _TIME.fullmatch(when) is None:
        return None
    latency, seq = fields.get("latency_ms"), fields.get("seq")
    if isinstance(latency, bool) or not isinstance(latency, int | float):
        return None
    if isinstance(seq, bool) or not isinstance(seq, int):
        return None
    names = list(inputs)
    by_row = (
        [dict(zip(names, values, strict=True)) for values in zip(*inputs.values(), strict=True)]
        if names
        else [{}] * count
    )
    found: dict[str, list[Any]] = {name: [value] * count for name, value in shared.items()}
    found.update(
        request_id=ids,
        inputs=_texts(by_row),
        context=_texts(contexts),
        outputs=_texts(outputs),
        latency_ms=[float(latency)] * count,
        seq=[seq] * count,
        row=list(range(count)),
    )
    return found


def _texts(objects: list[dict[str, Any]]) -> list[str]:
    dumps, options = orjson.dumps, orjson.OPT_SORT_KEYS
    return [dumps(value, option=options).decode() for value in objects]


def lines_of_frame(frame: pl.DataFrame) -> list[tuple[int, dict[str, Any] | None]]:
    """The segment lines a frame of :data:`STORED` (a Parquet file) holds, each with the
    index of its first row: a single record's row as its object, and the consecutive rows
    of one batch line (same ``seq``, ``row`` 0, 1, …) as the object :func:`implode` makes of
    them. ``None`` for rows that are not a record or do not make one batch line."""
    found: list[tuple[int, dict[str, Any] | None]] = []
    group: list[dict[str, Any]] = []
    start = 0

    def close() -> None:
        if group:
            found.append((start, implode(group)))
            group.clear()

    for at, fields in enumerate(fields_of_frame(frame)):
        if fields is None or fields.get("row") is None:  # not a record, or a single one
            close()
            if fields is not None:
                del fields["row"]
            found.append((at, fields))
            continue
        if fields["row"] == 0 or not group or group[-1].get("seq") != fields.get("seq"):
            close()
            start = at
        group.append(fields)
    close()
    return found


def fields_of_frame(frame: pl.DataFrame) -> list[dict[str, Any] | None]:
    """Each row of a frame of :data:`STORED` as the object its segment line held, or the
    row of a batch (with its ``row``); the JSON columns parsed, the time in record form;
    ``None`` for a row whose JSON text is not an object."""
    if "row" not in frame.columns:  # written before batches
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64()).alias("row"))
    texts = frame.with_columns(pl.col("time").dt.strftime(_FORMAT))
    found: list[dict[str, Any] | None] = []
    for row in texts.iter_rows(named=True):
        fields = dict(row)
        for name in _JSON:
            value = _json_object(row[name])
            if value is None:
                break
            fields[name] = value
        else:
            found.append(fields)
            continue
        found.append(None)
    return found


def _json_object(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
