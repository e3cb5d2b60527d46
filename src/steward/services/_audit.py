"""Reading, proving, exporting and verifying the audit ledger."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from steward.domain import Actor, LedgerEvent, Permission, TreeHead
from steward.errors import InvalidInput, NotFound
from steward.ledger import (
    PublicKey,
    Verification,
    export_lines,
    inclusion_proof,
    verify_inclusion,
    verify_ledger,
)
from steward.services._access import require
from steward.services._anchors import check_records
from steward.store import Store

__all__ = ["AuditService", "ExportSummary", "InclusionProof", "tree_head_dict"]


def tree_head_dict(head: TreeHead) -> dict[str, Any]:
    return {
        "tree_size": head.size,
        "root_hash": head.root_hash.hex(),
        "timestamp": head.timestamp,
        "key_id": head.key_id,
        "signature": head.signature.hex(),
    }


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Evidence that event ``seq`` is in the tree the signed head commits to."""

    seq: int
    leaf_hash: bytes
    path: list[bytes]
    head: TreeHead
    valid: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "leaf_index": self.seq - 1,
            "leaf_hash": self.leaf_hash.hex(),
            "audit_path": [node.hex() for node in self.path],
            "tree_head": tree_head_dict(self.head),
            "valid": self.valid,
        }


@dataclass(frozen=True, slots=True)
class ExportSummary:
    path: Path
    events: int
    root_hash: str
    key_id: str


class AuditService:
    """The ledger, read-only: every role with ``audit:read`` may verify and browse it."""

    def __init__(self, store: Store, trusted_key: PublicKey) -> None:
        self._store = store
        self._trusted_key = trusted_key

    def verify(self, actor: Actor, trusted_key: PublicKey | None = None) -> Verification:
        """Recompute the whole ledger against its signed head (see ``verify_ledger``)."""
        require(actor, Permission.AUDIT_READ, "verify the audit ledger")
        with self._store.read() as reader:
            head = reader.head()
            result = verify_ledger(reader.event_rows(), head, trusted_key or self._trusted_key)
            if not result.ok:
                return result
            checked, problem = check_records(reader)
        if problem is not None:
            return replace(
                result,
                ok=False,
                first_bad_seq=problem.seq,
                problem=problem.problem,
                records_checked=checked,
            )
        return replace(result, records_checked=checked)

    def log(
        self,
        actor: Actor,
        *,
        limit: int = 50,
        type_: str | None = None,
        subject: str | None = None,
    ) -> list[LedgerEvent]:
        require(actor, Permission.AUDIT_READ, "read the audit ledger")
        if limit < 1:
            raise InvalidInput(f"--limit must be at least 1, not {limit}")
        with self._store.read() as reader:
            return reader.events(limit=limit, type_=type_, subject=subject)

    def head(self, actor: Actor) -> TreeHead | None:
        require(actor, Permission.AUDIT_READ, "read the audit ledger")
        with self._store.read() as reader:
            return reader.head()

    def proof(self, actor: Actor, seq: int) -> InclusionProof:
        """An RFC 6962 inclusion proof of event ``seq`` against the current signed head."""
        require(actor, Permission.AUDIT_READ, "read the audit ledger")
        with self._store.read() as reader:
            head = reader.head()
            if head is None or not 1 <= seq <= head.size:
                size = head.size if head else 0
                raise NotFound(f"no ledger event {seq} (the ledger holds events 1..{size})")
            leaves = reader.leaf_hashes(head.size)
        path = inclusion_proof(seq - 1, leaves)
        leaf = leaves[seq - 1]
        valid = verify_inclusion(leaf, seq - 1, head.size, path, head.root_hash)
        return InclusionProof(seq, leaf, path, head, valid)

    def export(self, actor: Actor, out: Path) -> ExportSummary:
        """Write the ledger to ``out`` (see ``steward.ledger._export``), atomically."""
        require(actor, Permission.AUDIT_EXPORT, "export the audit ledger")
        if not out.parent.is_dir():
            raise InvalidInput(f"cannot write {out}: folder {out.parent} does not exist")
        tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
        try:
            with self._store.read() as reader:
                head = reader.head()
                if head is None:
                    raise NotFound("the ledger is empty: nothing to export")
                bodies = (row[5] for row in reader.event_rows())
                with tmp.open("wb") as handle:
                    for line in export_lines(head, self._trusted_key, bodies):
                        handle.write(line)
                    handle.flush()
                    os.fsync(handle.fileno())
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
        return ExportSummary(out, head.size, head.root_hash.hex(), head.key_id)
