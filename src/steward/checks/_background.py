"""The explainability check's background sample without personal data: PII-flagged inputs and
declared sensitive attributes are missing in every row of the sample the check explains
against and stores (see ``_explainability.py`` and docs/checks.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steward.checks._base import CheckContext
from steward.errors import InvalidInput

__all__ = ["protected_inputs", "redacted", "takes_missing"]


def protected_inputs(context: CheckContext, columns: list[str]) -> list[str]:
    """The inputs whose real values the stored background must not hold: PII-flagged
    columns and declared sensitive attributes."""
    private = {
        *context.pii_columns,
        *context.version.sensitive,
        *getattr(context.A, "columns", ()),
    }
    return [c for c in columns if c in private]


def redacted(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with ``columns`` missing in every row (NaN for numbers, None otherwise)."""
    if not columns:
        return frame
    frame = frame.copy()
    for column in columns:  # booleans count as numbers: the models read them as 0/1
        numeric = pd.api.types.is_numeric_dtype(frame[column].dtype)
        frame[column] = pd.Series(
            np.nan if numeric else None, index=frame.index, dtype="float64" if numeric else object
        )
    return frame


def takes_missing(context: CheckContext, background: pd.DataFrame, protected: list[str]) -> None:
    """Refuse a model that raises on the redacted background (a bare estimator, no imputer)."""
    try:
        context.model.predict(background)
    except Exception as exc:  # a bare estimator without an imputer
        raise InvalidInput(
            f"explainability: {context.version.ref} cannot predict with its PII or sensitive "
            f"input(s) {', '.join(protected)} missing ({type(exc).__name__}), and the stored "
            "background sample may not hold their real values: add an imputer to the model"
        ) from None
