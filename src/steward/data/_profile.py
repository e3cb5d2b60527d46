"""Schema inference and column profiles of a canonical table.

The profile is plain JSON (``steward.profile/v1``) kept with the dataset version. It is the
reference the drift monitor compares live data with, so it stores what drift statistics need
without the raw data: for numeric columns, quantiles and a fixed-edge histogram; for
categorical columns, the frequency of every level. It never stores values of columns flagged
as personal data, nor of free-text (high-cardinality) columns.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from steward.data._table import logical_type
from steward.domain import ColumnSchema, ColumnType, TableSchema

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

__all__ = [
    "HISTOGRAM_BINS",
    "MAX_CATEGORIES",
    "PROFILE_FORMAT",
    "QUANTILES",
    "infer_schema",
    "profile_table",
]

PROFILE_FORMAT = "steward.profile/v1"
MAX_CATEGORIES = 50
HISTOGRAM_BINS = 20
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def _finite(value: Any) -> Any:
    """JSON-safe scalars: NaN/inf become None, numpy scalars become Python numbers."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _is_categorical(distinct: int, non_null: int) -> bool:
    # Few levels, each seen about twice or more on average: codes, not identifiers or text.
    return 0 < distinct <= MAX_CATEGORIES and non_null >= 2 * distinct


def profile_table(
    table: pa.Table, *, private: frozenset[str] = frozenset(), frame: pl.DataFrame | None = None
) -> tuple[TableSchema, dict[str, Any]]:
    """Infer the schema and profile every column; ``private`` columns keep no values.

    ``frame`` is the same table as a polars frame, when the caller already has one.
    """
    import polars as pl

    if frame is None:
        converted = pl.from_arrow(table, rechunk=False)
        assert isinstance(converted, pl.DataFrame)
        frame = converted
    rows = frame.height
    basics = frame.select(
        [pl.col(c).null_count().alias(f"{i}:missing") for i, c in enumerate(frame.columns)]
        + [pl.col(c).n_unique().alias(f"{i}:distinct") for i, c in enumerate(frame.columns)]
    ).row(0)
    width = frame.width
    columns: dict[str, Any] = {}
    schema: list[ColumnSchema] = []
    for index, name in enumerate(frame.columns):
        kind = ColumnType(logical_type(table.schema.field(index).type))
        missing = int(basics[index])
        non_null = rows - missing
        # n_unique counts null as a value when present.
        distinct = int(basics[width + index]) - (1 if missing else 0)
        entry: dict[str, Any] = {
            "type": kind.value,
            "count": rows,
            "missing": missing,
            "missing_rate": missing / rows if rows else 0.0,
            "distinct": distinct,
        }
        column = frame.get_column(name)
        categorical = (
            kind in (ColumnType.STRING, ColumnType.BOOLEAN)
            and name not in private
            and _is_categorical(distinct, non_null)
        )
        categories: tuple[str, ...] | None = None
        minimum: Any = None
        maximum: Any = None
        if name in private:
            pass  # personal data: counts only, no values, ranges or frequencies
        elif kind.numeric and non_null:
            entry.update(_numeric_profile(column))
            minimum, maximum = entry["min"], entry["max"]
            if distinct <= 20:
                entry["frequencies"] = _frequencies(column)
        elif kind is ColumnType.DATETIME and non_null:
            values = column.drop_nulls()
            minimum = values.min().isoformat()  # type: ignore[union-attr]
            maximum = values.max().isoformat()  # type: ignore[union-attr]
            entry.update({"min": minimum, "max": maximum})
        if kind is ColumnType.STRING and non_null:
            lengths = column.drop_nulls().str.len_chars()
            entry["mean_length"] = _finite(lengths.mean())
            entry["max_length"] = _finite(lengths.max())
        if categorical:
            entry["frequencies"] = _frequencies(column)
            if kind is ColumnType.STRING:
                categories = tuple(sorted(entry["frequencies"]))
        if name in private:
            entry["private"] = True
        columns[name] = entry
        schema.append(ColumnSchema(name, kind, missing > 0, categories, minimum, maximum))
    complete = rows - int(frame.select(pl.any_horizontal(pl.all().is_null()).sum()).item())
    profile = {
        "format": PROFILE_FORMAT,
        "rows": rows,
        "complete_rows": complete,
        "columns": columns,
    }
    return TableSchema(tuple(schema)), profile


def _numeric_profile(column: pl.Series) -> dict[str, Any]:
    import numpy as np

    values = column.drop_nulls()
    array = values.to_numpy().astype(float, copy=False)
    # One partial sort for all quantiles (numpy's default "linear" interpolation).
    quantiles = np.quantile(array, QUANTILES)
    low, high = float(array.min()), float(array.max())
    stats: dict[str, Any] = {
        "min": _finite(values.min()),
        "max": _finite(values.max()),
        "mean": _finite(values.mean()),
        "std": _finite(values.std()),
        "quantiles": {
            f"p{round(q * 100):02d}": _finite(float(v))
            for q, v in zip(QUANTILES, quantiles, strict=True)
        },
    }
    if low == high:
        high = low + 1.0
    counts, edges = np.histogram(array, bins=HISTOGRAM_BINS, range=(low, high))
    stats["histogram"] = {
        "edges": [_finite(e) for e in edges],
        "counts": [int(c) for c in counts],
    }
    return stats


def _frequencies(column: pl.Series) -> dict[str, int]:
    counts = column.drop_nulls().value_counts(sort=True)
    return {
        _level(value): int(count)
        for value, count in zip(counts[:, 0].to_list(), counts[:, 1].to_list(), strict=True)
    }


def _level(value: Any) -> str:
    """Levels are keyed by their text form (JSON keys are strings): ``true``, ``3``, ``a``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def infer_schema(table: pa.Table) -> TableSchema:
    return profile_table(table)[0]
