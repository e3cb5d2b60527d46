"""Where the log's files live, what their names may be, and how they are made durable.

::

    ROOT/segments/SEGMENT_ID.jsonl        append-only, one record a line (open or sealed)
    ROOT/segments/.SEGMENT_ID.jsonl.tmp   a segment being created (locked, then renamed)
    ROOT/sealed/SEGMENT_ID.json           the manifest: written once, when the segment is sealed
    ROOT/sealed/SEGMENT_ID.hashes         the record hashes in seq order, joined by "\\n"
    ROOT/parquet/endpoint=E/day=YYYY-MM-DD/SEGMENT_ID.parquet

Every name is validated before a path is built from it (segment ids and endpoint names come
back from files on disk, which verification does not trust), so no name can reach outside the
root. Files are created with mode 0600 and folders with 0700: the records are redacted, but
what a model was asked is still the business of its owners.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "ENDPOINT",
    "SEGMENT_ID",
    "atomic_write",
    "check_endpoint",
    "check_segment_id",
    "fsync_dir",
    "hashes_path",
    "make_dirs",
    "manifest_path",
    "new_segment_id",
    "parquet_dir",
    "parquet_files",
    "sealed_dir",
    "segment_path",
    "segments_dir",
    "sync",
    "write_all",
]

ENDPOINT = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
# The time (to the microsecond, UTC) first, so ids sort by creation; pid and randomness make
# them unique across the workers of a server and across hosts sharing a folder.
SEGMENT_ID = re.compile(r"^\d{8}T\d{12}Z-\d{1,10}-[0-9a-f]{8}$")
_DAY = re.compile(r"^day=\d{4}-\d{2}-\d{2}$")
_DIR_MODE = 0o700


def check_endpoint(name: object) -> str:
    """``name`` if it is an endpoint name (``^[a-z][a-z0-9-]{0,62}$``), else ``ValueError``."""
    if not isinstance(name, str) or ENDPOINT.fullmatch(name) is None:
        raise ValueError(f"invalid endpoint name {name!r}: expected ^[a-z][a-z0-9-]{{0,62}}$")
    return name


def check_segment_id(segment_id: object) -> str:
    """``segment_id`` if it has the form of a segment id, else ``ValueError``."""
    if not isinstance(segment_id, str) or SEGMENT_ID.fullmatch(segment_id) is None:
        raise ValueError(f"invalid segment id {segment_id!r}")
    return segment_id


def new_segment_id() -> str:
    """A fresh segment id: ``YYYYMMDDTHHMMSSffffffZ-<pid>-<8 hex>``."""
    now = datetime.fromtimestamp(time.time(), UTC)
    return f"{now:%Y%m%dT%H%M%S%f}Z-{os.getpid()}-{secrets.token_hex(4)}"


def segments_dir(root: Path) -> Path:
    return root / "segments"


def sealed_dir(root: Path) -> Path:
    return root / "sealed"


def parquet_dir(root: Path) -> Path:
    return root / "parquet"


def segment_path(root: Path, segment_id: str) -> Path:
    return segments_dir(root) / f"{check_segment_id(segment_id)}.jsonl"


def manifest_path(root: Path, segment_id: str) -> Path:
    return sealed_dir(root) / f"{check_segment_id(segment_id)}.json"


def hashes_path(root: Path, segment_id: str) -> Path:
    return sealed_dir(root) / f"{check_segment_id(segment_id)}.hashes"


def parquet_files(root: Path, segment_id: str | None = None) -> dict[str, list[Path]]:
    """The Parquet files under ``root``, by segment id (of one segment, when given), each list
    sorted; files whose names are not ``endpoint=E/day=D/SEGMENT_ID.parquet`` are ignored."""
    base = parquet_dir(root)
    if not base.is_dir():
        return {}
    name = "*" if segment_id is None else check_segment_id(segment_id)
    found: dict[str, list[Path]] = {}
    for path in sorted(base.glob(f"endpoint=*/day=*/{name}.parquet")):
        if (
            SEGMENT_ID.fullmatch(path.stem)
            and _DAY.fullmatch(path.parent.name)
            and ENDPOINT.fullmatch(path.parent.parent.name.removeprefix("endpoint="))
        ):
            found.setdefault(path.stem, []).append(path)
    return found


def make_dirs(path: Path) -> None:
    """Create ``path`` and its parents (mode 0700), fsyncing each parent that gained an entry."""
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=_DIR_MODE)
        except FileExistsError:
            continue
        fsync_dir(folder.parent)


def fsync_dir(path: Path) -> None:
    """Make the entries of the folder ``path`` (a create, rename or unlink) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync(fd: int) -> None:
    """Flush a file's data (and the metadata needed to read it back, such as its size)."""
    # fdatasync skips the timestamps an fsync would also write; macOS has no fdatasync.
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write fewer)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, durably: a reader (or a crash) sees the old file or the
    new one, never a part. Temp file in the same folder, fsync, rename, fsync the folder."""
    make_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
