"""What every edge may count on from the services: product behaviour lives in the services
(``steward.train()`` checks like ``steward train``), errors name fields and each edge words
them, notifications are sent when the edge says, and one application serves many threads."""

from __future__ import annotations

import ast
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import steward
from conftest import Run
from steward.app import Application, InitResult, open_session
from steward.domain import Actor
from steward.errors import InvalidInput
from steward.samples import LOANAPP_TARGET, loanapp
from steward.settings import Settings

PACKAGE = Path(steward.__file__).parent


# One backend is enough: what is checked is which code path runs, not how rows are stored.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_sdk_trains_like_the_command_and_runs_the_default_checks(sdk_env: Settings) -> None:
    table = loanapp()
    dataset = steward.register_dataset(table, name="loans", target=LOANAPP_TARGET)
    version = steward.train(dataset=dataset.ref, name="loans-model")
    bare = steward.train(dataset=dataset.ref, name="loans-bare", checks=False)
    with open_session() as (app, actor):
        checked = sorted(
            record.check_id for record in app.evidence.list_evidence(actor, version.ref)
        )
        assert app.evidence.list_evidence(actor, bare.ref) == []
        # the same checks `steward check run` picks by default, run by hand on the bare one
        by_hand = sorted(record.check_id for record in app.evidence.run(actor, bare.ref))
    assert checked == by_hand and "performance" in checked and "fairness" in checked


def test_errors_name_fields_and_the_command_line_words_them_as_flags(
    app: Application, admin: Actor, home: InitResult, cli: Run
) -> None:
    with pytest.raises(InvalidInput) as caught:
        app.audit.log(admin, limit=0)
    assert caught.value.message == "limit must be at least 1, not 0"
    assert caught.value.details == {"field": "limit"}
    assert caught.value.to_dict()["error"]["message"] == "limit must be at least 1, not 0"
    assert caught.value.render({"limit": "?limit="}) == "?limit= must be at least 1, not 0"
    with pytest.raises(InvalidInput, match=r"^a user needs at least one role$"):
        app.identity.add_user(admin, "carol", [])
    # the command line says the same in its own words
    result = cli("audit", "log", "--limit", "0", token=home.token)
    assert result.code == 2
    assert result.stderr == "error: --limit must be at least 1, not 0\n"


def test_an_unnamed_placeholder_is_left_as_written() -> None:
    # Only fields the error names are substituted: braces in a value stay as they are.
    error = InvalidInput("{limit} of {'a': 1} is {other}", details={"field": "limit"})
    assert error.message == "limit of {'a': 1} is {other}"


_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
_ADVICE = re.compile(r"`[^`]*`")  # `steward gate REF --stage STAGE`: a command to run


def _message_literals(path: Path) -> Iterator[tuple[int, str]]:
    source = path.read_text()
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        literal = isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, str)
        )
        if literal and isinstance(node, ast.expr) and id(node) not in docstrings:
            yield node.lineno, ast.get_source_segment(source, node) or ""


def test_no_service_message_names_a_command_line_flag() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {_FLAG.search(_ADVICE.sub('', text))}"
        for path in sorted((PACKAGE / "services").rglob("*.py"))
        for line, text in _message_literals(path)
        if _FLAG.search(_ADVICE.sub("", text))
    ]
    assert found == []


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        _Hook.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[str]:
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def _small_model(app: Application, author: Actor) -> str:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    estimator = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    return app.models.register_estimator(author, estimator, name="tiny", features=["a", "b"]).ref


def test_a_server_defers_webhook_delivery_to_its_own_loop(
    settings: Settings, home: InitResult, admin: Actor, app: Application, hook_url: str
) -> None:
    _, dana_token = app.identity.add_user(admin, "dana", ["data_scientist"])
    _, sofia_token = app.identity.add_user(admin, "sofia", ["steward"])
    sofia = app.authenticate(sofia_token)
    app.webhooks.add(sofia, hook_url, ["version.rejected"])
    with Application.open(settings, delivery="deferred") as server:
        ref = _small_model(server, server.authenticate(dana_token))
        steward_ = server.authenticate(sofia_token)
        server.governance.reject(steward_, ref, "production", "not yet")
        # the request returned without posting: the delivery waits for the server's loop
        assert _Hook.received == []
        assert server.notifier.pending  # type: ignore[union-attr]
        (delivery,) = server.webhooks.log(steward_)
        assert delivery.state == "pending" and delivery.attempts == 0
        (sent,) = server.notifier.run_pending()  # type: ignore[union-attr]
        assert sent.state == "delivered" and len(_Hook.received) == 1
        assert server.notifier.run_pending() == []  # type: ignore[union-attr]
    # the command line's application sends at once, as before
    app.governance.reject(sofia, ref, "production", "still not")
    assert len(_Hook.received) == 2
    with pytest.raises(InvalidInput, match="unknown delivery"):
        Application(settings, app.store, delivery="later")  # type: ignore[arg-type]


def test_one_application_serves_many_threads(app: Application, admin: Actor) -> None:
    """A threaded server shares one application: services are built once, writes from many
    threads interleave into one ledger that verifies, on both backends."""
    fresh = Application(app.settings, app.store)
    built: list[object] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(index: int) -> None:
        try:
            start.wait()
            built.append(fresh.identity)
            built.append(fresh.governance)
            _, token = fresh.identity.add_user(admin, f"user{index}", ["steward"])
            actor = fresh.authenticate(token)
            fresh.identity.issue_token(actor)
            assert fresh.audit.log(actor, limit=5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len({id(service) for service in built[0::2]}) == 1
    assert len({id(service) for service in built[1::2]}) == 1
    assert {user.name for user in app.identity.list_users(admin)} >= {
        f"user{index}" for index in range(8)
    }
    assert app.audit.verify(admin).ok
