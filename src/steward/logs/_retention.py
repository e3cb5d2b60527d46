"""Retention: remove compacted segments older than a date, whole.

A segment is removed only when all its records are timed before the cut-off day, so no
segment is ever left in part (verification would rightly call that a deletion); a day
partition goes with its last file. The caller ledgers the ids returned, and passes them to
:func:`~steward.logs.verify_log` as ``pruned``, whose absence is then expected.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from steward.logs._layout import (
    fsync_dir,
    hashes_path,
    manifest_path,
    parquet_dir,
    parquet_files,
    sealed_dir,
    segment_path,
)

__all__ = ["prune"]

_DAY = re.compile(r"^day=(\d{4}-\d{2}-\d{2})$")


def prune(root: Path, before: date) -> list[str]:
    """Remove every compacted segment whose records all fall on days before ``before`` (its
    Parquet files, manifest and hashes); return their ids, sorted. Segments not yet compacted
    are kept (compact them first). Safe to run again after a crash: the manifest goes first,
    so a segment cut short in pruning still has files, and is pruned (and reported) next time.
    """
    root = Path(root)
    cutoff = before.isoformat()
    gone: list[str] = []
    for segment_id, paths in parquet_files(root).items():
        days = [match.group(1) for path in paths if (match := _DAY.fullmatch(path.parent.name))]
        if len(days) != len(paths) or max(days) >= cutoff:
            continue
        if segment_path(root, segment_id).exists():
            continue  # a compaction in progress, or cut short: its .jsonl is still the record
        manifest_path(root, segment_id).unlink(missing_ok=True)
        hashes_path(root, segment_id).unlink(missing_ok=True)
        fsync_dir(sealed_dir(root))
        for path in paths:
            path.unlink(missing_ok=True)
        for folder in {path.parent for path in paths}:
            fsync_dir(folder)
        gone.append(segment_id)
    _remove_empty_partitions(parquet_dir(root))
    return sorted(gone)


def _remove_empty_partitions(base: Path) -> None:
    if not base.is_dir():
        return
    for endpoint in base.glob("endpoint=*"):
        for day in endpoint.glob("day=*"):
            if day.is_dir() and not any(day.iterdir()):
                day.rmdir()
                fsync_dir(endpoint)
        if endpoint.is_dir() and not any(endpoint.iterdir()):
            endpoint.rmdir()
            fsync_dir(base)
