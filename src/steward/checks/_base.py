"""The check interface: what every evidence check, built in or third-party, implements.

A check is a small class in the style of a scikit-learn estimator:

- ``id`` (stable, dotted, e.g. ``performance``), ``version`` (bump it when results change),
  and ``capabilities``: the task types and model families it can judge;
- ``__init__`` takes keyword-only parameters, each with a default, and stores each unchanged
  under its own name (no validation or derivation there: ``get_params`` reads them back);
- ``parameter_constraints``: per parameter, the values it accepts, as data (``_params.py``);
  ``validate_params`` refuses anything else before a check runs. A check that declares none
  has each parameter held to its default's kind;
- ``run(context) -> Evidence``: reads the model version, its fitted model and its recorded
  test split from ``context``, and answers with ``context.evidence(self, ...)``. A check that
  cannot judge the model answers ``context.not_applicable(self, reason)``; it never raises
  for that.

Checks are found through the entry-point group ``steward.checks`` (``_registry.py``) and must
pass the conformance kit (``_kit.py``).
"""

from __future__ import annotations

import hashlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from steward.checks._params import Constraint, LikeDefault, ParameterConstraints, accepts, describe
from steward.domain import Evidence, EvidenceStatus, Finding, ModelVersion, status_from
from steward.errors import InvalidInput

