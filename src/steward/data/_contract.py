"""Validation contracts: a dataset's schema turned into rules a new version must meet.

A contract is plain data (``steward.contract/v1``, exported as YAML, editable by hand); pandera
(polars backend) is the engine that checks a table against it. Each rule pandera reports is
turned into a finding with a severity:

============================  =========  ==============================================
what changed                  severity   pandera check
============================  =========  ==============================================
a required column is missing  high       ``column_in_dataframe``
a column is new               medium     ``column_in_schema`` (the contract is strict)
a column changed type         high       ``dtype(...)`` (integer <-> float: medium)
new categories                medium     ``isin(...)``
values out of range           medium     ``in_range(...)``
missing rate jumped           medium     ``max_missing_rate(...)``
============================  =========  ==============================================
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from steward.domain import ColumnType, DatasetVersion, Finding, Severity
from steward.errors import InvalidInput

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CONTRACT_FORMAT",
    "MISSING_RATE_TOLERANCE",
    "check_contract",
    "contract_from_version",
    "parse_contract",
]

CONTRACT_FORMAT = "steward.contract/v1"
MISSING_RATE_TOLERANCE = 0.05
_COLUMN_KEYS = {"name", "type", "required", "categories", "min", "max", "max_missing_rate"}


def contract_from_version(
    version: DatasetVersion, tolerance: float = MISSING_RATE_TOLERANCE
) -> dict[str, Any]:
    """The contract a version establishes: its columns, types, levels, ranges, missing rates."""
    columns = []
    for column in version.schema.columns:
        observed = version.profile["columns"][column.name]["missing_rate"]
        rule: dict[str, Any] = {
            "name": column.name,
            "type": column.type.value,
            "required": True,
            "max_missing_rate": round(min(1.0, observed + tolerance), 6),
        }
        if column.categories is not None:
            rule["categories"] = list(column.categories)
        if column.type.numeric and column.minimum is not None:
            rule["min"] = column.minimum
            rule["max"] = column.maximum
        columns.append(rule)
    return {
        "format": CONTRACT_FORMAT,
        "dataset": version.name,
        "derived_from": version.ref,
        "strict": True,
        "columns": columns,
    }


def parse_contract(raw: Any, origin: str) -> dict[str, Any]:
    """Check a contract document's shape; raise ``InvalidInput`` naming the first problem."""
    if not isinstance(raw, dict) or raw.get("format") != CONTRACT_FORMAT:
        raise InvalidInput(f"{origin}: not a contract (expected format: {CONTRACT_FORMAT})")
    columns = raw.get("columns")
    if not isinstance(columns, list) or not columns:
        raise InvalidInput(f"{origin}: 'columns' must be a non-empty list")
    types = {t.value for t in ColumnType}
    for index, column in enumerate(columns):
        where = f"{origin}: columns[{index}]"
        if not isinstance(column, dict):
            raise InvalidInput(f"{where} must be a mapping")
        unknown = set(column) - _COLUMN_KEYS
        if unknown:
            raise InvalidInput(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if not isinstance(column.get("name"), str):
            raise InvalidInput(f"{where}: 'name' is required")
        if column.get("type") not in types:
            raise InvalidInput(f"{where}: 'type' must be one of {', '.join(sorted(types))}")
        rate = column.get("max_missing_rate", 1.0)
        if not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise InvalidInput(f"{where}: 'max_missing_rate' must be a number in [0, 1]")
        categories = column.get("categories")
        if categories is not None and not (
            isinstance(categories, list) and all(isinstance(c, str) for c in categories)
        ):
            raise InvalidInput(f"{where}: 'categories' must be a list of strings")
    if not isinstance(raw.get("strict", True), bool):
        raise InvalidInput(f"{origin}: 'strict' must be true or false")
    return raw


def _polars_type(kind: str) -> Any:
    import polars as pl

    return {
        "integer": pl.Int64,
        "float": pl.Float64,
        "boolean": pl.Boolean,
        "string": pl.String,
        "datetime": pl.Datetime("us", "UTC"),
    }[kind]


def _schema(contract: dict[str, Any]) -> Any:
    import pandera.polars as pa
    import polars as pl

    columns = {}
    for rule in contract["columns"]:
        checks = []
        if rule.get("categories") is not None:
            checks.append(pa.Check.isin(rule["categories"]))
        if rule.get("min") is not None and rule.get("max") is not None:
            checks.append(pa.Check.in_range(rule["min"], rule["max"]))
        limit = float(rule.get("max_missing_rate", 1.0))
        if limit < 1.0:
            checks.append(
                pa.Check(
                    lambda data, limit=limit: data.lazyframe.select(
                        pl.col(data.key).null_count() / pl.len() <= limit
                    ),
                    error=f"max_missing_rate({limit})",
                )
            )
        columns[rule["name"]] = pa.Column(
            _polars_type(rule["type"]),
            checks=checks,
            nullable=True,
            required=bool(rule.get("required", True)),
        )
    return pa.DataFrameSchema(columns, strict=bool(contract.get("strict", True)))


def check_contract(
    table: pa.Table, contract: dict[str, Any], frame: Any = None
) -> tuple[Finding, ...]:
    """Validate ``table`` against ``contract``; one finding per broken rule and column.

    ``frame`` is the same table as a polars frame, when the caller already has one.
    """
    import pandera.errors
    import polars as pl

    if frame is None:
        frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    try:
        _schema(contract).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        return _findings(errors.failure_cases, frame, contract)
    return ()


def _findings(failures: Any, frame: Any, contract: dict[str, Any]) -> tuple[Finding, ...]:
    rules = {rule["name"]: rule for rule in contract["columns"]}
    grouped: dict[tuple[str | None, str], list[Any]] = defaultdict(list)
    for case, column, check in failures.select(["failure_case", "column", "check"]).iter_rows():
        grouped[(column, check)].append(case)
    findings: list[Finding] = []
    for (column, check), cases in grouped.items():
        findings.append(_finding(column, check, cases, frame, rules))
    order = {name: i for i, name in enumerate(frame.columns)}
    findings.sort(key=lambda f: (-f.severity, order.get(f.column or "", -1), f.code))
    return tuple(findings)


def _finding(
    column: str | None, check: str, cases: list[Any], frame: Any, rules: dict[str, Any]
) -> Finding:
    if check == "column_in_dataframe":
        name = str(cases[0])
        return Finding(
            "column_missing",
            Severity.HIGH,
            f"column {name!r} of the contract is missing",
            column=name,
        )
    if check == "column_in_schema":
        name = str(cases[0])
        return Finding(
            "column_added",
            Severity.MEDIUM,
            f"column {name!r} is new: the contract does not list it",
            column=name,
        )
    assert column is not None
    rule = rules[column]
    if check.startswith("dtype("):
        from steward.data._table import logical_type

        actual = logical_type(frame.get_column(column).to_arrow().type)
        widening = {actual, rule["type"]} == {"integer", "float"}
        return Finding(
            "type_changed",
            Severity.MEDIUM if widening else Severity.HIGH,
            f"column {column!r} is {actual}, the contract says {rule['type']}",
            column=column,
            data={"expected": rule["type"], "actual": actual},
        )
    if check.startswith("isin("):
        new = sorted({str(case) for case in cases})
        shown = ", ".join(repr(v) for v in new[:10]) + (" …" if len(new) > 10 else "")
        return Finding(
            "new_categories",
            Severity.MEDIUM,
            f"column {column!r} has {len(new)} new categor{'y' if len(new) == 1 else 'ies'}: "
            f"{shown}",
            column=column,
            data={"new_categories": new[:100], "rows": len(cases)},
        )
    if check.startswith("in_range("):
        series = frame.get_column(column).drop_nulls()
        return Finding(
            "out_of_range",
            Severity.MEDIUM,
            f"column {column!r}: {len(cases)} value(s) outside [{rule['min']}, {rule['max']}] "
            f"(observed {series.min()}..{series.max()})",
            column=column,
            data={"rows": len(cases), "min": rule["min"], "max": rule["max"]},
        )
    if check.startswith("max_missing_rate("):
        rate = frame.get_column(column).null_count() / max(frame.height, 1)
        return Finding(
            "missing_rate_jump",
            Severity.MEDIUM,
            f"column {column!r} is {rate:.1%} missing, the contract allows at most "
            f"{rule['max_missing_rate']:.1%}",
            column=column,
            data={"missing_rate": round(rate, 6), "allowed": rule["max_missing_rate"]},
        )
    return Finding(
        "contract_violation", Severity.MEDIUM, f"column {column!r} fails {check}", column=column
    )
