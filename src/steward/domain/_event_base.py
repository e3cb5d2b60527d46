"""How a typed ledger event's fields become its payload, and how a stored payload is read back.

A typed event (``steward.domain._events``) is a frozen dataclass whose fields are the keys of
its payload. :meth:`Payload.payload` and :meth:`Payload.from_payload` follow these rules, the
same for every event, so that each event's payload stays byte for byte what it was before
events were typed (older ledgers keep verifying):

- a field's key is its name, less a trailing underscore (``from_`` is the key ``"from"``);
- a field without a default is always written, ``None`` as ``null``;
- a field with a default is left out of the payload while it holds that default: the value
  events had before the field existed, so events written before it was added read back the
  same and write the same;
- tuples are written as lists, and a nested part (a :class:`Payload` that is not an event,
  such as one evidence entry) as an object.

Reading back checks every value's JSON type against the field's annotation, gives a missing
field its default, and ignores keys it does not know (an event written by a later Steward);
a missing required field or a value of the wrong type raises ``ValueError`` naming it.
"""

from __future__ import annotations

import types
from dataclasses import MISSING, dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar, Self, Union, get_args, get_origin, get_type_hints

from steward.domain._ledger import EventType  # at run time: the annotations are read

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Event", "Payload"]


class Payload:
    """A frozen dataclass written as a JSON object by the rules of this module."""

    __slots__ = ()

    def payload(self) -> dict[str, Any]:
        """The JSON object of this value: what its ledger event carries."""
        written: dict[str, Any] = {}
        for spec in _specs(type(self)):
            value = getattr(self, spec.name)
            if spec.default is not MISSING and value == spec.default:
                continue
            written[spec.key] = _encode(value)
        return written

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        """The value a stored payload holds; ``ValueError`` naming a missing or mistyped key."""
        if not isinstance(payload, dict):
            raise ValueError(f"{cls.__name__}: the payload is not an object")
        values: dict[str, Any] = {}
        for spec in _specs(cls):
            if spec.key in payload:
                values[spec.name] = _decode(spec.hint, payload[spec.key], spec.key, cls)
            elif spec.default is MISSING:
                raise ValueError(f"{cls.__name__}: the payload has no {spec.key!r}")
        return cls(**values)


class Event(Payload):
    """The typed payload of one ledger event; ``event_type`` says which event it is."""

    __slots__ = ()

    event_type: ClassVar[EventType]


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    key: str
    hint: Any
    default: Any


_SPECS: dict[type, tuple[_Spec, ...]] = {}


def _specs(cls: type[Payload]) -> tuple[_Spec, ...]:
    """The fields of ``cls`` with their keys and resolved annotations (read once per class)."""
    specs = _SPECS.get(cls)
    if specs is None:
        hints = get_type_hints(cls)
        declared = fields(cls)  # type: ignore[arg-type]  # every Payload subclass is a dataclass
        specs = tuple(
            _Spec(f.name, f.name.removesuffix("_"), hints[f.name], f.default) for f in declared
        )
        _SPECS[cls] = specs
    return specs


def _encode(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, Payload):
        return value.payload()
    return value


_SCALARS: dict[Any, tuple[type, ...]] = {str: (str,), int: (int,), bool: (bool,)}


def _decode(hint: Any, value: Any, where: str, owner: type) -> Any:
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        if value is None and type(None) in get_args(hint):
            return None
        (inner,) = (arg for arg in get_args(hint) if arg is not type(None))
        return _decode(inner, value, where, owner)
    if hint is Any:
        return value
    if origin is tuple:
        _expect(isinstance(value, list), "a list", value, where, owner)
        item = get_args(hint)[0]
        return tuple(
            _decode(item, entry, f"{where}[{index}]", owner) for index, entry in enumerate(value)
        )
    if origin is dict:
        _expect(isinstance(value, dict), "an object", value, where, owner)
        item = get_args(hint)[1]
        return {key: _decode(item, entry, f"{where}.{key}", owner) for key, entry in value.items()}
    if isinstance(hint, type) and issubclass(hint, Payload):
        _expect(isinstance(value, dict), "an object", value, where, owner)
        return hint.from_payload(value)
    if hint not in _SCALARS:
        raise TypeError(f"{owner.__name__}.{where}: {hint!r} has no payload form")
    # bool is an int to Python, never to a payload
    fits = type(value) in _SCALARS[hint] or (hint is str and isinstance(value, str))
    name = hint.__name__
    _expect(fits, f"{'an' if name[0] in 'aeiou' else 'a'} {name}", value, where, owner)
    return value


def _expect(ok: bool, what: str, value: Any, where: str, owner: type) -> None:
    if not ok:
        raise ValueError(
            f"{owner.__name__}: {where!r} should be {what}, not {type(value).__name__}"
        )