__all__ = ["Capabilities", "Check", "CheckContext"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a check can judge: task types (``binary``, ``multiclass``) and model families
    (template names, e.g. ``hgb``; ``None`` for every family)."""

    tasks: frozenset[str] = frozenset({"binary", "multiclass"})
    families: frozenset[str] | None = None

    def refuses(self, version: ModelVersion) -> str | None:
        """Why a check with these capabilities cannot judge ``version``, or ``None``."""
        if version.task not in self.tasks:
            return f"{version.task} models are outside this check's tasks"
        family = version.template or "custom"
        if self.families is not None and family not in self.families:
            return f"{family} models are outside this check's model families"
        return None


class Check(ABC):
    """Base class of evidence checks (see the module docstring for the contract)."""

    id: ClassVar[str]
    version: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    # The metric paths a policy may put thresholds on (dotted; ``*`` for any key), or None
    # when the check does not declare them (a policy may then name any metric).
    produces: ClassVar[tuple[str, ...] | None] = None
    # Per parameter, the values it accepts (any one constraint of the list; ``None`` in the
    # list accepts None), or None when the check declares none: each parameter is then held
    # to ``LikeDefault`` (its default's kind). The conformance kit checks a declaration
    # covers every parameter and that the defaults satisfy it.
    parameter_constraints: ClassVar[ParameterConstraints | None] = None

    @classmethod
    def param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.name != "self"]

    @classmethod
    def constraints(cls) -> dict[str, tuple[Constraint | None, ...]]:
        """Each parameter's constraints: the declared ones, or ``LikeDefault`` of its default
        for a parameter the check declares none for."""
        declared = cls.parameter_constraints or {}
        found: dict[str, tuple[Constraint | None, ...]] = {}
        for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            if parameter.name in declared:
                found[parameter.name] = tuple(declared[parameter.name])
            else:
                default = parameter.default
                found[parameter.name] = (
                    LikeDefault(None if default is inspect.Parameter.empty else default),
                )
        return found

    @classmethod
    def validate_params(cls, values: Mapping[str, Any]) -> None:
        """Refuse parameter ``values`` (some or all of the check's, by name) that the check
        does not take or its constraints do not accept: ``InvalidInput`` in one line naming
        ``check.param``, the value and what is allowed. Nothing runs before this passes."""
        rules = cls.constraints()
        unknown = [name for name in values if name not in rules]
        if unknown:
            raise InvalidInput(
                f"check {cls.id!r} has no parameter {', '.join(map(repr, unknown))} "
                f"(its parameters: {', '.join(rules) or 'none'})"
            )
        for name, value in values.items():
            if not accepts(rules[name], value):
                allowed = describe(rules[name])
                raise InvalidInput(
                    f"parameter {cls.id}.{name} must be {allowed}, not {_shown(value)}",
                    details={
                        "check": cls.id,
                        "parameter": name,
                        "value": _shown(value),
                        "allowed": allowed,
                    },
                )

    def get_params(self) -> dict[str, Any]:
        """The parameters as given (scikit-learn's convention)."""
        return {name: getattr(self, name) for name in self.param_names()}

    @abstractmethod
    def run(self, context: CheckContext) -> Evidence:
        """Judge ``context.version``; answer ``context.evidence(self, ...)``."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


@dataclass
class CheckContext:
    """What a check judges: a model version, its fitted model, and the exact test rows it was
    evaluated on (``X`` inputs, ``y`` target, ``A`` declared sensitive attributes)."""

    version: ModelVersion
    model: Any
    X: Any
    y: Any
    A: Any
    inputs: Mapping[str, Any] = field(default_factory=dict)
    # columns of the version's dataset that its PII scan flagged
    pii_columns: tuple[str, ...] = ()
    # the evidence recorded about that dataset version (contract validation, PII scan)
    dataset_evidence: tuple[Evidence, ...] = ()
    # Stores a plot's bytes and returns its artifact key; the service running the check
    # passes the artifact store's writer. By default plots are kept in ``saved``.
    store: Callable[[bytes], str] | None = None
    saved: dict[str, bytes] = field(default_factory=dict)
    # loads another part of the version's recorded split (``train``, ``validation``) as
    # (X, y, A); the service passes it, a context built by hand may leave it out
    load_part: Callable[[str], tuple[Any, Any, Any]] | None = None
    _parts: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict, repr=False)

    def save_plot(self, data: bytes) -> str:
        """Store a rendered plot (PNG or SVG bytes); returns the key to list in the evidence's
        ``artifacts``."""
        if self.store is not None:
            return self.store(data)
        key = f"sha256:{hashlib.sha256(data).hexdigest()}"
        self.saved[key] = data
        return key

    def part(self, name: str) -> tuple[Any, Any, Any] | None:
        """Another part of the version's split as (X, y, A), or ``None`` if not at hand."""
        if self.load_part is None:
            return None
        if name not in self._parts:
            self._parts[name] = self.load_part(name)
        return self._parts[name]

    @cached_property
    def proba(self) -> np.ndarray:
        return np.asarray(self.model.predict_proba(self.X), dtype=np.float64)

    @cached_property
    def predicted(self) -> np.ndarray:
        return np.asarray(self.model.predict(self.X))

    @property
    def classes(self) -> list[Any]:
        return list(self.version.signature["output"].get("classes", []))

    def evidence(
        self,
        check: Check,
        *,
        metrics: dict[str, Any],
        findings: tuple[Finding, ...] = (),
        artifacts: dict[str, str] | None = None,
    ) -> Evidence:
        """The check's result as evidence about this version (``artifacts``: plot names and
        the keys ``save_plot`` returned). The service that ran the check seals the record:
        id, author, time, content hash."""
        return Evidence(
            id="",
            subject=self.version.subject,
            check_id=check.id,
            check_version=check.version,
            status=status_from(findings),
            params=check.get_params(),
            inputs=dict(self.inputs),
            metrics=metrics,
            findings=findings,
            artifacts=dict(artifacts or {}),
            created_at="",
            created_by="",
            content_hash="",
        )

    def not_applicable(self, check: Check, reason: str) -> Evidence:
        """Evidence that ``check`` cannot judge this version, and why."""
        record = self.evidence(check, metrics={"reason": reason})
        return _with_status(record, EvidenceStatus.NOT_APPLICABLE)


def _with_status(record: Evidence, status: EvidenceStatus) -> Evidence:
    return replace(record, status=status)


def _shown(value: Any, limit: int = 60) -> str:
    """A value as an error message shows it: its repr on one line, cut to ``limit``."""
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails is shown by its type
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
