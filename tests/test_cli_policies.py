"""``steward policy …`` and ``steward gate`` as a user meets them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from conftest import CliSeed, Run
from factories import credit_frame
from steward.app import Application
from steward.settings import Settings

LENDING = """\
format: steward.policy/v1
name: lending
description: Credit models.
priority: 5
selector:
  names: ["credit-*"]
stages:
  production:
    evidence:
      - check: fairness
        thresholds:
          - metric: attributes.*.demographic_parity_ratio
            min: {ratio}
    documentation: [owner]
"""


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


PEOPLE = (("dana", "data_scientist"), ("sofia", "steward"), ("audra", "auditor"))


def _people(run: Run) -> dict[str, str]:
    made = {}
    for name, role in PEOPLE:
        created = run("user", "add", name, "--role", role, "--json").json()
        made[name] = str(created["token"])
    return made


def _trained(run: Run, settings: Settings) -> dict[str, Any]:
    """The team, and dana's credit-model trained (with the default checks) on credit.csv."""
    tokens = _people(run)
    path = settings.home.parent / "credit.csv"
    credit_frame().to_csv(path, index=False)
    args = ["--name", "credit", "--target", "approved", "--sensitive", "group"]
    assert run("dataset", "register", str(path), *args, token=tokens["dana"]).code == 0
    result = run("train", "--dataset", "credit", "--name", "credit-model", token=tokens["dana"])
    assert result.code == 0, result.stderr
    return {"tokens": tokens}


@pytest.fixture
def cli_seed(request: pytest.FixtureRequest) -> CliSeed:
    if "trained" in request.fixturenames:
        return CliSeed("cli-policies-trained", _trained)
    if "tokens" in request.fixturenames:
        return CliSeed("cli-policies-people", lambda run, _: {"tokens": _people(run)})
    return CliSeed("initialised-by-cli")


@pytest.fixture
def tokens(initialised: Run, cli_seeded: dict[str, Any]) -> dict[str, str]:
    return dict(cli_seeded["tokens"])


@pytest.fixture
def trained(initialised: Run, tokens: dict[str, str]) -> Run:
    return initialised


def _state(settings: Settings) -> tuple[int, int]:
    with Application.open(settings) as app, app.store.read() as reader:
        return reader.event_count(), len(reader.policy_versions())


@pytest.mark.both_modes
def test_gate_reports_every_rule_and_exits_by_the_decision(
    trained: Run, tokens: dict[str, str]
) -> None:
    # trained on data declaring a sensitive attribute, the model starts at high risk; a
    # steward who did not author it classifies it as limited
    lowered = trained(
        "model", "update", "credit-model", "--risk-tier", "limited", token=tokens["sofia"]
    )
    assert lowered.code == 0, lowered.stderr
    staging = trained("gate", "credit-model@1", "--stage", "staging", "--json")
    decision = staging.json()
    assert decision["policy"]["name"] == "default" and decision["policy"]["version"] == 0
    assert "risk tier limited" in decision["governed_because"]
    outcomes = {r["id"]: r["outcome"] for r in decision["rules"]}
    assert outcomes == {
        "evidence.performance": "pass",
        "evidence.performance.findings": "pass",
        "dataset.no_pii_features": "pass",
    }
    assert staging.code == 0 and decision["allowed"] is True

    production = trained("gate", "credit-model@1", "--stage", "production")
    assert production.code == 1
    assert "gate credit-model@1 → production: FAILS under policy default (built-in)" in (
        production.stdout
    )
    assert "✗ FAIL   approvals.steward: 0 of 1 steward approval(s)" in production.stdout
    assert "✗ FAIL   documentation.intended_use" in production.stdout

    assert (
        trained("model", "update", "credit-model", "--risk-tier", "high", token=tokens["dana"]).code
        == 0
    )
    high = trained("gate", "credit-model@1", "--stage", "production", "--json")
    assert high.code == 1 and high.json()["policy"]["name"] == "high-risk"
    ids = {r["id"] for r in high.json()["rules"]}
    assert "evidence.fairness.attributes.group.disparate_impact_ratio" in ids
    assert {"evidence.explainability", "evidence.robustness", "documentation.limitations"} <= ids


