"""Verify a Steward audit-ledger export offline, with nothing but the Python standard library.

Usage: ``python verify_export.py FILE [--public-key KEY] [--json]`` (a copied file) or
``python -m steward.ledger.verify_export ...``. ``KEY`` is a PEM Ed25519 public key or the hex
of the raw key; without it the header's own key is used, which proves integrity but not
origin, and a warning says so. Exit status: 0 intact, 1 tampered or invalid (one line
``TAMPERED: line L ...``), 2 usage error (unreadable file or key).

The file (see ``steward.ledger._export``) is a header, the event bodies and a signed tree head,
each canonical JSON ended by ``\\n``. It is intact only if every line re-encodes to exactly its
own bytes; the header names the format and a key whose id is its SHA-256; the events are
numbered 1..N; and the last line is a tree head for N events by the trusted key, with a valid
Ed25519 signature (RFC 8032) and the RFC 6962 Merkle root of the event lines. So any changed,
added, removed or moved byte is detected. The file is streamed in O(log N) memory.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Result", "ed25519_verify", "load_public_key", "verify_file", "verify_stream"]

EXPORT_FORMAT = "steward.ledger_export/v1"
TREE_HEAD_KIND = "steward.tree_head/v1"
_HEADER_KEYS = {"format", "key_id", "public_key"}
_HEAD_KEYS = {"key_id", "kind", "root_hash", "signature", "timestamp", "tree_size"}
_EVENT_KEYS = {"seq", "ts", "type", "actor", "subject", "payload", "v"}
_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")  # DER SubjectPublicKeyInfo, Ed25519

# --- Ed25519 verification (RFC 8032, section 5.1) -------------------------------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493  # order of the base point
_D = -121665 * pow(121666, _P - 2, _P) % _P
_D2 = 2 * _D % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

# A point in extended coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, x*y = T/Z.
_Point = tuple[int, int, int, int]
_IDENTITY: _Point = (0, 1, 1, 0)


def _add(p: _Point, q: _Point) -> _Point:
    """Complete addition on -x^2 + y^2 = 1 + d x^2 y^2 (RFC 8032, section 5.1.4)."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = t1 * _D2 * t2 % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _double(p: _Point) -> _Point:
    x1, y1, z1, _ = p
    a, b, c = x1 * x1 % _P, y1 * y1 % _P, 2 * z1 * z1 % _P
    h = a + b
    e = h - (x1 + y1) * (x1 + y1)
    g = a - b
    f = c + g
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _multiply(scalar: int, p: _Point) -> _Point:
    result = _IDENTITY
    for bit in bin(scalar)[2:]:  # most significant bit first
        result = _double(result)
        if bit == "1":
            result = _add(result, p)
    return result


def _same(p: _Point, q: _Point) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % _P == 0 and (p[1] * q[2] - q[1] * p[2]) % _P == 0


def _recover_x(y: int, sign: int) -> int | None:
    """The x with -x^2 + y^2 = 1 + d x^2 y^2 and x mod 2 == sign, or None (section 5.1.3)."""
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if v * x * x % _P == (-u) % _P:
        x = x * _SQRT_M1 % _P
    if v * x * x % _P != u or (x == 0 and sign):
        return None
    return _P - x if x & 1 != sign else x


def _decode_point(data: bytes) -> _Point | None:
    """Decode a 32-byte point; refuse a non-canonical y (y >= p) or a y on no point."""
    n = int.from_bytes(data, "little")
    y, sign = n & ((1 << 255) - 1), n >> 255
    x = _recover_x(y, sign) if y < _P else None
    return None if x is None else (x, y, 1, x * y % _P)


