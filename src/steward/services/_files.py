"""Files the home keeps private: written atomically, readable by their owner only."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path

__all__ = ["private_folder", "publish_once", "write_private"]


def write_private(path: Path, content: str | bytes | Iterable[bytes]) -> Path:
    """Replace ``path`` atomically with ``content`` (text as UTF-8, or chunks of bytes
    written as they come), mode 0600 whatever the umask: written to a temporary file beside
    it, flushed to disk, then renamed over it, so a reader sees the old file or the new one,
    never a part (even after a crash)."""
    chunks: Iterable[bytes]
    if isinstance(content, str):
        chunks = (content.encode("utf-8"),)
    elif isinstance(content, bytes):
        chunks = (content,)
    else:
        chunks = content
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            os.chmod(tmp, 0o600)  # the umask may have taken bits away from 0600 too
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def private_folder(path: Path) -> Path:
    """Create folder ``path`` (its parent must exist) with mode 0700, whatever the umask."""
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def publish_once(path: Path, content: bytes) -> bytes:
    """Create private file ``path`` with ``content`` unless it exists, and return what it
    holds: written whole to a private temporary file and published by a hard link, which
    fails when the file exists, so processes starting at once agree on the first one
    written and a reader never sees a part."""
    folder = private_folder(path.parent)
    tmp = write_private(folder / f".{path.name}.{uuid.uuid4().hex}", content)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()