@pytest.mark.both_modes
def test_policies_apply_as_hashed_versions_and_govern_the_models_they_select(
    trained: Run, tokens: dict[str, str], tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "lending.yaml"
    path.write_text(LENDING.format(ratio=0.8))
    linted = trained("policy", "validate", str(path), "--json")
    assert linted.code == 0 and linted.json()["name"] == "lending"
    applied = trained("policy", "apply", str(path), "--json", token=tokens["sofia"])
    assert applied.code == 0, applied.stderr
    first = applied.json()
    assert first["version"] == 1 and first["changed"] is True
    again = trained("policy", "apply", str(path), token=tokens["sofia"])
    assert "already has this content: nothing changed" in again.stdout
    path.write_text(LENDING.format(ratio=0.8).replace("Credit models.", "Credit  models."))
    assert (
        trained("policy", "apply", str(path), "--json", token=tokens["sofia"]).json()["changed"]
        is True
    )

    gate = trained("gate", "credit-model@1", "--stage", "production", "--json").json()
    assert gate["policy"]["name"] == "lending" and gate["policy"]["version"] == 2
    assert "applied policy lending@2 selects credit-model" in gate["governed_because"]
    rules = {r["id"]: r for r in gate["rules"]}
    parity = rules["evidence.fairness.attributes.group.demographic_parity_ratio"]
    assert parity["data"]["min"] == 0.8 and isinstance(parity["data"]["value"], float)

    listed = trained("policy", "list", "--json").json()
    assert [(p["name"], p["version"]) for p in listed] == [
        ("lending", 2),
        ("default", 0),
        ("high-risk", 0),
    ]
    shown = trained("policy", "show", "lending", "--version", "1")
    assert "# policy lending@1" in shown.stdout and "Credit models." in shown.stdout
    assert "min: 0.8" in trained("policy", "show", "high-risk").stdout
    events = trained("audit", "log", "--json").json()
    assert [e["subject"] for e in events if e["type"] == "policy.applied"] == [
        "policy:lending@1",
        "policy:lending@2",
    ]
    assert trained("audit", "verify").code == 0


@pytest.mark.both_modes
def test_invalid_policies_and_unauthorized_appliers_change_nothing(
    trained: Run, tokens: dict[str, str], tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "lending.yaml"
    path.write_text(LENDING.format(ratio=0.8).replace("min:", "minimum:"))
    before = _state(settings)
    bad = trained("policy", "apply", str(path), token=tokens["sofia"])
    assert bad.code == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert f"{path}:13: stages.production.evidence.0.thresholds.0.minimum: unknown field" in (
        bad.stderr
    )
    path.write_text(LENDING.format(ratio="high"))
    wrong = trained("policy", "apply", str(path), token=tokens["sofia"])
    assert wrong.code == 2 and f"{path}:13: stages.production.evidence.0.thresholds.0.min" in (
        wrong.stderr
    )
    path.write_text(LENDING.format(ratio=0.8).replace("demographic_parity_ratio", "iq"))
    unknown = trained("policy", "apply", str(path), token=tokens["sofia"])
    assert unknown.code == 2 and "check 'fairness' produces no metric 'attributes.*.iq'" in (
        unknown.stderr
    )
    linted = trained("policy", "validate", str(path))
    assert linted.code == 2 and "check 'fairness' produces no metric 'attributes.*.iq'" in (
        linted.stderr
    )
    missing = trained("policy", "apply", str(tmp_path / "nope.yaml"), token=tokens["sofia"])
    assert missing.code == 2 and "cannot read" in missing.stderr
    path.write_text(LENDING.format(ratio=0.8))
    for who in ("audra", "dana"):
        refused = trained("policy", "apply", str(path), token=tokens[who])
        assert refused.code == 3 and "policy:manage" in refused.stderr
    path.write_text(LENDING.format(ratio=0.8).replace("name: lending", "name: default"))
    taken = trained("policy", "apply", str(path), token=tokens["sofia"])
    assert taken.code == 2 and "a built-in pack's" in taken.stderr
    # no policy recorded; each refused attempt is in the ledger, and nothing else is
    events, policies = _state(settings)
    assert policies == before[1] == 0
    refused = [
        e for e in trained("audit", "log", "--json").json() if e["type"] == "attempt.refused"
    ]
    assert events == before[0] + len(refused) and len(refused) == 6
    assert [(e["actor"], e["payload"]["code"]) for e in refused][3:] == [
        ("audra", "forbidden"),
        ("dana", "forbidden"),
        ("sofia", "invalid_input"),
    ]
    assert refused[0]["payload"]["action"] == "policy.apply"
    assert trained("gate", "credit-model@7", "--stage", "production").code == 2
    stage = trained("gate", "credit-model@1", "--stage", "heaven")
    assert stage.code == 2 and "unknown stage 'heaven'" in stage.stderr


def test_an_edited_policy_is_detected_by_audit_verify(
    trained: Run, tokens: dict[str, str], tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "lending.yaml"
    path.write_text(LENDING.format(ratio=0.8))
    assert trained("policy", "apply", str(path), token=tokens["sofia"]).code == 0
    database = Path(settings.home) / "steward.db"
    with sqlite3.connect(database) as connection:
        for statement in (
            "UPDATE policies SET source = 'x'",
            "DELETE FROM policies",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="immutable"):
                connection.execute(statement)
        connection.execute("DROP TRIGGER policies_no_update")
        connection.execute("UPDATE policies SET document = replace(document, '0.8', '0.1')")
    verified = trained("audit", "verify")
    assert (
        verified.code == 1
        and "policy lending@1 does not match" in verified.stdout + verified.stderr
    )


@pytest.mark.both_modes
def test_approve_reject_waive_promote_from_the_command_line(
    trained: Run, tokens: dict[str, str], tmp_path: Path, settings: Settings
) -> None:
    created = trained("user", "add", "sam", "--role", "steward", "--json").json()
    sam = str(created["token"])
    eli = str(trained("user", "add", "eli", "--role", "ml_engineer", "--json").json()["token"])
    path = tmp_path / "lending.yaml"
    path.write_text(
        LENDING.format(ratio=0.5)
        .replace(
            "    documentation: [owner]\n",
            "    documentation: [owner]\n    approvals:\n      - role: steward\n        count: 2\n"
            '    waivable: ["evidence.fairness.*"]\n',
        )
        .replace("priority: 5\n", "priority: 5\nrelax_floor: true\n")
    )
    assert trained("policy", "apply", str(path), token=tokens["sofia"]).code == 0
    # the policy replaces the high-risk pack once a second steward endorses it
    assert trained("policy", "endorse", "lending", token=tokens["sofia"]).code == 3
    endorsed = trained("policy", "endorse", "lending", "--comment", "team rules", token=sam)
    assert endorsed.code == 0 and "sam endorsed lending@1" in endorsed.stdout
    before = _state(settings)

    own = trained("approve", "credit-model@1", "--stage", "production", token=tokens["dana"])
    assert own.code == 3 and "dana is the author of credit-model@1" in own.stderr
    auditor = trained("approve", "credit-model@1", "--stage", "production", token=tokens["audra"])
    assert auditor.code == 3 and "model:approve" in auditor.stderr
    ghost = trained("approve", "credit-model@5", "--stage", "production", token=tokens["sofia"])
    assert ghost.code == 2 and "has no version 5" in ghost.stderr
    missing = trained("promote", "credit-model@5", "--stage", "production", token=eli)
    assert missing.code == 2

    refused = trained("promote", "credit-model@1", "--stage", "production", token=eli)
    assert refused.code == 1
    assert "✗ FAIL   approvals.steward: 0 of 2 steward approval(s)" in refused.stdout
    assert "may not enter production" in refused.stderr
    as_json = trained("promote", "credit-model@1", "--stage", "production", "--json", token=eli)
    document = as_json.json()
    assert as_json.code == 1 and document["promoted"] is False
    assert {r["id"]: r["outcome"] for r in document["rules"]}["approvals.steward"] == "fail"
    events = trained("audit", "log", "--json").json()
    refusals = [e for e in events if e["type"] == "attempt.refused"]
    assert [(e["actor"], e["payload"]["action"]) for e in refusals] == [
        ("sofia", "policy.endorse"),
        ("dana", "approve"),
        ("audra", "approve"),
        ("sofia", "approve"),
        ("eli", "promote"),
        ("eli", "promote"),
        ("eli", "promote"),
    ]
    assert _state(settings)[1] == before[1]

    for token in (tokens["sofia"], sam):
        ok_ = trained(
            "approve", "credit-model@1", "--stage", "production", "--comment", "ok", token=token
        )
        assert ok_.code == 0, ok_.stderr
    gate = trained("gate", "credit-model@1", "--stage", "production", "--json")
    assert gate.code == 0, gate.stdout
    promoted = trained("promote", "credit-model@1", "--stage", "production", token=eli)
    assert promoted.code == 0 and "promoted credit-model@1 to production" in promoted.stdout
    shown = trained("model", "show", "credit-model@production", "--json").json()
    assert shown["version"] == 1 and shown["stage"] == "production"

    rejected = trained(
        "reject", "credit-model@1", "--stage", "production", "--comment", "drift", token=sam
    )
    assert rejected.code == 0
    rule = "evidence.fairness.attributes.group.demographic_parity_ratio"
    waived = trained(
        "waive", "credit-model@1", "--rule", rule, "--reason", "pilot", "--expires", "2099-01-01",
        token=tokens["sofia"],
    )  # fmt: skip
    assert waived.code == 2 and "at most 365 days" in waived.stderr
    assert trained("model", "comment", "credit-model@1", "ship it", token=tokens["sofia"]).code == 0
    # an auditor changes nothing, not even by a comment
    assert trained("model", "comment", "credit-model@1", "hm", token=tokens["audra"]).code == 3
    history = trained("model", "history", "credit-model@1", "--json").json()
    assert [a["decision"] for a in history["approvals"]] == ["approve", "approve", "reject"]
    assert history["comments"][0]["text"] == "ship it"
    assert trained("audit", "verify").code == 0


def test_evidence_on_another_dataset_cannot_pass_a_gate(
    trained: Run, tokens: dict[str, str], tmp_path: Path
) -> None:
    before = trained("gate", "credit-model@1", "--stage", "staging", "--json").json()
    judged = {r["id"]: r["data"].get("evidence") for r in before["rules"]}
    fresh = tmp_path / "fresh.csv"
    credit_frame(rows=200, seed=9).to_csv(fresh, index=False)
    args = ["--name", "fresh", "--target", "approved", "--sensitive", "group"]
    assert trained("dataset", "register", str(fresh), *args, token=tokens["dana"]).code == 0
    other = trained(
        "check", "run", "credit-model@1", "--dataset", "fresh", "--check", "performance",
        "--json", token=tokens["dana"],
    )  # fmt: skip
    assert other.code == 0, other.stderr
    after = trained("gate", "credit-model@1", "--stage", "staging", "--json").json()
    rules = {r["id"]: r["data"].get("evidence") for r in after["rules"]}
    assert rules["evidence.performance"] == judged["evidence.performance"]  # still the split's
    assert rules["evidence.performance"] != other.json()[0]["id"]
