"""Users, roles and tokens; authentication replayed against the ledger.

The public names of this family are listed by ``steward.services``."""

__all__: list[str] = []
