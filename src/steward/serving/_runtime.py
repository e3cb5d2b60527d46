"""What one server process serves: the loaded versions of every endpoint, and the choice
of version for each request.

The refresher builds a new ``Serving`` from the services' plans and swaps it in with one
assignment; a request reads ``runtime.serving`` once, so it sees one consistent state, and a
deploy, rollback or gate change never drops a request in flight.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steward.domain import ModelVersion

__all__ = ["EndpointRuntime", "LoadedVersion", "Serving"]


def context_redaction(context: dict[str, Any], sensitive: frozenset[str]) -> frozenset[str]:
    """The context attributes logged as keyed hashes: all but the version's declared
    sensitive attributes, which fairness monitoring needs as they are. A context is free
    form (an entity id, an email…): nothing in it is trusted to be harmless."""
    return frozenset(name for name in context if name not in sensitive)


@dataclass(frozen=True, slots=True)
class LoadedVersion:
    """A version loaded for serving: its estimator (hash-verified when loaded), the
    validator of its inputs, and what the log redacts."""

    version: ModelVersion
    estimator: Any
    validator: Any
    pii: frozenset[str]
    sensitive: frozenset[str]
    stage: str
    governance: dict[str, Any]
    classes: tuple[Any, ...] = ()
    # an estimator fitted outside Steward on named columns in the signature's order: it is
    # given a float64 array when a request's values are all numbers (model_input), what it
    # was fitted on without scikit-learn's per-call checks of a frame
    takes_array: bool = False
    explainers: dict[str, Any] = field(default_factory=dict)  # built on the first ?explain
    class_names: tuple[str, ...] = field(init=False, default=())  # the classes, as JSON keys

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.classes))

    @property
    def ref(self) -> str:
        return self.version.ref

    @property
    def regression(self) -> bool:
        output: dict[str, Any] = self.version.signature.get("output", {})
        return output.get("type") == "value"

    def model_input(self, data: Any) -> Any:
        """The validated input of ``data`` (parsed columns) as the estimator takes it: a
        float64 array for an estimator fitted on named columns in the signature's order when
        the request's values are all numbers (no pandas on the hot path), else the
        signature's DataFrame."""
        if self.takes_array:
            return self.validator.values(data)
        return self.validator.frame(data)

    def predict(self, frame: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """``(labels, probabilities or None)`` for the rows of ``frame``, the estimator's
        input as :meth:`model_input` makes it."""
        if self.regression or not hasattr(self.estimator, "predict_proba"):
            return np.asarray(self.estimator.predict(frame)), None
        proba = np.asarray(self.estimator.predict_proba(frame), dtype=np.float64)
        classes = np.asarray(self.classes, dtype=object)
        return classes[proba.argmax(axis=1)], proba


@dataclass(frozen=True, slots=True)
class EndpointRuntime:
    """One endpoint as this process serves it: its loaded routes with their shares, or the
    reason it answers 503."""

    name: str
    routes: tuple[tuple[LoadedVersion, int, str], ...]  # (version, share, role)
    unavailable: str | None = None
    stage: str = "production"

    def choose(self, key: str | None) -> LoadedVersion:
        """The version for one request: by the share of each route, sticky per ``key``
        (the same key always goes to the same version while the shares stay)."""
        if len(self.routes) == 1:
            return self.routes[0][0]
        if key is not None:
            point = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % 100
        else:
            point = random.randrange(100)  # noqa: S311 - traffic splitting, not security
        for loaded, share, _ in self.routes:
            if point < share:
                return loaded
            point -= share
        return self.routes[-1][0]


@dataclass(frozen=True, slots=True)
class Serving:
    """Every endpoint of one process, as of ``checked_at``; ``problems`` say why the
    server is not ready (a store it cannot reach, a version it could not load)."""

    endpoints: dict[str, EndpointRuntime] = field(default_factory=dict)
    checked_at: str = ""
    problems: tuple[str, ...] = ()
