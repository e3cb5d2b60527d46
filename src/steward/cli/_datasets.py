"""``steward dataset …``: register, list, show, document and validate datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from steward.cli._common import JSON_OPTION, emit_json, ok, open_session, out, print_table
from steward.domain import DATASHEET_FIELDS, DatasetVersion, Evidence
from steward.errors import InvalidInput

__all__ = ["dataset_app"]

dataset_app = typer.Typer(help="Register, inspect and document datasets.", no_args_is_help=True)


def _print_version(version: DatasetVersion, evidence: list[Evidence]) -> None:
    from rich.table import Table

    out(f"{version.ref}  {version.rows:,} rows × {len(version.schema.columns)} columns")
    out(f"  fingerprint {version.fingerprint}")
    out(f"  stored as   {version.artifact} (Parquet)")
    out(f"  target {version.target or '-'}; sensitive {', '.join(version.sensitive) or '-'}")
    out(f"  missing-data policy: {_policy(version)}")
    out(f"  PII columns: {', '.join(version.pii_columns) or 'none found'}")
    out(f"  registered {version.created_at} by {version.created_by}")
    table = Table("column", "type", "missing", "distinct", "range / levels", "flags")
    for column in version.schema.columns:
        stats = version.profile["columns"][column.name]
        flags = []
        if column.name == version.target:
            flags.append("target")
        if column.name in version.sensitive:
            flags.append("sensitive")
        if column.name in version.pii_columns:
            flags.append("PII")
        if column.categories is not None:
            shown = ", ".join(column.categories[:6])
            span = shown + (" …" if len(column.categories) > 6 else "")
        elif column.minimum is not None:
            span = f"{_num(column.minimum)} .. {_num(column.maximum)}"
        else:
            span = ""
        table.add_row(
            column.name,
            column.type.value,
            f"{stats['missing_rate']:.1%}" if stats["missing"] else "",
            str(stats["distinct"]),
            span,
            ", ".join(flags),
        )
    print_table(table)
    for record in evidence:
        out(f"  evidence {record.check_id}: {record.status.value}")
        for finding in record.findings:
            out(f"    [{finding.severity.label}] {finding.message}")


def _policy(version: DatasetVersion) -> str:
    policy = version.missing
    if policy.mode == "drop":
        return "drop incomplete rows"
    return (
        f"impute (numeric: {policy.numeric_strategy}, categorical: {policy.categorical_strategy})"
    )


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataset_app.command("register")
def register(
    path: Path = typer.Argument(..., help="A .csv (optionally .gz/.bz2) or .parquet file."),
    name: str = typer.Option(..., "--name", help="Dataset name (versions are numbered per name)."),
    target: str | None = typer.Option(None, "--target", help="The column a model will predict."),
    sensitive: list[str] = typer.Option(
        [], "--sensitive", help="A sensitive attribute (repeat for several)."
    ),
    missing: str = typer.Option(
        "impute", "--missing", help="Missing-data policy for training: impute or drop."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a file as a new, immutable dataset version (fingerprinted, profiled, scanned)."""
    with open_session() as (app, actor):
        result = app.datasets.register(
            actor, path, name=name, target=target, sensitive=sensitive, missing=missing
        )
    version = result.version
    if as_json:
        emit_json(result.to_dict())
        return
    if not result.created:
        ok(f"{path} is {result.note}")
        return
    ok(
        f"registered {version.ref}: {version.rows:,} rows × {len(version.schema.columns)} "
        f"columns, fingerprint {version.fingerprint[:16]}…"
    )
    if result.note:
        out(f"  note: {result.note}")
    missing_columns = [
        (c.name, version.profile["columns"][c.name]["missing_rate"])
        for c in version.schema.columns
        if version.profile["columns"][c.name]["missing"]
    ]
    if missing_columns:
        shown = ", ".join(f"{n} {r:.1%}" for n, r in missing_columns[:5])
        more = f" and {len(missing_columns) - 5} more" if len(missing_columns) > 5 else ""
        out(f"  missing values in {len(missing_columns)} column(s): {shown}{more}")
    out(f"  missing-data policy: {_policy(version)}")
    for record in result.evidence:
        out(f"  {record.check_id}: {record.status.value}")
        for finding in record.findings:
            out(f"    [{finding.severity.label}] {finding.message}")


