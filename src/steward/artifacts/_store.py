"""Content-addressed artifact storage over fsspec.

An artifact's key is the SHA-256 of its bytes, laid out as ``sha256/ab/cd/abcd…`` under the
store's root. Writes go to ``tmp/`` and are renamed into place, so a reader never sees a
partial file; every read recomputes the hash and refuses bytes that do not match. Keys are
validated before any path is built, so no key can name a file outside the root. On a local
folder, files are written with mode 0600 and folders with 0700, whatever the umask.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from steward.errors import IntegrityError, InvalidInput, NotFound

__all__ = ["ArtifactStore", "parse_digest"]

_DIGEST = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")
_CHUNK = 1 << 20


def parse_digest(key: str) -> str:
    """The 64-hex-digit digest in ``key`` (``sha256:<hex>`` or ``<hex>``), else ``InvalidInput``."""
    match = _DIGEST.fullmatch(key)
    if match is None:
        raise InvalidInput(f"invalid artifact key {key!r}: expected sha256:<64 hex digits>")
    return match.group(1)


class ArtifactStore:
    """Artifacts by content hash, on any fsspec file system (local folder by default)."""

    def __init__(self, url: str) -> None:
        import fsspec

        self.url = url
        from fsspec.implementations.local import LocalFileSystem

        fs, root = fsspec.core.url_to_fs(url)
        self._fs: Any = fs
        self._root = root.rstrip("/") or "/"
        # POSIX modes mean something on a local folder only (object stores have ACLs)
        self._local = isinstance(fs, LocalFileSystem)

    def _path(self, key: str) -> str:
        digest = parse_digest(key)
        path = posixpath.join(self._root, "sha256", digest[:2], digest[2:4], digest)
        # The digest pattern already excludes separators and dots; this guards the invariant.
        if posixpath.commonpath([self._root, posixpath.normpath(path)]) != self._root:
            raise InvalidInput(f"artifact key {key!r} escapes the store root")
        return path

    def _tmp_path(self) -> str:
        return posixpath.join(self._root, "tmp", uuid.uuid4().hex)

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its key ``sha256:<hex>``. Storing the same bytes again is a
        no-op."""
        return self.put_stream(_single(data))

    def put_file(self, path: Path) -> str:
        """Store the file at ``path``, streaming it; return its key."""
        with path.open("rb") as handle:
            return self.put_stream(iter(lambda: handle.read(_CHUNK), b""))

    def put_stream(self, chunks: Iterator[bytes]) -> str:
        hasher = hashlib.sha256()
        tmp = self._tmp_path()
        self._makedirs(posixpath.dirname(tmp))
        try:
            with self._create(tmp) as out:
                for chunk in chunks:
                    hasher.update(chunk)
                    out.write(chunk)
            key = f"sha256:{hasher.hexdigest()}"
            final = self._path(key)
            if self._fs.exists(final):
                self._fs.rm(tmp)
            else:
                self._makedirs(posixpath.dirname(final))
                self._fs.mv(tmp, final)
        except BaseException:
            if self._fs.exists(tmp):
                self._fs.rm(tmp)
            raise
        return key

    def _create(self, path: str) -> IO[bytes]:
        """A new file open for writing: mode 0600 on a local folder, whatever the umask."""
        if not self._local:
            handle: IO[bytes] = self._fs.open(path, "wb")
            return handle
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.chmod(path, 0o600)
        return os.fdopen(fd, "wb")

    def _makedirs(self, path: str) -> None:
        """Create ``path`` and its missing parents: mode 0700 on a local folder."""
        if not self._local:
            self._fs.makedirs(path, exist_ok=True)
            return
        missing: list[str] = []
        while not os.path.isdir(path):
            missing.append(path)
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        for folder in reversed(missing):
            try:
                os.mkdir(folder, 0o700)
            except FileExistsError:
                continue  # made meanwhile by another writer, with the same mode
            os.chmod(folder, 0o700)

    def exists(self, key: str) -> bool:
        return bool(self._fs.exists(self._path(key)))

    def problem(self, key: str, *, progress: Callable[[int], None] | None = None) -> str | None:
        """What is wrong with the stored artifact ``key``, or ``None`` when it is intact.

        The contract, for a gate that must not pass a version whose file was swapped:

        - ``None``: a file is stored under ``key`` and its bytes hash to ``key``, now;
        - ``"missing"``: no file is stored under ``key`` (deleted, or never written here);
        - ``"does not match its hash"``: the file's bytes hash to something else (swapped,
          edited or damaged).

        The file is streamed in 1 MiB chunks (memory stays constant whatever its size), so
        the cost is one read of the file; ``progress`` is called with each chunk's length.
        ``InvalidInput`` for a malformed key; an I/O failure other than a missing file is
        raised as is (the answer is unknown, not "intact"). Nothing is cached: a later swap
        is seen by the next call, and a file swapped after the call returns is caught by the
        hash check of every read (``get_bytes``, ``copy_to``).
        """
        digest = parse_digest(key)
        path = self._path(key)
        hasher = hashlib.sha256()
        try:
            handle: IO[bytes]
            with self._fs.open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(_CHUNK), b""):
                    hasher.update(chunk)
                    if progress is not None:
                        progress(len(chunk))
        except (FileNotFoundError, IsADirectoryError):
            return "missing"
        if hasher.hexdigest() != digest:
            return "does not match its hash"
        return None

    def size(self, key: str) -> int:
        path = self._path(key)
        if not self._fs.exists(path):
            raise NotFound(f"artifact {key} not found in {self.url}")
        return int(self._fs.size(path))

    def get_bytes(self, key: str) -> bytes:
        """The artifact's bytes, after checking they hash to ``key``."""
        digest = parse_digest(key)
        data = self._read(key)
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise _mismatch(digest, actual)
        return data

    def copy_to(self, key: str, dest: Path) -> Path:
        """Stream the artifact to ``dest``, verifying its hash; nothing is left on mismatch."""
        digest = parse_digest(key)
        path = self._path(key)
        if not self._fs.exists(path):
            raise NotFound(f"artifact {key} not found in {self.url}")
        hasher = hashlib.sha256()
        partial = dest.with_name(dest.name + ".partial")
        try:
            with self._fs.open(path, "rb") as src, partial.open("wb") as out:
                for chunk in iter(lambda: src.read(_CHUNK), b""):
                    hasher.update(chunk)
                    out.write(chunk)
            if hasher.hexdigest() != digest:
                raise _mismatch(digest, hasher.hexdigest())
            partial.replace(dest)
        finally:
            partial.unlink(missing_ok=True)
        return dest

    def delete(self, key: str) -> None:
        """Remove an artifact (used to undo a write whose metadata transaction failed)."""
        path = self._path(key)
        if self._fs.exists(path):
            self._fs.rm(path)

    def _read(self, key: str) -> bytes:
        path = self._path(key)
        try:
            handle: IO[bytes]
            with self._fs.open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError as exc:
            raise NotFound(f"artifact {key} not found in {self.url}") from exc


def _single(data: bytes) -> Iterator[bytes]:
    yield data


def _mismatch(expected: str, actual: str) -> IntegrityError:
    return IntegrityError(
        f"artifact sha256:{expected} is corrupt: its bytes hash to sha256:{actual} "
        "(hash mismatch; refusing to use it)",
        details={"expected": expected, "actual": actual},
    )
