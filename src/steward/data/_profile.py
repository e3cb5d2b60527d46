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
    table: pa.Table, *, private: frozenset[str] = frozenset()
) -> tuple[TableSchema, dict[str, Any]]:
    """Infer the schema and profile every column; ``private`` columns keep no values.

    Columns are converted to polars one at a time, so at most one column's copy exists next
    to the Arrow table (text columns are copied on conversion; numbers are not).
    """
    import polars as pl
    import pyarrow.compute as pc

    rows = table.num_rows
    kinds = [ColumnType(logical_type(field.type)) for field in table.schema]
    columns: dict[str, Any] = {}
    schema: list[ColumnSchema] = []
    for index, name in enumerate(table.column_names):
        kind = kinds[index]
        missing = int(table.column(index).null_count)
        non_null = rows - missing
        column = pl.Series(name, table.column(index))
        numeric = _numeric_profile(column) if kind.numeric and non_null else None
        if numeric is not None:
            distinct = numeric.pop("distinct")
        elif kind.numeric:
            distinct = 0
        else:
            # n_unique counts null as a value when present.
            distinct = int(column.n_unique()) - (1 if missing else 0)
        entry: dict[str, Any] = {
            "type": kind.value,
            "count": rows,
            "missing": missing,
            "missing_rate": missing / rows if rows else 0.0,
            "distinct": distinct,
        }
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
        elif numeric is not None:
            entry.update(numeric)
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
        del column
    complete = rows
    incomplete = [pc.is_null(c) for c in table.columns if c.null_count]
    if incomplete:
        any_missing = incomplete[0]
        for other in incomplete[1:]:
            any_missing = pc.or_(any_missing, other)
        complete = rows - int(pc.sum(any_missing).as_py() or 0)
    profile = {
        "format": PROFILE_FORMAT,
        "rows": rows,
        "complete_rows": complete,
        "columns": columns,
    }
    return TableSchema(tuple(schema)), profile


def _numeric_profile(column: pl.Series) -> dict[str, Any]:
    """Statistics of a numeric column, from one sort of its values.

    The sorted values give the quantiles (numpy's "linear" interpolation), the distinct
    count, and the histogram: counting by binary search against ``np.linspace`` edges puts
    each value in the same bin as ``np.histogram`` does (left-closed bins, the last one
    closed on both sides).
    """
    import numpy as np

    values = column.drop_nulls()
    ordered = np.sort(values.to_numpy().astype(float, copy=False))
    quantiles = np.quantile(ordered, QUANTILES)
    low, high = float(ordered[0]), float(ordered[-1])
    stats: dict[str, Any] = {
        "min": _finite(values.min()),
        "max": _finite(values.max()),
        "mean": _finite(values.mean()),
        "std": _finite(values.std()),
        "quantiles": {
            f"p{round(q * 100):02d}": _finite(float(v))
            for q, v in zip(QUANTILES, quantiles, strict=True)
        },
        "distinct": int(np.count_nonzero(np.diff(ordered))) + 1,
    }
    if low == high:
        high = low + 1.0
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    starts = np.searchsorted(ordered, edges, side="left")
    starts[-1] = np.searchsorted(ordered, edges[-1], side="right")
    stats["histogram"] = {
        "edges": [_finite(e) for e in edges],
        "counts": [int(c) for c in np.diff(starts)],
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
