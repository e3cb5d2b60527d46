"""Deployments, what an endpoint may serve now, the prediction log's anchoring, ground-truth
labels.

The public names of this family are listed by ``steward.services``."""

__all__: list[str] = []
