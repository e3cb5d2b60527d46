"""Strict CSV reading with Arrow: ragged rows, invalid UTF-8 and unparsable files are refused.

Messages never echo cell values (they may be personal data).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steward.errors import InvalidInput

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["check_names", "read_csv"]

_MAX_WIDENINGS = 64
_PIECE_BYTES = 1 << 24

_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to (\w+)")
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


class _Widen(Exception):
    def __init__(self, column: str, kind: Any) -> None:
        self.column = column
        self.kind = kind


def read_csv(path: Path) -> pa.Table:
    """Read a CSV strictly: ragged rows, invalid UTF-8 and unparsable files are refused.

    Plain files without quote characters are parsed in 16 MiB pieces, each by Arrow's
    multi-threaded reader: as fast as one whole-file read, with memory bounded by a piece
    rather than the file. Compressed or quoted files (a quoted field may hold a newline, so a
    piece boundary cannot be chosen by position) are streamed in 16 MiB blocks instead.
    Types are inferred on the first piece or block; when a later one does not fit (a decimal
    in a column that started with integers, text in a numeric column), the column is widened
    — integer to float, anything to text — and the file is read again.
    """
    _check_csv_header(path)
    overrides: dict[str, Any] = {}
    reader = _read_pieces if _splittable(path) else _read_stream
    for _ in range(_MAX_WIDENINGS):
        try:
            table = reader(path, overrides)
        except _Widen as widen:
            overrides[widen.column] = widen.kind
            continue
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
        return table
    raise InvalidInput(f"{path}: column types keep changing along the file; cannot read it")


def _splittable(path: Path) -> bool:
    if not path.name.lower().endswith(".csv"):
        return False
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            if b'"' in block:
                return False
    return True


def _options(overrides: dict[str, Any]) -> dict[str, Any]:
    from pyarrow import csv

    return {
        "parse_options": csv.ParseOptions(newlines_in_values=True),
        "convert_options": csv.ConvertOptions(strings_can_be_null=True, column_types=overrides),
    }


def _conversion_failure(path: Path, exc: Exception, names: list[str]) -> Exception:
    """A widening signal for a type mismatch; otherwise the one-line input error."""
    import pyarrow as pa

    message = str(exc)
    match = _CONVERSION.search(message)
    if match is None or not names:
        return InvalidInput(f"{path}: {_csv_problem(message)}")
    value = message.rsplit("invalid value", 1)[-1].strip(" '")
    numeric = match.group(2) in ("int64", "null") and _NUMBER.fullmatch(value)
    return _Widen(names[int(match.group(1))], pa.float64() if numeric else pa.large_string())


def _read_pieces(path: Path, overrides: dict[str, Any]) -> pa.Table:
    import io

    import pyarrow as pa
    from pyarrow import csv

    pieces: list[pa.Table] = []
    types = dict(overrides)
    names: list[str] = []
    with path.open("rb") as handle:
        header = handle.readline()
        while True:
            block = handle.read(_PIECE_BYTES)
            if not block:
                break
            if not block.endswith(b"\n"):
                block += handle.readline()  # finish the last line
            try:
                piece = csv.read_csv(
                    io.BytesIO(header + block),
                    read_options=csv.ReadOptions(block_size=_PIECE_BYTES // 4),
                    **_options(types),
                )
            except pa.ArrowInvalid as exc:
                raise _conversion_failure(path, exc, names or _header_names(header)) from None
            if not pieces:
                names = piece.column_names
                # Later pieces are parsed with the first piece's types, so they concatenate.
                types = {field.name: field.type for field in piece.schema}
            pieces.append(piece)
    if not pieces:
        return csv.read_csv(io.BytesIO(header), **_options(types))
    return pa.concat_tables(pieces)


def _header_names(header: bytes) -> list[str]:
    import csv as stdcsv

    return next(stdcsv.reader([header.decode("utf-8", "replace")]), [])


def _read_stream(path: Path, overrides: dict[str, Any]) -> pa.Table:
    import pyarrow as pa
    from pyarrow import csv

    names: list[str] = []
    try:
        reader = csv.open_csv(
            path, read_options=csv.ReadOptions(block_size=1 << 24), **_options(overrides)
        )
        names = list(reader.schema.names)
        return pa.Table.from_batches(list(reader), schema=reader.schema)
    except pa.ArrowInvalid as exc:
        raise _conversion_failure(path, exc, names) from None


def _check_csv_header(path: Path) -> None:
    """Duplicate or empty column names, which Arrow would accept silently."""
    import csv
    import gzip

    opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
    if path.name.lower().endswith(".bz2"):
        import bz2

        opener = bz2.open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: the header is not valid UTF-8") from None
    except (OSError, EOFError) as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc})") from None
    if not header:
        raise InvalidInput(f"{path}: the file is empty")
    check_names(header, str(path))


def _csv_problem(message: str) -> str:
    first = message.strip().splitlines()[0]
    if "Empty CSV file" in first:
        return "the file is empty"
    if "invalid UTF8" in first or "invalid utf-8" in first.lower():
        return "the file is not valid UTF-8"
    match = re.search(r"Expected (\d+) columns, got (\d+)", first)
    if match:
        return (
            f"ragged rows: the header has {match.group(1)} columns but a row has {match.group(2)}"
        )
    # Arrow quotes the offending row after a colon; drop it (it may hold personal data).
    return "cannot be parsed as CSV: " + first.split(":")[0].strip()


def check_names(names: list[str], origin: str) -> None:
    seen: set[str] = set()
    duplicates: list[str] = []
    for index, name in enumerate(names, start=1):
        if not str(name).strip():
            raise InvalidInput(f"{origin}: column {index} has no name")
        if name in seen and name not in duplicates:
            duplicates.append(name)
        seen.add(name)
    if duplicates:
        raise InvalidInput(f"{origin}: duplicate column names: {', '.join(duplicates)}")
