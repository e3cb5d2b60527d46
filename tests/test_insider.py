"""The gate and the ledger against a determined insider (issue 11), on SQLite and PostgreSQL.

Each test performs one attack an adversarial tester made — a data scientist who wants a
biased model in production, a steward or admin acting alone, someone with database access —
and shows it refused (exit 1 or 3 on the CLI: ``Refused``, ``PermissionDenied``,
``AuthenticationError``, ``LedgerTampered``) or detected, ledgered where governed actions are.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import text

from conftest import Seed, Seeded
from factories import credit_frame
from steward.app import Application, InitResult
from steward.domain import Actor, Outcome, RiskTier, Stage
from steward.errors import (
    AuthenticationError,
    InvalidInput,
    LedgerTampered,
    PermissionDenied,
    Refused,
)
from steward.services import TrainingRequest

LAX = """\
format: steward.policy/v1
name: sandbox
priority: 100
selector:
  tags: {env: sandbox}
stages:
  production:
    documentation: [owner]
"""


PEOPLE = (
    ("dana", ["data_scientist"]),
    ("eli", ["ml_engineer"]),
    ("sofia", ["steward"]),
    ("sam", ["steward"]),
    ("ines", ["steward", "data_scientist"]),
    ("audra", ["auditor"]),
)


def _people(app: Application, home: InitResult) -> dict[str, str]:
    """The team, by token."""
    admin = app.authenticate(home.token)
    return {name: app.identity.add_user(admin, name, roles)[1] for name, roles in PEOPLE}


def _modelled(app: Application, home: InitResult) -> dict[str, Any]:
    """The team, and dana's model, trained on data that declares a sensitive attribute."""
    tokens = _people(app, home)
    dana = app.authenticate(tokens["dana"])
    app.datasets.register(
        dana, credit_frame(rows=240), name="credit", target="approved", sensitive=["group"]
    )
    ref = app.training.train(
        dana, TrainingRequest(checks=False, dataset="credit", name="credit-model")
    ).version.ref
    return {"tokens": tokens, "model": ref}


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> Seed:
    """The team for the tests that take ``people``; dana's model too for those that take
    ``model``."""
    if "model" in request.fixturenames:
        return Seed("insider-model", _modelled)
    if "people" in request.fixturenames:
        return Seed("insider-people", lambda app, home: {"tokens": _people(app, home)})
    return Seed("initialised")


@pytest.fixture
def people(app: Application, admin: Actor, seeded: Seeded) -> dict[str, Actor]:
    found = {"admin": admin}
    for name, token in seeded.facts["tokens"].items():
        found[name] = app.authenticate(token)
    return found


@pytest.fixture
def model(seeded: Seeded) -> str:
    """dana's model, trained on data that declares a sensitive attribute."""
    return str(seeded.facts["model"])


def _refusals(app: Application, action: str | None = None) -> list[dict[str, Any]]:
    with app.store.read() as reader:
        events = reader.events_of_types("attempt.refused")
    return [
        e.payload | {"actor": e.actor}
        for e in events
        if action is None or e.payload["action"] == action
    ]


def _rule(decision: Any, rule_id: str) -> Any:
    (found,) = [r for r in decision.rules if r.id == rule_id]
    return found


def _events(app: Application) -> int:
    with app.store.read() as reader:
        return reader.event_count()


# --- 1. tags, names and tiers cannot dodge the tier's built-in pack -----------------------


def test_a_tag_selected_lax_policy_cannot_take_a_high_risk_model_below_its_pack(
    app: Application, people: dict[str, Actor], model: str
) -> None:
    assert app.models.model(people["dana"], "credit-model").risk_tier is RiskTier.HIGH
    app.policies.apply(people["sofia"], LAX, "sandbox.yaml")
    app.models.update(people["dana"], "credit-model", {"tags": {"env": "sandbox"}})
    decision, governing = app.policies.gate(people["eli"], model, "production")
    assert governing.label == "sandbox@1"
    assert decision.floor is not None and decision.floor["enforced"]
    assert decision.floor["pack"] == "high-risk"
    failed = {r.id for r in decision.failed}
    assert {"approvals.steward", "evidence.fairness", "documentation.limitations"} <= failed
    assert "[high-risk floor]" in _rule(decision, "approvals.steward").reason
    with pytest.raises(Refused, match="may not enter production"):
        app.governance.promote(people["eli"], model, "production")
    assert app.models.get(people["eli"], model).stage is Stage.NONE
    refused = _refusals(app, "promote")[-1]
    assert refused["actor"] == "eli" and "approvals.steward" in refused["failed"]
    # the author removing the tag afterwards changes nothing: the pack governs again
    app.models.update(people["dana"], "credit-model", {"tags": {"env": None}})
    assert app.policies.gate(people["eli"], model, "production")[1].label == "high-risk (built-in)"
    assert app.audit.verify(people["admin"]).ok


