"""What every ``to_dict()`` shares: free-form parts made of JSON types only."""

from __future__ import annotations

from typing import Any

__all__ = ["plain"]


def plain(value: Any) -> Any:
    """``value`` with every tuple, at any depth, as a list: free-form parts (check parameters
    given as tuples, say) read back from the store as lists, and a document must be the same
    whichever way its value was obtained. Other values are returned as they are."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
