"""Table limits: how wide a table and how large a cell may be before reading is refused.

The values come from ``Settings`` (``STEWARD_MAX_COLUMNS``, ``STEWARD_MAX_CELL_BYTES``); the
readers check them as early as the format allows — the column count from a CSV header or
Parquet metadata before any row is read, cell sizes while the rows are read — so a hostile
file is refused in about the time it takes to read its header, not after minutes of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from steward.errors import InvalidInput
from steward.settings import DEFAULT_MAX_CELL_BYTES, DEFAULT_MAX_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["TableLimits"]


@dataclass(frozen=True, slots=True)
class TableLimits:
    """The largest column count and cell size (bytes of UTF-8 text or binary) accepted."""

    max_columns: int = DEFAULT_MAX_COLUMNS
    max_cell_bytes: int = DEFAULT_MAX_CELL_BYTES

    def __post_init__(self) -> None:
        if self.max_columns < 1 or self.max_cell_bytes < 1:
            raise InvalidInput("table limits must be at least 1")

    def check_columns(self, count: int, origin: str) -> None:
        """Refuse ``count`` columns past ``max_columns``."""
        if count > self.max_columns:
            raise InvalidInput(
                f"{origin}: {count:,} columns, more than the limit of {self.max_columns:,} "
                "(setting STEWARD_MAX_COLUMNS)"
            )

    def too_wide(self, where: str) -> InvalidInput:
        """The refusal of a header found, part way through, to hold too many columns."""
        return InvalidInput(
            f"{where} more than {self.max_columns:,} columns, the limit "
            "(setting STEWARD_MAX_COLUMNS)"
        )

    def too_large(self, where: str) -> InvalidInput:
        """The refusal of a cell past ``max_cell_bytes``, found at ``where``."""
        return InvalidInput(
            f"{where}: a cell is larger than the limit of {self.max_cell_bytes:,} bytes "
            "(setting STEWARD_MAX_CELL_BYTES)"
        )

    def check_cells(self, table: pa.Table, origin: str) -> None:
        """Refuse a text or binary cell of ``table`` larger than ``max_cell_bytes``."""
        import pyarrow as pa
        import pyarrow.compute as pc

        for name, column in zip(table.column_names, table.columns, strict=True):
            kind = column.type
            if pa.types.is_dictionary(kind):
                column, kind = column.cast(kind.value_type), kind.value_type
            if not (
                pa.types.is_string(kind)
                or pa.types.is_large_string(kind)
                or pa.types.is_binary(kind)
                or pa.types.is_large_binary(kind)
            ):
                continue
            if column.null_count == len(column):
                continue
            lengths = pc.binary_length(column)
            largest = pc.max(lengths).as_py()
            if largest is not None and largest > self.max_cell_bytes:
                row = pc.index(pc.greater(lengths, self.max_cell_bytes), True).as_py()
                raise self.too_large(f"{origin}: column {name!r}, row {row + 1:,}")
