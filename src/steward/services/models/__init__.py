"""The registry: model versions, cards, tiers, lineage, loading.

The public names of this family are listed by ``steward.services``."""

__all__: list[str] = []
