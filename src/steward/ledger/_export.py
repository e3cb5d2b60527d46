"""The ledger export format: one self-contained JSON Lines file.

Line 1 is a header naming the format and the signer's public key; then every event body, in
sequence order, exactly as recorded; the last line is the signed tree head covering them::

    {"format":"steward.ledger_export/v1","key_id":"<sha256 of key>","public_key":"<hex>"}
    {"actor":"admin","payload":{...},"seq":1,"subject":null,"ts":"...","type":"...","v":1}
    ...
    {"key_id":"...","kind":"steward.tree_head/v1","root_hash":"<hex>","signature":"<hex>",
     "timestamp":"...","tree_size":N}

Every line is canonical JSON (see ``_canonical``) ended by ``\\n``, so every byte of the file
is covered: event bytes by the Merkle root, the head by its signature, the header by the key
check. ``steward.ledger.verify_export`` checks a file with nothing but the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from steward.domain import TreeHead
from steward.ledger._canonical import canonical_bytes
from steward.ledger._signing import TREE_HEAD_KIND, PublicKey

__all__ = ["EXPORT_FORMAT", "export_lines"]

EXPORT_FORMAT = "steward.ledger_export/v1"


def export_lines(head: TreeHead, public_key: PublicKey, bodies: Iterable[str]) -> Iterator[bytes]:
    """Yield the export file's lines (each ending in ``\\n``) for ``bodies`` under ``head``."""
    yield (
        canonical_bytes(
            {
                "format": EXPORT_FORMAT,
                "key_id": public_key.key_id,
                "public_key": public_key.raw.hex(),
            }
        )
        + b"\n"
    )
    for body in bodies:
        yield body.encode("utf-8") + b"\n"
    yield (
        canonical_bytes(
            {
                "key_id": head.key_id,
                "kind": TREE_HEAD_KIND,
                "root_hash": head.root_hash.hex(),
                "signature": head.signature.hex(),
                "timestamp": head.timestamp,
                "tree_size": head.size,
            }
        )
        + b"\n"
    )
