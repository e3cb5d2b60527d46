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
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from steward.errors import IntegrityError
from steward.logs._frame import frame_of_rows, rows_of_fields
from steward.logs._layout import (
    check_endpoint,
    check_segment_id,
    fsync_dir,
    make_dirs,
    parquet_dir,
    parquet_files,
    segment_path,
)
from steward.logs._segment import SealedSegment, parse_lines, read_manifest, read_manifests

__all__ = ["compact", "compact_all"]


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
    lines, complete = parse_lines(data)
    exploded = [rows_of_fields(line.fields) for line in lines]
    rows = [row for found in exploded if found is not None for row in found]
    if complete != len(data) or any(found is None for found in exploded):
        raise IntegrityError(
            f"segment {segment_id} holds a line that is not a record; not compacted",
            details={"segment": segment_id},
        )
    partitions: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        partitions.setdefault((check_endpoint(row["endpoint"]), row["time"][:10]), []).append(row)
    written = [
        _write_partition(root, segment_id, endpoint, day, part)
        for (endpoint, day), part in sorted(partitions.items())
    ]
    source.unlink(missing_ok=True)
    fsync_dir(source.parent)
    return sorted(written)


def compact_all(root: Path) -> list[Path]:
    """Compact every sealed segment still in ``.jsonl`` form; return the files written.
    A segment refused for its integrity is left as it is and the others are compacted, then
    :class:`~steward.errors.IntegrityError` names every refused segment."""
    root = Path(root)
    written: list[Path] = []
    refused: list[str] = []
    for segment_id in read_manifests(root):
        if not segment_path(root, segment_id).exists():
            continue
        try:
            written += compact(root, segment_id)
        except IntegrityError:
            refused.append(segment_id)
    if refused:
        raise IntegrityError(
            f"not compacted, their files differ from their seals: {', '.join(refused)}",
            details={"segments": refused},
        )
    return written


def _write_partition(
    root: Path, segment_id: str, endpoint: str, day: str, rows: Iterable[dict[str, Any]]
) -> Path:
    folder = parquet_dir(root) / f"endpoint={endpoint}" / f"day={day}"
    make_dirs(folder)
    target = folder / f"{segment_id}.parquet"
    tmp = folder / f".{segment_id}.parquet.{secrets.token_hex(4)}.tmp"
    frame = frame_of_rows(sorted(rows, key=lambda row: (int(row["seq"]), row["row"] or 0)))
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
