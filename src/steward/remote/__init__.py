"""Remote mode: the CLI and the SDK over a Steward server's REST API (``STEWARD_URL``).

``connect(url, token)`` answers a ``RemoteApplication``, whose services have the embedded
services' names and signatures and return the same domain objects; ``open_session`` uses it
whenever ``STEWARD_URL`` is set.
"""

from __future__ import annotations

from steward.remote._application import RemoteApplication
from steward.remote._documents import decode, decode_list

__all__ = ["RemoteApplication", "connect", "decode", "decode_list"]


def connect(url: str, token: str, *, settings: object | None = None) -> RemoteApplication:
    """A remote application on the server at ``url``, acting as ``token``'s identity."""
    from steward.settings import Settings

    chosen = settings if isinstance(settings, Settings) else Settings()
    return RemoteApplication(chosen, url, token)
