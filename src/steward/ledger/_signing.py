"""Ed25519 keys and signed tree heads.

The private key signs every tree head; verification uses the public key from a trusted
source (the home's key, or a file given by the auditor), never one read from the store: an
attacker who can rewrite the database could otherwise swap in a key of their own.

``cryptography`` is imported when a key is first used, not at start-up: commands that only
read the store never pay for it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from steward.domain import TreeHead
from steward.errors import InvalidInput
from steward.ledger._canonical import canonical_bytes

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "TREE_HEAD_KIND",
    "PublicKey",
    "Signer",
    "generate_key_file",
    "require_private",
    "tree_head_message",
]

TREE_HEAD_KIND = "steward.tree_head/v1"


_PLAIN = re.compile(r"^[0-9A-Za-z:.+-]*$")


def tree_head_message(size: int, root_hash: bytes, timestamp: str, key_id: str) -> bytes:
    """The exact bytes a tree head signature covers: canonical JSON of the head's fields."""
    if _PLAIN.match(timestamp) and _PLAIN.match(key_id):
        # The canonical encoding, spelled out: these strings need no escaping. (Every append
        # signs a head, so this is on the hot path; a test pins it to canonical_bytes.)
        return (
            f'{{"key_id":"{key_id}","kind":"{TREE_HEAD_KIND}","root_hash":"{root_hash.hex()}",'
            f'"timestamp":"{timestamp}","tree_size":{int(size)}}}'
        ).encode("ascii")
    return canonical_bytes(
        {
            "key_id": key_id,
            "kind": TREE_HEAD_KIND,
            "root_hash": root_hash.hex(),
            "timestamp": timestamp,
            "tree_size": size,
        }
    )


class PublicKey:
    """A trusted Ed25519 public key that checks tree head signatures."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        from cryptography.hazmat.primitives import serialization

        self._key = key
        self.raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(self.raw).hexdigest()

    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (
            Ed25519PublicKey,
        )

        if len(raw) != 32:
            raise ValueError(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (
            Ed25519PublicKey,
        )

        loaded = serialization.load_pem_public_key(data)
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return cls(loaded)

    @classmethod
    def from_file(cls, path: Path) -> PublicKey:
        """Read a PEM public key, or a file holding the 64-hex-digit raw key."""
        data = path.read_bytes()
        if data.lstrip().startswith(b"-----BEGIN"):
            return cls.from_pem(data)
        try:
            raw = bytes.fromhex(data.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{path} holds neither a PEM nor a hex Ed25519 public key") from exc
        return cls.from_raw(raw)

    def to_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def verify_tree_head(self, head: TreeHead) -> bool:
        from cryptography.exceptions import InvalidSignature

        if head.key_id != self.key_id:
            return False
        message = tree_head_message(head.size, head.root_hash, head.timestamp, head.key_id)
        try:
            self._key.verify(head.signature, message)
        except InvalidSignature:
            return False
        return True


class Signer:
    """Holds the private key and signs tree heads."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        from cryptography.hazmat.primitives import serialization

        self._key = key
        self.public_key = PublicKey(key.public_key())
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        self._mac_key = hmac.new(raw, b"steward.ledger-head-mac/v1", hashlib.sha256).digest()

    def head_mac(self, size: int, frontier: bytes) -> bytes:
        """An HMAC of the ledger head's state; only holders of the signing key can make one."""
        message = size.to_bytes(8, "big") + frontier
        return hmac.new(self._mac_key, message, hashlib.sha256).digest()

    @property
    def key_id(self) -> str:
        return self.public_key.key_id

    @classmethod
    def from_file(cls, path: Path) -> Signer:
        """Load a PEM private key; ``InvalidInput`` when group or others may read or write it
        (``chmod 600`` fixes that), ``FileNotFoundError`` when it is missing, ``ValueError``
        when it is not an Ed25519 key."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (
            Ed25519PrivateKey,
        )

        require_private(path)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(loaded)

    def sign_tree_head(self, size: int, root_hash: bytes, timestamp: str) -> TreeHead:
        message = tree_head_message(size, root_hash, timestamp, self.key_id)
        return TreeHead(
            size=size,
            root_hash=root_hash,
            timestamp=timestamp,
            key_id=self.key_id,
            signature=self._key.sign(message),
        )


def require_private(path: Path) -> None:
    """Refuse a key file that anyone but its owner may read or write.

    Whoever can read the signing key can re-sign a rewritten history, so a key with group or
    other permission bits is refused rather than used (as ssh refuses a loose private key).
    ``FileNotFoundError`` when ``path`` does not exist.
    """
    if os.name != "posix":
        return  # POSIX modes only; elsewhere the file system's ACLs decide
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise InvalidInput(
            f"the ledger signing key {path} has mode {mode:04o}: group or others may read or "
            f"change it; run `chmod 600 {path}` (and check who may have copied it)",
            details={"path": str(path), "mode": f"{mode:04o}"},
        )


def generate_key_file(path: Path) -> Signer:
    """Create a new private key at ``path`` with mode 0600 (its folder, when created here, 0700)
    whatever the umask; refuse to overwrite one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
    )

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, mode=0o700)
        os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.chmod(path, 0o600)  # the umask may have taken bits away from 0600 too
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return Signer(key)
