"""The home's witness: the latest signed tree head this home has seen, kept outside the store.

An older copy of the store verifies on its own — its events and signed head are genuine, only
old — so a restored backup could silently undo approvals, promotions or revocations. Each home
therefore keeps ``witness.json`` (mode 0600, written atomically): the largest signed tree head
it has seen, with that tree's frontier (the O(log n) roots of its perfect subtrees). A store
must *extend* it: hold at least as many events, and its first N events must hash to the
witnessed root.

Checking that needs only the events appended since: folding their recorded leaf hashes onto
the witnessed frontier must give the store's current root. A Merkle root commits to every leaf
(collision resistance of SHA-256), so that equality proves the first N leaves are the
witnessed ones; combined with ``audit verify``'s recomputation of every leaf from its event
body it is a full consistency check. Without the signature check, it is the cheap check run
when the application opens and before its first write.

The witness advances when the application closes and after a successful ``audit verify``,
never on an append (so appends cost nothing more), and only forwards, to a head whose
signature verifies and which extends the one witnessed. Several homes sharing one PostgreSQL
store each keep their own. See docs/audit.md and docs/decisions/0021.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steward.domain import TreeHead
from steward.errors import IntegrityError, LedgerTampered
from steward.ledger import EMPTY_ROOT, Frontier, PublicKey
from steward.services._files import write_private
from steward.settings import Settings
from steward.store import Store, read_head_state

__all__ = [
    "WITNESS_FORMAT",
    "Witness",
    "WitnessedHead",
    "extension_problem",
    "home_witness",
]

WITNESS_FORMAT = "steward.witness/v1"
_HASH = 32


@dataclass(frozen=True, slots=True)
class WitnessedHead:
    """A signed tree head as witnessed: the head, its tree's frontier, and when it was seen."""

    head: TreeHead
    frontier: tuple[bytes, ...]
    witnessed_at: str

    @property
    def size(self) -> int:
        return self.head.size

    def tree(self) -> Frontier:
        """A fresh frontier of the witnessed tree (to extend without changing this one)."""
        return Frontier(self.head.size, self.frontier)

    def describe(self) -> str:
        return (
            f"{self.size} events this home witnessed (signed tree head of "
            f"{self.head.timestamp}, witnessed {self.witnessed_at})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.size,
            "root_hash": self.head.root_hash.hex(),
            "timestamp": self.head.timestamp,
            "witnessed_at": self.witnessed_at,
        }


def extension_problem(
    witnessed: WitnessedHead, size: int, root: bytes, leaves_after: Sequence[bytes]
) -> tuple[str | None, Frontier | None]:
    """Whether a ledger of ``size`` events with Merkle root ``root``, whose recorded leaf hashes
    after the witnessed position are ``leaves_after``, extends ``witnessed``.

    ``(None, frontier of size)`` when it does; ``(why not, None)`` otherwise. ``root`` must be
    a root the caller trusts (a signed one) for the answer to mean more than "consistent with
    what the store says".
    """
    if size < witnessed.size:
        return (
            f"the store's ledger holds {size} events, fewer than the {witnessed.describe()}: "
            "an older copy of the store was restored, or its latest events were deleted",
            None,
        )
    if len(leaves_after) != size - witnessed.size:
        return (
            f"the store's signed head covers {size} events but only "
            f"{witnessed.size + len(leaves_after)} are stored, so it cannot be shown to extend "
            f"the {witnessed.describe()}",
            None,
        )
    frontier = witnessed.tree()
    for leaf in leaves_after:
        frontier.append(leaf)
    if frontier.root() != root:
        return (
            f"the store's ledger does not extend the {witnessed.describe()}: its history was "
            "rewritten, or the store was replaced by another",
            None,
        )
    return None, frontier


