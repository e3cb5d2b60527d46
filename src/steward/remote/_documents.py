"""Domain objects back from their JSON documents: the inverse of every ``to_dict()`` an API
answer carries, so a remote call returns what the embedded call returns.

A type with ``from_dict`` reads its own document back. Most others hold their fields under
their own names: ``decode`` reads those by the
dataclass's fields and type hints (datetimes, enums, tuples, frozensets, bytes in hex,
nested dataclasses, optionals). A document that names a field otherwise says so in
``RENAMED``; the few whose shape differs more have their own function below. The round trip
``decode(T, doc).to_dict() == doc`` is tested for every type the API answers with: what a
remote command prints is what the embedded one prints.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union

from steward.errors import InternalError

__all__ = ["RENAMED", "decode", "decode_list"]

T = TypeVar("T")

# type name -> {field name: value}: what a document leaves out, which stays on the server:
# the store's numeric row ids, an event's canonical body (its other fields are read from
# it), a webhook's secret (answered once, when it is added) and a delivery's body
LEFT_OUT: dict[str, dict[str, Any]] = {
    "User": {"id": 0},
    "LedgerEvent": {"body": ""},
    "Webhook": {"secret": ""},
    "Delivery": {"body": ""},
}
# type name -> {field name: document key}
RENAMED: dict[str, dict[str, str]] = {
    "ApiToken": {"user_name": "user"},
    "TreeHead": {"size": "tree_size"},
    "Delivery": {"webhook_id": "webhook"},
    "Model": {"content_hash": "card_hash"},
    "InclusionProof": {"path": "audit_path", "head": "tree_head"},
}


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is tuple:
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_convert(item, v) for v in value)
    if origin is frozenset:
        (item,) = typing.get_args(hint)
        return frozenset(_convert(item, v) for v in value)
    if origin is list:
        args = typing.get_args(hint)
        return [_convert(args[0], v) for v in value] if args else list(value)
    if origin is dict or hint is Any or origin is not None:
        return value
    if isinstance(hint, type):
        if issubclass(hint, Enum):
            return hint(value)
        if hint is datetime:
            return datetime.fromisoformat(value)
        if hint is bytes:
            return bytes.fromhex(value)
        if dataclasses.is_dataclass(hint):
            return decode(hint, value)
    return value


def decode(cls: type[T], document: Any) -> T:
    """An instance of dataclass ``cls`` from its document."""
    special = _SPECIAL.get(cls.__name__)
    if special is not None:
        return special(document)  # type: ignore[no-any-return]
    inverse = getattr(cls, "from_dict", None)
    if inverse is not None:  # a type that reads its own document back
        return inverse(document)  # type: ignore[no-any-return]
    if not isinstance(document, dict):
        raise InternalError(f"the server answered a {type(document).__name__} for a {cls.__name__}")
    renamed = RENAMED.get(cls.__name__, {})
    hints = _hints(cls)  # type: ignore[arg-type]
    given: dict[str, Any] = dict(LEFT_OUT.get(cls.__name__, {}))
    for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
        key = renamed.get(spec.name, spec.name)
        if key in document:
            given[spec.name] = _convert(hints[spec.name], document[key])
    try:
        return cls(**given)
    except TypeError as exc:
        raise InternalError(f"the server's {cls.__name__} document is incomplete: {exc}") from None


def decode_list(cls: type[T], documents: list[Any]) -> list[T]:
    return [decode(cls, document) for document in documents]


def _actor(document: dict[str, Any]) -> Any:
    from steward.domain import Actor, Role

    # the store's numeric user id stays on the server: a remote actor is its name and roles;
    # its permissions are its roles' (the document lists them too)
    return Actor(
        user_id=0,
        name=document["name"],
        roles=frozenset(Role(role) for role in document["roles"]),
        token_id=document.get("token_id"),
        scopes=tuple(document.get("scopes", ())),
    )


def _model_version(document: dict[str, Any]) -> Any:
    from steward.domain import ModelVersion, Stage

    return ModelVersion.from_record(
        document, content_hash=document["content_hash"], stage=Stage(document["stage"])
    )


def _decision(document: dict[str, Any]) -> Any:
    from steward.domain import Decision, RuleOutcome

    policy = document["policy"]
    return Decision(
        subject=document["subject"],
        stage=document["stage"],
        policy=policy["name"],
        policy_version=policy["version"],
        policy_hash=policy["content_hash"],
        artifact=document["artifact"],
        evidence_hash=document["evidence_hash"],
        rules=tuple(decode(RuleOutcome, rule) for rule in document["rules"]),
        floor=document.get("floor"),
        card_hash=document.get("card_hash", ""),
    )


def _alert(document: dict[str, Any]) -> Any:
    from steward.domain import Alert, AlertState

    history = tuple(decode(AlertState, state) for state in document["history"])
    return Alert(
        current=history[-1],
        raised_at=document["raised_at"],
        raised_by=document["raised_by"],
        history=history,
    )


def _serving_plan(document: dict[str, Any]) -> Any:
    from steward.domain import Deployment, Route
    from steward.services.serving._plan import ServingPlan

    return ServingPlan(
        deployment=decode(Deployment, document["deployment"]),
        routes=tuple(Route.from_dict(r) for r in document["serving"]),
        checks=tuple(_route_check(c) for c in document["checks"]),
        unavailable=document["unavailable"],
        actions={
            version: (entry["action"], entry["serving"])
            for version, entry in document["enforcement"].items()
        },
        checked_at=document["checked_at"],
    )


def _route_check(document: dict[str, Any]) -> Any:
    from steward.domain import GateFailure, Route
    from steward.services.serving._plan import RouteCheck

    return RouteCheck(
        route=Route.from_dict(document),
        allowed=document["allowed"],
        reason=document["reason"],
        failed=tuple(document["failed"]),
        on_failure=GateFailure(document["on_gate_failure"]),
    )


def _verification(document: dict[str, Any]) -> Any:
    from steward.ledger import Verification

    names = {f.name for f in dataclasses.fields(Verification)} - {"details"}
    return Verification(
        **{name: document[name] for name in names if name in document},
        details={key: value for key, value in document.items() if key not in names},
    )


_SPECIAL: dict[str, Any] = {
    "Actor": _actor,
    "ModelVersion": _model_version,
    "Decision": _decision,
    "Alert": _alert,
    "ServingPlan": _serving_plan,
    "Verification": _verification,
}
