"""What every API route shares: the caller (a bearer token, strictly), JSON answers, cursor
pages, and the permission each route is documented to need.

A route is a thin edge: it parses its path, query and body, calls one method of the
application facade as the authenticated caller, and answers the result's ``to_dict()``
document; the service decides (permissions, refusals, ledgering) exactly as it does for the
CLI. Errors are raised, never answered here: the app's handlers give each its status from
its class (``steward.errors``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import orjson
from fastapi import Depends, Query, Request
from fastapi.responses import Response

from steward.app import bearer_token
from steward.errors import AuthenticationError, InvalidInput

if TYPE_CHECKING:
    from steward.app import Application
    from steward.domain import Actor, Permission

__all__ = [
    "ARROW_STREAM",
    "MAX_PAGE",
    "AnswerCache",
    "Caller",
    "PageQuery",
    "answer",
    "arrow_answer",
    "caller",
    "file_answer",
    "page",
    "permission",
]

T = TypeVar("T")

ANY_CALLER = "authenticated"
MAX_PAGE = 500
DEFAULT_PAGE = 100
JSON = "application/json"
ARROW_STREAM = "application/vnd.apache.arrow.stream"


class Caller:
    """The facade of this process and the identity a request's token stands for.

    The identity is settled when a route first reads ``actor``: in the route's own thread
    for the synchronous routes, so a request crosses into the thread pool once, not once
    for its dependency and again for its route. A request without a token, or with a
    malformed header, is refused before anything else (401)."""

    __slots__ = ("_actor", "_head", "_settle", "app")

    def __init__(self, app: Application, settle: Callable[[], tuple[Actor, int]]) -> None:
        self.app = app
        self._settle = settle
        self._actor: Actor | None = None
        self._head = 0

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor, self._head = self._settle()
        return self._actor

    @property
    def head(self) -> int:
        """The ledger's head sequence read with the token's revocation check: every change
        of state is a ledger event, so an answer computed since is current for this head."""
        _ = self.actor
        return self._head


class AnswerCache:
    """JSON answers of hot reads, each kept for the ledger head it was computed at (a later
    head misses: any change of state moves the head). Bounded; shared by the routes of one
    process; never consulted for a caller without the permission the answer needs."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._kept: dict[tuple[Any, ...], tuple[int, bytes]] = {}

    def answer(
        self,
        call: Caller,
        key: tuple[Any, ...],
        needs: Permission,
        compute: Callable[[], Any],
    ) -> Response:
        """The kept answer for ``key`` at the caller's head, else ``compute()``'s document
        (from the service, which judges the caller), kept."""
        head = call.head
        if call.actor.can(needs):
            kept = self._kept.get(key)
            if kept is not None and kept[0] == head:
                return Response(kept[1], media_type=JSON)
        body = _dumps(compute())
        if len(self._kept) >= self.size:
            self._kept.clear()
        self._kept[key] = (head, body)
        return Response(body, media_type=JSON)


async def caller(request: Request) -> Caller:
    """The request's caller, strictly: a valid, unrevoked token or a 401 (never an identity
    of the home); too many failures from one address answer 429 (``_guard``)."""
    from steward.api._guard import authenticate

    state = request.app.state.steward
    limiter = request.app.state.api_limiter
    client = request.client.host if request.client else "unknown"
    try:
        token = bearer_token(request.headers.get("authorization"))
    except AuthenticationError:
        limiter.check(client)
        limiter.failed(client)
        raise
    limiter.check(client)
    if token is None:  # refused at once: no store is read for it
        authenticate(state, limiter, token, client)
    return Caller(state.app, lambda: authenticate(state, limiter, token, client))


CALLER = Depends(caller)


def _dumps(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def answer(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer (orjson: numpy values and non-string keys sorted out)."""
    return Response(_dumps(document), status_code=status, media_type=JSON, headers=headers)


def arrow_answer(table: Any) -> Response:
    """A pyarrow table as an Arrow IPC stream."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return Response(sink.getvalue().to_pybytes(), media_type=ARROW_STREAM)


def file_answer(
    write: Callable[[Path], tuple[Path, dict[str, str]]], media_type: str, prefix: str
) -> Response:
    """The file ``write(folder)`` makes in a scratch folder, streamed, with its headers;
    the folder is removed once it is sent (or at once when ``write`` fails)."""
    import shutil
    import tempfile

    from starlette.background import BackgroundTask
    from starlette.responses import FileResponse

    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        path, headers = write(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=media_type,
        headers=headers,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


class PageQuery(NamedTuple):
    limit: int
    cursor: str | None


async def page_query(
    limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="Items per page."),
    cursor: str | None = Query(
        None, max_length=512, description="The `next` of the previous page."
    ),
) -> PageQuery:
    return PageQuery(limit, cursor)


PAGE = Depends(page_query)


def _decode(cursor: str) -> tuple[int, str]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor.encode("ascii") + b"=="))
        at, identity = raw
        if isinstance(at, int) and at >= 0 and isinstance(identity, str):
            return at, identity
    except (binascii.Error, UnicodeError, ValueError, TypeError, orjson.JSONDecodeError):
        pass
    raise InvalidInput("{cursor} is not one this API gave", details={"field": "cursor"})


def _encode(at: int, identity: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([at, identity])).decode("ascii").rstrip("=")


def page(
    items: Sequence[T],
    query: PageQuery,
    identity: Callable[[T], str],
    render: Callable[[T], Any] = lambda item: item.to_dict(),  # type: ignore[attr-defined]
) -> Response:
    """One page of ``items``, in the service's order: those after the cursor, at most
    ``limit``, and ``next``, the cursor of the following page (``null`` on the last).

    A cursor names the last item shown (its ``identity``, a unique text) and where it
    stood: the next page starts after that item wherever it stands now, so an item added
    before it meanwhile does not repeat it (only when it is gone does its old position
    count)."""
    start = 0
    if query.cursor is not None:
        at, last = _decode(query.cursor)
        start = next(
            (index + 1 for index, item in enumerate(items) if identity(item) == last), at + 1
        )
    shown = items[start : start + query.limit]
    end = start + len(shown)
    return answer(
        {
            "items": [render(item) for item in shown],
            "next": _encode(end - 1, identity(shown[-1])) if end < len(items) and shown else None,
        }
    )


def permission(name: str | None) -> dict[str, Any]:
    """The ``openapi_extra`` of a route: the permission its service requires
    (``x-steward-permission``; ``authenticated`` for any authenticated caller, whose service
    then decides by whom the object concerns: one's own token, or another's; ``a|b`` when
    either permission will do, as an admin may fail anyone's dead run). The RBAC
    matrix test holds every route to it, against the table in ``docs/access.md``."""
    return {"x-steward-permission": name or ANY_CALLER}
