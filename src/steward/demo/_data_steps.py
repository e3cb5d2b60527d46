"""Demo steps for dataset governance: register, profile, scan, validate, document."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from steward.samples import LOANAPP_CITATION, LOANAPP_SENSITIVE, LOANAPP_TARGET, loanapp

if TYPE_CHECKING:
    import polars as pl

    from steward.demo._walkthrough import DemoContext

__all__ = ["step_contacts", "step_datasheet", "step_register", "step_revalidate"]


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _say(ctx: DemoContext, text: str) -> None:
    ctx.console.print(text, highlight=False)


def step_register(ctx: DemoContext) -> None:
    from rich.table import Table

    frame = loanapp()
    csv = ctx.workdir / "loanapp.csv"
    parquet = ctx.workdir / "loanapp.parquet"
    frame.write_csv(csv)
    frame.write_parquet(parquet)
    dana = ctx.actors["dana"]
    _say(ctx, f"dana registers a real lending data set: {LOANAPP_CITATION}")
    result = ctx.app.datasets.register(
        dana,
        csv,
        name="loans",
        target=LOANAPP_TARGET,
        sensitive=list(LOANAPP_SENSITIVE),
    )
    version = result.version
    profile = version.profile
    _say(
        ctx,
        f"  [bold]{version.ref}[/]: {version.rows:,} rows × {len(version.schema.columns)} columns, "
        f"fingerprint {version.fingerprint[:16]}…, stored as canonical Parquet",
    )
    table = Table("column", "type", "missing", "distinct", "mean", "p50", "levels")
    for name in ("loanamt", "appinc", "hrat", "married", "min30", "race", "sex", "approve"):
        stats = profile["columns"][name]
        levels = stats.get("frequencies", {}) if stats["type"] == "string" else {}
        table.add_row(
            name,
            stats["type"],
            f"{stats['missing_rate']:.1%}" if stats["missing"] else "",
            str(stats["distinct"]),
            f"{stats['mean']:.3g}" if "mean" in stats else "",
            f"{stats['quantiles']['p50']:.3g}" if "quantiles" in stats else "",
            ", ".join(f"{k} {v}" for k, v in levels.items()),
        )
    ctx.console.print(table)
    missing = [c for c, s in profile["columns"].items() if s["missing"]]
    _say(
        ctx,
        f"  {len(missing)} columns have missing values ({', '.join(missing)}); "
        f"{profile['complete_rows']:,} rows are complete. Declared policy: "
        f"{version.missing.mode} (median / most frequent), applied later by scikit-learn.",
    )
    again = ctx.app.datasets.register(
        dana, parquet, name="loans", target=LOANAPP_TARGET, sensitive=list(LOANAPP_SENSITIVE)
    )
    _say(
        ctx,
        f"  the same table saved as Parquet: same fingerprint, {again.note}",
    )


def _card(rng: random.Random) -> str:
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if index % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    number = "".join(map(str, digits)) + str((10 - total % 10) % 10)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


def contacts_frame(rows: int = 400, seed: int = 3) -> pl.DataFrame:
    """A synthetic applicant-contact table: the kind of file that must not feed a model."""
    import polars as pl

    rng = random.Random(seed)  # noqa: S311 - synthetic demo data, not secrets
    first = ["ana", "ben", "chloe", "dev", "ema", "farid", "gita", "hugo", "iris", "jon"]
    return pl.DataFrame(
        {
            "application_id": list(range(1, rows + 1)),
            "contact_email": [
                f"{rng.choice(first)}.{rng.randint(10, 999)}@example.org" for _ in range(rows)
            ],
            "phone": [
                f"({rng.choice([212, 312, 415, 617, 718])}) {rng.randint(201, 989)}-"
                f"{rng.randint(1000, 9999)}"
                for _ in range(rows)
            ],
            "card_on_file": [_card(rng) for _ in range(rows)],
            "loan_amount": [rng.randint(50, 900) for _ in range(rows)],
            "branch": [rng.choice(["north", "south", "east", "west"]) for _ in range(rows)],
        }
    )


def step_contacts(ctx: DemoContext) -> None:
    path = ctx.workdir / "applicant_contacts.csv"
    contacts_frame().write_csv(path)
    result = ctx.app.datasets.register(ctx.actors["dana"], path, name="applicant-contacts")
    pii = next(e for e in result.evidence if e.check_id == "data.pii")
    _say(ctx, "dana also registers an applicant-contact file; every registration is scanned:")
    for finding in pii.findings:
        _say(ctx, f"  [red]{finding.severity.label}[/] {escape(finding.message)}")
    _say(
        ctx,
        f"  PII columns marked on {result.version.ref}: "
        f"{', '.join(result.version.pii_columns)} — kept out of the profile, and policies can "
        "bar them from model features.",
    )


def step_revalidate(ctx: DemoContext) -> None:
    import polars as pl

    frame = loanapp().drop("emp")
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 25 == 0)
        .then(pl.lit("asian"))
        .otherwise(pl.col("race"))
        .alias("race")
    )
    path = ctx.workdir / "loanapp_2.csv"
    frame.write_csv(path)
    result = ctx.app.datasets.register(
        ctx.actors["dana"],
        path,
        name="loans",
        target=LOANAPP_TARGET,
        sensitive=list(LOANAPP_SENSITIVE),
    )
    validation = next(e for e in result.evidence if e.check_id == "data.validation")
    _say(
        ctx,
        f"A new extract arrives without the 'emp' column and with a new race category. "
        f"{result.version.ref} is checked against the contract of loans@1 (pandera): "
        f"[red]{validation.status.value}[/]",
    )
    for finding in validation.findings:
        _say(ctx, f"  [red]{finding.severity.label}[/] {escape(finding.message)}")


def step_datasheet(ctx: DemoContext) -> None:
    sheet = ctx.app.datasets.update_datasheet(
        ctx.actors["dana"],
        "loans",
        {
            "motivation": "Study of mortgage lending decisions in Boston (HMDA, 1990).",
            "composition": "1,989 applications; race and sex of the applicant are recorded.",
            "uses": "Teaching and demonstrating fair-lending analysis; not for real decisions.",
        },
    )
    _say(ctx, "dana documents the data set (a datasheet); each edit is a ledger event:")
    for field, value in sheet.datasheet.items():
        _say(ctx, f"  {field}: {value}")
