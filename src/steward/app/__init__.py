"""The composition root: ``Application`` (services wired to one store), the home's bootstrap
(``initialize``, ``upgrade_store``, keys, the saved token) and the local session
(``open_session``: the CLI's and the SDK's ambient identity).

Names load on first use (PEP 562), as in ``steward.services``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from steward._lazy import lazy_attributes

if TYPE_CHECKING:
    from steward.app._application import Application, bearer_token
    from steward.app._home import (
        InitResult,
        SchemaStatus,
        ambient_token,
        initialize,
        public_key_path,
        require_home,
        save_token,
        schema_status,
        trusted_public_key,
        upgrade_store,
    )
    from steward.app._reinit import store_label
    from steward.app._session import Session, load_settings, open_session

_WHERE = {
    "Application": "_application",
    "InitResult": "_home",
    "SchemaStatus": "_home",
    "Session": "_session",
    "ambient_token": "_home",
    "bearer_token": "_application",
    "initialize": "_home",
    "load_settings": "_session",
    "open_session": "_session",
    "public_key_path": "_home",
    "require_home": "_home",
    "save_token": "_home",
    "schema_status": "_home",
    "store_label": "_reinit",
    "trusted_public_key": "_home",
    "upgrade_store": "_home",
}

__all__ = [
    "Application",
    "InitResult",
    "SchemaStatus",
    "Session",
    "ambient_token",
    "bearer_token",
    "initialize",
    "load_settings",
    "open_session",
    "public_key_path",
    "require_home",
    "save_token",
    "schema_status",
    "store_label",
    "trusted_public_key",
    "upgrade_store",
]


__getattr__ = lazy_attributes(__name__, _WHERE)


def __dir__() -> list[str]:
    return sorted(__all__)
