"""Model cards: a new model's card (its tier floored by the training data), checked edits,
sealing (the content hash its ledger event carries)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from steward.domain import Model, ModelVersion, Ref, RiskTier
from steward.errors import InvalidInput
from steward.services._records import content_hash
from steward.store import Reader

__all__ = [
    "DEFAULT_RISK_TIER",
    "TIER_ORDER",
    "checked_card",
    "data_tier",
    "new_card",
    "plain",
    "sealed_card",
]

# A new model's tier until its owner classifies it (``steward model update --risk-tier``).
DEFAULT_RISK_TIER = RiskTier.LIMITED
TIER_ORDER = {RiskTier.MINIMAL: 0, RiskTier.LIMITED: 1, RiskTier.HIGH: 2}


def new_card(name: str, author: str, now: str, card: dict[str, Any], reader: Reader) -> Model:
    fields = checked_card(card, reader, base={})
    base = Model(
        name=name,
        owner=author,
        risk_tier=DEFAULT_RISK_TIER,
        description="",
        intended_use="",
        limitations="",
        tags={},
        created_at=now,
        created_by=author,
        updated_at=now,
    )
    return replace(base, **fields)


def data_tier(reader: Reader, draft: ModelVersion) -> tuple[RiskTier, str]:
    """The tier a new model starts at, at least, from its training data: high when a
    training dataset version declares sensitive attributes (the data's owner said it is
    about people's protected traits), else the default. With the reason."""
    for entry in draft.datasets:
        try:
            ref = Ref.parse(str(entry.get("ref", "")))
        except ValueError:
            continue
        if ref.version is None:
            continue
        found = reader.dataset_version(ref.name, ref.version)
        if found is not None and found.sensitive:
            return RiskTier.HIGH, (
                f"trained on {found.ref}, which declares sensitive attribute(s) "
                f"{', '.join(found.sensitive)}"
            )
    return DEFAULT_RISK_TIER, ""


def checked_card(
    changes: dict[str, Any], reader: Reader, *, base: dict[str, str]
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "risk_tier":
            try:
                fields[key] = RiskTier(value)
            except ValueError:
                raise InvalidInput(
                    f"unknown risk tier {value!r}: use {', '.join(t.value for t in RiskTier)}"
                ) from None
        elif key == "owner":
            if reader.user(str(value)) is None:
                raise InvalidInput(f"owner {value!r} is not a Steward user")
            fields[key] = str(value)
        elif key == "tags":
            tags = dict(base)
            for tag, tag_value in dict(value).items():
                if not isinstance(tag, str) or not tag:
                    raise InvalidInput(f"invalid tag name {tag!r}")
                if tag_value is None:
                    tags.pop(tag, None)
                else:
                    tags[tag] = str(tag_value)
            fields[key] = tags
        else:
            fields[key] = str(value)
    return fields


def sealed_card(model: Model, now: str) -> Model:
    touched = replace(model, updated_at=now)
    return replace(touched, content_hash=content_hash(touched.content()))


def plain(value: Any) -> Any:
    """A value as JSON holds it (enum members by value, numpy scalars as Python numbers)."""
    if isinstance(value, RiskTier):
        return value.value
    item = getattr(value, "item", None)
    return item() if callable(item) else value
