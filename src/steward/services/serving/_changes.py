"""What a model server polls: the ledger's head, and whether what moved it can change what
is served.

Every governed change is a ledger event, so a server that sees the signed head unmoved knows
nothing it serves changed (time aside: a gate's waivers and approvals expire, which it
rechecks on a timer). The prediction log's own bookkeeping also moves the head: under load a
segment is sealed and anchored every few seconds, one ``predictions.sealed`` event each, and
pruning by retention is ``predictions.pruned``. Those change no gate, deployment, token or
role, so a head moved by them alone is not a change to serve differently.
"""

from __future__ import annotations

from typing import Final

from steward.domain import EventType
from steward.store import Store

__all__ = ["LOG_BOOKKEEPING", "LedgerMark", "ledger_change"]

LedgerMark = tuple[int, bytes]

LOG_BOOKKEEPING: Final = frozenset({EventType.PREDICTIONS_SEALED, EventType.PREDICTIONS_PRUNED})


def ledger_change(store: Store, since: LedgerMark | None) -> tuple[LedgerMark | None, bool]:
    """The ledger's head now (``None`` while it is empty), and whether anything but the log's
    bookkeeping happened since ``since`` (``True`` when unknown: no ``since``, a head that is
    not ahead of it, or a root that differs at the same size)."""
    with store.read() as reader:
        head = reader.head()
        mark = (head.size, head.root_hash) if head is not None else None
        if mark == since:
            return mark, False
        if since is None or mark is None or mark[0] <= since[0]:
            return mark, True
        types = reader.event_types_between(since[0], mark[0])
    return mark, not types or not types <= LOG_BOOKKEEPING
