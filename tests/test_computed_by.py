"""Evidence says who computed it: a check run in a client's own process is marked
``computed_by: client``, one asked for over the REST API ``server``; a policy rule with
``computed_by: server`` counts only the latter."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from api_server import ThreadedServer
from factories import serving_models
from steward.app import Application, initialize
from steward.settings import Settings

SERVER_ONLY = """\
format: steward.policy/v1
name: server-evidence
priority: 50
selector:
  names: ["credit-model"]
stages:
  staging:
    evidence:
      - check: performance
        computed_by: server
"""


def test_a_policy_can_refuse_evidence_a_client_computed_itself(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    init = initialize(settings)
    with Application.open(settings) as app:
        facts = serving_models(app, init)
        tokens = facts["tokens"]
        ref = facts["refs"][0]
        sofia = app.authenticate(tokens["sofia"])
        app.policies.apply(sofia, SERVER_ONLY, "server.yaml")
        (local,) = app.evidence.run(sofia, ref, ["performance"])
        assert local.provenance["computed_by"] == "client"
        decision, _ = app.policies.gate(sofia, ref, "staging")
        (rule,) = [r for r in decision.rules if r.id == "evidence.performance"]
        assert rule.outcome.value == "fail" and "computed by a client" in rule.reason
    name, number = ref.split("@")
    with ThreadedServer(settings, tokens["eli"]) as server:
        headers = {"Authorization": f"Bearer {tokens['sofia']}"}
        base = f"{server.url}/api/v1/models/{name}/versions/{number}"
        job = httpx.post(f"{base}/checks", json={"checks": ["performance"]}, headers=headers)
        assert job.status_code == 202, job.text
        job_id = job.json()["job"]["id"]
        for _ in range(600):
            found = httpx.get(f"{server.url}/api/v1/jobs/{job_id}", headers=headers).json()
            if found["status"] != "running":
                break
            time.sleep(0.1)
        assert found["status"] == "succeeded", found
        assert found["result"][0]["provenance"]["computed_by"] == "server"
        gate = httpx.get(f"{base}/gate", params={"stage": "staging"}, headers=headers).json()
    (rule,) = [r for r in gate["decision"]["rules"] if r["id"] == "evidence.performance"]
    assert rule["outcome"] == "pass", rule
