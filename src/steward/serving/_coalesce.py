"""Concurrent requests for one served version, predicted in one call of its model.

A model's call has a fixed cost that dwarfs its cost per row: scikit-learn's histogram
gradient boosting spends ~16 µs per tree per call whatever the rows, so 100 trees take
1.7 ms for one row and 11 ms for 1,600 (``docs/benchmarks.md``, seventh pass). A worker
scores on its event loop; the requests that reach the model in the same turn of the loop
(under load: those that arrived while it was busy) wait for a callback scheduled by the
first of them, which stacks their inputs, calls the model once and hands each request its
own rows of the answer. A lone request waits one turn of the loop; nothing waits for a
timer. Each request is validated, logged (one record of its own rows), answered and
counted as before; only the model's call is shared.

A row's prediction does not depend on the other rows of the call for the estimators
Steward serves (trees and forests give the same bits; BLAS-based ones, such as a logistic
regression or a neural network, may differ in the last bit, as they do between any two
batch sizes or machines). If the shared call raises, each request's rows are predicted
alone, so a request that makes the model fail fails alone (decision 0049).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np

from steward.serving._runtime import LoadedVersion
from steward.settings import DEFAULT_COALESCE_ROWS

__all__ = ["COALESCE_ROWS", "Coalescer"]

COALESCE_ROWS = DEFAULT_COALESCE_ROWS  # STEWARD_COALESCE_ROWS: rows at most in a shared call

Prediction = tuple[np.ndarray, np.ndarray | None]
_Entry = tuple[Any, "asyncio.Future[Prediction]"]


class Coalescer:
    """The model calls of one worker. ``observe(endpoint, model, rows)`` is told of each
    call; ``max_rows`` 0 turns sharing off (every request calls the model itself)."""

    def __init__(
        self,
        max_rows: int = COALESCE_ROWS,
        observe: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.max_rows = max_rows
        self._observe = observe
        # (endpoint, id of the version) -> (the version, its waiting requests)
        self._pending: dict[tuple[str, int], tuple[LoadedVersion, list[_Entry]]] = {}

    async def predict(self, endpoint: str, loaded: LoadedVersion, frame: Any) -> Prediction:
        """``(labels, probabilities or None)`` of ``frame``'s rows (the model's input, as
        ``LoadedVersion.model_input`` makes it), as ``loaded.predict`` gives them."""
        if len(frame) >= self.max_rows:  # also when off: nothing to share
            return self._call(endpoint, loaded, frame)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Prediction] = loop.create_future()
        key = (endpoint, id(loaded))
        waiting = self._pending.get(key)
        if waiting is None:
            waiting = self._pending[key] = (loaded, [])
            loop.call_soon(self._drain, endpoint, key)
        waiting[1].append((frame, future))
        return await future

    def _call(self, endpoint: str, loaded: LoadedVersion, frame: Any) -> Prediction:
        result = loaded.predict(frame)
        if self._observe is not None:
            self._observe(endpoint, loaded.ref, len(frame))
        return result

    def _drain(self, endpoint: str, key: tuple[str, int]) -> None:
        loaded, entries = self._pending.pop(key)
        try:
            for group in self._groups(entries):
                self._run(endpoint, loaded, group)
        finally:  # a callback's error reaches no request: none may be left waiting
            for _, future in entries:
                if not future.done():
                    future.set_exception(RuntimeError("the model call was not made"))

    def _groups(self, entries: list[_Entry]) -> list[list[_Entry]]:
        """Consecutive requests whose inputs stack, at most ``max_rows`` rows a group;
        requests gone meanwhile (a client that disconnected) are left out."""
        groups: list[list[_Entry]] = []
        rows = 0
        for entry in entries:
            if entry[1].done():
                continue
            size = len(entry[0])
            if groups and rows + size <= self.max_rows and _stack(groups[-1][0][0], entry[0]):
                groups[-1].append(entry)
                rows += size
            else:
                groups.append([entry])
                rows = size
        return groups

    def _run(self, endpoint: str, loaded: LoadedVersion, group: list[_Entry]) -> None:
        if len(group) > 1:
            frames = [frame for frame, _ in group]
            try:
                labels, proba = self._call(endpoint, loaded, _stacked(frames))
            except Exception:  # noqa: S110 - each request's rows are tried alone below
                pass
            else:
                at = 0
                for frame, future in group:
                    end = at + len(frame)
                    future.set_result((labels[at:end], None if proba is None else proba[at:end]))
                    at = end
                return
        for frame, future in group:
            try:
                future.set_result(self._call(endpoint, loaded, frame))
            except Exception as error:  # raised in its request's task
                future.set_exception(error)


def _stack(first: Any, other: Any) -> bool:
    """Whether ``other``'s rows can go below ``first``'s in one input of the model."""
    if isinstance(first, np.ndarray):
        return (
            isinstance(other, np.ndarray)
            and first.dtype == other.dtype
            and first.shape[1:] == other.shape[1:]
        )
    import pandas as pd

    return (
        isinstance(first, pd.DataFrame)
        and isinstance(other, pd.DataFrame)
        and first.columns.equals(other.columns)
        and first.dtypes.equals(other.dtypes)  # a categorical's dtype holds its categories
    )


def _stacked(frames: list[Any]) -> Any:
    if isinstance(frames[0], np.ndarray):
        return np.concatenate(frames)
    import pandas as pd

    return pd.concat(frames, ignore_index=True)
