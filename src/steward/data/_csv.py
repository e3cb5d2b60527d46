"""Strict CSV reading with Arrow: ragged rows, invalid UTF-8 and unparsable files are refused.

Messages never echo cell values (they may be personal data).
"""

from __future__ import annotations

import re
from io import BufferedIOBase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steward.data._limits import TableLimits
from steward.errors import InvalidInput

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["check_names", "read_csv"]

_MAX_WIDENINGS = 64
_PIECE_BYTES = 1 << 24
_HEADER_CHUNK = 1 << 16
_HEADER_TOKENS = re.compile(rb'["\r\n,]')

_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to (\w+)")
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


class _Widen(Exception):
    def __init__(self, column: str, kind: Any) -> None:
        self.column = column
        self.kind = kind


def read_csv(path: Path, limits: TableLimits | None = None) -> pa.Table:
    """Read a CSV strictly: ragged rows, invalid UTF-8 and unparsable files are refused.

    Plain files without quote characters are parsed in 16 MiB pieces, each by Arrow's
    multi-threaded reader: as fast as one whole-file read, with memory bounded by a piece
    rather than the file. Compressed or quoted files (a quoted field may hold a newline, so a
    piece boundary cannot be chosen by position) are streamed in 16 MiB blocks instead.
    Types are inferred on the first piece or block; when a later one does not fit (a decimal
    in a column that started with integers, text in a numeric column), the column is widened
    — integer to float, anything to text — and the file is read again.

    ``limits`` are checked early: the column count from the header alone; cell sizes of a
    plain file while it is surveyed for quotes, before Arrow reads it (so no giant cell is
    ever held), and of every file on the table read. Invalid UTF-8 is reported with its line
    and byte offset.
    """
    limits = limits or TableLimits()
    _check_csv_header(path, limits)
    overrides: dict[str, Any] = {}
    reader = _read_pieces if _splittable(path, limits) else _read_stream
    for _ in range(_MAX_WIDENINGS):
        try:
            table = reader(path, overrides)
        except _Widen as widen:
            overrides[widen.column] = widen.kind
            continue
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
        if any(pa.types.is_binary(field.type) for field in table.schema):
            # Arrow reads a column whose first block is not UTF-8 as binary.
            raise _invalid_utf8(path)
        limits.check_cells(table, str(path))
        return table
    raise InvalidInput(f"{path}: column types keep changing along the file; cannot read it")


def _splittable(path: Path, limits: TableLimits) -> bool:
    """Whether ``path`` is a plain CSV without quotes; refuses a cell past the limit.

    Reads the file in 16 MiB blocks. A run of bytes without a comma or line end is at most
    one cell, so a run longer than ``max_cell_bytes`` is refused without ever holding it
    (quoted cells that hold commas are checked on the table read instead).
    """
    if not path.name.lower().endswith(".csv"):
        return False
    limit = limits.max_cell_bytes
    quoted, run, offset, lines = False, 0, 0, 0  # run: separator-free bytes ending a block
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_PIECE_BYTES), b""):
            quoted = quoted or b'"' in block
            first = _next_separator(block, 0)
            if run + first > limit:  # a run from the previous block goes on (no line end)
                raise limits.too_large(f"{path}: line {lines + 1:,} (byte {offset - run:,})")
            start = _long_run(block, first, limit)
            if start is not None:
                line = lines + block.count(b"\n", 0, start) + 1
                raise limits.too_large(f"{path}: line {line:,} (byte {offset + start:,})")
            last = _previous_separator(block, len(block))
            run = run + len(block) if last < 0 else len(block) - last - 1
            lines += block.count(b"\n")
            offset += len(block)
    if run > limit:
        raise limits.too_large(f"{path}: line {lines + 1:,} (byte {offset - run:,})")
    return not quoted


_SEPARATORS = (b",", b"\n", b"\r")


def _long_run_small(block: bytes, start: int, limit: int) -> int | None:
    import numpy as np

    data = np.frombuffer(block, dtype=np.uint8)[start:]
    where = np.flatnonzero((data == ord(",")) | (data == ord("\n")) | (data == ord("\r")))
    longer = np.flatnonzero(np.diff(where) - 1 > limit)
    return int(where[longer[0]]) + 1 + start if longer.size else None


def _next_separator(block: bytes, start: int, end: int | None = None) -> int:
    """The first separator in ``block[start:end]``, else ``end`` (or the block's length)."""
    end = len(block) if end is None else end
    found = [i for sep in _SEPARATORS if (i := block.find(sep, start, end)) >= 0]
    return min(found, default=end)


def _previous_separator(block: bytes, end: int) -> int:
    return max(block.rfind(sep, 0, end) for sep in _SEPARATORS)


