"""The ledger's verification, proofs and export; record anchors; the home's witness.

The public names of this family are listed by ``steward.services``."""

__all__: list[str] = []
