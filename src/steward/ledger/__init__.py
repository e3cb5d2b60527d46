"""The audit ledger's pure parts: canonical encoding, Merkle tree, signatures, verification.

Writing events is the store's job (one function, in the same transaction as the change it
records); this package decides what the bytes are and whether a ledger is intact.
"""

from steward.ledger._canonical import canonical_bytes
from steward.ledger._export import EXPORT_FORMAT, export_lines
from steward.ledger._merkle import (
    EMPTY_ROOT,
    Frontier,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_inclusion,
)
from steward.ledger._signing import (
    TREE_HEAD_KIND,
    PublicKey,
    Signer,
    generate_key_file,
    tree_head_message,
)
from steward.ledger._verify import EVENT_VERSION, EventRow, Verification, verify_ledger

__all__ = [
    "EMPTY_ROOT",
    "EVENT_VERSION",
    "EXPORT_FORMAT",
    "TREE_HEAD_KIND",
    "EventRow",
    "Frontier",
    "PublicKey",
    "Signer",
    "Verification",
    "canonical_bytes",
    "export_lines",
    "generate_key_file",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_of",
    "tree_head_message",
    "verify_inclusion",
    "verify_ledger",
]
