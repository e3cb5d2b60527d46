"""How many days of the prediction log to keep: what the governing policies require, never
less, and never more than a century (a date that far back does not exist)."""

from __future__ import annotations

from steward.errors import InvalidInput

__all__ = ["MAX_RETENTION_DAYS", "retention_to_keep"]

MAX_RETENTION_DAYS = 36_500


def retention_to_keep(required: int, asked: int | None) -> int:
    """``asked`` (``required`` when ``None``), refused when shorter than ``required`` — the
    longest ``serving.retention_days`` of the policies governing every version served."""
    days = required if asked is None else asked
    if days < required:
        raise InvalidInput(
            f"{{retention_days}} {days} is shorter than the {required} days the governing "
            "policies require",
            details={"field": "retention_days"},
        )
    return days
