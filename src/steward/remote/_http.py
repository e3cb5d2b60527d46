"""The HTTP side of remote mode: one ``httpx`` client per remote application, bearer
authentication, the API's errors raised as the classes they name, and cursor pages
followed to the end.

A call is made with the client's own token unless it acts for an identity this client
authenticated (``acting``): the actor argument of a remote service's method then picks the
token, as it picks the identity of an embedded call."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from steward.errors import InternalError, InvalidInput, StewardError, Unavailable, UsageError

__all__ = ["ApiClient", "error_from_body", "segment"]

PAGE_LIMIT = 500
# the bearer token of the identity the current call acts for, when not the client's own
_ACTING: ContextVar[str | None] = ContextVar("steward_remote_acting", default=None)


def _json(response: httpx.Response) -> Any:
    """An answer's JSON body; ``None`` for none, or for one that is not JSON."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _form(fields: list[tuple[str, str]]) -> dict[str, Any]:
    """Form fields for httpx (a repeated field as a list)."""
    form: dict[str, Any] = {}
    for key, value in fields:
        form.setdefault(key, []).append(value)
    return {key: values if len(values) > 1 else values[0] for key, values in form.items()}


def segment(value: str) -> str:
    """``value`` as one path segment: every reserved character escaped (a ``/`` or ``..``
    in a name cannot address another resource)."""
    return quote(str(value), safe="@")


class ApiClient:
    """Calls ``URL/api/v1``; every method answers the decoded JSON body or raises the
    ``StewardError`` the server answered with."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 300.0) -> None:
        base = url.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise InvalidInput(f"STEWARD_URL {url!r} is not an http:// or https:// URL")
        self.url = base
        headers = {"User-Agent": "steward-remote", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._tokens: dict[str, str] = {}
        self._http = httpx.Client(
            base_url=f"{base}/api/v1", headers=headers, timeout=timeout, follow_redirects=False
        )

    def close(self) -> None:
        self._http.close()

    def remember(self, token_id: str | None, token: str | None) -> None:
        """Keep ``token`` as the one to act with for the identity whose token id it is."""
        if token_id and token:
            self._tokens[token_id] = token

    @contextmanager
    def acting(self, actor: Any) -> Iterator[None]:
        """Calls made inside act for ``actor`` when this client authenticated its token (an
        unknown or absent actor leaves the client's own token in use)."""
        token = self._tokens.get(getattr(actor, "token_id", None) or "")
        if token is None:
            yield
            return
        reset = _ACTING.set(token)
        try:
            yield
        finally:
            _ACTING.reset(reset)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Any, httpx.Headers]:
        """``(body, headers)`` of a 2xx answer."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        response = self._send(method, path, json=json, params=query, headers=headers)
        return _json(response), response.headers

    def _send(self, method: str, path: str, **sent: Any) -> httpx.Response:
        """The answer to one request, or the error it stands for: ``Unavailable`` when the
        server cannot be reached, the class its error body names for a 4xx or 5xx."""
        acting = _ACTING.get()
        if acting is not None:
            headers = dict(sent.get("headers") or {})
            headers.setdefault("Authorization", f"Bearer {acting}")
            sent["headers"] = headers
        try:
            response = self._http.request(method, path, **sent)
        except httpx.TransportError as exc:
            raise Unavailable(
                f"cannot reach the Steward server at {self.url}: {type(exc).__name__}"
            ) from None
        if response.status_code >= 400:
            raise error_from_body(_json(response), response.status_code)
        return response

    def raw(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        content_type: str = "application/octet-stream",
        **params: Any,
    ) -> tuple[bytes, httpx.Headers]:
        """The body of a non-JSON answer (a model file, Arrow rows), or the error raised."""
        query = {k: v for k, v in params.items() if v is not None}
        headers = {"Content-Type": content_type} if content is not None else None
        response = self._send(method, path, params=query, content=content, headers=headers)
        return response.content, response.headers

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)[0]

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.call("POST", path, json=body if body is not None else {}, params=params)[0]

    def put(self, path: str, body: Any) -> Any:
        return self.call("PUT", path, json=body)[0]

    def patch(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.call("PATCH", path, json=body, headers=headers)[0]

    def delete(self, path: str) -> Any:
        return self.call("DELETE", path)[0]

    def upload(
        self, path: str, file: Path | tuple[str, bytes], fields: list[tuple[str, str]]
    ) -> Any:
        """POST ``file`` (a path, or a name and bytes) as the ``file`` part of a multipart
        body with ``fields``; httpx reads a path in chunks as it sends it, so it is never
        whole in memory."""
        if isinstance(file, tuple):
            return _json(self._send("POST", path, data=_form(fields), files={"file": file}))
        with file.open("rb") as handle:
            sent = {"file": (file.name, handle)}
            return _json(self._send("POST", path, data=_form(fields), files=sent))

    def wait(self, answer: Any, moved: Callable[[dict[str, Any]], None] | None = None) -> Any:
        """The result of the job a ``202`` answered with, polling it (every 0.1 s at first,
        at most every second) and handing each new progress document to ``moved``; the
        error the job raised, raised here."""
        job = answer["job"]
        pause = 0.1
        seen: Any = None
        while True:
            if moved is not None and job["progress"] and job["progress"] != seen:
                seen = job["progress"]
                moved(seen)
            if job["status"] == "succeeded":
                return job["result"]
            if job["status"] == "failed":
                raise error_from_body(job["error"], 400)
            if job["status"] == "lost":
                raise Unavailable(
                    f"job {job['id']} was lost: the server process running it stopped"
                )
            time.sleep(pause)
            pause = min(1.0, pause * 1.5)
            job = self.get(f"/jobs/{job['id']}")

    def items(self, path: str, **params: Any) -> list[Any]:
        """Every item of a paged list, following ``next`` to the last page."""
        found: list[Any] = []
        cursor: str | None = None
        while True:
            body = self.get(path, **params, limit=PAGE_LIMIT, cursor=cursor)
            found.extend(body["items"])
            cursor = body.get("next")
            if not cursor:
                return found


def _classes(root: type[StewardError]) -> dict[str, type[StewardError]]:
    found = {root.code: root}
    for sub in root.__subclasses__():
        found |= _classes(sub)
    return found


def error_from_body(body: Any, status: int) -> StewardError:
    """The error an API answer's body stands for, of the class its ``code`` names (the one
    mapping between classes and codes is the classes themselves): a remote caller raises what
    the embedded call would have. A body that is not the contract's is an ``InternalError``
    for a 5xx status, a ``UsageError`` otherwise."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        kind: type[StewardError] = InternalError if status >= 500 else UsageError
        return kind(f"the server answered {status} without an error body")
    kind = _classes(StewardError).get(str(error.get("code")), StewardError)
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    template = error.get("template")
    return kind(template if isinstance(template, str) else error["message"], details=details)
