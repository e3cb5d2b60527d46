"""Two ``steward serve`` processes (two workers each) over one PostgreSQL store, as a team
runs them: writes through both at once leave one unforked ledger that verifies; a deploy
made through one is served by the other within the serving bound; a token revoked through
one is refused by the other at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import pg_database
from factories import serving_models
from serving_server import Server
from steward.app import Application, initialize
from steward.settings import Settings

BOUND_SECONDS = 10.0  # the serving bound (about 1-3 s), generous for a loaded CI machine
ROWS = [{"income": 55.0, "debts": 2, "region": "north"}]


class Team:
    def __init__(self, root: Path, db_url: str) -> None:
        self.db_url = db_url
        self.settings = Settings(home=root / "home", db_url=db_url)
        init = initialize(self.settings)
        with Application.open(self.settings) as app:
            facts = serving_models(app, init)
            eli = app.authenticate(facts["tokens"]["eli"])
            app.deployments.deploy(eli, facts["refs"][0], "credit")
            self.predict = app.identity.issue_token(eli, scopes=["predict:credit"])[1]
        self.tokens: dict[str, str] = {"admin": init.token, **facts["tokens"]}
        self.refs: list[str] = facts["refs"]


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    for url in pg_database():
        yield Team(tmp_path_factory.mktemp("processes"), url)


@pytest.fixture(scope="module")
def servers(team: Team) -> Iterator[tuple[Server, Server]]:
    env = {"STEWARD_DB_URL": team.db_url}
    first = Server(team.settings.home, team.tokens["eli"], workers=2, env=env)
    second = Server(team.settings.home, team.tokens["eli"], workers=2, env=env)
    first.start()
    try:
        second.start()
        yield first, second
    finally:
        second.stop()
        first.stop()


def _api(server: Server, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@pytest.mark.slow
@pytest.mark.postgres
def test_concurrent_writes_through_two_processes_leave_one_ledger_that_verifies(
    team: Team, servers: tuple[Server, Server]
) -> None:
    ref = team.refs[0]
    name, number = ref.split("@")
    failures: list[str] = []

    def comment(server: Server, who: str, n: int) -> None:
        with _api(server, team.tokens[who]) as http:
            for i in range(n):
                answer = http.post(
                    f"/models/{name}/versions/{number}/comments", json={"text": f"{who} {i}"}
                )
                if answer.status_code != 201:
                    failures.append(answer.text)

    def add_users(server: Server, prefix: str, n: int) -> None:
        with _api(server, team.tokens["admin"]) as http:
            for i in range(n):
                answer = http.post("/users", json={"name": f"{prefix}{i}", "roles": ["auditor"]})
                if answer.status_code != 201:
                    failures.append(answer.text)

    first, second = servers
    work = [
        threading.Thread(target=comment, args=(first, "sofia", 15)),
        threading.Thread(target=comment, args=(second, "sam", 15)),
        threading.Thread(target=comment, args=(second, "dana", 15)),
        threading.Thread(target=add_users, args=(first, "first-", 8)),
        threading.Thread(target=add_users, args=(second, "second-", 8)),
    ]
    for thread in work:
        thread.start()
    for thread in work:
        thread.join(timeout=300)
    assert not failures, failures[:3]
    with _api(second, team.tokens["audra"]) as http:
        history = http.get(f"/models/{name}/versions/{number}/history").json()
        verified = http.post("/audit/verify").json()
        events = http.get("/audit/events", params={"limit": 10_000}).json()["items"]
        head = http.get("/audit/head").json()
    assert len(history["comments"]) == 45
    assert verified["ok"] is True, verified
    seqs = [event["seq"] for event in events]
    assert seqs == list(range(1, len(seqs) + 1)) and head["tree_size"] == len(seqs)
    with _api(first, team.tokens["audra"]) as http:
        assert http.get("/audit/head").json() == head  # both processes see one tree


@pytest.mark.slow
@pytest.mark.postgres
def test_a_deploy_through_one_process_is_served_by_the_other_within_the_bound(
    team: Team, servers: tuple[Server, Server]
) -> None:
    first, second = servers
    with _api(first, team.tokens["eli"]) as http:
        answer = http.post("/endpoints/credit/deployments", json={"ref": team.refs[1]})
        assert answer.status_code == 201, answer.text
    deadline = time.monotonic() + BOUND_SECONDS
    served: Any = None
    while time.monotonic() < deadline:
        scored = second.post("/predict/credit", {"instances": ROWS}, token=team.predict)
        served = scored.json().get("model")
        if served == team.refs[1]:
            break
        time.sleep(0.2)
    assert served == team.refs[1]
    with _api(second, team.tokens["audra"]) as http:
        shown = http.get("/endpoints/credit").json()
    assert [r["version"] for r in shown["serving"]] == [team.refs[1]]


@pytest.mark.slow
@pytest.mark.postgres
def test_a_token_revoked_through_one_process_is_refused_by_the_other_at_once(
    team: Team, servers: tuple[Server, Server]
) -> None:
    first, second = servers
    with _api(first, team.tokens["admin"]) as http:
        token = http.post("/users", json={"name": "leaving", "roles": ["steward"]}).json()["token"]
    with _api(second, token) as leaving:
        assert leaving.get("/whoami").status_code == 200  # cached by that process now
        with _api(first, token) as same:
            assert same.delete(f"/tokens/{token.split('_')[1]}").status_code == 200
        refused = leaving.get("/whoami")
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
