"""The problems of a request's input, as :class:`Problem` values and the one
``InvalidInput`` (422) that reports them (``input_problems``); how a message names a JSON
value's kind and the rows a problem was found at. Shared by the validator, the body parsers
and the Open Inference Protocol's reader."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from steward.errors import InvalidInput

__all__ = ["PROBLEMS", "ROWS_SHOWN", "Problem", "input_problems", "json_kind", "rows_text"]

PROBLEMS: Final = (
    "missing",
    "unknown",
    "wrong_type",
    "unseen_category",
    "not_finite",
    "too_many_rows",
    "empty",
)
ROWS_SHOWN = 5  # row indices kept per problem
_MESSAGE_CHARS = 400  # the summary line stops listing problems past this length


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of a request: a field (``None``: the request as a whole), its code (one of
    ``PROBLEMS``), the first few rows it was found at, and a one-line message naming it."""

    field: str | None
    problem: str
    rows: tuple[int, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "problem": self.problem,
            "rows": list(self.rows),
            "message": self.message,
        }


def input_problems(problems: Sequence[Problem]) -> InvalidInput:
    """The one ``InvalidInput`` reporting ``problems`` (at least one): a summary line listing
    them until it grows long, and every one of them in ``details["errors"]``."""
    count = len(problems)
    head = f"{count} input problem{'s' if count != 1 else ''}: "
    shown: list[str] = []
    length = len(head)
    for problem in problems:
        if shown and length + len(problem.message) > _MESSAGE_CHARS:
            break
        shown.append(problem.message)
        length += len(problem.message) + 2
    rest = count - len(shown)
    summary = head + "; ".join(shown) + (f"; and {rest} more (see details)" if rest else "")
    return InvalidInput(summary, details={"errors": [p.to_dict() for p in problems]})


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool | np.bool_):
        return "a boolean"
    if isinstance(value, int | float | np.integer | np.floating):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def rows_text(rows: Sequence[int]) -> str:
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows[:ROWS_SHOWN])
    more = f" and {len(rows) - ROWS_SHOWN} more" if len(rows) > ROWS_SHOWN else ""
    return f"; row{'s' if len(rows) > 1 else ''} {shown}{more}"
