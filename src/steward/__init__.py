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
    from steward._sdk import (
        ActiveRun,
        active_run,
        load_dataset,
        load_model,
        load_split,
        register_dataset,
        register_model,
        start_run,
        train,
    )
    from steward.app import Application, open_session
    from steward.errors import StewardError
    from steward.remote import connect
    from steward.settings import Settings

__all__ = [
    "ActiveRun",
    "Application",
    "Settings",
    "StewardError",
    "__version__",
    "active_run",
    "connect",
    "load_dataset",
    "load_model",
    "load_split",
    "open_session",
    "register_dataset",
    "register_model",
    "start_run",
    "train",
]

_LAZY = {
    "ActiveRun": "steward._sdk",
    "Application": "steward.app",
    "open_session": "steward.app",
    "Settings": "steward.settings",
    "StewardError": "steward.errors",
    "active_run": "steward._sdk",
    "connect": "steward.remote",
    "load_dataset": "steward._sdk",
    "load_model": "steward._sdk",
    "load_split": "steward._sdk",
    "register_dataset": "steward._sdk",
    "register_model": "steward._sdk",
    "start_run": "steward._sdk",
    "train": "steward._sdk",
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
