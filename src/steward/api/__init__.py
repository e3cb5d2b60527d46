"""The REST API, ``/api/v1``: every operation of the CLI as a resource, over the application
facade, as the caller a bearer token stands for.

``mount(app)`` adds it to the FastAPI application of ``steward serve`` (the scoring routes'
app): its routers, the limit on failed authentications, the body cap and security headers
(``_limits``). Each route documents the permission its service requires
(``x-steward-permission`` in the OpenAPI document); ``tests/test_api_rbac.py`` holds every
route to it, against ``docs/access.md``.
"""

from __future__ import annotations

from steward.api._limits import MAX_JSON_BYTES
from steward.api._router import API_PREFIX, api_router, mount

__all__ = ["API_PREFIX", "MAX_JSON_BYTES", "api_router", "mount"]
