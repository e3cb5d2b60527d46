"""Compaction: a sealed segment becomes Parquet, partitioned by endpoint and day.

``ROOT/parquet/endpoint=E/day=YYYY-MM-DD/SEGMENT_ID.parquet`` holds the segment's records of
endpoint ``E`` timed on that (UTC) day, one row per prediction in seq order (a batch line's
rows in their order, with their ``row``), with their ``segment``, ``seq`` and ``hash``:
verification works on either form. Each file is written to a temp name, flushed and
renamed, and the ``.jsonl`` is removed only after every file is in place, so a compaction cut
short is simply run again: it rewrites the same names and never duplicates a record.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import polars as pl

from steward.errors import IntegrityError
from steward.logs._frame import Columns
from steward.logs._layout import (
    check_endpoint,
    check_segment_id,
    fsync_dir,
    make_dirs,
    parquet_dir,
    parquet_files,
    segment_path,
)
from steward.logs._segment import (
    SealedSegment,
    held_lock,
    iter_lines,
    read_manifest,
    read_manifests,
)

__all__ = ["LOCK_NAME", "compact", "compact_all"]

LOCK_NAME = "compacting.lock"


def compact(root: Path, segment: SealedSegment | str) -> list[Path]:
    """Write sealed ``segment`` (or the segment of that id) as Parquet and remove its
    ``.jsonl``; return its Parquet files, sorted. A segment already compacted returns its
    files (none once pruned).

    Raises ``ValueError`` for a segment that is not sealed (no manifest) or a record whose
    endpoint is not a valid name, and :class:`~steward.errors.IntegrityError` when the
    ``.jsonl`` no longer has the bytes it was sealed with (it is kept, for verification).
    """
    root = Path(root)
    segment_id = check_segment_id(
        segment.segment_id if isinstance(segment, SealedSegment) else segment
    )
    manifest = read_manifest(root, segment_id)
    if manifest is None:
        raise ValueError(f"segment {segment_id} is not sealed: run recover() first")
    source = segment_path(root, segment_id)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        return parquet_files(root, segment_id).get(segment_id, [])
    if hashlib.sha256(data).hexdigest() != manifest.file_sha256:
        raise IntegrityError(
            f"segment {segment_id} differs from the bytes it was sealed with; not compacted",
            details={"segment": segment_id},
        )
    partitions: dict[tuple[str, str], Columns] = {}
    for line in iter_lines(data):
        fields = line.fields or {}
        endpoint, when = fields.get("endpoint"), fields.get("time")
        if not (isinstance(endpoint, str) and isinstance(when, str)):
            _not_a_record(segment_id)
        key = (check_endpoint(endpoint), when[:10])
        columns = partitions.get(key)
        if columns is None:  # not setdefault: a Columns made for every line
            columns = partitions[key] = Columns()
        if not columns.add_line(fields):
            _not_a_record(segment_id)
    if data and not data.endswith(b"\n"):
        _not_a_record(segment_id)
    written = [
        _write_partition(root, segment_id, endpoint, day, columns)
        for (endpoint, day), columns in sorted(partitions.items())
    ]
    source.unlink(missing_ok=True)
    fsync_dir(source.parent)
    return sorted(written)


def _not_a_record(segment_id: str) -> NoReturn:
    raise IntegrityError(
        f"segment {segment_id} holds a line that is not a record; not compacted",
        details={"segment": segment_id},
    )


def compact_all(root: Path, keep_going: Callable[[], bool] | None = None) -> list[Path]:
    """Compact every sealed segment still in ``.jsonl`` form, and those sealed meanwhile,
    until none waits; return the files written. ``keep_going()`` is asked before each
    segment: ``False`` stops there (the rest wait for the next run). A segment refused for
    its integrity is left as it is and the others are compacted, then
    :class:`~steward.errors.IntegrityError` names every refused segment.

    One compaction of a log runs at a time (``ROOT/compacting.lock``): each worker of a
    server may start one, and a second waits for the first, then finds only what is left
    instead of doing the same work again at the same time."""
    root = Path(root)
    written: list[Path] = []
    refused: list[str] = []
    if not root.is_dir():
        return written
    with held_lock(root / LOCK_NAME):
        waiting = _waiting(root, refused)
        while waiting:  # each pass compacts (or refuses) what it found: it ends when idle
            for segment_id in waiting:
                if keep_going is not None and not keep_going():
                    waiting = []
                    break
                try:
                    written += compact(root, segment_id)
                except IntegrityError:
                    refused.append(segment_id)
            else:
                waiting = _waiting(root, refused)
    if refused:
        raise IntegrityError(
            f"not compacted, their files differ from their seals: {', '.join(refused)}",
            details={"segments": refused},
        )
    return written


def _waiting(root: Path, refused: list[str]) -> list[str]:
    """The sealed segments still in ``.jsonl`` form, in id order, but those refused."""
    return [
        segment_id
        for segment_id in read_manifests(root)
        if segment_id not in refused and segment_path(root, segment_id).exists()
    ]


def _write_partition(
    root: Path, segment_id: str, endpoint: str, day: str, columns: Columns
) -> Path:
    folder = parquet_dir(root) / f"endpoint={endpoint}" / f"day={day}"
    make_dirs(folder)
    target = folder / f"{segment_id}.parquet"
    tmp = folder / f".{segment_id}.parquet.{secrets.token_hex(4)}.tmp"
    # in seq order, a batch line's rows in their order (a sealed file is in seq order already)
    order = [pl.col("seq"), pl.col("row").fill_null(0)]
    frame = columns.frame().sort(order, maintain_order=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            frame.write_parquet(out, statistics=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(folder)
    return target
