"""The standalone export verifier: Ed25519 from RFC 8032, the file format, tamper detection."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import steward.ledger.verify_export as verifier
from steward.ledger import (
    Frontier,
    Signer,
    canonical_bytes,
    export_lines,
    leaf_hash,
    root_of,
)
from steward.ledger.verify_export import (
    Result,
    ed25519_verify,
    load_public_key,
    verify_file,
    verify_stream,
)

SCRIPT = Path(verifier.__file__)
L = 2**252 + 27742317777372353535851937790883648493
P = 2**255 - 19
RNG = random.Random(8032)


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(random.Random(seed).randbytes(32))


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _body(seq: int) -> bytes:
    return canonical_bytes(
        {
            "actor": "admin",
            "payload": {"note": "café ✓", "n": seq, "ratio": seq / 7, "tags": ["a", None]},
            "seq": seq,
            "subject": f"user-{seq}" if seq % 2 else None,
            "ts": f"2024-05-01T12:00:{seq % 60:02d}Z",
            "type": "user.created",
            "v": 1,
        }
    )


def _export(signer: Signer, n: int, body: Callable[[int], bytes] = _body) -> tuple[bytes, bytes]:
    """An export of ``n`` events and the root Frontier computes for it."""
    bodies = [body(seq) for seq in range(1, n + 1)]
    frontier = Frontier()
    for item in bodies:
        frontier.append(leaf_hash(item))
    head = signer.sign_tree_head(n, frontier.root(), "2024-05-01T12:30:00Z")
    data = b"".join(export_lines(head, signer.public_key, (b.decode() for b in bodies)))
    return data, frontier.root()


def _verify(data: bytes, trusted: bytes | None = None) -> Result:
    return verify_stream(data.splitlines(keepends=True), trusted)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(_key(1))


@pytest.fixture(scope="module")
def small(signer: Signer) -> bytes:
    return _export(signer, 5)[0]


# --- Ed25519 --------------------------------------------------------------------------------


def test_ed25519_accepts_rfc8032_test_vector_1_empty_message() -> None:
    secret = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
        "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    assert (_raw_public(key), key.sign(b"")) == (public, signature)  # the vector is right
    assert ed25519_verify(public, b"", signature)
    assert not ed25519_verify(public, b"\x00", signature)


def test_ed25519_agrees_with_cryptography_on_random_keys_and_messages() -> None:
    for seed in range(40):
        key = _key(100 + seed)
        message = RNG.randbytes(RNG.randrange(0, 300))
        assert ed25519_verify(_raw_public(key), message, key.sign(message))


def test_ed25519_rejects_any_flipped_bit_in_message_signature_or_key() -> None:
    key = _key(7)
    public, message = _raw_public(key), b"steward tree head"
    signature = key.sign(message)
    for bit in RNG.sample(range(len(message) * 8), 16):
        assert not ed25519_verify(public, _flip(message, bit), signature)
    for bit in [*RNG.sample(range(256), 12), *RNG.sample(range(256, 512), 12), 255, 511]:
        assert not ed25519_verify(public, message, _flip(signature, bit))  # R and S halves
    for bit in [*RNG.sample(range(256), 16), 255]:
        assert not ed25519_verify(_flip(public, bit), message, signature)


def test_ed25519_rejects_s_not_below_the_group_order() -> None:
    key = _key(8)
    signature = key.sign(b"m")
    s = int.from_bytes(signature[32:], "little")
    # [S + L]B == [S]B, so only the range check stops this malleated signature.
    malleated = signature[:32] + (s + L).to_bytes(32, "little")
    assert not ed25519_verify(_raw_public(key), b"m", malleated)


def test_ed25519_rejects_a_non_canonical_point_encoding() -> None:
    # With A the identity, any (R, S) where R = [S]B verifies. R = [a]B is a public key made
    # from a seed whose clamped secret scalar is a, so S = a mod L.
    seed_key = _key(9)
    digest = bytearray(hashlib.sha512(seed_key.private_bytes_raw()).digest()[:32])
    digest[0] &= 248
    digest[31] = (digest[31] & 127) | 64
    s = int.from_bytes(digest, "little") % L
    signature = _raw_public(seed_key) + s.to_bytes(32, "little")
    identity = (1).to_bytes(32, "little")
    identity_non_canonical = (P + 1).to_bytes(32, "little")  # y = p + 1 means y = 1
    assert ed25519_verify(identity, b"any", signature)
    assert not ed25519_verify(identity_non_canonical, b"any", signature)


def test_ed25519_returns_false_on_wrong_lengths() -> None:
    key = _key(10)
    signature = key.sign(b"m")
    assert not ed25519_verify(_raw_public(key)[:31], b"m", signature)
    assert not ed25519_verify(_raw_public(key), b"m", signature[:63])


# --- Intact exports -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 8, 9, 100])
def test_intact_export_verifies_with_frontiers_root(signer: Signer, n: int) -> None:
    data, root = _export(signer, n)
    result = _verify(data, signer.public_key.raw)
    assert result.ok, result
    assert (result.events, result.root_hash) == (n, root.hex())
    assert result.key_id == signer.key_id
    assert result.timestamp == "2024-05-01T12:30:00Z"


def test_verify_file_reads_a_file_and_uses_the_header_key_without_a_trusted_one(
    signer: Signer, small: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "export.jsonl"
    path.write_bytes(small)
    assert verify_file(path).ok
    assert verify_file(str(path), signer.public_key.raw).ok


def test_memory_does_not_grow_with_the_number_of_events(signer: Signer) -> None:
    def peak(n: int) -> int:
        frontier = Frontier()
        for seq in range(1, n + 1):
            frontier.append(leaf_hash(_body(seq)))
        head = signer.sign_tree_head(n, frontier.root(), "t")

        def lines() -> Iterator[bytes]:  # generated lazily: the test holds no list either
            yield from export_lines(
                head, signer.public_key, (_body(s).decode() for s in range(1, n + 1))
            )

        tracemalloc.start()
        try:
            assert verify_stream(lines(), signer.public_key.raw).ok
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # tracemalloc counts every thread's allocations: a thread another test left running in
    # this process can add to one sample, never take away, so each size keeps its least
    small_peak = min(peak(200) for _ in range(3))
    large_peak = min(peak(5_000) for _ in range(3))  # both about 8 KiB in practice
    assert large_peak < small_peak + 4096, (small_peak, large_peak)


# --- Tampering ------------------------------------------------------------------------------


def test_changing_any_single_byte_fails_verification(signer: Signer, small: bytes) -> None:
    assert _verify(small, signer.public_key.raw).ok
    survivors = []
    for index, byte in enumerate(small):
        # A near value, the other letter case, a newline and a space: each must be caught.
        for value in {byte ^ 0x01, byte ^ 0x20, 0x0A, 0x20} - {byte}:
            changed = small[:index] + bytes([value]) + small[index + 1 :]
            # Self-asserted key: the weakest mode (a trusted key only adds a check).
            if _verify(changed).ok:
                survivors.append((index, value))
    assert survivors == []


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def test_deleting_any_line_fails(small: bytes) -> None:
    lines = _lines(small)
    for index in range(len(lines)):
        assert not _verify(b"".join(lines[:index] + lines[index + 1 :])).ok


def test_swapping_two_event_lines_fails_naming_the_line_and_seq(small: bytes) -> None:
    lines = _lines(small)
    lines[2], lines[3] = lines[3], lines[2]
    result = _verify(b"".join(lines))
    assert not result.ok
    assert (result.line, result.seq) == (3, 3)


def test_appending_a_duplicate_event_fails(small: bytes) -> None:
    lines = _lines(small)
    assert not _verify(b"".join([*lines[:-1], lines[-2], lines[-1]])).ok
    assert not _verify(small + lines[-2]).ok


def test_truncating_the_file_anywhere_fails(small: bytes) -> None:
    for size in range(len(small)):
        assert not _verify(small[:size]).ok


def test_a_trailing_blank_line_or_extra_bytes_fail(small: bytes) -> None:
    assert not _verify(small + b"\n").ok
    assert not _verify(small + b" ").ok


def test_non_canonical_but_equivalent_json_fails(signer: Signer) -> None:
    data = _export(signer, 1)[0]
    lines = _lines(data)
    spaced = json.dumps(json.loads(lines[1]), sort_keys=True).encode() + b"\n"
    result = _verify(b"".join([lines[0], spaced, lines[2]]))
    assert not result.ok
    assert result.line == 2
    assert "canonical" in (result.problem or "")


def test_events_lacking_required_fields_fail_even_when_correctly_signed() -> None:
    signer = Signer(_key(11))
    data = _export(signer, 2, lambda seq: canonical_bytes({"seq": seq}))[0]
    result = _verify(data)
    assert not result.ok
    assert (result.line, result.seq) == (2, 1)


def _handmade(key: Ed25519PrivateKey, n: int, **head: object) -> bytes:
    """An export signed by ``key`` whose header and head fields can be overridden."""
    public = _raw_public(key)
    bodies = [_body(seq) for seq in range(1, n + 1)]
    fields: dict[str, object] = {
        "key_id": hashlib.sha256(public).hexdigest(),
        "kind": "steward.tree_head/v1",
        "root_hash": root_of([leaf_hash(b) for b in bodies]).hex(),
        "timestamp": "t",
        "tree_size": n,
        **head,
    }
    header = {"format": "steward.ledger_export/v1", "public_key": public.hex()}
    header["key_id"] = hashlib.sha256(public).hexdigest()
    fields["signature"] = key.sign(canonical_bytes(fields)).hex()
    lines = [canonical_bytes(header), *bodies, canonical_bytes(fields)]
    return b"".join(line + b"\n" for line in lines)


def test_handmade_exports_match_the_producers_format() -> None:
    key = _key(15)
    assert _handmade(key, 3, timestamp="2024-05-01T12:30:00Z") == _export(Signer(key), 3)[0]


def test_a_header_key_id_that_is_not_the_keys_sha256_fails() -> None:
    # Header and signed head agree on a key id, but it is not the hash of the header's key.
    lines = _lines(_handmade(_key(16), 2, key_id="ab" * 32))
    lines[0] = canonical_bytes({**json.loads(lines[0]), "key_id": "ab" * 32}) + b"\n"
    result = _verify(b"".join(lines))
    assert not result.ok
    assert result.line == 1


def test_a_tree_head_naming_another_key_id_fails_even_if_validly_signed() -> None:
    result = _verify(_handmade(_key(16), 2, key_id="ab" * 32))
    assert not result.ok
    assert result.line == 4


def test_a_signed_tree_size_other_than_the_event_count_fails() -> None:
    for events, size in ((2, 1), (2, 3), (2, 0), (1, True), (1, 1.0), (1, "1")):
        result = _verify(_handmade(_key(17), events, tree_size=size))
        assert not result.ok
        assert result.line == events + 2


def test_a_signed_head_of_another_kind_or_with_extra_fields_fails() -> None:
    assert not _verify(_handmade(_key(18), 2, kind="steward.tree_head/v2")).ok
    assert not _verify(_handmade(_key(18), 2, note="unsigned? no, but unexpected")).ok


@pytest.mark.parametrize("seq", [True, 1.0, "1"])
def test_an_event_seq_that_is_not_an_integer_fails_even_when_correctly_signed(
    seq: object,
) -> None:
    body = canonical_bytes({**json.loads(_body(1)), "seq": seq})
    result = _verify(_export(Signer(_key(19)), 1, lambda _: body)[0])
    assert not result.ok
    assert result.line == 2


def test_a_header_key_other_than_the_trusted_one_fails(small: bytes) -> None:
    result = _verify(small, _raw_public(_key(12)))
    assert not result.ok
    assert result.line == 1


def test_an_export_resigned_by_another_key_fails_against_the_trusted_key(
    signer: Signer,
) -> None:
    forged = _export(Signer(_key(13)), 3)[0]
    assert _verify(forged).ok  # intact, but only under its own self-asserted key
    assert not _verify(forged, signer.public_key.raw).ok


# --- Key files and the command line ---------------------------------------------------------


def test_public_key_files_in_pem_and_hex_are_both_accepted(signer: Signer) -> None:
    raw = signer.public_key.raw
    assert load_public_key(signer.public_key.to_pem()) == raw
    assert load_public_key(raw.hex().encode() + b"\n") == raw
    assert load_public_key(raw.hex().upper().encode()) == raw
    with pytest.raises(ValueError, match="hex"):
        load_public_key(b"abc")


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-S", "-I", str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


@pytest.fixture
def files(signer: Signer, small: bytes, tmp_path: Path) -> dict[str, Path]:
    paths = {
        "export": tmp_path / "export.jsonl",
        "tampered": tmp_path / "tampered.jsonl",
        "pem": tmp_path / "key.pem",
        "hex": tmp_path / "key.hex",
        "other": tmp_path / "other.hex",
        "bad": tmp_path / "bad.key",
    }
    paths["export"].write_bytes(small)
    paths["tampered"].write_bytes(small.replace(b"user-3", b"user-4"))
    paths["pem"].write_bytes(signer.public_key.to_pem())
    paths["hex"].write_text(signer.public_key.raw.hex() + "\n")
    paths["other"].write_text(_raw_public(_key(14)).hex())
    paths["bad"].write_text("not a key")
    return paths


def test_script_runs_with_only_the_standard_library_and_reports_ok(
    signer: Signer, files: dict[str, Path]
) -> None:
    for key in ("pem", "hex"):
        done = _run(files["export"], "--public-key", files[key])
        assert done.returncode == 0, done.stderr
        assert done.stdout == (
            f"OK: 5 events, root {_verify(files['export'].read_bytes()).root_hash}, "
            f"signed by key {signer.key_id[:16]}… at 2024-05-01T12:30:00Z\n"
        )
        assert done.stderr == ""


def test_script_warns_that_the_key_is_self_asserted_without_public_key(
    files: dict[str, Path],
) -> None:
    done = _run(files["export"])
    assert done.returncode == 0
    assert done.stdout.startswith("OK: 5 events")
    assert "self-asserted" in done.stderr


def test_script_exits_1_with_one_tampered_line(files: dict[str, Path]) -> None:
    done = _run(files["tampered"], "--public-key", files["hex"])
    assert done.returncode == 1
    assert done.stdout.startswith("TAMPERED: line 7")  # the head line: the root disagrees
    assert done.stdout.count("\n") == 1
    other = _run(files["export"], "--public-key", files["other"])
    assert other.returncode == 1
    assert other.stdout.startswith("TAMPERED: line 1")


def test_script_json_output_is_one_object(signer: Signer, files: dict[str, Path]) -> None:
    good = _run(files["export"], "--json", "--public-key", files["pem"])
    assert good.returncode == 0
    report = json.loads(good.stdout)
    assert report["ok"] is True
    assert (report["events"], report["key_id"], report["problem"]) == (5, signer.key_id, None)
    bad = _run(files["tampered"], "--json")
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    assert report["line"] == 7
    assert report["problem"]
    assert {"ok", "events", "root_hash", "key_id", "problem", "line"} <= set(report)


def test_script_usage_errors_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    missing = _run(tmp_path / "missing.jsonl")
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert missing.stderr.count("\n") == 1
    assert "missing.jsonl" in missing.stderr
    for key in (files["bad"], tmp_path / "no-key.pem"):
        done = _run(files["export"], "--public-key", key)
        assert done.returncode == 2
        assert done.stdout == ""
    assert _run().returncode == 2


def test_module_runs_with_python_dash_m(files: dict[str, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "steward.ledger.verify_export", str(files["export"])],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: 5 events")
