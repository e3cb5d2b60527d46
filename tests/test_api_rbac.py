"""Every ``/api/v1`` route × every role, against the permission table of ``docs/access.md``.

A route documents the permission its service requires (``x-steward-permission``). For each
role the matrix calls each route, as a real user of that role, with arguments naming real
objects and a valid body, and holds the answer to the table: a role without the permission
gets 403 naming exactly that permission, a role with it never gets a permission denial
(another rule may still refuse: an author approving their own version is a 403 of
segregation of duties, not of roles). A route added without an entry here, or documenting
a permission the table does not list, fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_server import ThreadedServer
from factories import serving_models
from steward.app import Application, initialize
from steward.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("admin", "data_scientist", "ml_engineer", "steward", "auditor")
# the user of each role in the serving team (admin: the home's own)
USERS = {"data_scientist": "dana", "ml_engineer": "eli", "steward": "sofia", "auditor": "audra"}

LENDING = """\
format: steward.policy/v1
name: matrix
selector:
  names: ["matrix-*"]
stages:
  production:
    documentation: [owner]
"""
MONITOR = """\
format: steward.monitor/v1
name: matrix
endpoint: credit
window: {rows: 100}
"""

# A dataset upload's body (multipart); bytes are sent as application/octet-stream.
CSV = {"file": ("matrix.csv", b"income,debts,region,group,approved\n1,2,north,a,1\n")}
# route "METHOD /path" -> (path parameters, query, body). Every API route has an entry.
V = "/api/v1/models/{name}/versions/{selector}"
D = "/api/v1/datasets/{name}"
MODEL = {"name": "credit-model", "selector": "1"}
DATASET = {"name": "credit", "selector": "1"}
CASES: dict[str, tuple[dict[str, str], dict[str, Any], Any]] = {
    "GET /api/v1/whoami": ({}, {}, None),
    "GET /api/v1/users": ({}, {}, None),
    "POST /api/v1/users": ({}, {}, {"name": "matrix-user", "roles": ["auditor"]}),
    "GET /api/v1/tokens": ({}, {}, None),
    "POST /api/v1/tokens": ({}, {}, {"scopes": ["predict:credit"]}),
    "DELETE /api/v1/tokens/{token_id}": ({"token_id": "ffffffffffff"}, {}, None),
    "GET /api/v1/datasets": ({}, {}, None),
    f"GET {D}": ({"name": "credit"}, {}, None),
    f"PATCH {D}/datasheet": ({"name": "credit"}, {}, {"fields": {"motivation": "tests"}}),
    f"GET {D}/contract": ({"name": "credit"}, {}, None),
    f"PUT {D}/contract": ({"name": "credit"}, {}, {"contract": {"columns": {}}}),
    f"GET {D}/versions/{{selector}}": (DATASET, {}, None),
    f"GET {D}/versions/{{selector}}/evidence": (DATASET, {}, None),
    "GET /api/v1/models": ({}, {}, None),
    "GET /api/v1/models/{name}": ({"name": "credit-model"}, {}, None),
    "PATCH /api/v1/models/{name}": ({"name": "credit-model"}, {}, {"description": "m"}),
    "GET /api/v1/models/{name}/versions": ({"name": "credit-model"}, {}, None),
    f"GET {V}": (MODEL, {}, None),
    f"GET {V}/lineage": (MODEL, {}, None),
    f"GET {V}/evidence": (MODEL, {}, None),
    f"GET {V}/reference": (MODEL, {}, None),
    f"POST {V}/reference": (MODEL, {}, None),
    # not an Arrow stream: a 4xx past the permission check
    f"POST {V}/estimates": (MODEL, {}, b"not arrow"),
    f"GET {V}/evidence/{{evidence_id}}/files/{{file}}": (
        MODEL | {"evidence_id": "nope", "file": "plot.png"},
        {},
        None,
    ),
    f"GET {V}/gate": (MODEL, {"stage": "production"}, None),
    f"POST {V}/approvals": (MODEL, {}, {"stage": "staging"}),
    f"POST {V}/rejections": (MODEL, {}, {"stage": "staging", "comment": "no"}),
    f"POST {V}/waivers": (
        MODEL,
        {},
        {"rule": "documentation.owner", "reason": "matrix", "expires": "2026-12-31"},
    ),
    f"POST {V}/comments": (MODEL, {}, {"text": "seen"}),
    f"POST {V}/promotions": (MODEL, {}, {"stage": "staging"}),
    f"GET {V}/history": (MODEL, {}, None),
    "GET /api/v1/policies": ({}, {}, None),
    "POST /api/v1/policies": ({}, {}, {"text": LENDING, "source": "matrix.yaml"}),
    "GET /api/v1/policies/{name}": ({"name": "credit"}, {}, None),
    "POST /api/v1/policies/{name}/endorsements": ({"name": "credit"}, {}, {}),
    "GET /api/v1/endpoints": ({}, {}, None),
    "GET /api/v1/endpoints/{name}": ({"name": "credit"}, {}, None),
    "GET /api/v1/endpoints/{name}/history": ({"name": "credit"}, {}, None),
    "GET /api/v1/endpoints/{name}/at": ({"name": "credit"}, {"time": "2099-01-01"}, None),
    "POST /api/v1/endpoints/{name}/deployments": (
        {"name": "credit"},
        {},
        {"ref": "credit-model@2"},
    ),
    "POST /api/v1/endpoints/{name}/rollback": ({"name": "credit"}, {}, {}),
    "POST /api/v1/endpoints/{name}/stop": ({"name": "credit"}, {}, {"reason": "matrix"}),
    "POST /api/v1/endpoints/{name}/resume": ({"name": "credit"}, {}, {}),
    "GET /api/v1/monitors": ({}, {}, None),
    "POST /api/v1/monitors": ({}, {}, {"text": MONITOR, "source": "matrix.yaml"}),
    "GET /api/v1/monitors/{name}": ({"name": "matrix"}, {}, None),
    "GET /api/v1/monitors/{name}/runs": ({"name": "matrix"}, {}, None),
    "GET /api/v1/alerts": ({}, {}, None),
    "GET /api/v1/alerts/{alert_id}": ({"alert_id": "nope"}, {}, None),
    "POST /api/v1/alerts/{alert_id}/acknowledge": ({"alert_id": "nope"}, {}, {"note": "n"}),
    "POST /api/v1/alerts/{alert_id}/resolve": ({"alert_id": "nope"}, {}, {"note": "n"}),
    "GET /api/v1/webhooks": ({}, {}, None),
    "POST /api/v1/webhooks": ({}, {}, {"url": "http://127.0.0.1:9/hook"}),
    "DELETE /api/v1/webhooks/{hook_id}": ({"hook_id": "nope"}, {}, None),
    "GET /api/v1/webhooks/deliveries": ({}, {}, None),
    "POST /api/v1/webhooks/deliveries": ({}, {}, None),
    "GET /api/v1/checks": ({}, {}, None),
    "GET /api/v1/endpoints/{name}/predictions": ({"name": "credit"}, {}, None),
    "POST /api/v1/endpoints/{name}/labels": (
        {"name": "credit"},
        {},
        {"labels": [{"request_id": "nope", "label": 1}]},
    ),
    "POST /api/v1/monitors/{name}/runs": ({"name": "matrix"}, {}, None),
    "GET /api/v1/audit/export": ({}, {}, None),
    "POST /api/v1/endpoints/{name}/datasets": ({"name": "credit"}, {}, {"name": "matrix-data"}),
    "POST /api/v1/retraining": ({}, {}, {"name": "nope-model"}),
    "GET /api/v1/jobs/{job_id}": ({"job_id": "nope"}, {}, None),
    "POST /api/v1/datasets/{name}/versions": ({"name": "credit"}, {}, CSV),
    f"GET {D}/versions/{{selector}}/table": (DATASET, {}, None),
    "POST /api/v1/models/{name}/versions": (
        {"name": "matrix-model"},
        {},
        {"file": ("m.skops", b"not skops")},
    ),
    f"GET {V}/artifact": (MODEL, {}, None),
    f"GET {V}/splits/{{part}}": ({**MODEL, "part": "test"}, {}, None),
    "GET /api/v1/runs": ({}, {}, None),
    "POST /api/v1/runs": ({}, {}, {"name": "matrix-run"}),
    "GET /api/v1/runs/{run_id}": ({"run_id": "nope"}, {}, None),
    "GET /api/v1/runs/{run_id}/metrics": ({"run_id": "nope"}, {}, None),
    "POST /api/v1/runs/{run_id}/params": ({"run_id": "nope"}, {}, {"params": {"a": 1}}),
    "POST /api/v1/runs/{run_id}/tags": ({"run_id": "nope"}, {}, {"tags": {"a": "b"}}),
    "POST /api/v1/runs/{run_id}/metrics": ({"run_id": "nope"}, {}, {"points": [["m", 1, 0]]}),
    "POST /api/v1/runs/{run_id}/datasets": (
        {"run_id": "nope"},
        {},
        {"ref": "credit@1", "fingerprint": "f"},
    ),
    "POST /api/v1/runs/{run_id}/artifacts": ({"run_id": "nope"}, {"name": "a.txt"}, b"text"),
    "POST /api/v1/runs/{run_id}/end": ({"run_id": "nope"}, {}, {"status": "finished"}),
    "POST /api/v1/runs/{run_id}/fail": ({"run_id": "nope"}, {}, {"reason": "died"}),
    "POST /api/v1/training": ({}, {}, {"dataset": "credit@1", "name": "matrix-model"}),
    "POST /api/v1/tuning": ({}, {}, {"study": "nope", "trials": 1}),
    f"POST {V}/checks": (MODEL, {}, {"checks": ["performance"]}),
    f"POST {V}/reproductions": (MODEL, {}, {"checks": ["performance"]}),
    f"POST {V}/mitigations": (MODEL, {}, {"attribute": "group"}),
    "POST /api/v1/predictions/prunings": ({}, {}, {"retention_days": 3650}),
    "GET /api/v1/predictions/retention": ({}, {}, None),
    "GET /api/v1/audit/events": ({}, {}, None),
    "GET /api/v1/audit/head": ({}, {}, None),
    "GET /api/v1/audit/proofs/{seq}": ({"seq": "1"}, {}, None),
    "POST /api/v1/audit/verify": ({}, {}, None),
}


# POST routes that change nothing: a verification, a what-if estimate
READS_BY_POST = {"POST /api/v1/audit/verify", f"POST {V}/estimates"}


def permission_table() -> dict[str, set[str]]:
    """role -> the permissions ``docs/access.md`` grants it."""
    text = (ROOT / "docs" / "access.md").read_text()
    granted: dict[str, set[str]] = {role: set() for role in ROLES}
    for line in text.splitlines():
        match = re.match(r"\| `([a-z_]+:[a-z_]+)` — .*?\|(.*)\|\s*$", line)
        if match:
            for role, cell in zip(ROLES, match.group(2).split("|"), strict=True):
                if "✓" in cell:
                    granted[role].add(match.group(1))
    assert sum(len(p) for p in granted.values()) > 20, "the permission table did not parse"
    return granted


class Team:
    def __init__(self, root: Path) -> None:
        self.settings = Settings(home=root / "home")
        init = initialize(self.settings)
        with Application.open(self.settings) as app:
            facts = serving_models(app, init)
            eli = app.authenticate(facts["tokens"]["eli"])
            app.deployments.deploy(eli, facts["refs"][0], "credit")
        self.tokens = {"admin": init.token} | {
            role: facts["tokens"][user] for role, user in USERS.items()
        }


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Team:
    return Team(tmp_path_factory.mktemp("rbac"))


@pytest.fixture(scope="module")
def server(team: Team) -> Iterator[ThreadedServer]:
    with ThreadedServer(team.settings, team.tokens["admin"]) as running:
        yield running


def _call(http: httpx.Client, route: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """``route`` as its case says: JSON, multipart (an upload) or raw bytes."""
    method, template = route.split(" ", 1)
    params, query, body = CASES[route]
    path = template.format(**params)
    if isinstance(body, bytes):
        raw = {**(headers or {}), "content-type": "application/octet-stream"}
        return http.request(method, path, params=query, content=body, headers=raw)
    if isinstance(body, dict) and "file" in body and isinstance(body["file"], tuple):
        return http.request(method, path, params=query, files=body, headers=headers)
    return http.request(method, path, params=query, json=body, headers=headers)


def _routes(server: ThreadedServer) -> dict[str, str | None]:
    """``"METHOD /path"`` -> the permission each API route documents."""
    document = httpx.get(f"{server.url}/openapi.json").json()
    found: dict[str, str | None] = {}
    for path, operations in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            assert "x-steward-permission" in operation, f"{method.upper()} {path} documents none"
            needed = operation["x-steward-permission"]
            found[f"{method.upper()} {path}"] = None if needed == "authenticated" else needed
    return found


def test_every_route_has_a_case_and_documents_a_permission_of_the_table(
    server: ThreadedServer,
) -> None:
    routes = _routes(server)
    assert set(routes) == set(CASES), (
        sorted(set(routes) - set(CASES)),
        sorted(set(CASES) - set(routes)),
    )
    known = set().union(*permission_table().values())
    documented = {p for needed in routes.values() if needed for p in needed.split("|")}
    assert documented <= known, sorted(documented - known)


def test_every_route_and_role_answers_as_the_permission_table_says(
    server: ThreadedServer, team: Team
) -> None:
    table = permission_table()
    routes = _routes(server)
    unexpected: list[str] = []
    statuses: dict[str, set[int]] = {}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for role in ROLES:
            headers = {"Authorization": f"Bearer {team.tokens[role]}"}
            for route, needed in routes.items():
                answer = _call(http, route, headers)
                assert answer.status_code < 500, (role, route, answer.text)
                statuses.setdefault(route, set()).add(answer.status_code)
                is_json = answer.headers.get("content-type", "").startswith("application/json")
                error = answer.json().get("error", {}) if is_json and answer.content else {}
                error = error if isinstance(error, dict) else {}
                denied = answer.status_code == 403 and "permission" in error.get("details", {})
                either = set(needed.split("|")) if needed is not None else set()
                expected = bool(either) and not either & table[role]
                if denied != expected:
                    unexpected.append(f"{role} {route}: {answer.status_code} {answer.text[:160]}")
                if denied:
                    assert error["details"]["permission"] in either, (role, route, error)
    assert not unexpected, "\n".join(unexpected)
    # the matrix reached the services: most routes answered a success for some role
    succeeded = [route for route, seen in statuses.items() if any(s < 300 for s in seen)]
    assert len(succeeded) >= 40, sorted(set(statuses) - set(succeeded))


def test_an_auditor_is_refused_every_state_changing_route_and_anonymous_calls_get_401(
    server: ThreadedServer, team: Team
) -> None:
    routes = _routes(server)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for route, needed in routes.items():
            method = route.split(" ", 1)[0]
            anonymous = _call(http, route)
            assert anonymous.status_code == 401, (route, anonymous.text)
            assert anonymous.headers["www-authenticate"] == "Bearer"
            if method == "GET" or route in READS_BY_POST or needed is None:
                continue
            auditor = _call(http, route, {"Authorization": f"Bearer {team.tokens['auditor']}"})
            assert auditor.status_code == 403, (route, auditor.text)
