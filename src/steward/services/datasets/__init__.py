"""Registering, validating and reading dataset versions; their evidence and inputs.

The public names of this family are listed by ``steward.services``."""

__all__: list[str] = []
