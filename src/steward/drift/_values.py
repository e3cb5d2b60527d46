"""What a column of input looks like once the engine can compute on it.

Reference and current columns arrive as numpy arrays, Python lists or polars Series (or a
whole polars DataFrame). This module turns each into one of two shapes, the same way for
every source so a reference built from numpy and a batch read from Parquet agree:

- numeric: a float64 array in which NaN marks a missing value (``None`` and polars nulls
  become NaN); booleans count as 0 and 1;
- categorical: counts per category label (``str``) and the number of missing values
  (``None``, polars nulls and, for floating-point data, NaN). Labels are kept exactly as
  given: ``"a"`` and ``"A"`` are two categories. Non-string values given as categorical are
  labelled by polars' cast to text (``1`` → ``"1"``, ``True`` → ``"true"``).

Kind detection is deliberately narrow: numbers and booleans are numeric, text is
categorical, a column mixing both is refused rather than guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import polars as pl

from steward.errors import InvalidInput

__all__ = [
    "KINDS",
    "Columns",
    "Kind",
    "category_counts",
    "category_labels",
    "check_kinds",
    "column_map",
    "kind_of",
    "numeric_array",
]

Kind = Literal["numeric", "categorical"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical")
Columns = Mapping[str, Any] | pl.DataFrame
"""Column name → values (numpy array, list, tuple or polars Series), or a polars DataFrame."""


def column_map(columns: Columns, what: str) -> dict[str, Any]:
    """``columns`` as a plain ``{name: values}``; ``InvalidInput`` when it is neither a
    mapping nor a DataFrame, or a name is not text."""
    if isinstance(columns, pl.DataFrame):
        return {name: columns.get_column(name) for name in columns.columns}
    if not isinstance(columns, Mapping):
        raise InvalidInput(
            f"{what} must be a mapping of column name to values or a polars DataFrame, "
            f"not {type(columns).__name__}"
        )
    for name in columns:
        if not isinstance(name, str):
            raise InvalidInput(f"{what}: column names must be text, not {name!r}")
    return dict(columns)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _python_kind(name: str, values: Any) -> Kind | None:
    """The kind of a list or object array, read from its values (``None``: all missing)."""
    seen: set[Kind] = set()
    for value in values:
        if _is_missing(value):
            continue
        if isinstance(value, str):
            seen.add("categorical")
        elif isinstance(value, bool | int | float | np.number | np.bool_):
            seen.add("numeric")
        else:
            raise InvalidInput(
                f"column {name!r}: cannot use a value of type {type(value).__name__}; "
                "give numbers or text"
            )
        if len(seen) > 1:
            raise InvalidInput(
                f"column {name!r} mixes numbers and text; give its kind as 'categorical'"
            )
    return next(iter(seen), None)


def kind_of(name: str, values: Any) -> Kind | None:
    """The kind ``values`` have (``None`` when every value is missing, so none can be read);
    ``InvalidInput`` for a type the engine does not compare."""
    if isinstance(values, pl.Series):
        dtype = values.dtype
        if dtype.is_numeric() or dtype == pl.Boolean:
            return "numeric"
        if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            return "categorical"
        if dtype == pl.Null:
            return None
        raise InvalidInput(
            f"column {name!r} has type {dtype}; give its kind as 'categorical' to compare it"
        )
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "biuf":
            return "numeric"
        if values.dtype.kind in "US":
            return "categorical"
        if values.dtype.kind == "O":
            return _python_kind(name, values.ravel())
        raise InvalidInput(
            f"column {name!r} has type {values.dtype}; give its kind as 'categorical' to compare it"
        )
    if isinstance(values, list | tuple):
        return _python_kind(name, values)
    raise InvalidInput(
        f"column {name!r}: values must be a numpy array, a list or a polars Series, "
        f"not {type(values).__name__}"
    )


def numeric_array(name: str, values: Any) -> npt.NDArray[np.float64]:
    """``values`` as a one-dimensional float64 array, NaN where a value is missing. It may be
    the caller's own array (never written to)."""
    try:
        if isinstance(values, pl.Series):
            if values.dtype == pl.Null:
                return np.full(values.len(), np.nan)
            return values.cast(pl.Float64).to_numpy()
        if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
            array = np.asarray(values, dtype=np.float64)
        else:
            array = np.asarray(
                [np.nan if _is_missing(v) else v for v in np.asarray(values, dtype=object).ravel()],
                dtype=np.float64,
            )
    except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InvalidInput(f"column {name!r} is not numeric: {first}") from None
    if array.ndim != 1:
        raise InvalidInput(f"column {name!r} must be one-dimensional, not of shape {array.shape}")
    return array


def _series(name: str, values: Any) -> pl.Series:
    if isinstance(values, pl.Series):
        return values
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise InvalidInput(
                f"column {name!r} must be one-dimensional, not of shape {values.shape}"
            )
        if values.dtype.kind == "S":
            values = values.astype(str)
        if values.dtype.kind != "O":
            return pl.Series(name, values)
    if not isinstance(values, np.ndarray | list | tuple):
        raise InvalidInput(
            f"column {name!r}: values must be a numpy array, a list or a polars Series, "
            f"not {type(values).__name__}"
        )
    try:  # the common case, text and None, without a pass in Python
        return pl.Series(name, values, dtype=pl.String)
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        pass  # numbers, NaN or a mix: each value looked at below
    cleaned = [None if _is_missing(v) else v for v in values]
    try:
        return pl.Series(name, cleaned, strict=False)
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        return pl.Series(name, [None if v is None else str(v) for v in cleaned], dtype=pl.String)


def category_labels(name: str, values: Any) -> pl.Series:
    """A categorical column as text labels named ``value``, null where missing (NaN
    included)."""
    series = _series(name, values).alias("value")  # "count" is taken by the counts
    if series.dtype.is_float():
        series = series.fill_nan(None)
    if series.dtype != pl.String:
        try:
            series = series.cast(pl.String)
        except pl.exceptions.PolarsError as error:
            first = str(error).splitlines()[0]
            raise InvalidInput(f"column {name!r} cannot be read as categories: {first}") from None
    return series


def check_kinds(kinds: Mapping[str, str] | None, found: Mapping[str, Any]) -> dict[str, Kind]:
    """The declared ``kinds`` of columns, refused (one line) when they name a column
    ``found`` lacks or a kind that is neither numeric nor categorical."""
    given = dict(kinds or {})
    unknown = sorted(set(given) - set(found))
    if unknown:
        raise InvalidInput(f"kinds name columns the reference lacks: {', '.join(unknown)}")
    for name, kind in given.items():
        if kind not in KINDS:
            raise InvalidInput(
                f"column {name!r}: unknown kind {kind!r} (expected 'numeric' or 'categorical')"
            )
    return cast(dict[str, Kind], given)


def category_counts(name: str, values: Any) -> tuple[dict[str, int], int, int]:
    """``(counts per label, missing, total)`` of a categorical column, labels in first-seen
    order of polars' counting (the order carries no meaning)."""
    series = category_labels(name, values)
    total = series.len()
    missing = series.null_count()
    counted = series.drop_nulls().value_counts(name="count")
    labels = counted.get_column("value").to_list()
    numbers = counted.get_column("count").to_list()
    return {str(label): int(n) for label, n in zip(labels, numbers, strict=True)}, missing, total
