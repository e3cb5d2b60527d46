"""The Merkle tree against a direct transcription of RFC 6962's recursive definitions."""

from __future__ import annotations

import hashlib

import pytest

from steward.ledger import (
    EMPTY_ROOT,
    Frontier,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_inclusion,
)


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def reference_mth(data: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 6962 section 2.1 writes it."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = _k(n)
    return hashlib.sha256(b"\x01" + reference_mth(data[:k]) + reference_mth(data[k:])).digest()


def reference_path(m: int, data: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) exactly as RFC 6962 section 2.1.1 writes it."""
    n = len(data)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*reference_path(m, data[:k]), reference_mth(data[k:])]
    return [*reference_path(m - k, data[k:]), reference_mth(data[:k])]


DATA = [f"event {i}".encode() for i in range(70)]


def test_leaf_and_node_hashes_use_distinct_prefixes() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


@pytest.mark.parametrize("n", range(0, 70))
def test_root_matches_rfc6962_for_every_size(n: int) -> None:
    leaves = [leaf_hash(d) for d in DATA[:n]]
    assert root_of(leaves) == reference_mth(DATA[:n])


def test_frontier_root_after_each_append_matches_the_reference() -> None:
    frontier = Frontier()
    for n, data in enumerate(DATA, start=1):
        frontier.append(leaf_hash(data))
        assert frontier.root() == reference_mth(DATA[:n])
        restored = Frontier.from_bytes(frontier.size, frontier.to_bytes())
        assert restored.root() == frontier.root()


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33])
def test_inclusion_proofs_match_the_rfc_and_verify(n: int) -> None:
    leaves = [leaf_hash(d) for d in DATA[:n]]
    root = reference_mth(DATA[:n])
    for m in range(n):
        proof = inclusion_proof(m, leaves)
        assert proof == reference_path(m, DATA[:n])
        assert verify_inclusion(leaves[m], m, n, proof, root)


def test_a_proof_fails_for_another_leaf_index_size_or_a_changed_node() -> None:
    leaves = [leaf_hash(d) for d in DATA[:13]]
    root = root_of(leaves)
    proof = inclusion_proof(5, leaves)
    assert not verify_inclusion(leaves[6], 5, 13, proof, root)
    assert not verify_inclusion(leaves[5], 4, 13, proof, root)
    assert not verify_inclusion(leaves[5], 5, 40, proof, root)
    assert not verify_inclusion(leaves[5], 5, 13, proof[:-1], root)
    broken = [*proof]
    broken[1] = bytes(32)
    assert not verify_inclusion(leaves[5], 5, 13, broken, root)


def test_frontier_refuses_bytes_that_do_not_fit_its_size() -> None:
    with pytest.raises(ValueError, match="do not match"):
        Frontier.from_bytes(3, b"\x00" * 32)


def test_the_tree_head_message_is_canonical_json() -> None:
    from steward.ledger import canonical_bytes, tree_head_message

    for timestamp, key_id in [("2026-01-02T03:04:05.000006Z", "ab" * 32), ('odd "ts"', "k")]:
        expected = canonical_bytes(
            {
                "key_id": key_id,
                "kind": "steward.tree_head/v1",
                "root_hash": (b"\x01" * 32).hex(),
                "timestamp": timestamp,
                "tree_size": 7,
            }
        )
        assert tree_head_message(7, b"\x01" * 32, timestamp, key_id) == expected
