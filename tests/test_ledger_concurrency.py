"""Several processes appending at once keep a gapless sequence and a valid tree."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from steward.app import Application, InitResult
from steward.settings import Settings

PROCESSES = 8
# Enough appends per process that all eight contend for the ledger head throughout.
EVENTS_EACH = 250


def _append(home: str, db_url: str | None, token: str, count: int) -> int:
    settings = Settings(home=Path(home), db_url=db_url)
    with Application.open(settings) as app:
        actor = app.authenticate(token)
        for _ in range(count):
            app.identity.issue_token(actor, actor.name)
    return count


@pytest.mark.slow
def test_eight_processes_appending_leave_a_gapless_verified_ledger(
    settings: Settings, home: InitResult
) -> None:
    context = multiprocessing.get_context("spawn")
    args = [(str(settings.home), settings.db_url, home.token, EVENTS_EACH)] * PROCESSES
    with context.Pool(PROCESSES) as pool:
        done = pool.starmap(_append, args)
    assert sum(done) == PROCESSES * EVENTS_EACH

    with Application.open(settings) as app:
        admin = app.authenticate(home.token)
        with app.store.read() as reader:
            seqs = [row[0] for row in reader.event_rows()]
        result = app.audit.verify(admin)
        tokens = app.identity.list_tokens(admin, "admin")
    expected = 2 + PROCESSES * EVENTS_EACH  # init's two events, then every append
    assert seqs == list(range(1, expected + 1))
    assert result.ok, result.problem
    assert result.tree_size == expected
    assert len(tokens) == 1 + PROCESSES * EVENTS_EACH
