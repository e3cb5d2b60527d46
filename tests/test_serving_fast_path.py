"""The server answers ``POST /predict/{endpoint}`` as plain ASGI (``steward.serving._fast``):
every answer must be the one the FastAPI route gives, status, headers and body, over the
same running ``ServerState`` (the app's own lifespan, in process)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from factories import serving_models
from steward.app import Application, initialize
from steward.serving import build_state, create_app
from steward.serving._fast import scoring_endpoint
from steward.settings import Settings

ROWS = [
    {"income": 55.0, "debts": 2, "region": "north"},
    {"income": None, "debts": 0, "region": "south"},
]
_VARYING = ("date", "server")  # stamped by uvicorn, not the app; absent in process


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(home=tmp_path_factory.mktemp("fast") / "home")
    init = initialize(settings)
    with Application.open(settings) as app:
        facts = serving_models(app, init)
        eli = app.authenticate(facts["tokens"]["eli"])
        app.deployments.deploy(eli, facts["refs"][0], "credit")
        predict = app.identity.issue_token(eli, scopes=["predict:credit"])[1]
    return {"settings": settings, "server": facts["tokens"]["eli"], "predict": predict}


def _requests(predict: str) -> list[dict[str, Any]]:
    auth = {"authorization": f"Bearer {predict}"}
    body = orjson.dumps({"instances": ROWS})
    return [
        {"url": "/predict/credit", "content": body, "headers": auth},
        {"url": "/predict/credit?explain=false", "content": body, "headers": auth},
        {
            "url": "/predict/credit",
            "content": orjson.dumps({"instances": ROWS, "key": "k"}),
            "headers": {**auth, "x-steward-key": "other"},
        },
        {"url": "/predict/credit", "content": body, "headers": {}},
        {"url": "/predict/credit", "content": body, "headers": {"authorization": "Bearer nope"}},
        {"url": "/predict/credit", "content": body, "headers": {"authorization": "Basic eA=="}},
        {"url": "/predict/nowhere", "content": body, "headers": auth},
        {"url": "/predict/credit", "content": b"{not json", "headers": auth},
        {"url": "/predict/credit", "content": b"[]", "headers": auth},
        {
            "url": "/predict/credit",
            "content": orjson.dumps({"instances": [{"income": "x"}]}),
            "headers": auth,
        },
        {"url": "/predict/credit?explain=maybe", "content": body, "headers": auth},
        {
            "url": "/predict/credit",
            "content": b"{}",
            "headers": {**auth, "content-length": str(40 << 20)},
        },
        {"url": "/predict/credit/more", "content": body, "headers": auth},
        {"url": "/predict/", "content": body, "headers": auth},
    ]


def _comparable(answer: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in answer.headers.items() if k not in _VARYING}
    document = answer.json()
    if answer.status_code == 200:
        assert len(document.pop("request_ids")) == len(ROWS)
    return answer.status_code, headers, document


def test_the_fast_path_answers_as_the_fastapi_route(served: dict[str, Any]) -> None:
    settings, token = served["settings"], served["server"]
    app = create_app(lambda: build_state(settings, token, reload_seconds=0.2))

    async def route_only(scope: Any, receive: Any, send: Any) -> None:
        await FastAPI.__call__(app, scope, receive, send)  # past the fast path

    entered: list[bool] = []  # whether FastAPI took each request (it sets scope["app"])

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        entered.append("app" in scope)

    async def run() -> list[tuple[Any, Any]]:
        pairs = []
        async with app.router.lifespan_context(app):
            fast = httpx.ASGITransport(app=watched)
            slow = httpx.ASGITransport(app=route_only)
            async with (
                httpx.AsyncClient(transport=fast, base_url="http://t") as fast_client,
                httpx.AsyncClient(transport=slow, base_url="http://t") as slow_client,
            ):
                for request in _requests(served["predict"]):
                    pairs.append(
                        (
                            await fast_client.post(**request),
                            await slow_client.post(**request),
                        )
                    )
                metrics = (await fast_client.get("/metrics")).text
        return [*pairs, (metrics, None)]

    *pairs, (metrics, _) = asyncio.run(run())
    statuses = []
    for fast_answer, route_answer in pairs:
        assert _comparable(fast_answer) == _comparable(route_answer), fast_answer.request.url
        statuses.append(fast_answer.status_code)
    assert statuses == [200, 200, 200, 401, 401, 401, 403, 422, 422, 422, 422, 413, 404, 404]
    assert pairs[3][0].headers["www-authenticate"] == "Bearer"
    # every scoring request skipped FastAPI; the paths the route does not match did not
    assert entered[: len(pairs)] == [False] * 12 + [True, True]
    # errors are counted by endpoint on both paths alike (twice each: fast, then the route)
    assert 'steward_errors_total{code="unauthenticated",endpoint="credit"} 6.0' in metrics


def test_only_a_post_of_one_endpoint_segment_takes_the_fast_path() -> None:
    def scope(method: str, path: str, **extra: Any) -> dict[str, Any]:
        return {"type": "http", "method": method, "path": path, **extra}

    assert scoring_endpoint(scope("POST", "/predict/credit")) == "credit"
    assert scoring_endpoint(scope("POST", "/predict/a b")) == "a b"  # decoded, as routed
    for refused in (
        scope("GET", "/predict/credit"),
        scope("POST", "/predict/"),
        scope("POST", "/predict/a/b"),
        scope("POST", "/predictions/x"),
        scope("POST", "/v2/models/credit/infer"),
        scope("POST", "/predict/credit", root_path="/behind"),
        {"type": "websocket", "path": "/predict/credit"},
    ):
        assert scoring_endpoint(refused) is None


def test_the_route_stays_in_the_openapi_document(tmp_path: Path) -> None:
    app = create_app(lambda: None)
    assert "post" in app.openapi()["paths"]["/predict/{endpoint}"]
