"""Parameter constraints as data, in the manner of scikit-learn's ``_parameter_constraints``.

A check declares, per parameter, the values it accepts, as a list of constraints; a value is
accepted when any one of them accepts it, and ``None`` in the list accepts ``None``:

    parameter_constraints = {
        "bins": [Interval(int, 2, None, closed="left")],         # a whole number ≥ 2
        "four_fifths": [Interval(float, 0, 1, closed="right")],  # a finite number in (0, 1]
        "attributes": [None, InstanceOf(str), SequenceOf(InstanceOf(str))],
    }

``Check.validate_params`` refuses any other value with ``InvalidInput``, in one line naming
``check.param``, the value and what is allowed. A parameter without a declaration is held to
``LikeDefault`` (a value of its default's kind), as the service did before checks declared
their constraints, so a third-party check that declares none still works.

The vocabulary is small on purpose: ``Interval``, ``Options``, ``InstanceOf``,
``SequenceOf``, ``MappingOf`` and ``LikeDefault``. A number is never a boolean (``True`` is
not 1 here), a number for a ``float`` interval may be written whole (``1`` for ``1.0``) but
is always finite (NaN and infinities are refused everywhere), and an ``int`` interval takes
whole numbers only (``2.0`` is refused, as scikit-learn refuses it).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from numbers import Integral, Real
from typing import Any, Literal

__all__ = [
    "SEED",
    "Constraint",
    "InstanceOf",
    "Interval",
    "LikeDefault",
    "MappingOf",
    "Options",
    "ParameterConstraints",
    "SequenceOf",
    "accepts",
    "describe",
]

Closed = Literal["left", "right", "both", "neither"]


class Constraint(ABC):
    """One kind of value a parameter accepts."""

    @abstractmethod
    def accepts(self, value: Any) -> bool:
        """Whether ``value`` satisfies the constraint; never raises."""

    @abstractmethod
    def describe(self) -> str:
        """What is accepted, as a noun phrase (``an integer in [2, inf)``)."""


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)  # NumPy's booleans are not numbers.Integral either


def _is_whole(value: Any) -> bool:
    return isinstance(value, Integral) and not _is_bool(value)


def _is_number(value: Any) -> bool:
    if not isinstance(value, Real) or _is_bool(value):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # a whole number too large for a float
        return False


@dataclass(frozen=True, slots=True)
class Interval(Constraint):
    """Numbers between ``low`` and ``high`` (``None``: unbounded on that side); ``closed``
    says which ends belong to the interval. ``kind`` is ``int`` (whole numbers) or ``float``
    (any finite number, whole ones included)."""

    kind: type
    low: float | None
    high: float | None
    closed: Closed = "both"

    def __post_init__(self) -> None:
        if self.kind not in (int, float):
            raise TypeError(f"Interval kind must be int or float, not {self.kind!r}")
        if self.closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"Interval closed must be left, right, both or neither: {self.closed}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"Interval low {self.low} is above high {self.high}")

    def accepts(self, value: Any) -> bool:
        if not (_is_whole(value) if self.kind is int else _is_number(value)):
            return False
        number = float(value) if self.kind is float else value
        if self.low is not None:
            low_in = self.closed in ("left", "both")
            if number < self.low or (number == self.low and not low_in):
                return False
        if self.high is not None:
            high_in = self.closed in ("right", "both")
            if number > self.high or (number == self.high and not high_in):
                return False
        return True

    def describe(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        if self.low is None and self.high is None:
            return noun if self.kind is int else "a finite number"
        left = "[" if self.closed in ("left", "both") and self.low is not None else "("
        right = "]" if self.closed in ("right", "both") and self.high is not None else ")"
        low = "-inf" if self.low is None else _bound(self.low)
        high = "inf" if self.high is None else _bound(self.high)
        return f"{noun} in {left}{low}, {high}{right}"


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True, slots=True, init=False)
class Options(Constraint):
    """One of the given values, of the same type (``1`` is not ``True``)."""

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        if not values:
            raise ValueError("Options needs at least one value")
        object.__setattr__(self, "values", tuple(values))

    def accepts(self, value: Any) -> bool:
        return any(type(value) is type(v) and value == v for v in self.values)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


_NOUNS = {bool: "true or false", str: "a text", dict: "a mapping", int: "an integer"}


@dataclass(frozen=True, slots=True, init=False)
class InstanceOf(Constraint):
    """A value of one of the given types (a boolean is not an ``int`` here)."""

    types: tuple[type, ...]

    def __init__(self, *types: type) -> None:
        if not types:
            raise ValueError("InstanceOf needs at least one type")
        object.__setattr__(self, "types", tuple(types))

    def accepts(self, value: Any) -> bool:
        if _is_bool(value) and bool not in self.types:
            return False
        return isinstance(value, self.types)

    def describe(self) -> str:
        return _either([_NOUNS.get(t, f"a {t.__name__}") for t in self.types])


@dataclass(frozen=True, slots=True)
class SequenceOf(Constraint):
    """A list or tuple (not a text) of at least ``min_length`` items that each satisfy
    ``item``; ``increasing``: each item above the one before; ``unique``: no repeats."""

    item: Constraint
    min_length: int = 1
    increasing: bool = False
    unique: bool = False

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, list | tuple) or len(value) < self.min_length:
            return False
        if not all(self.item.accepts(v) for v in value):
            return False
        if self.increasing and any(a >= b for a, b in pairwise(value)):
            return False
        if self.unique:
            try:
                return len(set(value)) == len(value)
            except TypeError:
                return False
        return True

    def describe(self) -> str:
        size = {0: "a list", 1: "a non-empty list"}.get(
            self.min_length, f"a list of at least {self.min_length} items"
        )
        extra = ", strictly increasing" if self.increasing else ""
        extra += ", without repeats" if self.unique else ""
        return f"{size}, each item {self.item.describe()}{extra}"


@dataclass(frozen=True, slots=True)
class MappingOf(Constraint):
    """A mapping whose keys satisfy ``key`` and whose values satisfy ``value``."""

    key: Constraint
    value: Constraint

    def accepts(self, value: Any) -> bool:
        return isinstance(value, Mapping) and all(
            self.key.accepts(k) and self.value.accepts(v) for k, v in value.items()
        )

    def describe(self) -> str:
        return f"a mapping of {self.key.describe()} to {self.value.describe()}"


@dataclass(frozen=True, slots=True)
class LikeDefault(Constraint):
    """A value of the default's kind: what a parameter without a declared constraint is held
    to. A whole number fits a float default, a list, tuple or one text fits a sequence
    default, anything fits a ``None`` default; numbers must be finite."""

    default: Any

    def accepts(self, value: Any) -> bool:
        default = self.default
        if default is None:
            return True
        if _is_bool(default):
            return _is_bool(value)
        if _is_whole(default):
            return _is_whole(value)
        if isinstance(default, Real):
            return _is_number(value)
        if isinstance(default, list | tuple):
            return isinstance(value, list | tuple | str)
        return isinstance(value, type(default))

    def describe(self) -> str:
        return "anything" if self.default is None else f"like {self.default!r}"


# What a check declares: per parameter, constraints any one of which may accept a value.
ParameterConstraints = Mapping[str, Sequence[Constraint | None]]

# Seeds go to NumPy and scikit-learn (``random_state``), which take 0 to 2**32 - 1.
SEED = Interval(int, 0, 2**32 - 1, closed="both")


def accepts(constraints: Sequence[Constraint | None], value: Any) -> bool:
    """Whether any of ``constraints`` accepts ``value`` (``None`` accepts ``None``)."""
    return any(value is None if c is None else c.accepts(value) for c in constraints)


def describe(constraints: Sequence[Constraint | None]) -> str:
    """What ``constraints`` accept together (``None or an integer in [1, inf)``)."""
    return _either(["None" if c is None else c.describe() for c in constraints])


def _either(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