@dataset_app.command("from-predictions")
def from_predictions(
    endpoint: str = typer.Argument(..., help="The endpoint whose logged predictions to use."),
    name: str = typer.Option(..., "--name", help="The dataset to register a version of."),
    base: str | None = typer.Option(
        None, "--base", help="Start from this dataset version's rows (the model's columns)."
    ),
    since: str | None = typer.Option(None, "--since", help="From this time (ISO 8601, a date)."),
    until: str | None = typer.Option(None, "--until", help="Up to this time (ISO 8601, a date)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Register the labelled predictions of an endpoint as a dataset version: the inputs as
    logged (PII still keyed-hashed), the sensitive attributes, the feedback label as target."""
    with open_session() as (app, actor):
        result = app.retraining.from_predictions(
            actor, endpoint, name=name, base=base, since=since, until=until
        )
    if as_json:
        emit_json(result.to_dict())
        return
    version = result.version
    if not result.created:
        ok(f"those predictions are {result.note}")
        return
    ok(
        f"registered {version.ref}: {version.rows:,} rows, with the labelled predictions "
        f"of {endpoint}"
    )


@dataset_app.command("list")
def list_datasets(as_json: bool = JSON_OPTION) -> None:
    """List datasets with their latest version."""
    with open_session() as (app, actor):
        rows = app.datasets.list_datasets(actor)
    if as_json:
        emit_json(
            [
                {
                    "name": d.name,
                    "latest_version": d.latest_version,
                    "rows": v.rows if v else None,
                    "columns": len(v.schema.columns) if v else None,
                    "fingerprint": v.fingerprint if v else None,
                    "pii_columns": list(v.pii_columns) if v else [],
                    "created_at": d.created_at,
                    "created_by": d.created_by,
                }
                for d, v in rows
            ]
        )
        return
    from rich.table import Table

    table = Table("dataset", "latest", "rows", "columns", "fingerprint", "PII columns")
    for dataset, version in rows:
        table.add_row(
            dataset.name,
            f"@{dataset.latest_version}",
            f"{version.rows:,}" if version else "",
            str(len(version.schema.columns)) if version else "",
            version.fingerprint[:16] if version else "",
            ", ".join(version.pii_columns) if version else "",
        )
    print_table(table)


@dataset_app.command("show")
def show(
    ref: str = typer.Argument(..., help="NAME, NAME@N or NAME@latest."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a version: schema, profile, missing values, PII, evidence, datasheet."""
    with open_session() as (app, actor):
        version = app.datasets.get(actor, ref)
        evidence = app.datasets.evidence(actor, ref)
        dataset = app.datasets.dataset(actor, version.name)
    if as_json:
        emit_json(
            {
                **version.to_dict(),
                "evidence": [e.to_dict() for e in evidence],
                "datasheet": dataset.datasheet,
            }
        )
        return
    _print_version(version, evidence)
    if dataset.datasheet:
        out("  datasheet:")
        for field in DATASHEET_FIELDS:
            if field in dataset.datasheet:
                out(f"    {field}: {dataset.datasheet[field]}")


@dataset_app.command("evidence")
def evidence(
    ref: str = typer.Argument(..., help="NAME, NAME@N or NAME@latest."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the evidence recorded about a dataset version (validation, PII scan)."""
    with open_session() as (app, actor):
        records = app.datasets.evidence(actor, ref)
    if as_json:
        emit_json([e.to_dict() for e in records])
        return
    for record in records:
        out(f"{record.check_id} v{record.check_version}: {record.status.value} ({record.id})")
        for finding in record.findings:
            out(f"  [{finding.severity.label}] {finding.message}")


@dataset_app.command("datasheet")
def datasheet(
    name: str = typer.Argument(..., help="The dataset."),
    motivation: str | None = typer.Option(None, "--motivation"),
    composition: str | None = typer.Option(None, "--composition"),
    collection_process: str | None = typer.Option(None, "--collection-process"),
    preprocessing: str | None = typer.Option(None, "--preprocessing"),
    uses: str | None = typer.Option(None, "--uses"),
    maintenance: str | None = typer.Option(None, "--maintenance"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Set datasheet fields (an empty value clears one); with no field, show the datasheet."""
    given = {
        "motivation": motivation,
        "composition": composition,
        "collection_process": collection_process,
        "preprocessing": preprocessing,
        "uses": uses,
        "maintenance": maintenance,
    }
    fields = {k: v for k, v in given.items() if v is not None}
    with open_session() as (app, actor):
        if fields:
            dataset = app.datasets.update_datasheet(actor, name, fields)
        else:
            dataset = app.datasets.dataset(actor, name)
    if as_json:
        emit_json({"dataset": dataset.name, "datasheet": dataset.datasheet})
        return
    if fields:
        ok(f"datasheet of {name} updated: {', '.join(sorted(fields))}")
    for field in DATASHEET_FIELDS:
        out(f"{field}: {dataset.datasheet.get(field, '')}")


@dataset_app.command("contract")
def contract(
    ref: str = typer.Argument(..., help="NAME, NAME@N or NAME@latest."),
    out_path: Path | None = typer.Option(None, "--out", help="Write the contract (YAML) here."),
    set_from: Path | None = typer.Option(
        None, "--set", help="Make this edited contract (YAML) the dataset's contract."
    ),
) -> None:
    """Export the validation contract new versions must meet, or set an edited one."""
    import yaml

    with open_session() as (app, actor):
        if set_from is not None:
            try:
                raw = yaml.safe_load(set_from.read_text("utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                reason = str(exc).splitlines()[0]
                raise InvalidInput(f"{set_from}: cannot read the contract ({reason})") from None
            app.datasets.set_contract(actor, ref, raw, str(set_from))
            ok(f"contract of {ref} set from {set_from}; new versions are validated against it")
            return
        document = app.datasets.contract(actor, ref)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if out_path is None:
        out(text.rstrip())
    else:
        out_path.write_text(text, "utf-8")
        ok(f"contract written to {out_path}")
