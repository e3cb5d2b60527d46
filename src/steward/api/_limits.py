"""The API's transport rules, as one ASGI middleware over ``/api/``: a cap on request
bodies (declared or streamed: 413 before the route reads past it), and security headers on
every answer. CORS stays off: no ``Access-Control-*`` header is ever sent, so a browser
page of another origin cannot read an answer."""

from __future__ import annotations

import re
from typing import Any

import orjson

from steward.errors import PayloadTooLarge

__all__ = ["MAX_JSON_BYTES", "SECURITY_HEADERS", "ApiTransport"]

MAX_JSON_BYTES = 2 << 20
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cross-origin-resource-policy", b"same-origin"),
)

Scope = dict[str, Any]
Message = dict[str, Any]


class _TooLarge(Exception):
    pass


class ApiTransport:
    def __init__(
        self,
        app: Any,
        prefix: str = "/api/",
        max_bytes: int = MAX_JSON_BYTES,
        exempt: re.Pattern[str] | None = None,
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.exempt = exempt  # uploads: capped by their route, at the upload limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        if self.exempt is not None and self.exempt.match(scope["path"]):
            limit = scope["app"].state.steward.app.settings.max_upload_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message: Message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def secured_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, limited_receive, secured_send)
        except _TooLarge:
            if not started:
                await _too_large(send, limit)


async def _too_large(send: Any, limit: int) -> None:
    error = PayloadTooLarge(f"the request body is over {limit >> 20} MiB")
    body = orjson.dumps(error.to_dict())
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": error.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
