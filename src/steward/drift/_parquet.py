"""A window of the prediction log, read from its Parquet files in batches of bounded size.

The log's Parquet files (``steward.logs``: columns ``model``, ``time`` and the JSON text
columns ``inputs`` / ``outputs``, among others) hold each record's inputs as one JSON object.
:func:`log_batches` reads one JSON column of the records of a model version and a time range
and yields its top-level keys as typed columns, ``batch_rows`` rows at a time, for
:func:`~steward.drift.detect_stream`; :func:`detect_log` wires the two together.

Reading is incremental and pulled by the consumer: one file after another, ``pyarrow``'s
``ParquetFile.iter_batches`` over the row groups whose statistics do not exclude the model
and time asked for, with buffered page reads and no pre-buffering; only the JSON column (and
the filtered ones) is read, 16,384 rows at a time, filtered and decoded. Memory is a page of
each column read, a slice of JSON text and polars' decoding buffers (several times the
text), and up to two batches of decoded values — not the window. (pyarrow's dataset scanner
was tried first: with a consumer slower than the disk it reads ahead without bound, its
``batch_readahead`` notwithstanding.)

Decoding is polars' ``str.json_decode`` with a struct type built from the kinds: numeric keys
as Float64 (JSON ``true``/``false`` read as 1/0, as :func:`detect` counts booleans),
categorical keys as String (a JSON number read as its text, ``2`` → ``"2"``). A key missing
from an object, a JSON ``null`` and a null text are missing values; keys not asked for are
ignored. A value of the wrong kind (text, a list or an object for a numeric key; a list or an
object for a categorical one) and text that is not a JSON object are refused with
``InvalidInput`` naming the file and, when one key is at fault, the key.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from steward.drift._correction import Correction
from steward.drift._profile import ReferenceProfile
from steward.drift._report import DriftReport
from steward.drift._stream import detect_stream
from steward.drift._values import KINDS, Kind
from steward.errors import InvalidInput

__all__ = ["detect_log", "log_batches"]

LogPath = str | os.PathLike[str]

_TYPES: dict[Kind, pl.DataType] = {"numeric": pl.Float64(), "categorical": pl.String()}
_FILTERED = {"model": "text", "time": "a timestamp"}
_BUFFER = 1 << 20
# JSON text is read and decoded this many rows at a time, whatever ``batch_rows`` is: the text
# (~650 bytes a row for 25 inputs) and polars' decoding buffers, several times the text, then
# stay small; what is kept is the decoded columns, gathered up to ``batch_rows``.
_DECODE_ROWS = 16_384


def log_batches(
    paths: Sequence[LogPath],
    columns: Mapping[str, Kind],
    *,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    batch_rows: int = 100_000,
    field: str = "inputs",
) -> Iterator[pl.DataFrame]:
    """The ``columns`` (key of the JSON objects → ``"numeric"`` or ``"categorical"``) of the
    JSON column ``field`` of the log's Parquet files ``paths``, as polars DataFrames of
    ``batch_rows`` rows (the last one shorter; none when no record matches): numeric columns
    Float64, categorical ones String, in the order of ``columns``.

    Only records of ``model`` (a version ref such as ``"credit@2"``) timed in ``[since,
    until)`` (aware datetimes; each filter optional) are read. ``InvalidInput`` (one line) for
    an unknown kind, a naive datetime, ``batch_rows`` below 1, a file lacking a needed column,
    and (when reached) a value of the wrong kind or text that is not a JSON object. The
    arguments are checked at once; the files are read as the batches are asked for."""
    wanted = _wanted(columns)
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise InvalidInput(f"batch_rows must be a whole number of at least 1, not {batch_rows!r}")
    if not isinstance(field, str) or not field:
        raise InvalidInput(f"field must name a JSON column of the log, not {field!r}")
    if model is not None and (not isinstance(model, str) or not model):
        raise InvalidInput(f"model must be a version ref such as 'credit@2', not {model!r}")
    window = _Window(model, _moment(since, "since"), _moment(until, "until"))
    if isinstance(paths, str | os.PathLike):
        paths = [paths]  # one file: not a sequence of its name's characters
    return _batches(list(paths), wanted, window, batch_rows, field)


def _wanted(columns: Mapping[str, Kind]) -> pl.Struct:
    if not isinstance(columns, Mapping) or not columns:
        raise InvalidInput("columns must map at least one JSON key to its kind")
    fields: dict[str, pl.DataType] = {}
    for name, kind in columns.items():
        if not isinstance(name, str):
            raise InvalidInput(f"column names must be text, not {name!r}")
        if kind not in KINDS:
            raise InvalidInput(
                f"column {name!r}: unknown kind {kind!r} (expected 'numeric' or 'categorical')"
            )
        fields[name] = _TYPES[kind]
    return pl.Struct(fields)


def _moment(when: datetime | None, what: str) -> datetime | None:
    if when is None:
        return None
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise InvalidInput(f"{what} must be a timezone-aware datetime, not {when!r}")
    return when.astimezone(UTC)


@dataclass(frozen=True)
class _Window:
    """Which records are read: of ``model``, timed in ``[since, until)`` (``None``: open)."""

    model: str | None
    since: datetime | None
    until: datetime | None

    def columns(self) -> tuple[str, ...]:
        """The log columns the filters read."""
        times = self.since is not None or self.until is not None
        return (*(("model",) if self.model is not None else ()), *(("time",) if times else ()))

    def may_hold(self, group: Any, names: list[str]) -> bool:
        """Whether a row group (pyarrow metadata) may hold a wanted record, by its columns'
        statistics; true whenever a statistic is missing or not of the expected type."""
        # Writers keep statistics this short whole (pyarrow and polars truncate none by
        # default), so a model outside [min, max] is not in the group.
        model = self._bounds(group, names, "model", str)
        if model is not None and self.model is not None and not model[0] <= self.model <= model[1]:
            return False
        times = self._bounds(group, names, "time", datetime)
        if times is None:
            return True
        earliest, latest = times
        if earliest.tzinfo is None or latest.tzinfo is None:
            return True
        return (self.since is None or latest >= self.since) and (
            self.until is None or earliest < self.until
        )

    @staticmethod
    def _bounds(group: Any, names: list[str], name: str, kind: type) -> tuple[Any, Any] | None:
        if name not in names:
            return None
        column = group.column(names.index(name))
        statistics = column.statistics
        if column.path_in_schema != name or statistics is None or not statistics.has_min_max:
            return None
        low, high = statistics.min, statistics.max
        return (low, high) if isinstance(low, kind) and isinstance(high, kind) else None

    def keep(self) -> pl.Expr | None:
        """The row filter (``None``: every row)."""
        parts = []
        if self.model is not None:
            parts.append(pl.col("model") == self.model)
        if self.since is not None:
            parts.append(pl.col("time") >= self.since)
        if self.until is not None:
            parts.append(pl.col("time") < self.until)
        return pl.all_horizontal(parts) if parts else None


def _open(path: LogPath, field: str, window: _Window) -> Any:
    """The file as a ``pyarrow.parquet.ParquetFile`` read page by page; ``InvalidInput``
    unless it has the JSON column as text and the filtered ones (``model`` text, ``time`` a
    timestamp)."""
    where = os.fspath(path)
    try:
        # Buffered reads, no pre-buffering: pages are read as they are decoded, so memory
        # holds about a page of each column read, not a row group's column chunks.
        parquet = pq.ParquetFile(where, buffer_size=_BUFFER, pre_buffer=False)
    except pa.ArrowInvalid as error:
        raise InvalidInput(f"{where}: not a Parquet file ({_first(error)})") from None
    schema = parquet.schema_arrow
    needed = ((field, "text"), *((name, _FILTERED[name]) for name in window.columns()))
    for name, expected in needed:
        if schema.get_field_index(name) < 0:
            raise InvalidInput(f"{where} has no column {name!r}")
        kind = schema.field(name).type
        if expected == "text":
            fits = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        else:
            fits = pa.types.is_timestamp(kind)
        if not fits:
            raise InvalidInput(f"{where}: column {name!r} is {kind}, not {expected}")
    return parquet


def _batches(
    paths: list[LogPath], wanted: pl.Struct, window: _Window, batch_rows: int, field: str
) -> Iterator[pl.DataFrame]:
    held: list[pl.DataFrame] = []
    count = 0
    keep = window.keep()
    for path in paths:
        parquet = _open(path, field, window)
        names = parquet.schema_arrow.names
        groups = [
            index
            for index in range(parquet.metadata.num_row_groups)
            if window.may_hold(parquet.metadata.row_group(index), names)
        ]
        if not groups:
            continue
        read = [field, *(name for name in window.columns() if name != field)]
        for record_batch in parquet.iter_batches(
            batch_size=min(batch_rows, _DECODE_ROWS), row_groups=groups, columns=read
        ):
            frame = cast(pl.DataFrame, pl.from_arrow(record_batch))
            if keep is not None:
                frame = frame.filter(keep)
            if not frame.height:
                continue
            held.append(_decode(frame.get_column(field), wanted, os.fspath(path), field))
            count += frame.height
            while count >= batch_rows:
                whole = held[0] if len(held) == 1 else pl.concat(held, rechunk=False)
                yield whole.slice(0, batch_rows)
                rest = whole.slice(batch_rows)
                held, count = ([rest] if rest.height else []), rest.height
    if count:
        yield held[0] if len(held) == 1 else pl.concat(held)


def _decode(texts: pl.Series, wanted: pl.Struct, path: str, field: str) -> pl.DataFrame:
    try:
        return texts.str.json_decode(wanted).struct.unnest()
    except pl.exceptions.PolarsError as error:
        raise InvalidInput(f"{path}: {_fault(texts, wanted, field, error)}") from None


def _fault(texts: pl.Series, wanted: pl.Struct, field: str, error: Exception) -> str:
    """What is wrong with a batch polars would not decode (only on this path, so finding it
    costs nothing when the log is well formed): a text that is not a JSON object, else the
    key whose values are of the wrong kind."""
    for text in texts:
        if text is None:
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as bad:
            return f"{field} holds text that is not JSON ({_first(bad)}): {text[:60]!r}"
        if not isinstance(value, dict):
            return f"{field} holds JSON that is not an object: {text[:60]!r}"
    for key in wanted.fields:
        try:
            texts.str.json_decode(pl.Struct([key]))
        except pl.exceptions.PolarsError as culprit:
            return f"{field} key {key.name!r} is not {_kind_name(key.dtype)}: {_first(culprit)}"
    return f"{field} could not be decoded: {_first(error)}"


def _kind_name(dtype: Any) -> str:
    return "numeric" if dtype == pl.Float64 else "categorical (text)"


def _first(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def detect_log(
    profile: ReferenceProfile,
    paths: Sequence[LogPath],
    *,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    field: str = "inputs",
    batch_rows: int = 100_000,
    alpha: float = 0.05,
    correction: Correction = "holm",
    numeric_threshold: float = 0.1,
    categorical_threshold: float = 0.1,
    min_rows: int = 30,
    workers: int | None = None,
) -> DriftReport:
    """:func:`~steward.drift.detect_stream` of ``profile`` against the log's records in
    ``paths`` (filtered and read as :func:`log_batches` does, the profile's columns read as
    the kinds it recorded): the report :func:`~steward.drift.detect` would give on that whole
    window, in bounded memory. The files are read once, or twice when a numeric input needs
    the second pass."""
    kinds: dict[str, Kind] = {name: column.kind for name, column in profile.columns.items()}
    files = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    read = partial(
        log_batches,
        files,
        kinds,
        model=model,
        since=since,
        until=until,
        batch_rows=batch_rows,
        field=field,
    )
    read()  # checks the arguments before any file is read
    return detect_stream(
        profile,
        read,
        alpha=alpha,
        correction=correction,
        numeric_threshold=numeric_threshold,
        categorical_threshold=categorical_threshold,
        min_rows=min_rows,
        workers=workers,
    )
