"""Tables past the column or cell-size limit are refused early, with nothing written.

A 1-row x 200,000-column CSV once took minutes and gigabytes to register; the limits
(``STEWARD_MAX_COLUMNS``, ``STEWARD_MAX_CELL_BYTES``) refuse it from its header.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import StepClock
from factories import snapshot
from steward.app import Application, InitResult
from steward.data import TableLimits, read_file
from steward.domain import Actor
from steward.errors import InvalidInput
from steward.settings import Settings

COLUMNS = 40
CELL = 1000
COLUMNS_MESSAGE = f"more than {COLUMNS:,} columns, the limit (setting STEWARD_MAX_COLUMNS)"
COLUMNS_EXACT = f"columns, more than the limit of {COLUMNS:,} (setting STEWARD_MAX_COLUMNS)"
CELL_MESSAGE = f"a cell is larger than the limit of {CELL:,} bytes (setting STEWARD_MAX_CELL_BYTES)"


@pytest.fixture
def limited(settings: Settings, home: InitResult, clock: StepClock) -> Iterator[Application]:
    """An application whose settings allow 40 columns and 1,000-byte cells."""
    narrow = settings.model_copy(update={"max_columns": COLUMNS, "max_cell_bytes": CELL})
    with Application.open(narrow, clock=clock) as application:
        yield application


@pytest.fixture
def dana(limited: Application, home: InitResult) -> Actor:
    admin = limited.authenticate(home.token)
    _, token = limited.identity.add_user(admin, "dana", ["data_scientist"])
    return limited.authenticate(token)


def _wide_csv(path: Path, columns: int) -> Path:
    path.write_text(
        ",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" * columns) + "\n"
    )
    return path


def _refused(app: Application, actor: Actor, data: Any, message: str) -> str:
    before = snapshot(app)
    with pytest.raises(InvalidInput) as info:
        app.datasets.register(actor, data, name="t")
    assert message in info.value.message
    assert "\n" not in info.value.message
    assert snapshot(app) == before  # no dataset, version, evidence or ledger event
    assert not [p for p in (app.settings.home / "artifacts").rglob("*") if p.is_file()]
    return info.value.message


def test_a_csv_one_column_past_the_limit_is_refused_from_its_header(
    limited: Application, dana: Actor, tmp_path: Path
) -> None:
    path = _wide_csv(tmp_path / "wide.csv", COLUMNS + 1)

    message = _refused(limited, dana, path, COLUMNS_MESSAGE)

    assert message == f"{path}: the header has {COLUMNS_MESSAGE}"


def test_a_csv_at_the_limits_is_registered(
    limited: Application, dana: Actor, tmp_path: Path
) -> None:
    path = _wide_csv(tmp_path / "wide.csv", COLUMNS)
    with path.open("a") as handle:
        handle.write(",".join(["x" * CELL] * COLUMNS) + "\n")

    version = limited.datasets.register(dana, path, name="t").version

    assert len(version.schema.columns) == COLUMNS and version.rows == 2


def test_two_hundred_thousand_columns_are_refused_in_moments_with_the_default_limit(
    app: Application, admin: Actor, tmp_path: Path
) -> None:
    _, token = app.identity.add_user(admin, "dana", ["data_scientist"])
    dana = app.authenticate(token)
    path = _wide_csv(tmp_path / "wide.csv", 200_000)
    started = time.monotonic()

    message = _refused(app, dana, path, "more than 10,000 columns, the limit")

    assert time.monotonic() - started < 10  # it took 282 s to register before the limit
    assert "STEWARD_MAX_COLUMNS" in message


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("plain.csv", b"a,b\n1,2\n3," + b"x" * (CELL + 1) + b"\n4,5\n", "line 3 (byte 10)"),
        ("last.csv", b"a,b\n1,2\n3," + b"x" * (CELL + 1), "line 3 (byte 10)"),
        ("header.csv", b"a," + b"x" * (CELL + 1) + b"\n1,2\n", "line 1 (byte"),
        ("quoted.csv", b'a,b\n1,"' + b"x," * CELL + b'"\n', "column 'b', row 1"),
        (
            "packed.csv.gz",
            gzip.compress(b"a,b\n1," + b"x" * (CELL + 1) + b"\n", mtime=0),
            "column 'b'",
        ),
    ],
    ids=["plain", "last", "header", "quoted", "gzip"],  # stable across pytest-xdist workers
)
def test_a_csv_cell_past_the_limit_is_refused_naming_where(
    limited: Application, dana: Actor, tmp_path: Path, name: str, content: bytes, where: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    message = _refused(limited, dana, path, CELL_MESSAGE)

    assert message.startswith(f"{path}: {where}")


def test_a_giant_cell_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "giant.csv"
    with path.open("wb") as handle:
        handle.write(b"a,b\n1,")
        for _ in range(64):  # 64 MiB in one cell
            handle.write(b"x" * (1 << 20))
        handle.write(b"\n")
    started = time.monotonic()

    with pytest.raises(InvalidInput, match="line 2 \\(byte 6\\): a cell is larger"):
        read_file(path, TableLimits(max_cell_bytes=1 << 20))

    assert time.monotonic() - started < 10


def test_parquet_past_the_column_limit_is_refused_from_its_footer(
    limited: Application, dana: Actor, tmp_path: Path
) -> None:
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": [1] for i in range(COLUMNS + 1)}), path)

    message = _refused(limited, dana, path, COLUMNS_EXACT)

    assert message == f"{path}: {COLUMNS + 1} {COLUMNS_EXACT}"


def test_parquet_with_a_cell_past_the_limit_is_refused_by_row_group(
    limited: Application, dana: Actor, tmp_path: Path
) -> None:
    path = tmp_path / "cells.parquet"
    table = pa.table({"n": list(range(20)), "text": ["short"] * 15 + ["x" * (CELL + 1)] * 5})
    pq.write_table(table, path, row_group_size=10)

    message = _refused(limited, dana, path, CELL_MESSAGE)

    assert message.startswith(f"{path}: row group 2: column 'text', row 6: ")


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_frames_past_the_limits_are_refused_too(
    limited: Application, dana: Actor, library: str
) -> None:
    wide: dict[str, list[Any]] = {f"c{i}": [1] for i in range(COLUMNS + 1)}
    big = {"text": ["x" * (CELL + 1)]}
    make = pd.DataFrame if library == "pandas" else pl.DataFrame

    _refused(limited, dana, make(wide), f"the data frame: {COLUMNS + 1} {COLUMNS_EXACT}")
    _refused(limited, dana, make(big), f"the data frame: column 'text', row 1: {CELL_MESSAGE}")


def test_the_limits_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STEWARD_MAX_COLUMNS", "123")
    monkeypatch.setenv("STEWARD_MAX_CELL_BYTES", "4096")

    settings = Settings(home=tmp_path)

    assert (settings.max_columns, settings.max_cell_bytes) == (123, 4096)
    assert (Settings(home=tmp_path, max_columns=7).max_columns, Settings().max_cell_bytes) == (
        7,
        4096,
    )
    monkeypatch.setenv("STEWARD_MAX_COLUMNS", "0")
    with pytest.raises(ValueError, match="max_columns"):
        Settings(home=tmp_path)
