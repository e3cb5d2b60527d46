"""The serving benchmark's baseline: the least a Python HTTP model service can do.

FastAPI under uvicorn (uvloop, httptools), reading the raw body with orjson, checking the
shape, calling ``predict_proba`` on the event loop; no auth, no validation beyond the shape,
no log, no metrics. ``BENCH_MODEL`` names the joblib file of the model.
"""

from __future__ import annotations

import os

import joblib
import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

MODEL = joblib.load(os.environ["BENCH_MODEL"])
WIDTH = int(MODEL.n_features_in_)
app = FastAPI()


@app.post("/predict")
async def predict(request: Request) -> Response:
    try:
        rows = np.asarray(orjson.loads(await request.body())["inputs"], dtype=np.float64)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        return Response(orjson.dumps({"error": str(exc)}), status_code=400)
    if rows.ndim != 2 or rows.shape[1] != WIDTH:
        return Response(orjson.dumps({"error": "bad shape"}), status_code=422)
    proba = MODEL.predict_proba(rows)
    return Response(
        orjson.dumps({"predictions": proba}, option=orjson.OPT_SERIALIZE_NUMPY),
        media_type="application/json",
    )
