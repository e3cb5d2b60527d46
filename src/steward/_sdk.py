"""The Python SDK: module-level functions over the embedded application.

Each call reads the settings (``STEWARD_*``), opens the home, authenticates with the token in
``STEWARD_TOKEN`` or the one saved by ``steward init``/``login``, and closes the home again:
exactly what the CLI does, so the SDK and CLI obey the same permissions and ledger rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from steward.domain import Actor, DatasetVersion
from steward.errors import InvalidInput
from steward.services import Application
from steward.settings import Settings

__all__ = ["load_dataset", "register_dataset"]


@contextmanager
def _session(settings: Settings | None) -> Iterator[tuple[Application, Actor]]:
    app = Application.open(settings or Settings())
    try:
        yield app, app.authenticate()
    finally:
        app.close()


def register_dataset(
    data: Any,
    *,
    name: str,
    target: str | None = None,
    sensitive: Sequence[str] = (),
    missing: str = "impute",
    settings: Settings | None = None,
) -> DatasetVersion:
    """Register a pandas or polars DataFrame (or a CSV/Parquet path) as a dataset version.

    Returns the new version, or the existing one when the same table with the same
    declarations is already registered under ``name``.
    """
    with _session(settings) as (app, actor):
        result = app.datasets.register(
            actor, data, name=name, target=target, sensitive=sensitive, missing=missing
        )
    return result.version


def load_dataset(
    ref: str,
    *,
    kind: Literal["pandas", "polars", "arrow"] = "pandas",
    settings: Settings | None = None,
) -> Any:
    """The table of dataset version ``ref`` (``NAME@N``, ``NAME``), hash-verified."""
    if kind not in ("pandas", "polars", "arrow"):
        raise InvalidInput(f"unknown kind {kind!r}: use pandas, polars or arrow")
    with _session(settings) as (app, actor):
        table = app.datasets.load(actor, ref)
    if kind == "arrow":
        return table
    if kind == "polars":
        import polars as pl

        return pl.from_arrow(table)
    return table.to_pandas()
