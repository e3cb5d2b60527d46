"""Segments: append-only JSON-lines files, sealed by a manifest.

A segment ``ROOT/segments/SEGMENT_ID.jsonl`` holds one record a line; ``seq`` counts 0, 1,
2, … without gaps. Its writer holds an exclusive ``flock`` on it from before the file has its
name (it is created as a hidden temp file, locked, then renamed) until after it is sealed, so
a process that can take the lock knows the writer is gone.

Sealing writes the record hashes in seq order to ``ROOT/sealed/SEGMENT_ID.hashes`` and then
the manifest ``ROOT/sealed/SEGMENT_ID.json``, each atomically; the manifest is the commit
point: a segment is sealed exactly when its manifest exists, and is never written again.

The digest of a segment is ``sha256("\\n".join(hashes))`` over its record hashes (hex) in seq
order (``sha256(b"")`` for none); it is also the SHA-256 of the ``.hashes`` file. The anchor
the ledger keeps is ``(segment id, count, digest)``: with it, verification can tell whether
the ``.hashes`` file is authentic, and then name each record that differs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from steward.logs._layout import (
    atomic_write,
    check_endpoint,
    check_segment_id,
    hashes_path,
    manifest_path,
    sealed_dir,
    segments_dir,
)

__all__ = [
    "MANIFEST_FORMAT",
    "Line",
    "SealedSegment",
    "SegmentState",
    "held_lock",
    "intact_prefix",
    "iter_lines",
    "parse_lines",
    "read_manifest",
    "read_manifests",
    "seal",
    "sealed_backlog",
    "sealed_waiting",
    "segment_digest",
    "try_lock",
]

MANIFEST_FORMAT = "steward.prediction-log.segment/v1"


def segment_digest(hashes: Iterable[str]) -> str:
    """SHA-256 (hex) of the record hashes, in seq order, joined by ``"\\n"``."""
    return hashlib.sha256("\n".join(hashes).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class SealedSegment:
    """A sealed segment, as its manifest states it.

    ``(segment_id, count, digest)`` is the anchor to ledger; ``first_time``/``last_time`` are
    the earliest and latest record times (``None`` for an empty segment), ``endpoints`` the
    sorted endpoint names present, ``file_sha256`` the SHA-256 of the ``.jsonl`` bytes as
    sealed (compaction refuses a file that no longer has them).
    """

    segment_id: str
    count: int
    digest: str
    first_time: str | None
    last_time: str | None
    endpoints: tuple[str, ...]
    file_sha256: str

    def to_dict(self) -> dict[str, Any]:
        """The manifest document."""
        return {
            "format": MANIFEST_FORMAT,
            "segment": self.segment_id,
            "count": self.count,
            "digest": self.digest,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "endpoints": list(self.endpoints),
            "file_sha256": self.file_sha256,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> SealedSegment:
        """Read a manifest document; ``ValueError`` if it is not one."""
        if document.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"not a {MANIFEST_FORMAT} manifest")
        try:
            return cls(
                segment_id=check_segment_id(document["segment"]),
                count=int(document["count"]),
                digest=str(document["digest"]),
                first_time=document["first_time"],
                last_time=document["last_time"],
                endpoints=tuple(check_endpoint(e) for e in document["endpoints"]),
                file_sha256=str(document["file_sha256"]),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"malformed manifest: {error}") from error


class SegmentState:
    """What a writer or a recovery knows of a segment while filling it, to seal it."""

    def __init__(self, segment_id: str) -> None:
        self.segment_id = segment_id
        self.hashes: list[str] = []
        self.first_time: str | None = None
        self.last_time: str | None = None
        self.endpoints: set[str] = set()
        self.file_hash = hashlib.sha256()
        self.size = 0

    def add(self, record_hash: str, time: str, endpoint: str) -> None:
        self.hashes.append(record_hash)
        # Times have a fixed-width form, so text order is time order.
        if self.first_time is None or time < self.first_time:
            self.first_time = time
        if self.last_time is None or time > self.last_time:
            self.last_time = time
        self.endpoints.add(endpoint)

    def wrote(self, data: bytes) -> None:
        self.file_hash.update(data)
        self.size += len(data)

    def checkpoint(self) -> tuple[Any, ...]:
        """What :meth:`restore` needs to cut the state back to this moment."""
        return (
            len(self.hashes),
            self.size,
            self.file_hash.copy(),
            self.first_time,
            self.last_time,
            frozenset(self.endpoints),
        )

    def restore(self, checkpoint: tuple[Any, ...]) -> None:
        """Forget what was added after ``checkpoint`` (the file is cut back to ``size``)."""
        count, self.size, file_hash, self.first_time, self.last_time, endpoints = checkpoint
        del self.hashes[count:]
        self.file_hash = file_hash.copy()
        self.endpoints = set(endpoints)

    def sealed(self) -> SealedSegment:
        return SealedSegment(
            segment_id=self.segment_id,
            count=len(self.hashes),
            digest=segment_digest(self.hashes),
            first_time=self.first_time,
            last_time=self.last_time,
            endpoints=tuple(sorted(self.endpoints)),
            file_sha256=self.file_hash.hexdigest(),
        )


def seal(root: Path, state: SegmentState) -> SealedSegment:
    """Write the segment's ``.hashes`` file and then its manifest (the commit point)."""
    segment = state.sealed()
    atomic_write(hashes_path(root, segment.segment_id), "\n".join(state.hashes).encode("ascii"))
    atomic_write(
        manifest_path(root, segment.segment_id),
        orjson.dumps(segment.to_dict(), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2),
    )
    return segment


