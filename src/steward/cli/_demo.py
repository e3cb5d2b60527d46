"""``steward demo``: placeholder replaced below."""

from __future__ import annotations


def demo() -> None:
    """Run the governed lifecycle end to end in a temporary home, narrated."""
