"""Reading tables, bringing them to one canonical form, and fingerprinting that form.

The canonical form is an Arrow table whose columns have one of five types — int64, float64,
bool, large_string, timestamp[us, UTC] (dates become their midnight) — with NaN read as
missing. The fingerprint reads -0.0 as 0.0.
The fingerprint hashes that form column by column (type, validity, values), so it does not
depend on the file format, the Arrow chunking or the Parquet writer: the same table saved as
CSV and as Parquet has the same fingerprint.

Everything here raises ``InvalidInput`` with a one-line reason naming the source and the
problem; messages never echo cell values (they may be personal data).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steward.data._csv import check_names, read_csv
from steward.data._limits import TableLimits
from steward.errors import InvalidInput, NotFound
from steward.ledger import canonical_bytes

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FORMATS",
    "canonicalize",
    "detect_format",
    "fingerprint",
    "frame_to_arrow",
    "logical_type",
    "read_file",
    "sample_rows",
    "write_parquet",
]

FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".csv.bz2": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_FINGERPRINT_FORMAT = "steward.table/v1"


def detect_format(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    suffix = "".join(path.suffixes) or "(none)"
    raise InvalidInput(
        f"{path}: unknown format {suffix}: use .csv (optionally .gz/.bz2) or .parquet"
    )


def read_file(path: Path, limits: TableLimits | None = None) -> pa.Table:
    """Read a CSV or Parquet file into Arrow, refusing malformed input and tables past
    ``limits`` (default :class:`TableLimits`) as early as the format allows."""
    limits = limits or TableLimits()
    fmt = detect_format(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InvalidInput(f"{path}: the file is empty")
    table = read_csv(path, limits) if fmt == "csv" else _read_parquet(path, limits)
    _check_shape(table, str(path))
    return table


def _read_parquet(path: Path, limits: TableLimits) -> pa.Table:
    """The column count from the footer first, then row group by row group, each checked
    for cell sizes before the next is read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as parquet:
            limits.check_columns(len(parquet.schema_arrow.names), str(path))
            groups = []
            for index in range(parquet.num_row_groups):
                group = parquet.read_row_group(index)
                limits.check_cells(group, f"{path}: row group {index + 1}")
                groups.append(group)
            if not groups:
                return parquet.schema_arrow.empty_table()
            return pa.concat_tables(groups)
    except (pa.ArrowInvalid, OSError) as exc:
        reason = str(exc).strip().splitlines()[0][:120]
        raise InvalidInput(f"{path}: not a readable Parquet file ({reason})") from None


def frame_to_arrow(
    frame: Any, origin: str = "the data frame", limits: TableLimits | None = None
) -> pa.Table:
    """A pandas or polars DataFrame (or an Arrow table) as an Arrow table, within ``limits``."""
    import pyarrow as pa

    limits = limits or TableLimits()
    if isinstance(frame, pa.Table) or type(frame).__module__.startswith(("polars", "pandas")):
        limits.check_columns(len(frame.columns), origin)
    if isinstance(frame, pa.Table):
        table = frame
    elif type(frame).__module__.startswith("polars"):
        table = frame.to_arrow()
    elif type(frame).__module__.startswith("pandas"):
        names = [str(c) for c in frame.columns]
        check_names(names, origin)
        table = pa.Table.from_pandas(frame, preserve_index=False)
    else:
        raise InvalidInput(f"{origin}: expected a pandas or polars DataFrame, got {type(frame)}")
    _check_shape(table, origin)
    limits.check_cells(table, origin)
    return table


def _check_shape(table: pa.Table, origin: str) -> None:
    check_names([str(n) for n in table.column_names], origin)
    if table.num_columns == 0:
        raise InvalidInput(f"{origin}: the table has no columns")
    if table.num_rows == 0:
        raise InvalidInput(f"{origin}: the table has a header but no rows")


def canonicalize(table: pa.Table, origin: str) -> pa.Table:
    """Cast every column to its canonical type (see the module docstring)."""
    import pyarrow as pa

    columns = [
        _canonical_column(table.column(i), str(name), origin)
        for i, name in enumerate(table.column_names)
    ]
    return pa.table(columns, names=[str(n) for n in table.column_names])


