"""Small types shared by every layer: JSON values and the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, TypeAlias

__all__ = ["JSON", "Clock", "SystemClock", "utc_iso"]

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None


class Clock(Protocol):
    """Source of the current time. Injected so that tests and replays are exact."""

    def now(self) -> datetime:
        """An aware datetime in UTC."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def utc_iso(moment: datetime) -> str:
    """``2026-11-30T01:02:03.123456Z``: the one timestamp spelling in ledger events."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
