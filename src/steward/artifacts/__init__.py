"""Content-addressed, hash-verified artifact storage."""

from steward.artifacts._store import ArtifactStore, parse_digest

__all__ = ["ArtifactStore", "parse_digest"]