_BASE_Y = 4 * pow(5, _P - 2, _P) % _P
_BASE_X = _recover_x(_BASE_Y, 0)
assert _BASE_X is not None
_BASE: _Point = (_BASE_X, _BASE_Y, 1, _BASE_X * _BASE_Y % _P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is a valid pure-Ed25519 signature of ``message`` by ``public_key``
    (RFC 8032, section 5.1.7, checking [S]B == R + [h]A). Never raises on malformed input."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a, r = _decode_point(public_key), _decode_point(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    digest = hashlib.sha512(signature[:32] + public_key + message).digest()
    h = int.from_bytes(digest, "little") % _L
    return _same(_multiply(s, _BASE), _add(r, _multiply(h, a)))


# --- The export file ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    """The verdict on one export. ``line``/``seq`` locate the first problem when not ``ok``."""

    ok: bool
    events: int
    root_hash: str | None = None
    key_id: str | None = None
    timestamp: str | None = None
    problem: str | None = None
    line: int | None = None
    seq: int | None = None


class _Tampered(Exception):
    def __init__(self, line: int, problem: str, seq: int | None = None) -> None:
        super().__init__(problem)
        self.line, self.problem, self.seq = line, problem, seq


def _canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _parse_line(raw: bytes, line: int) -> tuple[bytes, dict[str, Any]]:
    """Return a line's bytes without its newline and its JSON object, or raise ``_Tampered``."""
    if not raw.endswith(b"\n"):
        raise _Tampered(line, "the last line has no final newline (truncated or appended to)")
    content = raw[:-1]
    try:
        value = json.loads(content.decode("utf-8"))
        canonical = _canonical(value)
    except (ValueError, RecursionError) as exc:  # bad UTF-8, not JSON, NaN, lone surrogate...
        raise _Tampered(line, f"the line is not valid UTF-8 JSON ({exc})") from None
    if canonical != content:
        raise _Tampered(line, "the line is not canonical JSON (its bytes were altered)")
    if not isinstance(value, dict):
        raise _Tampered(line, "the line is not a JSON object")
    return content, value


def _hex(value: Any, size: int) -> bytes | None:
    """``size`` bytes from lowercase hex (the only form the producer writes), else None."""
    if not isinstance(value, str) or len(value) != 2 * size:
        return None
    if value.strip("0123456789abcdef"):
        return None
    return bytes.fromhex(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _merkle_root(frontier: list[tuple[int, bytes]]) -> bytes:
    """Fold the perfect-subtree roots (largest first) from the right, as RFC 6962 splits."""
    if not frontier:
        return hashlib.sha256(b"").digest()
    root = frontier[-1][1]
    for _, node in reversed(frontier[:-1]):
        root = hashlib.sha256(b"\x01" + node + root).digest()
    return root


def verify_stream(lines: Iterable[bytes], trusted_key: bytes | None = None) -> Result:
    """Verify an export given as its lines (e.g. a file opened ``"rb"``), read one at a time.

    ``trusted_key`` is the raw 32-byte Ed25519 key the export must be signed by; ``None``
    trusts the key the header names. Malformed content yields a failed ``Result``; only I/O
    errors from ``lines`` propagate.
    """
    frontier: list[tuple[int, bytes]] = []  # (height, root) of perfect subtrees
    events, key_id, root_hex = 0, None, None
    try:
        stream = iter(lines)
        first = next(stream, None)
        if first is None:
            raise _Tampered(1, "the file is empty")
        _, header = _parse_line(first, 1)
        public_key = _hex(header.get("public_key"), 32)
        if set(header) != _HEADER_KEYS or header["format"] != EXPORT_FORMAT or not public_key:
            raise _Tampered(1, f"the first line is not a {EXPORT_FORMAT} header")
        if header["key_id"] != hashlib.sha256(public_key).hexdigest():
            raise _Tampered(1, "the header's key_id is not the SHA-256 of its public key")
        if trusted_key is not None and public_key != trusted_key:
            trusted_id = hashlib.sha256(trusted_key).hexdigest()[:16]
            raise _Tampered(1, f"the header's key is not the trusted key {trusted_id}…")
        key_id = header["key_id"]

        pending: tuple[int, bytes, dict[str, Any]] | None = None
        line = 1
        for line, raw in enumerate(stream, start=2):
            if pending is not None:  # a line follows, so the pending one is an event
                at, content, event = pending
                seq = event.get("seq")
                if seq != events + 1 or not _is_int(seq):
                    raise _Tampered(
                        at,
                        f"expected event seq {events + 1}, found {seq!r} "
                        "(events deleted, inserted, duplicated or reordered)",
                        seq if _is_int(seq) else None,
                    )
                if not set(event) >= _EVENT_KEYS:
                    missing = ", ".join(sorted(_EVENT_KEYS - set(event)))
                    raise _Tampered(at, f"the event lacks {missing}", seq)
                node, height = hashlib.sha256(b"\x00" + content).digest(), 0
                while frontier and frontier[-1][0] == height:  # merge equal perfect subtrees
                    node = hashlib.sha256(b"\x01" + frontier.pop()[1] + node).digest()
                    height += 1
                frontier.append((height, node))
                events += 1
            pending = (line, *_parse_line(raw, line))
        if pending is None:
            raise _Tampered(line + 1, "the signed tree head is missing (file truncated)")

        at, _, head = pending
        if set(head) != _HEAD_KEYS or head["kind"] != TREE_HEAD_KIND:
            raise _Tampered(at, f"the last line is not a {TREE_HEAD_KIND} signed tree head")
        root_hex = head["root_hash"] if isinstance(head["root_hash"], str) else None
        if head["key_id"] != key_id:
            raise _Tampered(at, "the tree head names another key than the trusted one")
        signature = _hex(head["signature"], 64)
        signed = _canonical({k: v for k, v in head.items() if k != "signature"})
        if signature is None or not ed25519_verify(public_key, signed, signature):
            raise _Tampered(at, "the tree head's Ed25519 signature is invalid")
        if not _is_int(head["tree_size"]) or not isinstance(head["timestamp"], str):
            raise _Tampered(at, "the tree head's tree_size or timestamp has the wrong type")
        if head["tree_size"] != events:
            raise _Tampered(
                at, f"the signed tree head covers {head['tree_size']} events, the file {events}"
            )
        if _merkle_root(frontier).hex() != root_hex:
            raise _Tampered(at, f"the {events} events do not hash to the signed root (altered)")
        return Result(True, events, root_hex, key_id, head["timestamp"])
    except _Tampered as bad:
        return Result(False, events, root_hex, key_id, None, bad.problem, bad.line, bad.seq)


def verify_file(path: str | Path, trusted_key: bytes | None = None) -> Result:
    """Verify the export at ``path`` (see :func:`verify_stream`); ``OSError`` if unreadable."""
    with open(path, "rb") as handle:
        return verify_stream(handle, trusted_key)


def load_public_key(data: bytes) -> bytes:
    """The raw 32-byte key from a PEM Ed25519 SubjectPublicKeyInfo or a 64-char hex string."""
    text = data.decode("ascii", errors="replace").strip()
    if text.startswith("-----BEGIN PUBLIC KEY-----") and text.endswith("-----END PUBLIC KEY-----"):
        body = "".join(part.strip() for part in text.splitlines()[1:-1])
        der = base64.b64decode(body, validate=True)
        if len(der) != 44 or not der.startswith(_SPKI_PREFIX):
            raise ValueError("the PEM key is not an Ed25519 public key")
        return der[12:]
    key = bytes.fromhex(text) if len(text) == 64 else b""
    if len(key) != 32:
        raise ValueError("expected a PEM public key or the 64 hex characters of a raw key")
    return key


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description="Verify a Steward ledger export offline.")
    parser.add_argument("file", type=Path, help="the export (.jsonl) to check")
    parser.add_argument("--public-key", type=Path, help="trusted key: PEM or raw-key hex file")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    trusted = None
    if args.public_key is not None:
        try:
            trusted = load_public_key(args.public_key.read_bytes())
        except (OSError, ValueError) as exc:
            print(f"error: cannot read public key {args.public_key}: {exc}", file=sys.stderr)
            return 2
    try:
        result = verify_file(args.file, trusted)
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if trusted is None:
        print(
            f"warning: no --public-key given: the signing key {result.key_id} is self-asserted "
            "by the file; check it against a trusted copy of the Steward public key.",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(asdict(result), sort_keys=True))
    elif result.ok:
        stamp = result.timestamp or ""
        stamp = stamp if stamp.isprintable() else ascii(stamp)
        print(
            f"OK: {result.events} events, root {result.root_hash}, "
            f"signed by key {(result.key_id or '')[:16]}… at {stamp}"
        )
    else:
        where = f"line {result.line}" + (
            f", event seq {result.seq}" if result.seq is not None else ""
        )
        print(f"TAMPERED: {where}: {result.problem}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
