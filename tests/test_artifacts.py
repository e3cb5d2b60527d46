"""The artifact store on a local folder and on an in-memory fsspec file system."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from steward.artifacts import ArtifactStore, parse_digest
from steward.errors import IntegrityError, InvalidInput, NotFound


@pytest.fixture(params=["local", "memory"])
def artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local":
        return ArtifactStore(str(tmp_path / "artifacts"))
    return ArtifactStore(f"memory://steward-test-{uuid.uuid4().hex}")


def test_bytes_round_trip_under_their_sha256(artifacts: ArtifactStore) -> None:
    data = b"model weights \x00\x01" * 1000
    key = artifacts.put_bytes(data)
    assert key == "sha256:" + hashlib.sha256(data).hexdigest()
    assert artifacts.exists(key)
    assert artifacts.get_bytes(key) == data
    assert artifacts.size(key) == len(data)


def test_storing_the_same_content_twice_keeps_one_copy(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    first = store.put_bytes(b"same")
    second = store.put_bytes(b"same")
    assert first == second
    files = [p for p in (tmp_path / "a").rglob("*") if p.is_file()]
    assert len(files) == 1


def test_files_are_streamed_in_and_copied_out_with_verification(
    artifacts: ArtifactStore, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * 20_000)  # 5 MB, several chunks
    key = artifacts.put_file(source)
    copy = artifacts.copy_to(key, tmp_path / "copy.bin")
    assert copy.read_bytes() == source.read_bytes()


def test_a_changed_byte_is_refused_with_a_hash_mismatch(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    key = store.put_bytes(b"the approved model")
    (stored,) = [p for p in (tmp_path / "a").rglob("*") if p.is_file()]
    raw = bytearray(stored.read_bytes())
    raw[4] ^= 0x01
    stored.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="hash mismatch"):
        store.get_bytes(key)
    with pytest.raises(IntegrityError, match="hash mismatch"):
        store.copy_to(key, tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()
    assert not list(tmp_path.glob("out.bin*"))


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "sha256:../../../etc/passwd",
        "/etc/passwd",
        "sha256:" + "a" * 63,
        "sha256:" + "A" * 64,
        "a" * 64 + "/../x",
        "",
    ],
)
def test_keys_that_are_not_digests_cannot_name_a_path(artifacts: ArtifactStore, key: str) -> None:
    with pytest.raises(InvalidInput, match="invalid artifact key"):
        artifacts.get_bytes(key)
    with pytest.raises(InvalidInput):
        artifacts.exists(key)


def test_a_missing_artifact_is_not_found(artifacts: ArtifactStore) -> None:
    with pytest.raises(NotFound):
        artifacts.get_bytes("sha256:" + "0" * 64)


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))

    def chunks() -> Iterator[bytes]:
        yield b"partial data"
        raise OSError("disk vanished")

    with pytest.raises(OSError, match="disk vanished"):
        store.put_stream(chunks())
    assert [p for p in (tmp_path / "a").rglob("*") if p.is_file()] == []


def test_delete_removes_an_artifact(artifacts: ArtifactStore) -> None:
    key = artifacts.put_bytes(b"orphan")
    artifacts.delete(key)
    assert not artifacts.exists(key)


def test_parse_digest_accepts_both_spellings() -> None:
    digest = "f" * 64
    assert parse_digest(digest) == parse_digest(f"sha256:{digest}") == digest