def test_relaxing_the_pack_needs_a_second_policy_manager_who_authored_no_governed_model(
    app: Application, people: dict[str, Actor], model: str
) -> None:
    relaxing = LAX.replace("priority: 100\n", "priority: 100\nrelax_floor: true\n")
    app.policies.apply(people["sofia"], relaxing, "sandbox.yaml")
    app.models.update(people["dana"], "credit-model", {"tags": {"env": "sandbox"}})
    decision, _ = app.policies.gate(people["eli"], model, "production")
    assert decision.floor is not None and decision.floor["enforced"]
    assert "asks to relax it, but no second policy:manage holder" in decision.floor["note"]
    assert not decision.allowed

    with pytest.raises(PermissionDenied, match="applied sandbox@1 and may not also endorse"):
        app.policies.endorse(people["sofia"], "sandbox")
    with pytest.raises(PermissionDenied, match="policy:manage"):
        app.policies.endorse(people["dana"], "sandbox")
    # ines is a steward too, but authored a model the policy governs
    app.training.train(
        people["ines"], TrainingRequest(checks=False, dataset="credit", name="ines-model")
    )
    app.models.update(people["ines"], "ines-model", {"tags": {"env": "sandbox"}})
    with pytest.raises(PermissionDenied, match="an author may not endorse"):
        app.policies.endorse(people["ines"], "sandbox")
    assert [r["actor"] for r in _refusals(app, "policy.endorse")] == ["sofia", "dana", "ines"]

    app.policies.endorse(people["sam"], "sandbox", comment="sandbox models never see customers")
    decision, _ = app.policies.gate(people["eli"], model, "production")
    assert decision.floor is not None
    assert decision.floor == {
        "pack": "high-risk",
        "content_hash": decision.floor["content_hash"],
        "enforced": False,
        "relaxed_by": ["sofia", "sam"],
        "note": decision.floor["note"],
    }
    assert decision.allowed and [r.id for r in decision.rules] == ["documentation.owner"]
    # a new version of the policy needs its own endorsement
    app.policies.apply(people["sofia"], relaxing.replace("[owner]", "[owner, description]"), "s")
    assert app.policies.gate(people["eli"], model, "production")[0].floor["enforced"]  # type: ignore[index]
    assert app.audit.verify(people["admin"]).ok


# --- 2. one steward cannot switch governance off -------------------------------------------


@pytest.mark.parametrize(
    ("stages", "problem"),
    [
        ("{production: {}}", "a stage needs at least one rule"),
        (
            "{production: {approvals: [{role: steward}], waivable: ['*']}}",
            "a catch-all waiver is refused",
        ),
        (
            "{production: {approvals: [{role: steward}], waivable: ['approvals.*']}}",
            "approvals are never waivable",
        ),
        (
            "{production: {approvals: [{role: steward}], waivable: ['evidence.*']}}",
            "name the check without wildcards",
        ),
    ],
)
def test_empty_stages_and_catch_all_waivers_are_refused_and_ledgered(
    app: Application, people: dict[str, Actor], stages: str, problem: str
) -> None:
    text_ = f"format: steward.policy/v1\nname: quiet\npriority: 1000\nstages: {stages}\n"
    with pytest.raises(InvalidInput, match=problem):
        app.policies.apply(people["sofia"], text_, "quiet.yaml")
    with app.store.read() as reader:
        assert reader.policies() == []
    assert _refusals(app, "policy.apply")[-1]["code"] == "invalid_input"


# --- 3. judgement parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    "param", [{"four_fifths": 0.0001}, {"intersections": False}, {"min_group_size": 1}]
)
def test_fairness_evidence_run_with_a_laxer_parameter_does_not_count(
    app: Application, people: dict[str, Actor], model: str, param: dict[str, Any]
) -> None:
    app.evidence.run(people["dana"], model, ["fairness"], params={"fairness": param})
    decision, _ = app.policies.gate(people["eli"], model, "production")
    presence = _rule(decision, "evidence.fairness")
    (name,) = param
    assert presence.outcome is Outcome.FAIL
    assert "no fairness evidence produced with the policy's parameters" in presence.reason
    assert f"{name}=" in presence.reason


