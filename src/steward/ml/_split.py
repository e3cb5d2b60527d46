"""Train/validation/test splits that later steps can reproduce row for row.

A split is a document listing the row positions (in the dataset version's canonical table)
of each part, with the seed and stratification that made it. Its identity is the SHA-256 of
the document's canonical JSON, which is also its key in the artifact store: every check that
evaluates "on the test split" of a version reads exactly these rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from steward.errors import InvalidInput

__all__ = ["PARTS", "SPLIT_FORMAT", "check_split_document", "make_split"]

SPLIT_FORMAT = "steward.split/v1"
PARTS = ("train", "validation", "test")

# Stratified splitting puts each class into every part: below these the parts are too small
# for a metric to mean anything.
MIN_ROWS = 30
MIN_PER_CLASS = 5


def make_split(
    rows: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    test_size: float,
    validation_size: float,
    dataset: dict[str, Any],
) -> dict[str, Any]:
    """Split ``rows`` (positions into the dataset's table), stratified by the labels ``y``."""
    from sklearn.model_selection import train_test_split

    if not (0 < test_size < 1 and 0 < validation_size < 1 and test_size + validation_size < 1):
        raise InvalidInput(
            "test and validation fractions must be between 0 and 1 and leave rows to train on"
        )
    labels, counts = np.unique(y, return_counts=True)
    if len(rows) < MIN_ROWS or counts.min() < MIN_PER_CLASS:
        smallest = labels[int(counts.argmin())]
        raise InvalidInput(
            f"too few rows for a train/validation/test split: {len(rows)} rows, class "
            f"{smallest!r} has {int(counts.min())} (need at least {MIN_ROWS} rows and "
            f"{MIN_PER_CLASS} of each class)"
        )
    rest, test, y_rest, _ = train_test_split(
        rows, y, test_size=test_size, random_state=seed, stratify=y
    )
    train, validation = train_test_split(
        rest,
        test_size=validation_size / (1 - test_size),
        random_state=seed,
        stratify=y_rest,
    )
    return {
        "format": SPLIT_FORMAT,
        "dataset": dataset,
        "seed": seed,
        "stratified": True,
        "fractions": {
            "train": round(1 - test_size - validation_size, 6),
            "validation": validation_size,
            "test": test_size,
        },
        "train": sorted(int(i) for i in train),
        "validation": sorted(int(i) for i in validation),
        "test": sorted(int(i) for i in test),
    }


def check_split_document(document: Any, fingerprint: str) -> dict[str, Any]:
    """Refuse a split document of another format or made from another table."""
    if not isinstance(document, dict) or document.get("format") != SPLIT_FORMAT:
        raise InvalidInput(f"not a {SPLIT_FORMAT} split document")
    if document["dataset"].get("fingerprint") != fingerprint:
        raise InvalidInput(
            f"the split was made from dataset {document['dataset'].get('ref')} with another "
            "fingerprint than the table it is applied to"
        )
    return document