def read_manifest(root: Path, segment_id: str) -> SealedSegment | None:
    """The manifest of ``segment_id``, or ``None`` when it has none (or an unreadable one)."""
    try:
        data = manifest_path(root, segment_id).read_bytes()
    except FileNotFoundError:
        return None
    try:
        segment = SealedSegment.from_dict(orjson.loads(data))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return segment if segment.segment_id == segment_id else None


# Sealed segments waiting (up to 64 MiB each) past which compaction is behind: it then runs
# at the workers' priority, and a server starts it without waiting its usual minute.
BACKLOG = 4


def compaction_behind(root: Path) -> bool:
    """Whether more than ``BACKLOG`` sealed segments wait for compaction."""
    return sealed_backlog(root) > BACKLOG


def sealed_backlog(root: Path) -> int:
    """How many sealed segments are still in their ``.jsonl`` form (wait for compaction)."""
    return sum(1 for _ in _sealed_jsonl(root))


def sealed_waiting(root: Path) -> bool:
    """Whether a sealed segment is still in its ``.jsonl`` form (waits for compaction)."""
    return next(_sealed_jsonl(root), None) is not None


def _sealed_jsonl(root: Path) -> Iterator[Path]:
    folder = segments_dir(root)
    if not folder.is_dir():
        return
    for path in folder.glob("*.jsonl"):
        if manifest_path(root, path.stem).exists():
            yield path


def read_manifests(root: Path) -> dict[str, SealedSegment | None]:
    """Every manifest under ``root`` by segment id, in id order; ``None`` for one that cannot
    be read (or names another segment)."""
    folder = sealed_dir(root)
    if not folder.is_dir():
        return {}
    found: dict[str, SealedSegment | None] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            check_segment_id(path.stem)
        except ValueError:
            continue
        found[path.stem] = read_manifest(root, path.stem)
    return found


def try_lock(path: Path, *, shared: bool = False) -> int | None:
    """An open descriptor of ``path`` holding its ``flock`` (exclusive unless ``shared``), or
    ``None`` when another open file holds the lock (a live writer) or the file is gone. The
    lock lasts until the descriptor is closed."""
    try:
        fd = os.open(path, os.O_RDONLY if shared else os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def held_lock(path: Path) -> Iterator[None]:
    """Hold ``path``'s exclusive ``flock`` (the file is made if need be), waiting for it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Line:
    """One line of a segment file: its 1-based number, its bytes' end offset, and the object
    it holds (``None`` when it is not a JSON object)."""

    number: int
    end: int
    fields: dict[str, Any] | None


def parse_lines(data: bytes) -> tuple[list[Line], int]:
    """The complete lines of a segment file and the length of its complete part: bytes after
    the last newline (a write cut short) are not a line."""
    lines = list(iter_lines(data))
    return lines, lines[-1].end if lines else 0


def iter_lines(data: bytes) -> Iterator[Line]:
    """The complete lines of a segment file, one at a time (a reader that keeps only what it
    makes of each line never holds every parsed line at once)."""
    start = 0
    number = 0
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            return
        number += 1
        try:
            value = orjson.loads(data[start:end])
        except orjson.JSONDecodeError:
            value = None
        yield Line(number, end + 1, value if isinstance(value, dict) else None)
        start = end + 1


def intact_prefix(lines: Sequence[Line], complete: int) -> int:
    """Where a recovered segment ends: after its complete lines, less a last line that is not
    a JSON object (a torn write ends there). Earlier bad lines are kept for verification."""
    if lines and lines[-1].fields is None:
        return lines[-2].end if len(lines) > 1 else 0
    return complete