def _canonical_column(column: pa.ChunkedArray, name: str, origin: str) -> pa.ChunkedArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    try:
        if pa.types.is_integer(kind):
            return column.cast(pa.int64())
        if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            values = column.cast(pa.float64())
            if pc.any(pc.is_nan(values)).as_py():
                values = pc.if_else(pc.is_nan(values), pa.scalar(None, pa.float64()), values)
            return values
        if pa.types.is_boolean(kind):
            return column
        if pa.types.is_dictionary(kind):
            return _canonical_column(column.cast(kind.value_type), name, origin)
        if (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_string_view(kind)
            or pa.types.is_null(kind)
        ):
            return column.cast(pa.large_string())
        if pa.types.is_date(kind):
            # A date is its midnight: pandas writes dates to Parquet as timestamps, and to
            # CSV as plain dates, and the two must still fingerprint alike.
            column = column.cast(pa.timestamp("us"))
            kind = column.type
        if pa.types.is_timestamp(kind):
            if kind.tz is None:
                column = pc.assume_timezone(column, "UTC")
            return column.cast(pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput(f"{origin}: column {name!r} cannot be converted ({exc})") from None
    raise InvalidInput(f"{origin}: column {name!r} has unsupported type {kind}")


def logical_type(kind: pa.DataType) -> str:
    """The ``ColumnType`` value of a canonical Arrow type."""
    import pyarrow as pa

    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind):
        return "float"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_timestamp(kind):
        return "datetime"
    return "string"


def fingerprint(table: pa.Table) -> str:
    """SHA-256 of the canonical content: column names, types, validity and values, in order.

    Per column, the digest covers the validity of every row (one byte each), then the values
    in row order — int64, float64 (with -0.0 read as 0.0) or uint8 little-endian, missing
    values as zero; text as the int64 byte lengths of all rows followed by their UTF-8 bytes.
    The column digests are computed in parallel threads (hashing releases the GIL).
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        digests = list(pool.map(_column_digest, table.columns))
    columns = [
        [str(name), logical_type(table.schema.field(i).type), digests[i]]
        for i, name in enumerate(table.column_names)
    ]
    header = {"columns": columns, "format": _FINGERPRINT_FORMAT, "rows": table.num_rows}
    return hashlib.sha256(canonical_bytes(header)).hexdigest()


def _column_digest(column: pa.ChunkedArray) -> str:
    """Chunk by chunk, in the same byte order as one contiguous array would give."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    hasher = hashlib.sha256()
    chunks = [chunk for chunk in column.chunks if len(chunk)]
    for chunk in chunks:
        if chunk.null_count == 0:
            hasher.update(_ones(len(chunk)))
        else:
            valid = pc.is_valid(chunk).to_numpy(zero_copy_only=False)
            hasher.update(valid.view(np.uint8))
    kind = column.type
    if pa.types.is_large_string(kind):
        # Missing text becomes "" so that its length is 0 and it adds no bytes.
        filled = [pc.fill_null(chunk, "") if chunk.null_count else chunk for chunk in chunks]
        spans = [_string_span(chunk) for chunk in filled]
        for offsets in spans:
            hasher.update(np.diff(offsets).astype("<i8").view(np.uint8))
        for chunk, offsets in zip(filled, spans, strict=True):
            data = chunk.buffers()[2]
            if data is not None and offsets[-1] > offsets[0]:
                hasher.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
        return hasher.hexdigest()
    for chunk in chunks:
        if pa.types.is_boolean(kind):
            values = pc.fill_null(chunk, False).to_numpy(zero_copy_only=False).view(np.uint8)
        else:
            storage = chunk.cast(pa.int64()) if pa.types.is_timestamp(kind) else chunk
            if storage.null_count:
                storage = pc.fill_null(storage, 0.0 if pa.types.is_floating(kind) else 0)
            values = storage.to_numpy(zero_copy_only=False)
            if pa.types.is_floating(kind):
                values = values + 0.0  # -0.0 + 0.0 == +0.0
        buffer: Any = np.ascontiguousarray(values)  # numpy arrays are buffers; stubs disagree
        hasher.update(buffer)
    return hasher.hexdigest()


def _string_span(chunk: pa.Array) -> Any:
    """The offsets of a large-string chunk's rows into its data buffer."""
    import numpy as np

    return np.frombuffer(chunk.buffers()[1], dtype="<i8")[
        chunk.offset : chunk.offset + len(chunk) + 1
    ]


_ONES: dict[int, bytes] = {}


def _ones(count: int) -> bytes:
    if count not in _ONES:
        _ONES.clear()
        _ONES[count] = b"\x01" * count
    return _ONES[count]


def sample_rows(table: pa.Table, rows: int, seed: int = 0) -> pa.Table:
    """At most ``rows`` rows of ``table``, drawn without replacement with ``seed``, in order."""
    import numpy as np

    if table.num_rows <= rows:
        return table
    picked = np.sort(np.random.default_rng(seed).choice(table.num_rows, rows, replace=False))
    return table.take(picked)


def write_parquet(table: Any, path: Path) -> None:
    """Write a canonical table (Arrow, or the same as a polars frame) as zstd Parquet.

    A polars frame is written by polars' multi-threaded writer, about a quarter faster than
    Arrow's here; reading the file back and canonicalising gives the same table either way.
    """
    if type(table).__module__.startswith("polars"):
        table.write_parquet(path, compression="zstd")
        return
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression="zstd")
