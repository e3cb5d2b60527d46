"""The columnar form of records: one schema for Parquet files and for what readers return.

``inputs``, ``context`` and ``outputs`` are JSON text (orjson, keys sorted): their keys
differ from model to model, and text read back gives the very values that were hashed.
``time`` is a UTC timestamp in microseconds, which is exactly the precision of a record time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
import polars as pl

__all__ = ["COLUMNS", "SCHEMA", "fields_of_frame", "frame_of_rows", "row_of_fields"]

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
_JSON = ("inputs", "context", "outputs")
_TEXT = ("request_id", "time", "endpoint", "model", "segment", "hash")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_PARSE = "%Y-%m-%dT%H:%M:%S%.fZ"
_FORMAT = "%Y-%m-%dT%H:%M:%S%.6fZ"


def row_of_fields(fields: dict[str, Any] | None) -> dict[str, Any] | None:
    """A segment line's object as a row (JSON columns as text), or ``None`` when it is not a
    record (a field missing or of the wrong type)."""
    if fields is None:
        return None
    row: dict[str, Any] = {}
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
    """Rows (from :func:`row_of_fields`) as a frame of :data:`SCHEMA`."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for row in rows:
        for name in COLUMNS:
            columns[name].append(row[name])
    times = pl.Series("time", columns.pop("time"), dtype=pl.String())
    frame = pl.DataFrame(
        {name: columns[name] for name in COLUMNS if name != "time"},
        schema={name: dtype for name, dtype in SCHEMA.items() if name != "time"},
    )
    parsed = times.str.to_datetime(_PARSE, time_unit="us", time_zone="UTC")
    return frame.with_columns(parsed).select(COLUMNS)


def fields_of_frame(frame: pl.DataFrame) -> list[dict[str, Any] | None]:
    """Each row of a frame of :data:`SCHEMA` as the object its segment line held (the JSON
    columns parsed, the time in record form); ``None`` for a row whose JSON text is not an
    object."""
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
