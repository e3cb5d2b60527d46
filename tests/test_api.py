"""The REST API as a client meets it: a real uvicorn server on a loopback port over a home
on SQLite and on PostgreSQL. What a remote call returns is what the embedded call returns;
lists page with cursors; card edits are conditional; tokens are refused the moment they
are revoked; bad requests get 4xx with the error body and leave nothing behind."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

import schemathesis_hooks
from api_server import ThreadedServer
from conftest import pg_database
from factories import serving_models
from steward.app import Application, initialize
from steward.errors import InvalidInput, PermissionDenied
from steward.remote import RemoteApplication
from steward.settings import Settings

ARROW = "application/vnd.apache.arrow.stream"


class Home:
    def __init__(self, root: Path, db_url: str | None) -> None:
        self.settings = Settings(home=root / "home", db_url=db_url)
        init = initialize(self.settings)
        with Application.open(self.settings) as app:
            facts = serving_models(app, init)
            eli = app.authenticate(facts["tokens"]["eli"])
            app.deployments.deploy(eli, facts["refs"][0], "credit")
        self.tokens: dict[str, str] = {"admin": init.token, **facts["tokens"]}
        self.refs: list[str] = facts["refs"]

    def events(self) -> int:
        """The ledger's events but those the server writes by itself as it serves (what it
        enforces when a gate changes, sealed log segments): what a request added."""
        from sqlalchemy import text

        with Application.open(self.settings) as app, app.store.engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT COUNT(*) FROM ledger_events WHERE type NOT IN "
                        "('serving.enforced', 'predictions.sealed')"
                    )
                ).scalar_one()
            )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def home(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Home]:
    root = tmp_path_factory.mktemp(f"api-{request.param}")
    if request.param == "sqlite":
        yield Home(root, None)
        return
    for url in pg_database():
        yield Home(root, url)


@pytest.fixture(scope="module")
def server(home: Home) -> Iterator[ThreadedServer]:
    with ThreadedServer(home.settings, home.tokens["eli"]) as running:
        yield running


def _http(server: ThreadedServer, home: Home, who: str = "admin") -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {home.tokens[who]}"},
        timeout=60,
    )


def _documents(found: Any) -> Any:
    """What a command prints of a result: its documents."""
    if isinstance(found, list | tuple):
        return [_documents(item) for item in found]
    if isinstance(found, dict):
        return {key: _documents(value) for key, value in found.items()}
    return found.to_dict() if hasattr(found, "to_dict") else found


def test_remote_answers_are_the_embedded_answers_document_for_document(
    server: ThreadedServer, home: Home
) -> None:
    ref = home.refs[0]
    calls: list[tuple[str, str, Any]] = [
        ("identity", "list_users", ()),
        ("identity", "list_tokens", ("sofia",)),
        ("models", "list_models", ()),
        ("models", "model", ("credit-model",)),
        ("models", "versions", ("credit-model",)),
        ("models", "get", (ref,)),
        ("models", "get", ("credit-model@latest",)),
        ("models", "lineage", (ref,)),
        ("evidence", "list_evidence", (ref,)),
        ("datasets", "list_datasets", ()),
        ("datasets", "dataset", ("credit",)),
        ("datasets", "get", ("credit@1",)),
        ("datasets", "evidence", ("credit@1",)),
        ("policies", "list_policies", ()),
        ("policies", "get", ("credit",)),
        ("governance", "history", (ref,)),
        ("deployments", "list_endpoints", ()),
        ("deployments", "history", ("credit",)),
        ("alerts", "alerts", ()),
        ("audit", "head", ()),
        ("audit", "proof", (3,)),
        ("runs", "list_runs", ()),
    ]
    with Application.open(home.settings) as embedded:
        sofia = embedded.authenticate(home.tokens["sofia"])
        remote = RemoteApplication(home.settings, server.url, home.tokens["sofia"])
        try:
            assert remote.authenticate(home.tokens["sofia"]).to_dict() == sofia.to_dict()
            for service, method, args in calls:
                local = getattr(getattr(embedded, service), method)(sofia, *args)
                over = getattr(getattr(remote, service), method)(sofia, *args)
                assert _documents(over) == _documents(local), (service, method)
            decision, governing = embedded.policies.gate(sofia, ref, "production")
            remote_decision, remote_governing = remote.policies.gate(sofia, ref, "production")
            assert remote_decision.to_dict() == decision.to_dict()
            assert remote_governing.why == governing.why
            plan = embedded.deployments.plan(sofia, "credit").to_dict()
            remote_plan = remote.deployments.plan(sofia, "credit").to_dict()
            assert {**remote_plan, "checked_at": ""} == {**plan, "checked_at": ""}
            log = remote.audit.log(sofia, limit=5)
            assert _documents(log) == _documents(embedded.audit.log(sofia, limit=5))
        finally:
            remote.close()


def test_a_remote_call_acts_for_the_actor_it_is_given_as_an_embedded_call_does(
    server: ThreadedServer, home: Home
) -> None:
    """One client, several identities: the actor argument picks the token (an actor the
    client did not authenticate leaves its own token in use)."""
    with RemoteApplication(home.settings, server.url, home.tokens["admin"]) as remote:
        admin = remote.authenticate(home.tokens["admin"])
        audra = remote.authenticate(home.tokens["audra"])
        before = home.events()
        with pytest.raises(PermissionDenied, match=r"^audra \(auditor\) may not"):
            remote.identity.add_user(audra, "audra-admin", ["admin"])
        assert home.events() == before
        stranger = replace(audra, token_id="not-one-of-mine")
        user, _ = remote.identity.add_user(stranger, "made-by-the-admin", ["auditor"])
        (made,) = remote.audit.log(audra, limit=1)
        assert (made.type, made.actor, made.subject) == (
            "user.created",
            admin.name,
            f"user:{user.name}",
        )


def test_a_reference_and_an_estimate_over_http_are_the_embedded_ones_and_bad_inputs_are_4xx(
    server: ThreadedServer, home: Home
) -> None:
    ref = home.refs[0]
    with (
        RemoteApplication(home.settings, server.url, home.tokens["audra"]) as remote,
        Application.open(home.settings) as embedded,
    ):
        audra = remote.authenticate(home.tokens["audra"])
        eli = remote.authenticate(home.tokens["eli"])
        with pytest.raises(PermissionDenied, match="needs the evidence:write permission"):
            remote.monitoring.reference(audra, ref)  # none yet, and audra may not record one
        built = remote.monitoring.reference(eli, ref)
        assert built.check_id == "monitoring.reference" and built.created_by == "eli"
        assert remote.monitoring.reference(audra, ref).id == built.id  # read, not rebuilt
        local = embedded.authenticate(home.tokens["audra"])
        assert embedded.monitoring.reference(local, ref).to_dict() == built.to_dict()
        x, _, _ = embedded.models.load_split(local, ref, "test")
        # this version's reference holds no calibration (the demo estimates with one)
        with pytest.raises(InvalidInput) as over:
            remote.monitoring.estimate(audra, ref, x)
        with pytest.raises(InvalidInput) as here:
            embedded.monitoring.estimate(local, ref, x)
        expected = f"{ref}'s reference has no calibration to estimate with"
        assert str(over.value) == str(here.value) == expected
    events = home.events()
    with _http(server, home, "audra") as http:
        path = "/models/credit-model/versions/1/estimates"
        wrong = http.post(path, content=b"\x00" * 64, headers={"content-type": ARROW})
        assert wrong.status_code == 422, wrong.text
        assert "is not an Arrow IPC stream" in wrong.json()["error"]["message"]
        json_body = http.post(path, json={"rows": []})
        assert json_body.status_code == 400 and ARROW in json_body.json()["error"]["message"]
        huge = http.post(path, content=b"\x00" * (3 << 20), headers={"content-type": ARROW})
        assert huge.status_code == 413
        none = http.get("/models/credit-model/versions/2/reference")
        assert none.status_code == 404 and "has no monitoring reference" in none.text
    assert home.events() == events


def test_lists_page_by_cursor_and_a_user_added_meanwhile_is_neither_lost_nor_repeated(
    server: ThreadedServer, home: Home
) -> None:
    with _http(server, home) as http:
        first = http.get("/users", params={"limit": 2}).json()
        assert len(first["items"]) == 2 and first["next"]
        # a user sorting before the cursor appears while the client pages
        assert http.post("/users", json={"name": "aaron", "roles": ["auditor"]}).status_code == 201
        names = [u["name"] for u in first["items"]]
        cursor = first["next"]
        while cursor:
            page = http.get("/users", params={"limit": 2, "cursor": cursor}).json()
            names += [u["name"] for u in page["items"]]
            cursor = page["next"]
        assert len(names) == len(set(names))
        everyone = [u["name"] for u in http.get("/users", params={"limit": 500}).json()["items"]]
        assert set(names) | {"aaron"} == set(everyone)
        for bad in ({"limit": 0}, {"limit": 501}, {"limit": 10**12}, {"cursor": "%%%"}):
            answer = http.get("/users", params=bad)
            assert answer.status_code == 422, (bad, answer.text)
            assert answer.json()["error"]["code"] == "invalid_input"


def test_card_edits_are_conditional_on_the_card_read_and_a_stale_edit_changes_nothing(
    server: ThreadedServer, home: Home
) -> None:
    with _http(server, home, "dana") as dana, _http(server, home, "admin") as keeper:
        read = dana.get("/models/credit-model")
        etag = read.headers["etag"]
        assert etag.strip('"') == read.json()["card_hash"]
        first = keeper.patch(
            "/models/credit-model", json={"description": "admin's"}, headers={"If-Match": etag}
        )
        assert first.status_code == 200 and first.headers["etag"] != etag
        before = home.events()
        stale = dana.patch(
            "/models/credit-model", json={"description": "dana's"}, headers={"If-Match": etag}
        )
        assert stale.status_code == 412, stale.text
        assert stale.json()["error"]["code"] == "precondition"
        assert home.events() == before
        assert dana.get("/models/credit-model").json()["description"] == "admin's"
        fresh = dana.patch(
            "/models/credit-model",
            json={"description": "dana's"},
            headers={"If-Match": first.headers["etag"]},
        )
        assert fresh.status_code == 200 and fresh.json()["description"] == "dana's"


def test_only_a_models_owner_edits_its_card_and_a_refusal_is_ledgered(
    server: ThreadedServer, home: Home
) -> None:
    with _http(server, home, "eli") as eli, _http(server, home, "admin") as keeper:
        before = home.events()
        refused = eli.patch("/models/credit-model", json={"limitations": "eli's view"})
        assert refused.status_code == 403, refused.text
        assert "not the owner of credit-model (dana)" in refused.json()["error"]["message"]
        assert home.events() == before + 1  # the attempt, ledgered
        events = eli.get("/audit/events", params={"limit": 5}).json()["items"]
        refusals = [e for e in events if e["type"] == "attempt.refused"]
        assert refusals[-1]["actor"] == "eli"
        assert refusals[-1]["payload"]["action"] == "model.update"
        moved = keeper.patch("/models/credit-model", json={"owner": "eli"})
        assert moved.status_code == 200 and moved.json()["owner"] == "eli"
        assert eli.patch("/models/credit-model", json={"limitations": "x"}).status_code == 200
        back = eli.patch("/models/credit-model", json={"owner": "dana"})
        assert back.status_code == 200 and back.json()["owner"] == "dana"


def test_a_revoked_token_is_refused_at_once_by_every_server_and_guessing_is_limited(
    server: ThreadedServer, home: Home
) -> None:
    with ThreadedServer(home.settings, home.tokens["eli"]) as other, _http(server, home) as http:
        made = http.post("/users", json={"name": "temp", "roles": ["auditor"]}).json()
        token = made["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for url in (server.url, other.url):  # both have it cached now
            assert httpx.get(f"{url}/api/v1/whoami", headers=headers).status_code == 200
        revoked = http.delete(f"/tokens/{token.split('_')[1]}")
        assert revoked.status_code == 200, revoked.text
        for url in (other.url, server.url):  # no wait: not even the cache's second
            answer = httpx.get(f"{url}/api/v1/whoami", headers=headers)
            assert answer.status_code == 401 and "revoked" in answer.json()["error"]["message"]
        wrong = {"Authorization": "Bearer stw_000000000000_" + "A" * 43}
        statuses = [
            httpx.get(f"{other.url}/api/v1/whoami", headers=wrong).status_code for _ in range(12)
        ]
        assert statuses[:8] == [401] * 8 and statuses[-1] == 429
        limited = httpx.get(f"{other.url}/api/v1/whoami", headers=wrong)
        assert int(limited.headers["retry-after"]) >= 1
        # the limit is per address, and an honest caller elsewhere is unaffected
        assert httpx.get(f"{server.url}/api/v1/whoami", headers=http.headers).status_code == 200


BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int]] = [
    (
        "POST",
        "/users",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        422,
    ),
    ("POST", "/users", {"content": b"name=x", "headers": {"content-type": "text/plain"}}, 422),
    ("POST", "/users", {"json": {"name": "../../etc", "roles": ["auditor"]}}, 422),
    ("POST", "/users", {"json": {"name": "zoë", "roles": ["auditor"]}}, 422),
    ("POST", "/users", {"json": {"name": "x" * 5000, "roles": ["auditor"]}}, 422),
    ("POST", "/users", {"json": {"name": "ok-name", "roles": ["wizard"]}}, 422),
    (
        "POST",
        "/users",
        {"content": b"[" * 3_000_000, "headers": {"content-type": "application/json"}},
        413,
    ),
    ("GET", "/models/..%2F..%2Fetc", {}, 404),
    ("GET", "/models/credit-model/versions/99999999999", {}, 422),
    ("GET", "/models/credit-model/versions/%00", {}, 422),
    ("GET", "/models/MODÈLE", {}, 404),
    ("GET", "/audit/events", {"params": {"limit": 10**9}}, 422),
    ("POST", "/models/credit-model/versions/1/promotions", {"json": {"stage": "../prod"}}, 422),
    ("PATCH", "/models/credit-model", {"json": {"risk_tier": "none"}}, 422),
    ("POST", "/policies", {"json": {"text": "format: [", "source": "x.yaml"}}, 422),
    ("POST", "/endpoints/..%2Fx/deployments", {"json": {"ref": "credit-model@1"}}, 404),
    ("POST", "/endpoints/Bad Name/deployments", {"json": {"ref": "credit-model@1"}}, 422),
    ("GET", "/jobs/nope", {}, 404),
    ("POST", "/datasets/credit/versions", {"json": {"file": "x"}}, 400),
    ("POST", "/datasets/../versions", {"files": {"file": ("x.csv", b"a\n1\n")}}, 404),
    ("POST", "/datasets/Bad%20Name/versions", {"files": {"file": ("x.csv", b"a\n1\n")}}, 422),
    ("POST", "/datasets/fresh/versions", {"files": {"file": ("../../x.csv", b"a,b\n1\n")}}, 422),
    ("POST", "/datasets/fresh/versions", {"files": {"file": ("x.json", b"{}")}}, 422),
    ("POST", "/models/fresh/versions", {"files": {"file": ("m.skops", b"\x00" * 100)}}, 422),
    (
        "POST",
        "/models/fresh/versions",
        {"content": b"x", "headers": {"content-type": "application/octet-stream"}},
        400,
    ),
]


@pytest.mark.parametrize(("method", "path", "sent", "status"), BAD_REQUESTS)
def test_bad_requests_get_4xx_with_the_error_body_and_change_nothing(
    server: ThreadedServer, home: Home, method: str, path: str, sent: dict[str, Any], status: int
) -> None:
    before = home.events()
    uploads = home.settings.home / "uploads"
    with _http(server, home, "eli" if "deployments" in path else "dana") as http:
        if path.startswith("/users") or path.startswith("/policies"):
            http.headers["Authorization"] = (
                f"Bearer {home.tokens['admin' if path.startswith('/users') else 'sofia']}"
            )
        answer = http.request(method, path, **sent)
        assert answer.status_code == status, answer.text[:300]
        error = answer.json()["error"]
        assert error["code"] and error["message"] and "\n" not in error["message"]
        assert "Traceback" not in answer.text
    # refused governed acts are ledgered (decision 0018): a promotion, a deployment, a policy
    refused_and_ledgered = path.endswith(("/promotions", "/deployments", "/policies"))
    assert home.events() == before + (1 if refused_and_ledgered and status != 404 else 0)
    assert not uploads.exists() or not any(uploads.iterdir())
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_a_refused_promotion_answers_409_with_the_decision_and_is_ledgered(
    server: ThreadedServer, home: Home
) -> None:
    unapproved = home.refs[2]
    name, number = unapproved.split("@")
    before = home.events()
    with _http(server, home, "eli") as http:
        answer = http.post(
            f"/models/{name}/versions/{number}/promotions", json={"stage": "production"}
        )
        assert answer.status_code == 409
        decision = answer.json()["error"]["details"]["decision"]
        assert decision["allowed"] is False
        assert any(rule["outcome"] == "fail" for rule in decision["rules"])
        shown = http.get(f"/models/{name}/versions/{number}").json()
        assert shown["stage"] == "none"
        events = http.get("/audit/events", params={"limit": 5}).json()["items"]
    assert home.events() == before + 1
    refusals = [e for e in events if e["type"] == "attempt.refused"]
    assert refusals[-1]["actor"] == "eli" and refusals[-1]["payload"]["action"] == "promote"


def test_a_job_is_seen_by_its_caller_only_and_reports_its_progress_and_outcome(
    server: ThreadedServer, home: Home
) -> None:
    ref = home.refs[1]
    name, number = ref.split("@")
    with _http(server, home, "sofia") as sofia, _http(server, home, "sam") as sam:
        started = sofia.post(
            f"/models/{name}/versions/{number}/checks", json={"checks": ["performance"]}
        )
        assert started.status_code == 202, started.text
        job = started.json()["job"]
        assert started.headers["location"] == f"/api/v1/jobs/{job['id']}"
        assert sam.get(f"/jobs/{job['id']}").status_code == 404  # another steward's: not found
        for _ in range(600):
            job = sofia.get(f"/jobs/{job['id']}").json()
            if job["status"] != "running":
                break
            import time

            time.sleep(0.1)
        assert job["status"] == "succeeded", job
        (record,) = job["result"]
        assert record["check_id"] == "performance" and record["created_by"] == "sofia"
        assert job["progress"]["checks"]["done"] == job["progress"]["checks"]["total"]
        refused = sam.post(
            f"/models/{name}/versions/{number}/checks", json={"checks": ["no-such-check"]}
        )
        assert refused.status_code == 422 and "no check" in refused.json()["error"]["message"]


def test_security_headers_on_every_answer_and_no_cors(server: ThreadedServer, home: Home) -> None:
    with _http(server, home) as http:
        for answer in (
            http.get("/whoami", headers={"Origin": "https://evil.example"}),
            http.get("/nothing-here"),
            httpx.get(f"{server.url}/api/v1/whoami"),
        ):
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["x-frame-options"] == "DENY"
            assert "default-src 'none'" in answer.headers["content-security-policy"]
            assert not any(h.startswith("access-control-") for h in answer.headers)
        preflight = http.options(
            "/whoami",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.slow
def test_schemathesis_with_a_privileged_token_finds_no_server_error_and_no_schema_mismatch(
    server: ThreadedServer, home: Home, tmp_path: Path
) -> None:
    """The whole API fuzzed as an ML engineer (who may write most: deploy, train, monitor),
    so generated requests reach the services, not only the 403 of a scoped token."""
    done = schemathesis_hooks.run(
        server.url, home.tokens["eli"], tmp_path, max_examples=8, seed=3, only="^/api/v1"
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_a_kept_answer_is_never_stale_nor_shown_to_a_caller_without_the_permission(
    server: ThreadedServer, home: Home
) -> None:
    """GET a version is answered from the process's answer cache while the ledger's head is
    where it was: a change made by another process (here, embedded) moves the head, and the
    next answer is the new one; a caller without ``model:read`` gets the service's 403."""
    name, number = home.refs[1].split("@")
    path = f"/models/{name}/versions/{number}"
    with _http(server, home, "sofia") as http:
        first = http.get(path).json()
        assert http.get(path).json() == first and first["stage"] == "none"
        with Application.open(home.settings) as embedded:
            eli = embedded.authenticate(home.tokens["eli"])
            embedded.governance.promote(eli, home.refs[1], "staging")
        assert http.get(path).json()["stage"] == "staging"
        scoped = http.post("/tokens", json={"scopes": ["predict:credit"]}).json()["secret"]
        refused = http.get(path, headers={"Authorization": f"Bearer {scoped}"})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["details"]["permission"] == "model:read"


def test_the_api_ledger_verifies_after_everything(server: ThreadedServer, home: Home) -> None:
    with _http(server, home, "audra") as http:
        verified = http.post("/audit/verify").json()
    assert verified["ok"] is True, json.dumps(verified)[:500]


def test_the_api_docs_page_loads_nothing_from_another_host(server: ThreadedServer) -> None:
    page = httpx.get(f"{server.url}/docs")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    assert not re.search(r"(src|href)=['\"]https?://", page.text), page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert httpx.get(f"{server.url}/docs/assets/{asset}").status_code == 200
    document = httpx.get(f"{server.url}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
