"""The built-in policy packs, shipped as YAML files in ``packs/``: ``default`` (minimal and
limited risk) and ``high-risk``. A model's risk tier picks its pack unless an applied policy
selects the model."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from steward.policy._loading import load_policy
from steward.policy._schema import Policy

__all__ = ["PACKS", "pack", "pack_for", "pack_text"]

PACKS = ("default", "high-risk")


def pack_text(name: str) -> str:
    """The YAML text of built-in pack ``name``."""
    return files("steward.policy").joinpath("packs", f"{name}.yaml").read_text(encoding="utf-8")


@cache
def pack(name: str) -> Policy:
    """Built-in pack ``name``, validated."""
    if name not in PACKS:
        raise KeyError(name)
    return load_policy(pack_text(name), f"built-in pack {name}")


def pack_for(risk_tier: str) -> Policy:
    """The pack a model of ``risk_tier`` falls under when no applied policy selects it."""
    return pack("high-risk" if risk_tier == "high" else "default")
