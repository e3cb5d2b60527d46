"""Steward: MLOps governance you can prove.

The public Python API is listed once, in ``__all__``; a test keeps it sorted and complete.
Names are resolved on first use (PEP 562), so ``import steward`` stays cheap and the CLI and
the standalone ledger verifier do not pay for what they do not use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from steward._version import __version__

if TYPE_CHECKING:
    from steward._sdk import load_dataset, register_dataset
    from steward.errors import StewardError
    from steward.services import Application
    from steward.settings import Settings

__all__ = [
    "Application",
    "Settings",
    "StewardError",
    "__version__",
    "load_dataset",
    "register_dataset",
]

_LAZY = {
    "Application": "steward.services",
    "Settings": "steward.settings",
    "StewardError": "steward.errors",
    "load_dataset": "steward._sdk",
    "register_dataset": "steward._sdk",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'steward' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
