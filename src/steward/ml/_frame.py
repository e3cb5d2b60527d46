"""The first step of every Steward pipeline: pick the model's input columns and coerce them.

A pipeline starting with ``InputFrame`` accepts any pandas DataFrame that has the input
columns (extra columns are ignored), whatever dtypes pandas chose for it: numeric columns
become float64 (booleans 0/1, missing values NaN), categorical columns become objects holding
text or NaN. Training, ``load_split`` and the model server all feed the same raw frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["InputFrame"]


class InputFrame(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Select ``numeric`` and ``categorical`` columns of a DataFrame and coerce their types."""

    def __init__(self, *, numeric: tuple[str, ...] = (), categorical: tuple[str, ...] = ()):
        self.numeric = numeric
        self.categorical = categorical

    def fit(self, X: Any, y: Any = None) -> InputFrame:
        self._check(X)
        self.n_features_in_ = len(self.numeric) + len(self.categorical)
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame) and self._ready(X):
            return X  # the model server's validated frames: already in this form
        self._check(X)
        columns: dict[str, np.ndarray | pd.Series] = {}
        for name in self.numeric:
            columns[name] = _numeric(X[name], name)
        for name in self.categorical:
            # dtype=object explicitly: pandas would otherwise infer its string dtype again
            columns[name] = pd.Series(
                _categorical(X[name]), index=X.index, dtype=object, copy=False
            )
        return pd.DataFrame(columns, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([*self.numeric, *self.categorical], dtype=object)

    def _check(self, X: Any) -> None:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"the model takes a pandas DataFrame with columns {self._names()}, "
                f"not {type(X).__name__}"
            )
        missing = [name for name in (*self.numeric, *self.categorical) if name not in X.columns]
        if missing:
            raise ValueError(f"input lacks the model's column(s) {', '.join(missing)}")

    def _ready(self, X: pd.DataFrame) -> bool:
        """Whether ``X`` is exactly what ``transform`` would return: these columns in this
        order, numbers as float64, categories as objects holding text or NaN (never None)."""
        width = len(self.numeric) + len(self.categorical)
        if len(X.columns) != width or tuple(X.columns) != (*self.numeric, *self.categorical):
            return False
        float64 = np.dtype(np.float64)
        for i in range(width):
            column = X._get_column_array(i)  # no Series per column: this is the hot path
            if i < len(self.numeric):
                if column.dtype != float64:
                    return False
                continue
            if column.dtype != object:
                return False
            for value in column:
                if not isinstance(value, str) and not (isinstance(value, float) and value != value):
                    return False
        return True

    def _names(self) -> str:
        return ", ".join((*self.numeric, *self.categorical))


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiu":
        return np.asarray(column.to_numpy(dtype=np.float64))  # plain numbers: nothing to parse
    if pd.api.types.is_bool_dtype(column.dtype):
        return np.asarray(column.astype("float64").to_numpy(), dtype="float64")
    try:
        values = pd.to_numeric(column, errors="raise")
    except (TypeError, ValueError):
        raise ValueError(f"column {name!r} holds values that are not numbers") from None
    return np.asarray(values, dtype="float64")


def _categorical(column: pd.Series) -> np.ndarray:
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "string":
        values: np.ndarray = column.to_numpy(dtype=object, copy=True)  # text: NaN for missing
        values[pd.isna(values)] = np.nan
        return values
    if not pd.api.types.is_string_dtype(column.dtype) or column.dtype == object:
        # any other values (numbers, booleans, mixed objects) become their text
        column = column.astype("string")
    return np.asarray(column.to_numpy(dtype=object, na_value=np.nan), dtype=object)
