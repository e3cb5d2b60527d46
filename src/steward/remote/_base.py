"""What the remote services share: the caller of ``/api/v1`` (``_Remote``: a method it does
not offer yet refuses in one line), a version's path, a job's progress as the embedded
progress callbacks, evidence read back.

The services (``_registry``, ``_governance``, ``_operations``, ``_training``) have the
embedded services' method names and signatures, each a call of ``/api/v1`` whose answer is
decoded into what the embedded method returns. The ``actor`` argument is kept for the
signature and picks the token: over HTTP the caller is whoever the token stands for,
decided by the server — the client's own token, or the one an actor this client
authenticated came from."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from steward.domain import (
    Evidence,
    Ref,
)
from steward.errors import InvalidInput, UsageError
from steward.remote._documents import decode
from steward.remote._http import ApiClient, segment

__all__ = ["_Remote", "_evidence", "_mover", "_version_path"]


def _version_path(kind: str, ref: str) -> str:
    """``/models/NAME/versions/SELECTOR`` of ``ref``; a malformed ref is refused here with
    the message the service gives it."""
    try:
        parsed = Ref.parse(ref)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    selector = str(parsed.version) if parsed.version is not None else str(parsed.alias)
    return f"/{kind}/{segment(parsed.name)}/versions/{segment(selector)}"


class _Remote:
    def __init__(self, client: ApiClient) -> None:
        self._api = client

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # each method acts for the actor it is given, as the embedded one does
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if inspect.isfunction(value) and not name.startswith("_"):
                parameters = list(inspect.signature(value).parameters)
                if parameters[1:2] == ["actor"]:
                    setattr(cls, name, _acting(value))

    def __getattr__(self, name: str) -> Any:
        # only for what the class does not define: a method not offered remotely yet
        if name.startswith("_"):
            raise AttributeError(name)
        service = type(self).__name__.removeprefix("Remote").lower()
        raise UsageError(
            f"{service}.{name} is not available over STEWARD_URL yet: run this command where "
            "the server's home is (unset STEWARD_URL)"
        )


def _acting(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def acting(self: _Remote, actor: Any, *args: Any, **kwargs: Any) -> Any:
        with self._api.acting(actor):
            return method(self, actor, *args, **kwargs)

    return acting


def _mover(
    trial: Callable[[Any], None] | None, check: Callable[[str, int, int], None] | None
) -> Callable[[dict[str, Any]], None]:
    """A job's progress documents as the embedded progress callbacks: one ``trial`` call per
    finished trial, one ``check`` call per move of the checks' bar."""
    from steward.services import TrialUpdate

    state: dict[str, Any] = {"trials": 0, "check": None}

    def moved(progress: dict[str, Any]) -> None:
        trials = progress.get("trials")
        if trial is not None and trials:
            fields = {k: trials.get(k) for k in TrialUpdate.__dataclass_fields__}
            for _ in range(int(trials.get("done") or 0) - int(state["trials"] or 0)):
                trial(TrialUpdate(**fields))
            state["trials"] = trials.get("done") or 0
        checks = progress.get("checks")
        if check is not None and checks:
            key = (checks.get("check"), checks.get("done"), checks.get("total"))
            if key != state["check"]:
                state["check"] = key
                check(str(checks["check"]), int(checks["done"]), int(checks["total"]))

    return moved


def _evidence(records: list[Any]) -> tuple[Evidence, ...]:
    return tuple(decode(Evidence, record) for record in records)
