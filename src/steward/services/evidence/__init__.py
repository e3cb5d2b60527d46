"""Evidence checks on model versions, the provenance of their code, reproductions.

The public names of this family are listed by ``steward.services``."""

__all__: list[str] = []
