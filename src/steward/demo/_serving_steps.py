"""Demo steps for serving: deploying through the gate, the biased model refused, a real
server on a loopback port with scoped tokens, validation, metrics and the prediction log
(PII keyed-hashed), then a canary and a rollback reaching the running server."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from steward.demo._data_steps import escape
from steward.demo._governance_steps import BIASED
from steward.demo._model_steps import MODEL, TRIALS
from steward.demo._server import DemoServer, ServeProcess, ThreadServer
from steward.errors import Refused

if TYPE_CHECKING:
    from steward.demo._walkthrough import DemoContext

__all__ = [
    "ENDPOINT",
    "SETTLE_SECONDS",
    "step_canary",
    "step_deploy",
    "step_serve",
    "step_stop",
    "stop_server",
]

ENDPOINT = "loans"
# once one worker serves a change, the others have within one poll of the ledger's head
SETTLE_SECONDS = 1.5


def _say(ctx: DemoContext, text: str) -> None:
    ctx.console.print(text, highlight=False)


def step_deploy(ctx: DemoContext) -> None:
    eli = ctx.actors["eli"]
    ref = ctx.models[MODEL]
    state, _ = ctx.app.deployments.deploy(eli, ref, ENDPOINT)
    _say(
        ctx,
        f"eli deploys {ref} to endpoint [bold]{ENDPOINT}[/] (steward deploy): its production "
        f"gate is evaluated again, now; passes; state {state.seq}, one ledger event",
    )
    try:
        ctx.app.deployments.deploy(eli, f"{BIASED}@1", ENDPOINT, canary=10)
    except Refused as exc:
        failed = [r["id"] for r in exc.details["decision"]["rules"] if r["outcome"] == "fail"]
        _say(
            ctx,
            f"eli tries to put the biased {BIASED}@1 beside it as a 10% canary: [red]refused[/] "
            f"(exit 1) — failing {', '.join(failed[:4])}; nothing changed, the attempt is ledgered",
        )


def _rows(ctx: DemoContext, count: int) -> list[dict[str, Any]]:
    x, _, _ = ctx.app.models.load_split(ctx.actors["eli"], ctx.models[MODEL], "test")
    frame = x.head(count).astype(object)
    return [
        {k: (None if v != v else v) for k, v in row.items()} for row in frame.to_dict("records")
    ]


def _score(server: DemoServer, body: Any, token: str, query: str = "") -> tuple[int, Any]:
    """One scoring request, repeated while the worker it reached has not loaded the endpoint
    yet (each of ``steward serve``'s workers picks a deployment up within the bound)."""
    deadline = time.monotonic() + 30
    while True:
        status, answer = server.call(f"/predict/{ENDPOINT}{query}", body, token)
        if status not in (404, 503) or time.monotonic() > deadline:
            return status, answer
        time.sleep(0.2)


def stop_server(ctx: DemoContext) -> None:
    server = ctx.extras.pop("server", None)
    if server is not None:
        server.stop()


def step_serve(ctx: DemoContext) -> None:
    eli = ctx.actors["eli"]
    record, token = ctx.app.identity.issue_token(eli, scopes=[f"predict:{ENDPOINT}"])
    ctx.tokens["portal"] = token
    server = ctx.extras.get("server")
    if server is None:
        server = ThreadServer(ctx.settings, ctx.tokens["eli"])
        server.start()
        ctx.extras["server"] = server
        opening = f"eli starts the model server (steward serve) on {server.url}"
    else:
        opening = f"the running server on {server.url} has picked the deployment up"
    deadline = time.monotonic() + 30
    while True:
        _status, ready = server.call("/readyz")
        loaded = ready["endpoints"].get(ENDPOINT, {}).get("serving")
        if loaded or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    serving = ready["endpoints"][ENDPOINT]["serving"][0]["version"]
    _say(
        ctx,
        f"{opening}: ready, {ENDPOINT} serves {serving} — loaded only because its artifact hash "
        "matches and its gate passes now",
    )
    _say(
        ctx,
        f"  the loan portal gets a scoped token ({record.id}, scope predict:{ENDPOINT}): it can "
        "score, and nothing else",
    )
    rows = _rows(ctx, 50)
    ids: list[str] = []
    started = time.perf_counter()
    for start in range(0, 50, 5):
        body = {
            "instances": rows[start : start + 5],
            "context": {"email": f"applicant{start}@example.org", "entity_id": f"app-{start}"},
        }
        status, answer = _score(server, body, token)
        assert status == 200, answer
        ids += answer["request_ids"]
    elapsed = time.perf_counter() - started
    first = answer["predictions"][0]
    _say(
        ctx,
        f"  50 applications scored in 10 requests ({elapsed * 1000:.0f} ms); one answer: "
        f"{escape(json.dumps(first))} from {answer['model']}",
    )
    started = time.perf_counter()
    _status, answer = _score(server, {"instances": rows[:1]}, token, "?explain=true")
    took = (time.perf_counter() - started) * 1000
    explanation = answer["predictions"][0]["explanation"]
    top = ", ".join(f"{c['input']} {c['contribution']:+.3f}" for c in explanation["top"][:3])
    _say(
        ctx,
        f"  with ?explain=true ({took:.0f} ms, {explanation['explainer']} SHAP against the "
        f"background its explainability evidence stored): top contributions {top} "
        f"({explanation['units']})",
    )
    status, refused = _score(server, {"instances": rows[:1]}, ctx.tokens["eli"])
    _say(ctx, f"  eli's own (unscoped) token: {status} — {escape(refused['error']['message'])}")
    version = ctx.app.models.get(eli, ctx.models[MODEL])
    number = next(i["name"] for i in version.signature["inputs"] if i["kind"] == "numeric")
    bad = {"instances": [{**rows[0], number: "a lot", "zip": "02139"}]}
    status, refused = _score(server, bad, token)
    problems = ", ".join(
        f"{e['field']} ({e['problem']})" for e in refused["error"]["details"]["errors"]
    )
    _say(ctx, f"  a malformed application: {status}, naming each bad field: {problems}")
    _status, metrics = server.call("/metrics")
    wanted = ("steward_requests_total{", "steward_predictions_total{")
    for line in str(metrics).splitlines():
        if line.startswith(wanted) and f'endpoint="{ENDPOINT}"' in line:
            _say(ctx, f"  /metrics: {line}")
    frame = ctx.app.predictions.read(ctx.actors["audra"], ENDPOINT)
    context = json.loads(frame["context"][0])
    _say(
        ctx,
        f"  the prediction log holds {frame.height} records, each durable before its answer was "
        f"sent; the applicant's email and id are keyed hashes: email={context['email'][:30]}…",
    )


def step_canary(ctx: DemoContext) -> None:
    from steward.services import TrainingRequest

    dana, eli, sofia = ctx.actors["dana"], ctx.actors["eli"], ctx.actors["sofia"]
    server = ctx.extras["server"]
    token = ctx.tokens["portal"]
    stable = ctx.models[MODEL]
    # The same recipe again (template, trials, seed): a reproducible build, a new version with
    # its own evidence; the default checks run, as `steward train` runs them.
    recipe = TrainingRequest(dataset="loans@1", name=MODEL, template="hgb", trials=TRIALS, seed=7)
    candidate = ctx.app.training.train(dana, recipe).version.ref
    ctx.app.evidence.reproduce(sofia, candidate, ["performance", "fairness"])
    for steward in ("sofia", "sam"):
        ctx.app.governance.approve(ctx.actors[steward], candidate, "production", "reviewed")
    _say(
        ctx,
        f"dana retrains with the same recipe: {candidate}, its evidence recorded, reproduced by "
        "sofia, approved by sofia and sam",
    )
    ctx.app.deployments.deploy(eli, candidate, ENDPOINT, canary=20)
    rows = _rows(ctx, 1)

    def served(count: int) -> dict[str, int]:
        seen: dict[str, int] = {}
        for i in range(count):
            body = {"instances": rows, "key": f"applicant-{i}"}
            _status, answer = server.call(f"/predict/{ENDPOINT}", body, token)
            seen[answer["model"]] = seen.get(answer["model"], 0) + 1
        return seen

    deadline = time.monotonic() + 30
    while candidate not in served(10) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(SETTLE_SECONDS)
    counts = served(200)
    _say(
        ctx,
        f"eli deploys it as a 20% canary (steward deploy {candidate} --endpoint {ENDPOINT} "
        f"--canary 20); the running server picks it up without a restart: of 200 applicants, "
        + ", ".join(f"{n} to {v}" for v, n in sorted(counts.items()))
        + " (sticky per applicant key)",
    )
    state = ctx.app.deployments.rollback(eli, ENDPOINT)
    deadline = time.monotonic() + 30
    while served(10) != {stable: 10} and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(SETTLE_SECONDS)
    after = served(20)
    _say(
        ctx,
        f"a concern is raised; eli rolls back (steward rollback {ENDPOINT}): state {state.seq} "
        f"restores state {state.restores}; the server answers from "
        + ", ".join(sorted(after))
        + " again, in one ledgered step",
    )
    history = ctx.app.deployments.history(eli, ENDPOINT)
    _say(
        ctx,
        "  endpoint history: "
        + " → ".join(f"{s.seq} {s.action}" for s in history)
        + "; `steward endpoint history loans --at TIME` answers what served it at any moment",
    )


def step_stop(ctx: DemoContext) -> None:
    server = ctx.extras.get("server")
    stop_server(ctx)
    _say(ctx, "eli stops the server: its open log segment is sealed and its digest anchored")
    if isinstance(server, ServeProcess):
        # remote: the steps that follow are API calls, so the server starts again
        server.start()
        ctx.extras["server"] = server
        _say(ctx, f"  and starts it again (pid {server.pid}): the audit steps below ask it")
