"""``steward demo``: the governed lifecycle, narrated, in a temporary home."""

from steward.demo._walkthrough import DemoContext, Step, run_demo

__all__ = ["DemoContext", "Step", "run_demo"]