def _long_run(block: bytes, start: int, limit: int) -> int | None:
    """Where a separator-free run longer than ``limit`` begins inside ``block`` (between two
    separators, from ``start`` on), or None.

    Such a run covers a whole window of ``(limit + 1) // 2`` bytes at a multiple of that
    size, so only the windows holding no separator are looked at closely; in ordinary data
    each window's test stops at its first comma.
    """
    window = max(1, (limit + 1) // 2)
    if window < 1 << 16:  # many small windows: measure every run at once instead
        return _long_run_small(block, start, limit)
    for begin in range(start - start % window, len(block), window):
        end = min(begin + window, len(block))
        if block.find(b",", begin, end) >= 0 or block.find(b"\n", begin, end) >= 0:
            continue
        if block.find(b"\r", begin, end) >= 0:
            continue
        left = _previous_separator(block, begin) + 1
        right = _next_separator(block, end)
        if left > 0 and right < len(block) and right - left > limit:
            return left
    return None


def _not_utf8(data: bytes, exc: UnicodeDecodeError) -> str:
    return (
        f"is not valid UTF-8: byte 0x{data[exc.start]:02X} ({exc.reason}); save the file as UTF-8"
    )


def _open_binary(path: Path) -> BufferedIOBase:
    name = path.name.lower()
    if name.endswith(".gz"):
        import gzip

        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        import bz2

        return bz2.open(path, "rb")
    return path.open("rb")


def _invalid_utf8(path: Path) -> InvalidInput:
    """The first invalid UTF-8 sequence of ``path``, by line and byte offset (from 0)."""
    carry, offset, lines = b"", 0, 1  # offset of carry[0]
    try:
        with _open_binary(path) as handle:
            for block in iter(lambda: handle.read(_PIECE_BYTES), b""):
                data = carry + block
                if data.isascii():
                    carry, offset, lines = b"", offset + len(data), lines + data.count(b"\n")
                    continue
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    if exc.end == len(data) and exc.reason == "unexpected end of data":
                        cut = exc.start  # a character cut by the block end
                    else:
                        line = lines + data.count(b"\n", 0, exc.start)
                        where = f"line {line:,} (byte {offset + exc.start:,})"
                        return InvalidInput(f"{path}: {where} {_not_utf8(data, exc)}")
                else:
                    cut = len(data)
                carry = data[cut:]
                offset += cut
                lines += data.count(b"\n", 0, cut)
    except (OSError, EOFError) as exc:
        return InvalidInput(f"{path}: cannot be read ({exc})")
    if carry:
        return InvalidInput(
            f"{path}: line {lines:,} (byte {offset:,}) is not valid UTF-8: the file ends "
            "inside a character"
        )
    return InvalidInput(f"{path}: the file is not valid UTF-8")


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
    if "invalid UTF8" in message or "invalid utf-8" in message.lower():
        return _invalid_utf8(path)
    if "straddling object straddles" in message:
        return InvalidInput(f"{path}: a row is longer than {_PIECE_BYTES >> 20} MiB")
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


def _check_csv_header(path: Path, limits: TableLimits) -> None:
    """Read the header alone; refuse past the column or cell limit, and duplicate or empty
    column names, which Arrow would accept silently."""
    import csv

    try:
        with _open_binary(path) as handle:
            raw = _header_bytes(handle, path, limits)
    except (OSError, EOFError) as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: line 1 (byte {exc.start:,}) {_not_utf8(raw, exc)}") from None
    try:
        header = next(csv.reader([text]), None)
    except csv.Error as exc:
        raise InvalidInput(f"{path}: the header cannot be parsed as CSV ({exc})") from None
    if not header:
        raise InvalidInput(f"{path}: the file is empty")
    limits.check_columns(len(header), str(path))
    check_names(header, str(path))


def _header_bytes(handle: BufferedIOBase, path: Path, limits: TableLimits) -> bytes:
    """The bytes of the first row, read in 64 KiB chunks and refused as soon as they hold
    more columns than allowed or a cell larger than allowed (quotes are followed, so a quoted
    comma or line end belongs to its cell)."""
    kept: list[bytes] = []
    quoted, columns, cell, offset = False, 1, 0, 0
    while chunk := handle.read(_HEADER_CHUNK):
        last = 0
        for token in _HEADER_TOKENS.finditer(chunk):
            char, at = token.group(), token.start()
            cell += at - last
            last = at + 1
            if char == b'"':
                quoted = not quoted
                cell += 1
            elif quoted:
                cell += 1
            elif char == b",":
                columns += 1
                cell = 0
                if columns > limits.max_columns:
                    raise limits.too_wide(f"{path}: the header has")
            else:  # the end of the header row
                kept.append(chunk[:at])
                return b"".join(kept)
            if cell > limits.max_cell_bytes:
                raise limits.too_large(f"{path}: line 1 (byte {offset + at:,})")
        cell += len(chunk) - last
        if cell > limits.max_cell_bytes:
            raise limits.too_large(f"{path}: line 1 (byte {offset + len(chunk):,})")
        kept.append(chunk)
        offset += len(chunk)
    return b"".join(kept)


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
    """Refuse empty and duplicate column names, naming the positions (from 1) of each."""
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(names, start=1):
        if not str(name).strip():
            raise InvalidInput(f"{origin}: column {index} has no name")
        positions.setdefault(name, []).append(index)
    duplicates = [
        f"{name} (columns {', '.join(map(str, where[:-1]))} and {where[-1]})"
        for name, where in positions.items()
        if len(where) > 1
    ]
    if duplicates:
        raise InvalidInput(f"{origin}: duplicate column names: {'; '.join(duplicates)}")