@pytest.mark.parametrize(
    ("check", "param"),
    [
        ("fairness", {"min_group_size": -5}),
        ("fairness", {"four_fifths": 7}),
        ("fairness", {"bins": 0}),
        ("robustness", {"seed": -1}),
        ("explainability", {"rows": 0}),
    ],
)
def test_nonsense_check_parameters_are_refused_before_anything_runs(
    app: Application, people: dict[str, Actor], model: str, check: str, param: dict[str, Any]
) -> None:
    before = _events(app)
    with pytest.raises(InvalidInput, match=f"{check}.{next(iter(param))}"):
        app.evidence.run(people["dana"], model, [check], params={check: param})
    assert _events(app) == before


# --- 4. approvals are bound to the card ----------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"intended_use": "pretrial detention decisions"},
        {"limitations": ""},
        {"owner": "eli"},
        {"tags": {"env": "prod"}},
        {"risk_tier": "high"},
    ],
)
def test_approvals_lapse_when_the_card_the_policy_reads_changes(
    app: Application, people: dict[str, Actor], model: str, change: dict[str, Any]
) -> None:
    app.models.update(people["sofia"], "credit-model", {"risk_tier": "limited"})
    app.models.update(
        people["dana"], "credit-model", {"intended_use": "research only", "limitations": "x"}
    )
    for steward in ("sofia", "sam"):
        app.governance.approve(people[steward], model, "production")
    before = _rule(app.policies.gate(people["eli"], model, "production")[0], "approvals.steward")
    assert before.outcome is Outcome.PASS
    app.models.update(people["dana"], "credit-model", change)
    after = _rule(app.policies.gate(people["eli"], model, "production")[0], "approvals.steward")
    assert after.outcome is Outcome.FAIL and "lapsed" in after.reason


# --- 5. shedding a tier ----------------------------------------------------------------------


def test_the_author_may_not_lower_their_models_tier_even_as_a_steward(
    app: Application, people: dict[str, Actor]
) -> None:
    ines = people["ines"]
    app.datasets.register(
        ines, credit_frame(rows=240), name="credit", target="approved", sensitive=["group"]
    )
    app.training.train(ines, TrainingRequest(checks=False, dataset="credit", name="ines-model"))
    assert app.models.model(ines, "ines-model").risk_tier is RiskTier.HIGH
    with pytest.raises(PermissionDenied, match="ines authored ines-model and may not lower"):
        app.models.update(ines, "ines-model", {"risk_tier": "limited"})
    assert app.models.model(ines, "ines-model").risk_tier is RiskTier.HIGH
    assert _refusals(app, "model.update")[-1]["actor"] == "ines"
    # retraining under a new name starts at the data's tier again
    app.training.train(ines, TrainingRequest(checks=False, dataset="credit", name="fresh-name"))
    assert app.models.model(ines, "fresh-name").risk_tier is RiskTier.HIGH
    # a steward who did not author it may
    assert app.models.update(people["sofia"], "ines-model", {"risk_tier": "limited"}).risk_tier
    assert app.audit.verify(people["admin"]).ok


# --- 6. evidence from the author's own process -----------------------------------------------


