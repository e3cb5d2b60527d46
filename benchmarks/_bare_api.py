"""The API benchmark's baseline: the least a Python HTTP API can do to answer a model
version. FastAPI under uvicorn (uvloop, httptools), a synchronous route (run in the thread
pool, as the API's are) answering the version's JSON document read once at start-up
(``BENCH_DOCUMENT``): no authentication, no store, no permission check."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response

DOCUMENT = Path(os.environ["BENCH_DOCUMENT"]).read_bytes()
app = FastAPI()


@app.get("/version")
def version() -> Response:
    return Response(DOCUMENT, media_type="application/json")
