"""The ambient identity of a local session: the one place it is read.

A person at a terminal or in a notebook is whoever the token argument, ``STEWARD_TOKEN`` or
the home's saved token (``steward init``/``login``) says, in that order. Only the CLI and the
SDK open sessions this way; a server edge (the model server, the REST API, the UI, the
monitor scheduler) authenticates each request strictly with ``Application.authenticate``,
a token or a refusal, and never reaches this module (``tests/test_public_api.py`` checks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from steward.app._application import Application
from steward.app._home import ambient_token
from steward.domain import Actor
from steward.errors import AuthenticationError, InvalidInput
from steward.settings import Settings
from steward.types import Clock

__all__ = ["Session", "load_settings", "open_session"]


class Session(NamedTuple):
    """An open application (embedded, or ``RemoteApplication`` over ``STEWARD_URL``) and
    the identity acting through it."""

    app: Application
    actor: Actor


def load_settings() -> Settings:
    """The settings from the environment (``STEWARD_*``); a bad value is one ``InvalidInput``
    naming the variable."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"invalid setting STEWARD_{field.upper()}: {first['msg']}") from None


@contextmanager
def open_session(
    settings: Settings | None = None, *, token: str | None = None, clock: Clock | None = None
) -> Iterator[Session]:
    """Open the home and authenticate the local caller (see ``ambient_token``); close the home
    when the block ends. With ``STEWARD_URL`` set, open the server there instead: the same
    services over its REST API, as the identity of the same token."""
    settings = settings or load_settings()
    if settings.url:
        from steward.remote import RemoteApplication

        chosen = ambient_token(settings, token)
        if not chosen:
            raise AuthenticationError(
                "no API token: run `steward login TOKEN` or set STEWARD_TOKEN",
                details={"field": "token"},
            )
        remote = RemoteApplication(settings, settings.url, chosen)
        try:
            # the remote application stands where the embedded one does (same service names)
            yield Session(remote, remote.authenticate(chosen))  # type: ignore[arg-type]
        finally:
            remote.close()
        return
    app = Application.open(settings, clock=clock)
    try:
        chosen = ambient_token(settings, token)
        if not chosen:
            raise AuthenticationError(
                "no API token: run `steward login TOKEN` or set STEWARD_TOKEN",
                details={"field": "token"},
            )
        yield Session(app, app.authenticate(chosen))
    finally:
        app.close()
