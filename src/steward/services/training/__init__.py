"""Tracked runs, training and tuning, mitigation: what makes a model version.

The public names of this family are listed by ``steward.services``."""

__all__: list[str] = []
