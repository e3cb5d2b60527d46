"""What moves a model server to rebuild what it serves: any governed change, not the
prediction log's own anchors (``DeploymentService.ledger_change``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from steward.app import Application
from steward.domain import Actor
from steward.errors import AuthenticationError
from steward.logs import PredictionLog, PredictionRecord, record_time
from steward.serving import ServerState
from steward.serving._metrics import Metrics
from steward.testing import make_home


def _seal_one(app: Application, actor: Actor) -> None:
    """One record written, its segment sealed and anchored: one ``predictions.sealed``."""
    sealed: list[Any] = []
    with PredictionLog(app.predictions.root, on_sealed=sealed.append) as log:
        record = PredictionRecord(
            "r1", record_time(), "credit", "m@1", {"x": 1.0}, {}, {"prediction": 1}, 1.0
        )
        log.submit([record]).result()
    (segment,) = sealed
    assert app.predictions.anchor(actor, segment)


def test_sealed_segments_move_the_head_but_rebuild_nothing_and_a_revocation_still_counts(
    tmp_path: Path,
) -> None:
    home = make_home(tmp_path / "home", role="ml_engineer", user="eli")
    with Application.open(home.settings) as app:
        eli = app.authenticate(home.token)
        state = ServerState(app, eli, metrics=Metrics(), reload_seconds=3600.0)
        assert state.refresh(force=True)
        assert not state.refresh()  # nothing moved
        token, secret = app.identity.issue_token(eli, scopes=["predict:credit"])
        assert state.refresh()  # a token issued is an identity change
        assert state.authenticate(secret).name == "eli"  # now cached
        rebuilds = state.rebuilds

        head = app.audit.head(eli)
        _seal_one(app, eli)
        _seal_one(app, eli)
        moved = app.audit.head(eli)
        assert head is not None and moved is not None and moved.size == head.size + 2
        assert not state.refresh()  # the log's bookkeeping alone
        assert state.rebuilds == rebuilds
        assert app.deployments.ledger_change((moved.size, moved.root_hash)) == (
            (moved.size, moved.root_hash),
            False,
        )
        # pruning is bookkeeping too
        assert len(app.predictions.prune(eli, 183, today=date(2099, 1, 1))) == 2
        assert not state.refresh()

        app.identity.revoke_token(eli, token.id)
        _seal_one(app, eli)  # a seal beside it hides nothing
        assert state.refresh()
        assert state.rebuilds == rebuilds + 1
        with pytest.raises(AuthenticationError):
            state.authenticate(secret)  # the cache was emptied


def test_a_head_not_ahead_of_the_last_one_seen_counts_as_a_change(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", role="ml_engineer", user="eli")
    with Application.open(home.settings) as app:
        eli = app.authenticate(home.token)
        head = app.audit.head(eli)
        assert head is not None
        now = (head.size, head.root_hash)
        assert app.deployments.ledger_change(now) == (now, False)
        assert app.deployments.ledger_change(None) == (now, True)  # nothing seen yet
        other = (head.size, bytes(32))  # the same size, another root: a history rewritten
        assert app.deployments.ledger_change(other) == (now, True)
        assert app.deployments.ledger_change((head.size + 5, head.root_hash)) == (now, True)