def test_a_check_patched_in_the_authors_process_is_caught_and_a_reproduction_disagrees(
    app: Application,
    people: dict[str, Actor],
    model: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from steward.checks._fairness import Fairness
    from steward.services.evidence import _check_code

    honest = Fairness._summary

    def flattering(self: Any, y_true: Any, y_pred: Any, groups: Any) -> dict[str, Any]:
        summary = honest(self, y_true, y_pred, groups)
        return {**summary, "disparate_impact_ratio": 0.95}

    monkeypatch.setattr(Fairness, "_summary", flattering)
    (naive,) = app.evidence.run(people["dana"], model, ["fairness"])
    assert naive.provenance["code_matches_source"] is False
    presence = _rule(app.policies.gate(people["eli"], model, "production")[0], "evidence.fairness")
    assert "computed by code that differs from the installed check's source" in presence.reason

    # a careful attacker also patches what reports the code: only a reproduction catches it
    real = _check_code.check_provenance
    monkeypatch.setattr(
        _check_code,
        "check_provenance",
        lambda cls: {**real(cls), "code_matches_source": True, "code_differs": []},
    )
    (forged,) = app.evidence.run(people["dana"], model, ["fairness"])
    assert forged.metrics["min_disparate_impact_ratio"] == 0.95
    presence = _rule(app.policies.gate(people["eli"], model, "production")[0], "evidence.fairness")
    assert presence.outcome is Outcome.FAIL and "is not reproduced" in presence.reason
    monkeypatch.undo()

    with pytest.raises(PermissionDenied, match="may not reproduce it"):
        app.evidence.reproduce(people["dana"], model, ["fairness"])
    (result,) = app.evidence.reproduce(people["sofia"], model, ["fairness"])
    assert not result.agrees and result.record.inputs["reproduces"] == forged.id
    assert any("disparate_impact_ratio" in d for d in result.differences)
    presence = _rule(app.policies.gate(people["eli"], model, "production")[0], "evidence.fairness")
    assert "with different results" in presence.reason and "does not count" in presence.reason

    # honest evidence, reproduced by another identity, counts
    (fresh,) = app.evidence.run(people["dana"], model, ["fairness"])
    (agreed,) = app.evidence.reproduce(people["sam"], model, ["fairness"])
    assert agreed.agrees and agreed.original.id == fresh.id
    presence = _rule(app.policies.gate(people["eli"], model, "production")[0], "evidence.fairness")
    assert presence.outcome is Outcome.PASS and "reproduced by sam" in presence.reason
    assert fresh.provenance["steward"] and fresh.provenance["source_sha256"]
    assert app.audit.verify(people["admin"]).ok


# --- 7. sock puppets -------------------------------------------------------------------------


def test_approvals_by_identities_the_author_created_count_for_nothing(
    app: Application, people: dict[str, Actor], admin: Actor
) -> None:
    _, token = app.identity.add_user(admin, "mallory", ["admin", "data_scientist"])
    mallory = app.authenticate(token)
    app.datasets.register(
        mallory, credit_frame(rows=240), name="credit", target="approved", sensitive=["group"]
    )
    ref = app.training.train(
        mallory, TrainingRequest(checks=False, dataset="credit", name="m-model")
    ).version.ref
    puppets = []
    for name in ("puppet-a", "puppet-b"):
        _, puppet_token = app.identity.add_user(mallory, name, ["steward"])
        puppets.append(app.authenticate(puppet_token))
    for puppet in puppets:
        app.governance.approve(puppet, ref, "production")
    rule = _rule(app.policies.gate(people["eli"], ref, "production")[0], "approvals.steward")
    assert rule.outcome is Outcome.FAIL and rule.data["approvers"] == []
    assert rule.data["discounted"] == ["puppet-a", "puppet-b"]
    assert "got their identity or token from the author" in rule.reason

    # a token reset by the author makes a real steward's approval count for nothing too
    _, reset = app.identity.issue_token(mallory, "sofia")
    with pytest.raises(AuthenticationError, match="revoked"):  # her old token is dead
        app.governance.comment(people["sofia"], ref, "with my old token")
    sofia = app.authenticate(reset)
    app.governance.approve(sofia, ref, "production")
    rule = _rule(app.policies.gate(people["eli"], ref, "production")[0], "approvals.steward")
    assert "sofia" in rule.data["discounted"]
    with app.store.read() as reader:
        (reset_event,) = reader.events_of_types("token.reset")
    assert reset_event.actor == "mallory" and reset_event.payload["user"] == "sofia"
    assert reset_event.payload["revoked"]


def test_an_admins_token_reset_is_flagged_on_the_users_approvals(
    app: Application, people: dict[str, Actor], model: str
) -> None:
    old = people["sam"]
    _, token = app.identity.issue_token(people["admin"], "sam")
    with pytest.raises(AuthenticationError, match="revoked"):
        app.governance.comment(old, model, "with the token the reset revoked")
    sam = app.authenticate(token)
    approval = app.governance.approve(sam, model, "production")
    assert approval.token_reset_by == "admin"
    rule = _rule(app.policies.gate(people["eli"], model, "production")[0], "approvals.steward")
    assert rule.data["reset_tokens"] == ["sam (token reset by admin)"]
    assert "approved with a reset token" in rule.reason


# --- 9. identities are anchored in the ledger ------------------------------------------------


def _sql(app: Application, statement: str, **params: Any) -> None:
    with app.store.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_a_token_row_inserted_in_the_database_does_not_authenticate_and_verify_fails(
    app: Application, people: dict[str, Actor]
) -> None:
    from steward.services.identity._service import hash_token, new_token

    token_id, token = new_token()
    with app.store.read() as reader:
        sofia = reader.user("sofia")
    assert sofia is not None
    _sql(
        app,
        "INSERT INTO api_tokens (id, user_id, secret_hash, created_at) "
        "VALUES (:id, :user, :secret, :at)",
        id=token_id,
        user=sofia.id,
        secret=hash_token(token),
        at=sofia.created_at.replace(tzinfo=None),
    )
    with pytest.raises(AuthenticationError, match="has no ledger record"):
        app.authenticate(token)
    result = app.audit.verify(people["admin"])
    assert not result.ok and f"API token {token_id} of sofia has no ledger event" in (
        result.problem or ""
    )


def test_a_role_granted_in_the_database_stops_the_user_and_fails_verify(
    app: Application, people: dict[str, Actor]
) -> None:
    _sql(
        app,
        "INSERT INTO user_roles (user_id, role) VALUES (:user, 'admin')",
        user=people["dana"].user_id,
    )
    with pytest.raises(LedgerTampered, match="roles of dana"):
        app.authenticate(app.identity.issue_token(people["dana"])[1])
    result = app.audit.verify(people["admin"])
    assert not result.ok and "role(s) admin granted outside the ledger" in (result.problem or "")


def test_a_deleted_user_is_detected(app: Application, people: dict[str, Actor]) -> None:
    _sql(app, "DELETE FROM users WHERE name = 'audra'")
    result = app.audit.verify(people["admin"])
    assert not result.ok and "user audra recorded by event" in (result.problem or "")


# --- 13. revocation reaches a running command ------------------------------------------------


def test_a_training_whose_token_is_revoked_midway_records_nothing_more(
    app: Application, people: dict[str, Actor]
) -> None:
    dana = people["dana"]
    app.datasets.register(
        dana, credit_frame(rows=240), name="credit", target="approved", sensitive=["group"]
    )
    revoked: list[bool] = []

    def revoke(_update: Any) -> None:
        if not revoked:
            app.identity.revoke_token(people["admin"], dana.token_id or "")
            revoked.append(True)

    with pytest.raises(AuthenticationError, match="revoked"):
        app.training.train(
            dana,
            TrainingRequest(checks=False, dataset="credit", name="late-model", trials=3),
            progress=revoke,
        )
    with app.store.read() as reader:
        assert reader.model("late-model") is None
        running = [r for r in reader.runs(limit=None) if r.status.value == "running"]
    assert running  # the run could not even be closed with the revoked token
    # its owner's new token, or an admin, closes it
    closed = app.runs.fail(people["admin"], running[0].id, "token revoked mid-training")
    assert closed.status.value == "failed"
    assert app.audit.verify(people["admin"]).ok


# --- 14. out-of-range input and a forged event -----------------------------------------------


def test_out_of_range_references_and_seeds_are_input_errors(
    app: Application, people: dict[str, Actor], model: str
) -> None:
    with pytest.raises(InvalidInput, match="out of range"):
        app.models.get(people["eli"], "credit-model@99999999999999999999")
    with pytest.raises(InvalidInput, match="seed must be a whole number from 0 to 4294967295"):
        app.training.train(
            people["dana"],
            TrainingRequest(checks=False, dataset="credit", name="x", seed=4294967296),
        )


def test_a_write_after_a_forged_event_is_refused_as_tampering(
    app: Application, people: dict[str, Actor]
) -> None:
    with app.store.read() as reader:
        head = reader.head()
    assert head is not None
    _sql(
        app,
        "INSERT INTO ledger_events (seq, ts, type, actor, subject, body, leaf_hash) "
        "VALUES (:seq, 'x', 'user.created', 'admin', NULL, '{}', :leaf)",
        seq=head.size + 1,
        leaf=b"\0" * 32,
    )
    with pytest.raises(LedgerTampered, match="does not cover"):
        app.identity.add_user(people["admin"], "zed", ["auditor"])


def test_three_processes_registering_identical_content_make_one_version(
    app: Application, people: dict[str, Actor], settings: Any, home: Any
) -> None:
    import threading

    frame = credit_frame(rows=240)
    token = app.identity.issue_token(people["dana"])[1]
    start = threading.Barrier(3)
    created: list[bool] = []

    def register() -> None:
        with Application.open(settings) as own:
            actor = own.authenticate(token)
            start.wait()
            result = own.datasets.register(
                actor, frame, name="same", target="approved", sensitive=["group"]
            )
            created.append(result.created)

    threads = [threading.Thread(target=register) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == [False, False, True]
    with app.store.read() as reader:
        assert [v.ref for v in reader.dataset_versions("same")] == ["same@1"]
    assert app.audit.verify(people["admin"]).ok


# --- 12. destructive init ----------------------------------------------------------------------


def test_init_force_needs_an_admin_token_of_the_store_and_a_confirmation_naming_it(
    app: Application, people: dict[str, Actor], settings: Any, tmp_path: Any
) -> None:
    from steward.app import initialize
    from steward.app._reinit import store_label
    from steward.settings import Settings

    label = store_label(settings)
    # from another, empty folder pointed at the same store (PostgreSQL), or at the home
    elsewhere = Settings(home=tmp_path / "elsewhere", db_url=settings.db_url)
    target = elsewhere if settings.db_url else settings
    with pytest.raises(AuthenticationError):
        initialize(target, force=True, token="stw_not_a_token", confirm=label)
    dana_token = app.identity.issue_token(people["dana"])[1]
    with pytest.raises(PermissionDenied, match="needs an admin"):
        initialize(target, force=True, token=dana_token, confirm=label)
    admin_token = app.identity.issue_token(people["admin"])[1]
    with pytest.raises(InvalidInput, match=re.escape(f"confirm with --confirm {label}")):
        initialize(target, force=True, token=admin_token, confirm="yes")
    assert app.audit.verify(people["admin"]).ok  # nothing was touched

    if not settings.db_url:
        (settings.home / "notes.txt").write_text("mine")  # not Steward's: it stays
    app.close()
    result = initialize(target, force=True, token=admin_token, confirm=label)
    with Application.open(target) as fresh:
        actor = fresh.authenticate(result.token)
        with fresh.store.read() as reader:
            (started,) = reader.events_of_types("ledger.started")
            assert reader.user("dana") is None
        assert started.payload["replaces"]["store"] == label
        assert started.payload["replaces"]["by"] == "admin"
        assert fresh.audit.verify(actor).ok
    if not settings.db_url:
        assert (settings.home / "notes.txt").read_text() == "mine"


def test_init_force_on_a_forged_marker_deletes_only_what_steward_creates(tmp_path: Any) -> None:
    from steward.app import initialize
    from steward.settings import Settings

    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "steward.json").write_text('{"format": "steward.home/v1"}')
    (folder / "thesis.tex").write_text("years of work")
    (folder / "data").mkdir()
    (folder / "data" / "raw.csv").write_text("a,b\n1,2\n")
    initialize(Settings(home=folder), force=True)
    assert (folder / "thesis.tex").read_text() == "years of work"
    assert (folder / "data" / "raw.csv").exists()


# --- 10. artifacts: a swapped or deleted model file fails the gate ------------------------------


@pytest.mark.parametrize("how", ["swapped", "deleted"])
def test_a_gate_refuses_a_version_whose_model_file_was_swapped_or_deleted(
    app: Application, people: dict[str, Actor], model: str, how: str
) -> None:
    import os

    version = app.models.get(people["eli"], model)
    assert _rule(app.policies.gate(people["eli"], model, "production")[0], "evidence.fairness")
    assert "artifact" not in {
        r.id for r in app.policies.gate(people["eli"], model, "production")[0].rules
    }
    path = app.artifacts._path(version.artifact)
    os.chmod(path, 0o600)
    if how == "swapped":
        with open(path, "wb") as handle:
            handle.write(b"a model the approvers never saw")
    else:
        os.remove(path)
    decision, _ = app.policies.gate(people["eli"], model, "production")
    artifact = _rule(decision, "artifact")
    expected = "does not match its hash" if how == "swapped" else "is missing"
    assert artifact.outcome is Outcome.FAIL and expected in artifact.reason
    with pytest.raises(Refused, match="artifact"):
        app.governance.promote(people["eli"], model, "staging")
