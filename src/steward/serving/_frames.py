"""The model's input, assembled from a request's checked columns: a pandas frame of a
float64 block and an object block in the signature's column order, or (every column a
number) one float64 array without pandas. ``Validator`` (``_validate``) checks; this builds.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

try:  # pandas >= 3: build the frame from its two blocks, an order of magnitude faster
    from pandas.api.internals import create_dataframe_from_blocks as _from_blocks
except ImportError:  # pragma: no cover - older pandas
    _from_blocks = None

__all__ = ["assemble", "by_columns", "float_array", "float_block", "in_column_order"]


def float_block(floats: Sequence[Sequence[Any]], rows: int) -> np.ndarray:
    """The float columns (each ``rows`` long) as one float64 block, a row per column. None
    becomes NaN, True 1.0: the values were checked, so nothing else is converted (a whole
    number too large for a float raises ``OverflowError``)."""
    if rows == 1:  # a flat list converts in half the time of a list of one-value lists
        return np.array(list(chain.from_iterable(floats)), dtype=np.float64).reshape(-1, 1)
    return np.array(floats, dtype=np.float64).reshape(len(floats), rows)


def in_column_order(block: np.ndarray, place: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A block and its placement with the placement increasing. pandas (3.1) reads a frame
    of ONE block whose placement is not increasing back in the block's order:
    ``np.asarray(frame)``, which scikit-learn calls, would hand a model its columns
    shuffled (a flag input before a number)."""
    if len(place) > 1 and bool((np.diff(place) < 0).any()):
        order = np.argsort(place, kind="stable")
        return block[order], place[order]
    return block, place


def float_array(floats: Sequence[Sequence[Any]], place: np.ndarray, rows: int) -> np.ndarray:
    """Every column a number: the rows as one C-ordered float64 array, in column order."""
    block, _ = in_column_order(float_block(floats, rows), place)
    return np.ascontiguousarray(block.T)


def assemble(
    floats: Sequence[Sequence[Any]],
    float_place: np.ndarray,
    texts: Sequence[Sequence[Any]],
    text_place: np.ndarray,
    index: pd.RangeIndex,
    columns: pd.Index,
) -> pd.DataFrame:
    """The frame from its float64 columns and its object columns (each list ``len(index)``
    long) and their positions among ``columns``."""
    rows = len(index)
    floats_block = float_block(floats, rows)
    text_block = np.empty((len(texts), rows), dtype=object)
    for at, values in enumerate(texts):
        text_block[at, :] = values
    if _from_blocks is None:  # pragma: no cover - older pandas
        return by_columns(floats_block, float_place, text_block, text_place, index, columns)
    blocks = [
        in_column_order(block, place)
        for block, place in ((floats_block, float_place), (text_block, text_place))
        if len(place)
    ]
    return _from_blocks(blocks, index=index, columns=columns)


def by_columns(
    float_block: np.ndarray,
    float_place: np.ndarray,
    text_block: np.ndarray,
    text_place: np.ndarray,
    index: pd.RangeIndex,
    columns: pd.Index,
) -> pd.DataFrame:
    """The same frame through the public constructor (pandas without the blocks API)."""
    series: dict[int, Any] = {}
    for at, position in enumerate(float_place):
        series[int(position)] = float_block[at]
    for at, position in enumerate(text_place):
        # dtype=object explicitly: pandas would otherwise infer its string dtype
        series[int(position)] = pd.Series(text_block[at], dtype=object, copy=False)
    data = {columns[p]: series[p] for p in range(len(columns))}
    return pd.DataFrame(data, index=index, columns=columns, copy=False)
