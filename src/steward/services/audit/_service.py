"""Reading, proving, exporting and verifying the audit ledger."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steward.domain import Actor, LedgerEvent, Permission, TreeHead
from steward.errors import InvalidInput, NotFound
from steward.ledger import (
    EMPTY_ROOT,
    EventRow,
    Frontier,
    PublicKey,
    Verification,
    export_lines,
    inclusion_proof,
    verify_inclusion,
    verify_ledger,
)
from steward.services._access import require
from steward.services._files import write_private
from steward.services.audit._anchors import check_records
from steward.services.audit._witness import Witness, WitnessedHead, extension_problem
from steward.store import Reader, Store, check_triggers, leaf_hashes_between, stored_frontier
from steward.types import utc_iso

if TYPE_CHECKING:
    from steward.artifacts import ArtifactStore
    from steward.services.audit._artifact_refs import ArtifactProgress

__all__ = ["AuditService", "ExportSummary", "InclusionProof"]


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Evidence that event ``seq`` is in the tree the signed head commits to."""

    seq: int
    leaf_hash: bytes
    path: list[bytes]
    head: TreeHead
    valid: bool

    def to_dict(self) -> dict[str, Any]:
        """The proof's JSON document: hashes in hex, the leaf's 0-based index, the head."""
        return {
            "seq": self.seq,
            "leaf_index": self.seq - 1,
            "leaf_hash": self.leaf_hash.hex(),
            "audit_path": [node.hex() for node in self.path],
            "tree_head": self.head.to_dict(),
            "valid": self.valid,
        }


@dataclass(frozen=True, slots=True)
class ExportSummary:
    path: Path
    events: int
    root_hash: str
    key_id: str

    def to_dict(self) -> dict[str, Any]:
        """The export's JSON document: the file written, its events, root and key."""
        return {
            "path": str(self.path),
            "events": self.events,
            "root_hash": self.root_hash,
            "key_id": self.key_id,
        }


