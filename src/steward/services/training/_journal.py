"""Optuna's journal storage kept in Steward's database.

Optuna's journal storage replays an append-only log of operations in memory, so a trial
costs one small append per operation instead of the many ORM round trips of its RDB storage
(measured in docs/benchmarks.md). Each study is its own log in the store's ``tuning_journal``
table; any process that can open the store (another worker on this machine, or on another
machine sharing the PostgreSQL server) joins the study by replaying its log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend

from steward.store import Store

__all__ = ["StoreJournal", "journal_storage"]


class StoreJournal(BaseJournalBackend):
    """One study's journal in the store (process-safe: appends are serialized per study)."""

    def __init__(self, store: Store, study: str) -> None:
        self._store = store
        self._study = study

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        return self._store.journal_read(self._study, log_number_from)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        if logs:
            self._store.journal_append(self._study, logs)


def journal_storage(store: Store, study: str) -> Any:
    return JournalStorage(StoreJournal(store, study))
