"""Recovery: seal the segments whose writers died.

A segment with no manifest whose lock can be taken has no writer (a live writer holds the
lock from before the file has its name until after its manifest is written). Its last line
may be torn (no newline, or not JSON): that write's flush never returned, so none of its
records was acknowledged, and it is cut away. Then the segment is sealed like any other. A
segment with no complete line is removed: it holds nothing anyone was promised.

Idempotent and safe to run concurrently, from any number of processes: the lock makes one
process repair a segment, and the manifest, checked again under the lock, makes it once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from steward.logs._layout import (
    ENDPOINT,
    SEGMENT_ID,
    fsync_dir,
    manifest_path,
    sealed_dir,
    segments_dir,
)
from steward.logs._segment import (
    Line,
    SealedSegment,
    SegmentState,
    intact_prefix,
    parse_lines,
    seal,
    try_lock,
)

__all__ = ["recover"]

# A temp file younger than this may belong to a writer between creating and locking it.
_STALE_SECONDS = 60.0


def recover(
    root: Path, on_sealed: Callable[[SealedSegment], None] | None = None
) -> list[SealedSegment]:
    """Repair and seal every unsealed segment under ``root`` that no live writer holds; return
    the segments sealed, in id order, after calling ``on_sealed`` with each (its exceptions
    propagate; the segment stays sealed, and :func:`~steward.logs.unanchored` finds it).
    Segments held by live writers (in this process or another) are left alone."""
    root = Path(root)
    folder = segments_dir(root)
    if not folder.is_dir():
        return []
    _remove_stale_temp_files(folder, ".jsonl.tmp")
    _remove_stale_temp_files(sealed_dir(root), ".tmp")
    sealed: list[SealedSegment] = []
    for path in sorted(folder.glob("*.jsonl")):
        segment_id = path.stem
        if SEGMENT_ID.fullmatch(segment_id) is None or manifest_path(root, segment_id).exists():
            continue
        fd = try_lock(path)
        if fd is None:
            continue
        try:
            if manifest_path(root, segment_id).exists():
                continue  # sealed by its writer or another recovery since we looked
            segment = _repair(root, segment_id, path, fd)
        finally:
            os.close(fd)
        if segment is not None:
            sealed.append(segment)
            if on_sealed is not None:
                on_sealed(segment)
    return sealed


def _repair(root: Path, segment_id: str, path: Path, fd: int) -> SealedSegment | None:
    data = _read_all(fd)
    lines, complete = parse_lines(data)
    end = intact_prefix(lines, complete)
    if end < len(data):
        os.ftruncate(fd, end)
        os.fsync(fd)
    kept = [line for line in lines if line.end <= end]
    if not kept:
        path.unlink()
        fsync_dir(path.parent)
        return None
    state = SegmentState(segment_id)
    for line in kept:
        fields = _countable(line)
        if fields is not None:
            state.add(*fields)
    state.wrote(data[:end])
    return seal(root, state)


def _countable(line: Line) -> tuple[str, str, str] | None:
    """(hash, time, endpoint) of a line that is a record; a line that is not is left in the
    file, uncounted, for verification to report."""
    fields = line.fields
    if fields is None:
        return None
    record_hash, when, endpoint = fields.get("hash"), fields.get("time"), fields.get("endpoint")
    if not (isinstance(record_hash, str) and isinstance(when, str) and isinstance(endpoint, str)):
        return None
    if ENDPOINT.fullmatch(endpoint) is None:
        return None
    return record_hash, when, endpoint


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks: list[bytes] = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _remove_stale_temp_files(folder: Path, suffix: str) -> None:
    if not folder.is_dir():
        return
    now = time.time()
    for path in folder.glob(f".*{suffix}"):
        try:
            if now - path.stat().st_mtime < _STALE_SECONDS:
                continue
        except FileNotFoundError:
            continue
        fd = try_lock(path)
        if fd is None:
            continue
        try:
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
