"""Recompute the ledger from its stored events and judge it against a signed tree head."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from steward.domain import TreeHead
from steward.ledger._merkle import Frontier, leaf_hash
from steward.ledger._signing import PublicKey

__all__ = ["EVENT_VERSION", "EventRow", "Verification", "verify_ledger"]

# (seq, ts, type, actor, subject, body, leaf_hash) as the store keeps them.
EventRow = tuple[int, str, str, str, str | None, str, bytes]

_COLUMNS = ("seq", "ts", "type", "actor", "subject")
# The event body format written by the store's append (steward.store._ledger_rows).
EVENT_VERSION = 1
_dumps = json.JSONEncoder(ensure_ascii=False).encode


def _column_problem(
    seq: int, ts: str, type_: str, actor: str, subject: str | None, body: str
) -> str:
    """Why a row's columns and body disagree, for the report (the slow path)."""
    try:
        document = json.loads(body)
    except ValueError:
        return f"event {seq}: recorded body is not JSON"
    if not isinstance(document, dict):
        return f"event {seq}: recorded body is not a JSON object"
    columns = (seq, ts, type_, actor, subject)
    wrong = [n for n, v in zip(_COLUMNS, columns, strict=True) if document.get(n) != v]
    if not wrong:
        return f"event {seq}: recorded body is not in canonical form (edited)"
    return (
        f"event {seq}: stored column(s) {', '.join(wrong)} do not match the recorded body "
        "(edited, moved or swapped)"
    )


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of recomputing the whole ledger."""

    ok: bool
    events_checked: int
    tree_size: int | None
    root_hash: str | None
    first_bad_seq: int | None = None
    problem: str | None = None
    key_id: str | None = None
    records_checked: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The verification's JSON document: the outcome and counts, and ``details`` merged in
        (``audit verify`` adds the check that failed, the witness, triggers and artifacts)."""
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "records_checked": self.records_checked,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "key_id": self.key_id,
            **self.details,
        }


def verify_ledger(
    rows: Iterable[EventRow], head: TreeHead | None, public_key: PublicKey
) -> Verification:
    """Check, in order: the sequence is gapless from 1; every body agrees with its columns and
    hashes to its recorded leaf hash; the signed head covers exactly these events, its root is
    the recomputed Merkle root, and its signature verifies under ``public_key``.

    The first failure wins and names the lowest sequence number it can pin down.
    """
    frontier = Frontier()
    expected = 1
    head_size = head.size if head else None
    head_root = head.root_hash.hex() if head else None

    def failed(seq: int | None, problem: str) -> Verification:
        return Verification(
            ok=False,
            events_checked=frontier.size,
            tree_size=head_size,
            root_hash=head_root,
            first_bad_seq=seq,
            problem=problem,
            key_id=public_key.key_id,
        )

    for seq, ts, type_, actor, subject, body, stored_leaf in rows:
        if seq != expected:
            if seq > expected:
                return failed(expected, f"event {expected} is missing (deleted or renumbered)")
            return failed(seq, f"event {seq} appears out of order")
        # A canonical body is {"actor":…,"payload":…,"seq":…,"subject":…,"ts":…,"type":…,"v":…}:
        # its head and tail are fixed by the columns, so comparing them needs no JSON parse.
        # (The body's own integrity is the leaf hash's job; this catches edited columns.)
        if not (
            body.startswith(f'{{"actor":{_dumps(actor)},"payload":')
            and body.endswith(
                f',"seq":{seq},"subject":{_dumps(subject)},"ts":{_dumps(ts)},'
                f'"type":{_dumps(type_)},"v":{EVENT_VERSION}}}'
            )
        ):
            return failed(seq, _column_problem(seq, ts, type_, actor, subject, body))
        if leaf_hash(body.encode("utf-8")) != bytes(stored_leaf):
            return failed(seq, f"event {seq}: content does not match its recorded hash (edited)")
        frontier.append(bytes(stored_leaf))
        expected += 1

    size = frontier.size
    if head is None:
        if size:
            return failed(1, "the ledger has events but no signed tree head")
        return Verification(True, 0, None, None, key_id=public_key.key_id)
    if head.key_id != public_key.key_id:
        return failed(
            None,
            f"the tree head was signed by key {head.key_id[:16]}…, not by the trusted key "
            f"{public_key.key_id[:16]}…",
        )
    if not public_key.verify_tree_head(head):
        return failed(None, f"the signed tree head (size {head.size}) has an invalid signature")
    if size > head.size:
        return failed(
            head.size + 1,
            f"event {head.size + 1} is not covered by the signed tree head (added after signing)",
        )
    if size < head.size:
        return failed(
            size + 1,
            f"events {size + 1}..{head.size} are missing (the signed tree head covers {head.size})",
        )
    if frontier.root() != head.root_hash:
        return failed(
            None,
            "the recorded events do not hash to the signed root (events and their hashes "
            "were rewritten)",
        )
    return Verification(True, size, head.size, head_root, key_id=public_key.key_id)