class Witness:
    """The witness file of one home (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> WitnessedHead | None:
        """The witnessed head, ``None`` when nothing was witnessed yet; ``IntegrityError`` for
        a file that is not a witness (it is written atomically, so never half-written)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            document = json.loads(data)
            if document.get("format") != WITNESS_FORMAT:
                raise ValueError(f"format is not {WITNESS_FORMAT}")
            raw = document["tree_head"]
            head = TreeHead(
                size=int(raw["tree_size"]),
                root_hash=bytes.fromhex(raw["root_hash"]),
                timestamp=str(raw["timestamp"]),
                key_id=str(raw["key_id"]),
                signature=bytes.fromhex(raw["signature"]),
            )
            nodes = tuple(bytes.fromhex(node) for node in document["frontier"])
            if any(len(node) != _HASH for node in nodes):
                raise ValueError("a frontier node is not a SHA-256 hash")
            if Frontier(head.size, nodes).root() != head.root_hash:
                raise ValueError("its frontier does not hash to its root")
            witnessed = WitnessedHead(head, nodes, str(document["witnessed_at"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IntegrityError(
                f"the witness file {self.path} is damaged ({exc}): restore it from a backup, or "
                "remove it to trust the store as it now is (see docs/audit.md)",
                details={"witness": str(self.path)},
            ) from None
        return witnessed

    def check(self, store: Store) -> WitnessedHead | None:
        """Refuse (``LedgerTampered``) a store whose ledger does not extend the witnessed head.

        The cheap check, for opening the application and before its first write: one read of
        the head row and of the leaf hashes appended since the witness (none, usually). It
        trusts the store's head row for the current root; ``audit verify`` checks that too.
        """
        witnessed = self.read()
        if witnessed is None:
            return None
        state = read_head_state(store, leaves_after=witnessed.size)
        size, root = (state.head.size, state.head.root_hash) if state.head else (0, EMPTY_ROOT)
        problem, _ = extension_problem(witnessed, size, root, state.leaves)
        if problem is not None:
            raise self.refusal(problem, witnessed, size)
        return witnessed

    def refusal(self, problem: str, witnessed: WitnessedHead, size: int) -> LedgerTampered:
        return LedgerTampered(
            f"{problem}; refusing to use it (witness {self.path}; see docs/audit.md)",
            details={"witnessed": witnessed.to_dict(), "store_size": size},
        )

    def advance(
        self, store: Store, key: Callable[[], PublicKey], now: Callable[[], str]
    ) -> WitnessedHead | None:
        """Witness the store's current head, if it is larger than the witnessed one, extends it,
        and is signed under ``key()`` (loaded only then). Returns the new witness, or ``None``
        when there was nothing to advance; ``LedgerTampered`` when the head may not be
        witnessed (the witness is left as it was)."""
        witnessed = self.read()
        state = read_head_state(store, leaves_after=witnessed.size if witnessed else None)
        head = state.head
        if head is None or (witnessed is not None and head.size <= witnessed.size):
            return None
        if witnessed is not None:
            problem, frontier = extension_problem(
                witnessed, head.size, head.root_hash, state.leaves
            )
            if problem is not None:
                raise self.refusal(problem, witnessed, head.size)
        else:
            frontier = _first_frontier(head, state.frontier)
        assert frontier is not None
        if not key().verify_tree_head(head):
            raise LedgerTampered(
                f"the store's tree head (size {head.size}) is not signed by this home's key: "
                "not witnessed; run `steward audit verify`"
            )
        return self.record(head, frontier, now())

    def record(self, head: TreeHead, frontier: Frontier, now: str) -> WitnessedHead | None:
        """Write ``head`` (checked by the caller) as the witness, atomically with mode 0600,
        unless the file already holds a head at least as large (another process of this home
        got there first): the witness never moves backwards."""
        current = self.read()
        if current is not None and current.size >= head.size:
            return None
        data = frontier.to_bytes()
        nodes = tuple(data[i : i + _HASH] for i in range(0, len(data), _HASH))
        witnessed = WitnessedHead(head, nodes, now)
        document = {
            "format": WITNESS_FORMAT,
            "tree_head": head.to_dict(),
            "frontier": [node.hex() for node in nodes],
            "witnessed_at": now,
        }
        write_private(self.path, json.dumps(document, indent=2, sort_keys=True) + "\n")
        return witnessed


def _first_frontier(head: TreeHead, stored: bytes) -> Frontier:
    """The frontier of a head seen for the first time, from the head row, checked against the
    head's root (the frontier folds to it, so it is the tree's own)."""
    try:
        frontier = Frontier.from_bytes(head.size, stored)
    except ValueError:
        frontier = None
    if frontier is None or frontier.root() != head.root_hash:
        raise LedgerTampered(
            f"the ledger head's frontier does not match its root (size {head.size}): not "
            "witnessed; run `steward audit verify`"
        )
    return frontier


def home_witness(settings: Settings) -> Witness:
    """The witness of the home ``settings`` name: ``$STEWARD_HOME/witness.json``."""
    return Witness(settings.home / "witness.json")
