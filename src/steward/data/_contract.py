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
                        (pl.len() == 0) | (pl.col(data.key).null_count() / pl.len() <= limit)
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


def check_contract(table: pa.Table, contract: dict[str, Any]) -> tuple[Finding, ...]:
    """Validate ``table`` against ``contract``; one finding per broken rule and column.

    Pandera checks the table's structure (columns present, none unlisted, types) on an empty
    frame of the same schema, then each column's values on that column alone: at most one
    column is copied into polars at a time.
    """
    import pandera.errors
    import polars as pl

    schema = _schema(contract)
    empty = pl.from_arrow(table.slice(0, 0))
    failures = []
    try:
        schema.validate(empty, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        failures.append(errors.failure_cases)
    broken = {row[0] for row in _failed_columns(failures)}
    for name, column_schema in schema.columns.items():
        if name not in table.column_names or name in broken:
            continue
        single = type(schema)({name: column_schema}, strict=False)
        try:
            single.validate(pl.from_arrow(table.select([name])), lazy=True)
        except pandera.errors.SchemaErrors as errors:
            failures.append(errors.failure_cases)
    if not failures:
        return ()
    return _findings(pl.concat(failures, how="diagonal_relaxed"), table, contract)


def _failed_columns(failures: list[Any]) -> list[tuple[str]]:
    """Columns whose type is wrong (their values are not checked against typed rules)."""
    found = []
    for frame in failures:
        for column, check in frame.select(["column", "check"]).iter_rows():
            if column is not None and str(check).startswith("dtype("):
                found.append((column,))
    return found


def _findings(failures: Any, table: pa.Table, contract: dict[str, Any]) -> tuple[Finding, ...]:
    rules = {rule["name"]: rule for rule in contract["columns"]}
    grouped: dict[tuple[str | None, str], list[Any]] = defaultdict(list)
    for case, column, check in failures.select(["failure_case", "column", "check"]).iter_rows():
        grouped[(column, check)].append(case)
    findings: list[Finding] = []
    for (column, check), cases in grouped.items():
        findings.append(_finding(column, check, cases, table, rules))
    order = {name: i for i, name in enumerate(table.column_names)}
    findings.sort(key=lambda f: (-f.severity, order.get(f.column or "", -1), f.code))
    return tuple(findings)


def _finding(
    column: str | None, check: str, cases: list[Any], table: pa.Table, rules: dict[str, Any]
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

        actual = logical_type(table.schema.field(column).type)
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
        import pyarrow.compute as pc

        span = pc.min_max(table.column(column))
        return Finding(
            "out_of_range",
            Severity.MEDIUM,
            f"column {column!r}: {len(cases)} value(s) outside [{rule['min']}, {rule['max']}] "
            f"(observed {span['min'].as_py()}..{span['max'].as_py()})",
            column=column,
            data={"rows": len(cases), "min": rule["min"], "max": rule["max"]},
        )
    if check.startswith("max_missing_rate("):
        rate = table.column(column).null_count / max(table.num_rows, 1)
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
