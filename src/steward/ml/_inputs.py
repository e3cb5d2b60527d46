"""Which columns a model takes, and the labels it learns: decided from the dataset version.

Declared sensitive attributes and PII-flagged columns stay out of the inputs unless the
caller opts each one in by name; datetime columns are left out (the templates do not encode
them), and so is a column with no value at all (every row missing: there is nothing to learn
from it, its imputer would drop it from the prepared matrix behind the explainers' backs, and
under the ``drop`` policy it would drop every row). Every left-out column is recorded with its
reason. A constant column stays in: it carries nothing, but costs nothing either (no tree splits
on it, a linear model gives it no weight), and a column constant in one version (the demo
data's ``msa``: every application is from one area) need not be in the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from steward.domain import ColumnType, DatasetVersion
from steward.errors import InvalidInput

__all__ = ["MAX_CLASSES", "InputPlan", "frames", "plan_inputs", "target_values"]

MAX_CLASSES = 50


@dataclass(frozen=True, slots=True)
class InputPlan:
    target: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    excluded: dict[str, str]
    sensitive: tuple[str, ...]
    sensitive_features: tuple[str, ...]
    rows: np.ndarray  # positions of the rows training may use
    labels: np.ndarray  # the target at those rows
    classes: list[Any]  # empty for a regression target
    task: str = "binary"  # binary, multiclass or regression

    @property
    def features(self) -> tuple[str, ...]:
        return (*self.numeric, *self.categorical)

    def signature(self, version: DatasetVersion) -> dict[str, Any]:
        """Inputs (columns, types, categories) and output of a model trained on this plan."""
        inputs = []
        for name in self.features:
            column = version.schema.column(name)
            assert column is not None
            inputs.append(
                {
                    "name": name,
                    "type": column.type.value,
                    "kind": "numeric" if name in self.numeric else "categorical",
                    "categories": list(column.categories) if column.categories else None,
                }
            )
        if self.task == "regression":
            output: dict[str, Any] = {"type": "value", "task": "regression", "target": self.target}
        else:
            output = {
                "type": "class",
                "task": self.task,
                "classes": self.classes,
                "probabilities": True,
            }
        return {"inputs": inputs, "output": output}

    def strata(self) -> np.ndarray:
        """What the split stratifies by: the classes, or a regression target's quantile bin."""
        if self.task != "regression":
            return self.labels
        bins = max(2, min(10, len(self.labels) // 10))
        edges = np.quantile(self.labels.astype(np.float64), np.linspace(0, 1, bins + 1)[1:-1])
        return np.searchsorted(np.unique(edges), self.labels.astype(np.float64), side="right")


def plan_inputs(
    version: DatasetVersion,
    table: pa.Table,
    *,
    target: str | None = None,
    use_sensitive: Sequence[str] = (),
    use_pii: Sequence[str] = (),
    drop: Sequence[str] = (),
    task: str | None = None,
) -> InputPlan:
    """Check the target and choose the input columns; ``InvalidInput`` says what is wrong.

    ``task`` is ``classification``, ``regression`` or ``None``: a numeric target with more
    than ``MAX_CLASSES`` distinct values is then regressed, any other classified."""
    if task not in (None, "classification", "regression"):
        raise InvalidInput(f"unknown task {task!r}: use classification or regression")
    names = version.schema.names
    target = target or version.target
    if target is None:
        raise InvalidInput(f"{version.ref} declares no target column: pass --target COLUMN")
    if target not in names:
        raise InvalidInput(f"target column {target!r} is not in {version.ref}")
    for label, chosen in (("--use-sensitive", use_sensitive), ("--drop", drop)):
        unknown = [c for c in chosen if c not in names]
        if unknown:
            raise InvalidInput(f"{label}: {version.ref} has no column {', '.join(unknown)}")
    undeclared = [c for c in use_sensitive if c not in version.sensitive]
    if undeclared:
        raise InvalidInput(
            f"--use-sensitive: {', '.join(undeclared)} is not a declared sensitive attribute "
            f"of {version.ref}"
        )
    not_pii = [c for c in use_pii if c not in version.pii_columns]
    if not_pii:
        raise InvalidInput(f"--use-pii: {', '.join(not_pii)} is not PII-flagged in {version.ref}")

    excluded: dict[str, str] = {}
    numeric: list[str] = []
    categorical: list[str] = []
    for column in version.schema.columns:
        name = column.name
        if name == target:
            continue
        if name == version.target:
            excluded[name] = "the dataset's declared target"
        elif name in drop:
            excluded[name] = "dropped by the caller"
        elif name in version.sensitive and name not in use_sensitive:
            excluded[name] = "declared sensitive attribute"
        elif name in version.pii_columns and name not in use_pii:
            excluded[name] = "flagged as PII"
        elif table.num_rows and table.column(name).null_count == table.num_rows:
            excluded[name] = "all values missing"
        elif column.type is ColumnType.DATETIME:
            excluded[name] = "datetime columns are not model inputs"
        elif column.type.numeric or column.type is ColumnType.BOOLEAN:
            numeric.append(name)
        else:
            categorical.append(name)
    if not numeric and not categorical:
        raise InvalidInput(f"{version.ref} leaves no input column besides the target")

    labels = table.column(target)
    if labels.null_count:
        raise InvalidInput(
            f"target column {target!r} has {labels.null_count} missing value(s): "
            "fix or drop those rows and register a new version"
        )
    if pa.types.is_floating(labels.type) and pc.any(pc.is_nan(labels)).as_py():
        raise InvalidInput(f"target column {target!r} has NaN values")
    rows = np.arange(table.num_rows)
    if version.missing.mode == "drop":
        complete = np.ones(table.num_rows, dtype=bool)
        for name in (*numeric, *categorical):
            complete &= ~np.asarray(table.column(name).is_null().to_numpy(zero_copy_only=False))
        rows = rows[complete]
    values = target_values(labels)[rows]
    classes = np.unique(values)
    if len(classes) < 2:
        only = repr(_plain(classes[0])) if len(classes) else "nothing"
        raise InvalidInput(
            f"target column {target!r} is constant ({only}): a model needs it to vary"
        )
    numeric_target = pa.types.is_integer(labels.type) or pa.types.is_floating(labels.type)
    if task is None:
        task = "regression" if numeric_target and len(classes) > MAX_CLASSES else "classification"
    regression = task == "regression"
    if regression and not numeric_target:
        raise InvalidInput(f"target column {target!r} is not numeric: it cannot be regressed")
    if not regression and len(classes) > MAX_CLASSES:
        hint = " (numeric: train with --task regression)" if numeric_target else ""
        raise InvalidInput(
            f"target column {target!r} has {len(classes)} distinct values: classification "
            f"takes at most {MAX_CLASSES} classes{hint}"
        )
    return InputPlan(
        target=target,
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        excluded=excluded,
        sensitive=version.sensitive,
        sensitive_features=tuple(c for c in version.sensitive if c in use_sensitive),
        rows=rows,
        labels=values.astype(np.float64) if regression else values,
        classes=[] if regression else [_plain(c) for c in classes],
        task="regression" if regression else "binary" if len(classes) == 2 else "multiclass",
    )


def frames(
    table: pa.Table,
    rows: Sequence[int] | np.ndarray,
    *,
    features: Sequence[str],
    target: str,
    sensitive: Sequence[str],
) -> tuple[Any, Any, Any]:
    """``(X, y, A)`` as pandas for the given rows: model inputs, labels, sensitive attributes.

    Training evaluates, and ``load_split`` hands out, frames made by this one function, so a
    metric recomputed on ``load_split``'s frames equals the recorded one exactly.
    """
    import pandas as pd

    taken = table.take(pa.array(np.asarray(rows, dtype=np.int64)))
    x = taken.select(list(features)).to_pandas()
    y = pd.Series(target_values(taken.column(target)), name=target)
    a = taken.select(list(sensitive)).to_pandas() if sensitive else pd.DataFrame(index=x.index)
    return x, y, a


def target_values(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The labels as a model learns them: whole-number floats (0.0/1.0) become integers."""
    values = np.asarray(column.to_numpy(zero_copy_only=False))
    if values.dtype.kind == "f" and np.all(np.mod(values, 1) == 0):
        return values.astype(np.int64)
    return values


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value
