"""One monitor run's window of logged predictions, decoded into what the engine compares.

The window holds the predictions the endpoint's served version answered: the last N of them
or those of the last span of time. Inputs are decoded by the version's signature (numeric as
float, categorical as text; a key a record lacks is missing), outputs into the predicted
class, the scores in the version's class order and the top score, ground-truth labels
(attached by feedback) as text, and the requests' ``context`` attributes as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from steward.domain import ModelVersion

__all__ = ["Window", "decode_window"]


@dataclass(frozen=True)
class Window:
    rows: int
    first: str | None
    last: str | None
    request_ids: list[str]
    inputs: dict[str, np.ndarray[Any, Any]]
    prediction: np.ndarray[Any, Any]  # text (classifier) or float (regression)
    scores: np.ndarray[Any, Any] | None  # (rows, classes), the version's class order
    labels: np.ndarray[Any, Any]  # text, None where no label was attached
    context: dict[str, np.ndarray[Any, Any]]
    times: np.ndarray[Any, Any]  # datetime64[us]

    @property
    def labelled(self) -> np.ndarray[Any, Any]:
        return np.asarray([v is not None for v in self.labels.tolist()], dtype=bool)

    def outputs(self) -> dict[str, np.ndarray[Any, Any]]:
        """What prediction drift compares (as the reference's ``outputs`` profile holds)."""
        columns = {"prediction": self.prediction}
        if self.scores is not None:
            columns["score"] = self.scores.max(axis=1) if len(self.scores) else np.zeros(0)
        return columns


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def select(frame: Any, version: str, rows: int | None, since: datetime | None) -> Any:
    """The records of ``version`` in the window: the last ``rows``, or those since ``since``."""
    import polars as pl

    chosen = frame.filter(pl.col("model") == version)
    if since is not None:
        chosen = chosen.filter(pl.col("time") >= since)
    if rows is not None:
        chosen = chosen.tail(rows)
    return chosen


def since_of(duration_seconds: int | None, now: datetime) -> datetime | None:
    return None if duration_seconds is None else now - timedelta(seconds=duration_seconds)


def decode_window(
    frame: Any, version: ModelVersion, compared: tuple[str, ...], attributes: tuple[str, ...]
) -> Window:
    """Decode the selected records of ``frame`` (the prediction log's columns)."""
    import orjson
    import polars as pl

    kinds = {e["name"]: e.get("kind", "numeric") for e in version.signature.get("inputs", [])}
    fields = [
        pl.Field(name, pl.Float64 if kinds.get(name) == "numeric" else pl.String)
        for name in compared
    ]
    count = frame.height
    inputs: dict[str, np.ndarray[Any, Any]] = {}
    if fields and count:
        decoded = frame.select(pl.col("inputs").str.json_decode(pl.Struct(fields))).unnest("inputs")
        for name in compared:
            series = decoded.get_column(name)
            if kinds.get(name) == "numeric":
                inputs[name] = series.cast(pl.Float64).fill_null(float("nan")).to_numpy()
            else:
                inputs[name] = np.asarray(series.to_list(), dtype=object)
    else:
        for name in compared:
            inputs[name] = np.zeros(0) if kinds.get(name) == "numeric" else np.zeros(0, object)
    classes = [str(c) for c in version.signature.get("output", {}).get("classes") or []]
    outputs = [orjson.loads(text) for text in frame.get_column("outputs").to_list()]
    if version.task == "regression":
        prediction = np.asarray([float(o["prediction"]) for o in outputs], dtype=np.float64)
        scores = None
    else:
        prediction = np.asarray([str(o["prediction"]) for o in outputs], dtype=object)
        scores = None
        if classes and all("probabilities" in o for o in outputs):
            scores = np.asarray(
                [[float(o["probabilities"].get(c, 0.0)) for c in classes] for o in outputs],
                dtype=np.float64,
            ).reshape(count, len(classes))
    labels: list[str | None] = [None] * count
    if "label" in frame.columns:
        labels = [
            None if text is None else _text(orjson.loads(text))
            for text in frame.get_column("label").to_list()
        ]
    contexts = [orjson.loads(text) for text in frame.get_column("context").to_list()]
    context = {
        name: np.asarray([_text(c.get(name)) for c in contexts], dtype=object)
        for name in attributes
    }
    times = frame.get_column("time").to_numpy() if count else np.zeros(0, "datetime64[us]")
    return Window(
        rows=count,
        first=str(frame.get_column("time").min()) if count else None,
        last=str(frame.get_column("time").max()) if count else None,
        request_ids=frame.get_column("request_id").to_list(),
        inputs=inputs,
        prediction=prediction,
        scores=scores,
        labels=np.asarray(labels, dtype=object),
        context=context,
        times=times,
    )
