"""The segment a writer is filling, and a flush of it begun by the writer's caller."""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steward.logs._layout import fsync_dir, make_dirs, new_segment_id, segment_path, segments_dir
from steward.logs._segment import SegmentState

__all__ = ["CallerFlush", "OpenSegment", "advance"]


class OpenSegment:
    """A segment being filled: its locked descriptor and what sealing needs."""

    def __init__(self, root: Path) -> None:
        self.state = SegmentState(new_segment_id())
        folder = segments_dir(root)
        make_dirs(folder)
        final = segment_path(root, self.state.segment_id)
        # Locked before it has its name: recovery in another process globs *.jsonl and must
        # never find a live segment unlocked (it would seal or delete it under the writer).
        tmp = folder / f".{final.name}.tmp"
        self.fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(tmp, final)
            fsync_dir(folder)
        except BaseException:
            os.close(self.fd)
            tmp.unlink(missing_ok=True)
            raise
        self.path = final
        self.opened = time.monotonic()
        self.flushed = self.state.checkpoint()  # the state as of the last flush
        self.torn = False  # a write failed and its bytes could not be cut off again

    @property
    def count(self) -> int:
        return len(self.state.hashes)

    @property
    def unflushed(self) -> bool:
        flushed_size: int = self.flushed[1]
        return self.state.size != flushed_size


@dataclass(frozen=True, slots=True)
class CallerFlush:
    """A flush of the open segment that the log's caller submitted (``begin_flush``): every
    ticket up to ``target`` was written to ``segment`` before it began."""

    segment: OpenSegment
    target: int
    checkpoint: tuple[Any, ...]


def advance(segment: OpenSegment, flushed: tuple[Any, ...]) -> None:
    """Record a flush of ``segment`` (called holding the lock; flushes from two threads may
    finish in either order, and the mark only moves forward)."""
    if flushed[1] > segment.flushed[1]:
        segment.flushed = flushed