class AuditService:
    """The ledger, read-only: every role with ``audit:read`` may verify and browse it.

    ``witness`` is the home's witnessed head (see ``_witness.py``), checked by ``verify``.
    """

    def __init__(
        self,
        store: Store,
        trusted_key: PublicKey,
        witness: Witness | None = None,
        log_root: Path | None = None,
    ) -> None:
        self._store = store
        self._trusted_key = trusted_key
        self._witness = witness
        self._log_root = log_root

    def verify(
        self,
        actor: Actor,
        trusted_key: PublicKey | None = None,
        *,
        witness: Witness | None = None,
        artifacts: ArtifactStore | None = None,
        progress: ArtifactProgress | None = None,
    ) -> Verification:
        """Check, in order, stopping at the first failure:

        1. ``ledger``: every event and the signed head (see ``verify_ledger``);
        2. ``witness``: the ledger extends the head ``witness`` (default the service's) holds —
           its first N events hash to the witnessed root — so an older copy of the store is
           refused;
        3. ``records``: every record kept outside the ledger (see ``check_records``);
        4. ``triggers``: the database's guard triggers are all there, enabled and unchanged;
        5. ``predictions``: every record of the prediction log matches its hash, every sealed
           segment its ledger anchor (``predictions.sealed``), none is missing, edited,
           duplicated or unanchored (segments a live server holds open are counted only);
        6. ``artifacts`` (only when an artifact store is given): every artifact the records
           reference is stored and hashes to its key (``progress`` follows the hashing).

        ``details`` holds ``check`` (the check that failed, or ``None``), ``witness``,
        ``triggers_checked`` and ``artifacts`` (counts). When checks 1 and 2 pass under the
        home's own key, the witness advances to the verified head.
        """
        require(actor, Permission.AUDIT_READ, "verify the audit ledger")
        key = trusted_key or self._trusted_key
        witness = witness or self._witness
        witnessed = witness.read() if witness is not None else None
        details: dict[str, Any] = {
            "check": None,
            "witness": witnessed.to_dict() if witnessed else None,
            "triggers_checked": 0,
            "artifacts": None,
            "predictions": None,
        }

        def failed(result: Verification, check: str, **changes: Any) -> Verification:
            return replace(result, ok=False, details={**details, "check": check}, **changes)

        with self._store.read() as reader:
            head = reader.head()
            after: list[bytes] = []
            rows = reader.event_rows()
            if witnessed is not None:
                rows = _leaves_after(rows, witnessed.size, after)
            result = verify_ledger(rows, head, key)
            if not result.ok:
                return failed(result, "ledger")
            if witnessed is not None:
                size = head.size if head else 0
                problem, frontier = extension_problem(
                    witnessed, size, head.root_hash if head else EMPTY_ROOT, after
                )
                if problem is not None:
                    return failed(
                        result,
                        "witness",
                        first_bad_seq=size + 1 if size < witnessed.size else None,
                        problem=problem + _where_it_differs(reader, witnessed, size),
                    )
            else:
                frontier = _stored_tree(reader, head)
            # verified under this home's own key: witness it (never backwards)
            mine = key.key_id == self._trusted_key.key_id
            if mine and witness is not None and head is not None and frontier is not None:
                advanced = witness.record(head, frontier, utc_iso(self._store.now()))
                if advanced is not None:
                    details["witness"] = advanced.to_dict()
            checked, record_problem = check_records(reader)
            result = replace(result, records_checked=checked)
            if record_problem is not None:
                return failed(
                    result,
                    "records",
                    first_bad_seq=record_problem.seq,
                    problem=record_problem.problem,
                )
            triggers = check_triggers(reader)
            details["triggers_checked"] = triggers.checked
            if triggers.problem is not None:
                return failed(result, "triggers", problem=triggers.problem)
            if self._log_root is not None and self._log_root.exists():
                from steward.services.serving._predictions import anchors

                anchored, pruned = anchors(reader)
            else:
                anchored, pruned = None, set()
            if artifacts is not None:
                from steward.services.audit._artifact_refs import artifact_references

                refs = artifact_references(reader)
        if anchored is not None and self._log_root is not None:
            from steward.logs import verify_log

            report = verify_log(self._log_root, anchored, pruned=pruned)
            details["predictions"] = report.to_dict()
            if report.problems:
                more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
                return failed(
                    result, "predictions", problem=f"prediction log: {report.problems[0]}{more}"
                )
        if artifacts is None:
            return replace(result, details=details)
        from steward.services.audit._artifact_refs import check_artifacts

        # hashed after the read transaction: a long hash must not hold a snapshot open
        hashed = check_artifacts(refs, artifacts, progress)
        details["artifacts"] = hashed.to_dict()
        if hashed.problem is not None:
            return failed(result, "artifacts", problem=hashed.problem)
        return replace(result, details=details)

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
            raise InvalidInput(
                f"{{limit}} must be at least 1, not {limit}", details={"field": "limit"}
            )
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
        with self._store.read() as reader:
            head = reader.head()
            if head is None:
                raise NotFound("the ledger is empty: nothing to export")
            bodies = (row[5] for row in reader.event_rows())
            # 0600 whatever the umask: an export holds every event of the ledger
            write_private(out, export_lines(head, self._trusted_key, bodies))
        return ExportSummary(out, head.size, head.root_hash.hex(), head.key_id)


def _leaves_after(rows: Iterable[EventRow], after: int, into: list[bytes]) -> Iterator[EventRow]:
    """Pass ``rows`` through, keeping the recorded leaf hashes of events after ``after``."""
    for row in rows:
        if row[0] > after:
            into.append(row[6])
        yield row


def _stored_tree(reader: Reader, head: TreeHead | None) -> Frontier | None:
    """The verified head's frontier, from the head row, if it folds to the head's root."""
    if head is None:
        return None
    size, data = stored_frontier(reader)
    try:
        frontier = Frontier.from_bytes(size, data)
    except ValueError:
        return None
    return frontier if size == head.size and frontier.root() == head.root_hash else None


def _where_it_differs(reader: Reader, witnessed: WitnessedHead, size: int) -> str:
    """Which witnessed subtree the store's first events no longer match, for the report."""
    if size < witnessed.size:
        return ""
    leaves = leaf_hashes_between(reader, 0, witnessed.size)
    if len(leaves) != witnessed.size:
        return ""
    stored = Frontier()
    for leaf in leaves:
        stored.append(leaf)
    nodes = stored.to_bytes()
    # The frontier's nodes cover the witnessed events left to right, one per set bit of N.
    start = position = 0
    for bit in range(witnessed.size.bit_length() - 1, -1, -1):
        width = 1 << bit
        if not witnessed.size & width:
            continue
        if nodes[position * 32 : (position + 1) * 32] != witnessed.frontier[position]:
            return f" (events {start + 1}..{start + width} differ from those witnessed)"
        start += width
        position += 1
    return ""
