"""``steward dataset …`` as a user meets it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CLI_DANA, CliSeed, Run
from steward.samples import loanapp

# every command of this module's tests runs embedded, then over STEWARD_URL
pytestmark = pytest.mark.both_modes


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """These tests run on SQLite only; the services below them run on both backends."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def cli_seed(request: pytest.FixtureRequest) -> CliSeed:
    return CLI_DANA if "dana" in request.fixturenames else CliSeed("initialised-by-cli")


@pytest.fixture
def dana(initialised: Run, cli_seeded: dict[str, Any]) -> str:
    return str(cli_seeded["dana"])


@pytest.fixture
def files(tmp_path: Path) -> Path:
    frame = loanapp()
    frame.write_csv(tmp_path / "loans.csv")
    frame.write_parquet(tmp_path / "loans.parquet")
    frame.drop("emp").write_csv(tmp_path / "loans_v2.csv")
    return tmp_path


def test_register_show_list_and_identical_reregistration(
    initialised: Run,
    dana: str,
    files: Path,
) -> None:
    args = ["--name", "loans", "--target", "approve", "--sensitive", "race", "--sensitive", "sex"]
    first = initialised("dataset", "register", str(files / "loans.csv"), *args, token=dana)
    assert first.code == 0, first.stderr
    assert "registered loans@1: 1,989 rows × 55 columns" in first.stdout
    again = initialised(
        "dataset", "register", str(files / "loans.parquet"), *args, "--json", token=dana
    )
    document = again.json()
    assert document["created"] is False
    assert document["version"]["ref"] == "loans@1"
    shown = initialised("dataset", "show", "loans", "--json").json()
    assert shown["target"] == "approve" and shown["sensitive"] == ["race", "sex"]
    assert {e["check_id"] for e in shown["evidence"]} == {"data.validation", "data.pii"}
    listed = initialised("dataset", "list", "--json").json()
    assert [d["name"] for d in listed] == ["loans"]
    human = initialised("dataset", "show", "loans@1")
    assert human.code == 0 and "race" in human.stdout and "sensitive" in human.stdout


def test_v2_validation_findings_are_printed(
    initialised: Run,
    dana: str,
    files: Path,
) -> None:
    initialised("dataset", "register", str(files / "loans.csv"), "--name", "loans", token=dana)
    result = initialised(
        "dataset", "register", str(files / "loans_v2.csv"), "--name", "loans", token=dana
    )
    assert result.code == 0
    assert "[high] column 'emp' of the contract is missing" in result.stdout
    evidence = initialised("dataset", "evidence", "loans@2", "--json").json()
    validation = next(e for e in evidence if e["check_id"] == "data.validation")
    assert validation["status"] == "failed"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "the file is empty"),
        (b"a,a\n1,2\n", "dup.csv", "duplicate column names: a"),
        (b"a,b\n1,2\n3,4,5\n", "ragged.csv", "ragged rows"),
        (b"x\n1\n", "data.json", "unknown format"),
        (b"a,b\n1,caf\xe9\n", "latin1.csv", "line 2 (byte 9) is not valid UTF-8: byte 0xE9"),
        (
            ",".join(f"c{i}" for i in range(10_001)).encode() + b"\n" + b"1," * 10_000 + b"1\n",
            "wide.csv",
            "the header has more than 10,000 columns, the limit (setting STEWARD_MAX_COLUMNS)",
        ),
        (
            b"a,b\n1," + b"x" * (1 << 20) + b"y\n",
            "cell.csv",
            "line 2 (byte 6): a cell is larger than the limit of 1,048,576 bytes "
            "(setting STEWARD_MAX_CELL_BYTES)",
        ),
    ],
    ids=["empty", "duplicates", "ragged", "format", "latin1", "columns", "cell"],
)
def test_bad_files_exit_2_with_one_line_naming_the_file(
    initialised: Run,
    dana: str,
    tmp_path: Path,
    content: bytes,
    name: str,
    message: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = initialised("audit", "log", "--json", "--limit", "1000").stdout
    result = initialised("dataset", "register", str(path), "--name", "bad", token=dana)
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and str(path) in result.stderr
    assert message in result.stderr
    assert initialised("audit", "log", "--json", "--limit", "1000").stdout == before


def test_the_raw_compas_file_exits_2_naming_the_repeated_columns(
    initialised: Run,
    dana: str,
) -> None:
    from _compas import compas_csv

    path = compas_csv()
    result = initialised("dataset", "register", str(path), "--name", "compas", token=dana)
    assert result.code == 2 and result.stderr.count("\n") == 1
    assert "decile_score (columns 12 and 40); priors_count (columns 15 and 49)" in result.stderr


def test_a_missing_target_column_exits_2(
    initialised: Run,
    dana: str,
    files: Path,
) -> None:
    result = initialised(
        "dataset", "register", str(files / "loans.csv"), "--name", "l", "--target", "y", token=dana
    )
    assert result.code == 2 and "target column 'y' is not in the table" in result.stderr


def test_an_auditor_cannot_register_exit_3(
    initialised: Run,
    files: Path,
) -> None:
    token = initialised("user", "add", "audra", "--role", "auditor", "--json").json()["token"]
    result = initialised(
        "dataset", "register", str(files / "loans.csv"), "--name", "l", token=token
    )
    assert result.code == 3 and "may not register datasets" in result.stderr


def test_contract_export_edit_and_set(
    initialised: Run,
    dana: str,
    files: Path,
    tmp_path: Path,
) -> None:
    initialised("dataset", "register", str(files / "loans.csv"), "--name", "loans", token=dana)
    out = tmp_path / "contract.yaml"
    assert initialised("dataset", "contract", "loans", "--out", str(out)).code == 0
    contract = yaml.safe_load(out.read_text())
    contract["columns"] = [c for c in contract["columns"] if c["name"] != "emp"]
    out.write_text(yaml.safe_dump(contract))
    assert initialised("dataset", "contract", "loans", "--set", str(out), token=dana).code == 0
    result = initialised(
        "dataset", "register", str(files / "loans_v2.csv"), "--name", "loans", "--json", token=dana
    )
    evidence = result.json()["evidence"]
    validation = next(e for e in evidence if e["check_id"] == "data.validation")
    assert validation["findings"] == []
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: nope\n")
    refused = initialised("dataset", "contract", "loans", "--set", str(broken), token=dana)
    assert refused.code == 2 and "not a contract" in refused.stderr


def test_datasheet_fields_are_set_and_shown(
    initialised: Run,
    dana: str,
    files: Path,
) -> None:
    initialised("dataset", "register", str(files / "loans.csv"), "--name", "loans", token=dana)
    result = initialised(
        "dataset", "datasheet", "loans", "--motivation", "fair lending study", "--json", token=dana
    )
    assert json.loads(result.stdout)["datasheet"] == {"motivation": "fair lending study"}
    shown = initialised("dataset", "show", "loans")
    assert "motivation: fair lending study" in shown.stdout
