"""Dataset governance on both backends: registration, fingerprints, profiles, validation,
PII, datasheets, contracts, and the ledger that records it all."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sqlalchemy import text

from factories import snapshot
from steward.app import Application
from steward.domain import Actor, ColumnType
from steward.errors import IntegrityError, InvalidInput, NotFound, PermissionDenied
from steward.samples import loanapp


def luhn_complete(digits: list[int]) -> str:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if index % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def luhn_failing(rng: random.Random) -> int:
    while True:
        number = str(rng.randint(10**15, 10**16 - 1))
        if luhn_complete([int(d) for d in number[:-1]]) != number:
            return int(number)


@pytest.fixture
def dana(app: Application, admin: Actor) -> Actor:
    _, token = app.identity.add_user(admin, "dana", ["data_scientist"])
    return app.authenticate(token)


@pytest.fixture
def loans() -> pl.DataFrame:
    return loanapp()


def register(app: Application, actor: Actor, data: Any, name: str = "loans", **kw: Any) -> Any:
    return app.datasets.register(actor, data, name=name, **kw)


def test_the_same_table_as_csv_and_parquet_has_one_fingerprint(
    app: Application, dana: Actor, loans: pl.DataFrame, tmp_path: Path
) -> None:
    loans.write_csv(tmp_path / "loans.csv")
    loans.write_parquet(tmp_path / "loans.parquet")
    first = register(app, dana, tmp_path / "loans.csv", target="approve")
    again = register(app, dana, tmp_path / "loans.parquet", target="approve")
    assert first.created and not again.created
    assert again.version.fingerprint == first.version.fingerprint
    assert again.version.version == 1 and "identical to loans@1" in (again.note or "")
    with app.store.read() as reader:
        assert [v.version for v in reader.dataset_versions("loans")] == [1]
        assert len(reader.events_of_types("dataset.registered")) == 1


def test_pandas_files_and_frames_fingerprint_like_the_polars_ones(
    app: Application, dana: Actor, tmp_path: Path
) -> None:
    frame = pd.DataFrame(
        {
            "amount": [1.5, None, 3.25],
            "grade": ["a", "b", None],
            "flag": [True, False, True],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", None]),
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    from_frame = register(app, dana, frame, name="t")
    from_csv = register(app, dana, tmp_path / "t.csv", name="t")
    from_parquet = register(app, dana, tmp_path / "t.parquet", name="t")
    polars_frame = register(app, dana, pl.from_pandas(frame), name="t")
    prints = {r.version.fingerprint for r in (from_frame, from_csv, from_parquet, polars_frame)}
    assert len(prints) == 1
    assert [r.created for r in (from_frame, from_csv, from_parquet, polars_frame)] == [
        True,
        False,
        False,
        False,
    ]


def test_a_changed_value_changes_the_fingerprint(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    first = register(app, dana, loans)
    changed = loans.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(1).otherwise(pl.col("dep")).alias("dep")
    )
    second = register(app, dana, changed)
    assert second.created and second.version.version == 2
    assert second.version.fingerprint != first.version.fingerprint


def test_pii_findings_land_on_exactly_the_email_and_card_columns(
    app: Application, dana: Actor, tmp_path: Path
) -> None:
    rng = random.Random(7)
    rows = 300
    table = pl.DataFrame(
        {
            "customer_id": list(range(rows)),
            "email": [f"person{i}@mail{i % 7}.example.org" for i in range(rows)],
            "card": [
                luhn_complete([4] + [rng.randint(0, 9) for _ in range(14)]) for _ in range(rows)
            ],
            "reference": [luhn_failing(rng) for _ in range(rows)],
            "balance": [rng.uniform(0, 5000) for _ in range(rows)],
            "segment": [rng.choice(["retail", "sme", "corporate"]) for _ in range(rows)],
            "opened": [f"2024-0{1 + i % 9}-1{i % 9}T10:00:00Z" for i in range(rows)],
        }
    )
    table.write_csv(tmp_path / "customers.csv")
    result = register(app, dana, tmp_path / "customers.csv", name="customers")
    assert result.version.pii_columns == ("email", "card")
    pii = next(e for e in result.evidence if e.check_id == "data.pii")
    flagged = {(f.column, f.data["entity"]) for f in pii.findings if f.code == "pii_values"}
    assert flagged == {("email", "EMAIL_ADDRESS"), ("card", "CREDIT_CARD")}
    assert all(f.column in ("email", "card") for f in pii.findings)
    # Personal data is not copied into the profile, the schema or the evidence.
    stored = json.dumps([result.version.content(), [e.content() for e in result.evidence]])
    assert table["email"][0] not in stored and str(table["card"][0]) not in stored
    assert result.version.schema.column("card").minimum is None


def test_v2_with_a_dropped_column_and_a_new_category_gets_validation_evidence_naming_both(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    register(app, dana, loans, target="approve", sensitive=["race", "sex"])
    v2 = loans.drop("emp").with_columns(
        pl.when(pl.int_range(pl.len()) % 40 == 0)
        .then(pl.lit("asian"))
        .otherwise(pl.col("race"))
        .alias("race")
    )
    result = register(app, dana, v2, target="approve", sensitive=["race", "sex"])
    validation = next(e for e in result.evidence if e.check_id == "data.validation")
    codes = {(f.code, f.column) for f in validation.findings}
    assert ("column_missing", "emp") in codes
    assert ("new_categories", "race") in codes
    new = next(f for f in validation.findings if f.code == "new_categories")
    assert new.data == {"new_categories": ["asian"], "rows": 50}
    assert validation.status.value == "failed"
    assert validation.inputs["dataset"] == "loans@2"


def test_type_changes_ranges_and_missing_rate_jumps_are_reported(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    register(app, dana, loans)
    v2 = loans.with_columns(
        pl.col("dep").cast(pl.Float64) + 0.5,
        (pl.col("loanamt") * 100).alias("loanamt"),
        pl.when(pl.int_range(pl.len()) % 3 == 0).then(None).otherwise(pl.col("sch")).alias("sch"),
    ).with_columns(pl.lit(1).alias("brand_new"))
    findings = {
        (f.code, f.column): f
        for e in register(app, dana, v2).evidence
        if e.check_id == "data.validation"
        for f in e.findings
    }
    assert findings[("type_changed", "dep")].severity.label == "medium"  # integer -> float
    assert ("out_of_range", "loanamt") in findings
    assert findings[("missing_rate_jump", "sch")].data["missing_rate"] == pytest.approx(
        663 / 1989, abs=1e-6
    )
    assert ("column_added", "brand_new") in findings


def test_profile_numbers_match_an_independent_computation(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    version = register(app, dana, loans, target="approve").version
    frame = loans.to_pandas()
    for name in ("loanamt", "appinc", "hrat", "min30", "unem"):
        stats = version.profile["columns"][name]
        values = frame[name].dropna().to_numpy(dtype=float)
        assert stats["missing"] == int(frame[name].isna().sum())
        assert stats["distinct"] == len(np.unique(values))
        assert stats["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert stats["std"] == pytest.approx(values.std(ddof=1), rel=1e-9)
        assert stats["quantiles"]["p50"] == pytest.approx(np.quantile(values, 0.5), rel=1e-12)
        assert stats["quantiles"]["p95"] == pytest.approx(np.quantile(values, 0.95), rel=1e-12)
        counts, edges = np.histogram(values, bins=20, range=(values.min(), values.max()))
        assert stats["histogram"]["counts"] == counts.tolist()
        assert stats["histogram"]["edges"] == pytest.approx(edges.tolist())
    race = version.profile["columns"]["race"]["frequencies"]
    assert race == frame["race"].value_counts().to_dict()
    assert version.profile["complete_rows"] == int(frame.notna().all(axis=1).sum())


def test_the_schema_records_types_nullability_levels_and_ranges(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    schema = register(app, dana, loans).version.schema
    race = schema.column("race")
    assert race is not None and race.type is ColumnType.STRING
    assert race.categories == ("black", "hispanic", "white") and not race.nullable
    sex = schema.column("sex")
    assert sex is not None and sex.nullable and sex.categories == ("female", "male")
    amount = schema.column("loanamt")
    assert amount is not None and amount.type is ColumnType.INTEGER
    assert (amount.minimum, amount.maximum) == (loans["loanamt"].min(), loans["loanamt"].max())
    assert schema.column("hrat").type is ColumnType.FLOAT


def test_the_missing_data_policy_is_recorded(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    impute = register(app, dana, loans).version.missing
    assert impute.to_dict() == {
        "mode": "impute",
        "numeric_strategy": "median",
        "categorical_strategy": "most_frequent",
    }
    dropped = register(app, dana, loans, missing="drop").version
    assert dropped.missing.to_dict() == {"mode": "drop"}
    assert dropped.version == 2  # same content, new declarations: a new version


BAD_FILES = [
    ("empty.csv", b"", "the file is empty"),
    ("header.csv", b"a,b\n", "a header but no rows"),
    ("dupes.csv", b"a,b,a\n1,2,3\n", "duplicate column names: a"),
    ("long.csv", b"a,b\n1,2\n3,4,5\n", "ragged rows"),
    ("short.csv", b"a,b\n1,2\n3\n", "ragged rows"),
    ("latin1.csv", b"a,b\n1,caf\xe9\n", "not valid UTF-8"),
    ("table.xlsx", b"PK\x03\x04", "unknown format"),
    ("broken.parquet", b"PAR1 not really", "not a readable Parquet file"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_bad_files_are_refused_and_nothing_is_written(
    app: Application, dana: Actor, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = snapshot(app)
    with pytest.raises(InvalidInput, match=message) as info:
        register(app, dana, path, name="bad")
    assert str(path) in info.value.message
    assert snapshot(app) == before
    assert not [p for p in (app.settings.home / "artifacts").rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("declarations", "message"),
    [
        ({"target": "outcome"}, "target column 'outcome' is not in the table"),
        ({"sensitive": ["ethnicity"]}, "sensitive column 'ethnicity' is not in the table"),
        ({"target": "label"}, "target column 'label' is entirely missing"),
        ({"target": "x", "sensitive": ["x"]}, "cannot be both target and sensitive"),
        ({"missing": "guess"}, "unknown missing-data policy 'guess'"),
    ],
)
def test_bad_declarations_are_refused_and_nothing_is_written(
    app: Application, dana: Actor, tmp_path: Path, declarations: dict[str, Any], message: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("x,label\n1,\n2,\n")
    before = snapshot(app)
    with pytest.raises(InvalidInput, match=message):
        register(app, dana, path, name="t", **declarations)
    assert snapshot(app) == before


def test_everything_registered_is_ledgered_and_the_ledger_verifies(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    result = register(app, dana, loans, target="approve", sensitive=["race"])
    app.datasets.update_datasheet(dana, "loans", {"motivation": "HMDA lending study"})
    (event,) = app.audit.log(dana, limit=1, type_="dataset.registered")
    assert event.subject == "dataset:loans@1" and event.actor == "dana"
    assert event.payload["fingerprint"] == result.version.fingerprint
    assert event.payload["content_hash"] == result.version.content_hash
    assert {e["id"] for e in event.payload["evidence"]} == {e.id for e in result.evidence}
    verification = app.audit.verify(dana)
    # the version and its two evidence records, and the identities: admin and dana, a token each
    assert verification.ok and verification.records_checked == 3 + 4


def _drop_record_triggers(app: Application) -> None:
    with app.store.engine.begin() as conn:
        for table in ("dataset_versions", "evidence"):
            if app.store.dialect == "postgresql":
                conn.execute(text(f"DROP TRIGGER {table}_immutable ON {table}"))
            else:
                conn.execute(text(f"DROP TRIGGER {table}_no_update"))
                conn.execute(text(f"DROP TRIGGER {table}_no_delete"))


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("UPDATE evidence SET status = 'passed' WHERE check_id = 'data.pii'", "(edited)"),
        (
            "UPDATE evidence SET findings = '[]', content_hash = 'x' WHERE check_id = 'data.pii'",
            "(edited)",
        ),
        ("UPDATE dataset_versions SET rows = rows + 1", "dataset version loans@1"),
        ("DELETE FROM evidence WHERE check_id = 'data.validation'", "(deleted)"),
    ],
)
def test_editing_a_stored_record_is_detected_by_verification(
    app: Application, dana: Actor, tmp_path: Path, statement: str, problem: str
) -> None:
    path = tmp_path / "c.csv"
    path.write_text("email,n\n" + "".join(f"u{i}@x.example.com,{i}\n" for i in range(20)))
    register(app, dana, path)
    assert app.audit.verify(dana).ok
    _drop_record_triggers(app)
    with app.store.engine.begin() as conn:
        conn.execute(text(statement))
    result = app.audit.verify(dana)
    assert not result.ok
    assert problem in (result.problem or "")
    assert result.first_bad_seq == 4  # the dataset.registered event


def test_stored_records_refuse_updates_while_the_triggers_stand(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    from sqlalchemy.exc import DBAPIError

    register(app, dana, loans)
    with pytest.raises(DBAPIError, match="immutable"), app.store.engine.begin() as conn:
        conn.execute(text("UPDATE evidence SET status = 'passed'"))


def test_a_version_loads_back_verified_and_a_tampered_copy_is_refused(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    version = register(app, dana, loans).version
    table = app.datasets.load(dana, "loans@1")
    assert table.num_rows == loans.height
    assert pl.from_arrow(table).equals(
        pl.from_arrow(loans.to_arrow()).cast(pl.from_arrow(table).schema)  # type: ignore[arg-type,union-attr]
    )
    (stored,) = [p for p in (app.settings.home / "artifacts").rglob("*") if p.is_file()]
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="hash mismatch"):
        app.datasets.load(dana, version.ref)


def test_references_resolve_and_unknown_ones_are_not_found(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    register(app, dana, loans)
    register(app, dana, loans.head(100))
    assert app.datasets.get(dana, "loans").version == 2
    assert app.datasets.get(dana, "loans@latest").version == 2
    assert app.datasets.get(dana, "loans@1").version == 1
    with pytest.raises(NotFound, match="no version 3"):
        app.datasets.get(dana, "loans@3")
    with pytest.raises(NotFound, match="no dataset named 'credit'"):
        app.datasets.get(dana, "credit")


def test_datasheet_edits_are_ledgered_and_unknown_fields_refused(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    register(app, dana, loans)
    app.datasets.update_datasheet(dana, "loans", {"motivation": "m", "uses": "credit scoring"})
    sheet = app.datasets.update_datasheet(dana, "loans", {"uses": "", "maintenance": "yearly"})
    assert sheet.datasheet == {"motivation": "m", "maintenance": "yearly"}
    events = app.audit.log(dana, limit=10, type_="dataset.datasheet_updated")
    assert [e.payload["fields"] for e in events] == [
        {"motivation": "m", "uses": "credit scoring"},
        {"uses": "", "maintenance": "yearly"},
    ]
    with pytest.raises(InvalidInput, match="unknown datasheet field"):
        app.datasets.update_datasheet(dana, "loans", {"mood": "fine"})


def test_an_edited_contract_governs_the_next_version(
    app: Application, dana: Actor, loans: pl.DataFrame
) -> None:
    register(app, dana, loans)
    contract = app.datasets.contract(dana, "loans")
    rule = next(c for c in contract["columns"] if c["name"] == "race")
    rule["categories"].append("asian")
    app.datasets.set_contract(dana, "loans", contract, "edited.yaml")
    v2 = loans.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("asian")).otherwise("race").alias("race")
    )
    validation = next(
        e for e in register(app, dana, v2).evidence if e.check_id == "data.validation"
    )
    assert validation.findings == ()
    assert validation.params["contract_source"] == "dataset contract"
    with pytest.raises(InvalidInput, match="unknown field"):
        app.datasets.set_contract(
            dana,
            "loans",
            {**contract, "columns": [{"name": "x", "type": "integer", "colour": 1}]},
            "c.yaml",
        )


def test_roles_without_dataset_write_cannot_register_but_can_read(
    app: Application, admin: Actor, dana: Actor, loans: pl.DataFrame
) -> None:
    _, token = app.identity.add_user(admin, "audra", ["auditor"])
    audra = app.authenticate(token)
    with pytest.raises(PermissionDenied, match="may not register datasets"):
        register(app, audra, loans)
    register(app, dana, loans)
    assert app.datasets.get(audra, "loans").version == 1


# --- a real data set with personal data -----------------------------------------------------


def test_registering_compas_marks_names_and_birth_dates_as_personal_data(
    app: Application, dana: Actor, tmp_path: Path
) -> None:
    from _compas import ORDINARY_STRING_COLUMNS, PII_COLUMNS, ROWS, compas_deduplicated

    result = register(app, dana, compas_deduplicated(tmp_path), name="compas")

    version = result.version
    assert version.rows == ROWS
    assert version.pii_columns == PII_COLUMNS
    pii = next(e for e in result.evidence if e.check_id == "data.pii")
    flagged = {f.column: f.data["entity"] for f in pii.findings if f.code == "pii_values"}
    assert flagged == {
        "name": "PERSON_NAME",
        "first": "PERSON_NAME",
        "last": "PERSON_NAME",
        "dob": "DATE_OF_BIRTH",
    }
    assert not {f.column for f in pii.findings} & set(ORDINARY_STRING_COLUMNS)
    # Names keep only counts in the profile, and no name reaches the stored records.
    assert "frequencies" not in version.profile["columns"]["first"]
    assert "frequencies" in version.profile["columns"]["race"]
    stored = json.dumps([version.content(), [e.content() for e in result.evidence]]).lower()
    assert "miguel hernandez" not in stored and "hernandez" not in stored


def test_the_raw_compas_file_is_refused_naming_each_repeated_column_and_its_positions(
    app: Application, dana: Actor
) -> None:
    from _compas import compas_csv

    path = compas_csv()
    before = snapshot(app)

    with pytest.raises(InvalidInput) as info:
        register(app, dana, path, name="compas")

    assert info.value.message == (
        f"{path}: duplicate column names: decile_score (columns 12 and 40); "
        "priors_count (columns 15 and 49)"
    )
    assert snapshot(app) == before


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_invalid_utf8_is_refused_naming_its_line_and_byte_offset(
    app: Application, dana: Actor, tmp_path: Path, quoted: bool
) -> None:
    lines = [b"id,city"] + [b"%d,%s" % (i, b'"Paris"' if quoted else b"Paris") for i in range(3000)]
    lines[1234] = b"1233,Orl\xe9ans"  # Latin-1, in a file read as UTF-8
    data = b"\n".join(lines) + b"\n"
    path = tmp_path / "cities.csv"
    path.write_bytes(data)
    before = snapshot(app)

    with pytest.raises(InvalidInput) as info:
        register(app, dana, path, name="cities")

    offset = data.index(b"\xe9")
    assert info.value.message == (
        f"{path}: line 1,235 (byte {offset:,}) is not valid UTF-8: byte 0xE9 "
        "(invalid continuation byte); save the file as UTF-8"
    )
    assert snapshot(app) == before
