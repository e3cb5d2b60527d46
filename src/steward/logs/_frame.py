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

from steward.logs._batch import explode, implode, is_batch

__all__ = [
    "COLUMNS",
    "SCHEMA",
    "STORED",
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
    names = tuple(STORED)
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for row in rows:
        for name in names:
            columns[name].append(row[name])
    times = pl.Series("time", columns.pop("time"), dtype=pl.String())
    frame = pl.DataFrame(
        {name: columns[name] for name in names if name != "time"},
        schema={name: dtype for name, dtype in STORED.items() if name != "time"},
    )
    parsed = times.str.to_datetime(_PARSE, time_unit="us", time_zone="UTC")
    return frame.with_columns(parsed).select(names)


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
