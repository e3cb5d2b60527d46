"""Identities as the ledger records them, and the store's identity rows checked against it.

Users, their roles and their API tokens are anchored like every other record: each is created
by a ledger event (``user.created``, ``token.issued``, ``token.reset``) and each revocation is
one (``token.revoked``, or the revocations a reset makes). Replaying those events gives the
identities that may exist; a token row with no event, a role row no event granted, a user row
deleted, a token revived or its secret hash swapped are all differences from the replay.

Two uses:

- ``anchored_actor`` runs on every authentication, replaying the events about one user (an
  indexed query): a token without its ledger event does not authenticate, and roles that do
  not match the ledger stop the command.
- ``check_identities`` runs in ``audit verify`` over every identity row.

The events' bodies are checked against their recorded leaf hashes and the signed head's size
here; that the leaf hashes form the signed tree is ``audit verify``'s job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from steward.domain import (
    EventType,
    LedgerEvent,
    Role,
    TokenIssued,
    TokenReset,
    TokenRevoked,
    TreeHead,
    UserCreated,
    parse_event,
)
from steward.ledger import leaf_hash
from steward.store import Reader

if TYPE_CHECKING:  # _anchors imports the policy language: only verification needs it
    from steward.services.audit._anchors import RecordProblem

__all__ = [
    "IDENTITY_EVENTS",
    "AnchoredToken",
    "AnchoredUser",
    "Identities",
    "check_identities",
    "replay",
    "secret_fingerprint",
]

IDENTITY_EVENTS: tuple[str, ...] = (
    EventType.USER_CREATED.value,
    EventType.TOKEN_ISSUED.value,
    EventType.TOKEN_RESET.value,
    EventType.TOKEN_REVOKED.value,
)


def secret_fingerprint(secret_hash: str) -> str:
    """What a token's ledger event carries of its stored hash: a digest of the digest, so the
    ledger (readable by every role) never repeats the stored value itself."""
    return hashlib.sha256(f"steward.token/v1:{secret_hash}".encode("ascii")).hexdigest()


@dataclass
class AnchoredToken:
    id: str
    user: str
    issued_by: str
    fingerprint: str | None  # None for tokens recorded before fingerprints were kept
    seq: int
    revoked: bool = False
    reset: bool = False
    scopes: tuple[str, ...] = ()  # only the ledger holds a token's scopes


@dataclass
class AnchoredUser:
    name: str
    roles: frozenset[Role]
    created_by: str
    seq: int


@dataclass
class Identities:
    users: dict[str, AnchoredUser] = field(default_factory=dict)
    tokens: dict[str, AnchoredToken] = field(default_factory=dict)


def replay(events: list[LedgerEvent]) -> Identities:
    """The identities the events create, in sequence order. An event whose payload does not
    read as its type (not one Steward wrote) creates nothing."""
    state = Identities()
    known = {role.value for role in Role}
    for event in events:
        try:
            typed = parse_event(event)
        except ValueError:
            continue
        if isinstance(typed, UserCreated):
            roles = frozenset(Role(r) for r in typed.roles if r in known)
            state.users[typed.user] = AnchoredUser(typed.user, roles, event.actor, event.seq)
            _issue(state, typed, event)
        elif isinstance(typed, TokenIssued):
            _issue(state, typed, event)
        elif isinstance(typed, TokenReset):  # the user's other tokens go first
            for revoked in typed.revoked:
                if revoked in state.tokens:
                    state.tokens[revoked].revoked = True
            _issue(state, typed, event).reset = True
        elif isinstance(typed, TokenRevoked) and typed.token_id in state.tokens:
            state.tokens[typed.token_id].revoked = True
    return state


def _issue(
    state: Identities, issued: UserCreated | TokenIssued | TokenReset, event: LedgerEvent
) -> AnchoredToken:
    token = AnchoredToken(
        issued.token_id,
        issued.user,
        event.actor,
        issued.token_fingerprint,
        event.seq,
        scopes=issued.scopes if isinstance(issued, TokenIssued) else (),
    )
    state.tokens[issued.token_id] = token
    return token


def sound_events(events: list[LedgerEvent], head: TreeHead | None) -> list[LedgerEvent]:
    """The events whose bodies hash to their recorded leaves and that the signed head covers
    (a row inserted after the head, or edited in place, is left out)."""
    size = head.size if head is not None else 0
    sound = []
    for event in events:
        if event.seq > size or leaf_hash(event.body.encode("utf-8")) != event.leaf_hash:
            continue
        body = json.loads(event.body)
        if body.get("type") != event.type or body.get("subject") != event.subject:
            continue
        sound.append(event)
    return sound


def user_identity(reader: Reader, name: str) -> Identities:
    """The replayed identity of one user (their events only: an indexed query)."""
    events = reader.events_about(f"user:{name}", *IDENTITY_EVENTS)
    return replay(sound_events(events, reader.head()))


def check_identities(reader: Reader) -> tuple[int, RecordProblem | None]:
    """``(rows checked, first problem or None)``: every user, role and token row against the
    replayed ledger, and every ledgered identity against the rows."""
    from steward.services.audit._anchors import RecordProblem

    state = replay(reader.events_of_types(*IDENTITY_EVENTS))
    checked = 0
    users = {user.name: user for user in reader.users()}
    ids = {user.id: user.name for user in users.values()}
    for name, user in sorted(users.items()):
        checked += 1
        anchored = state.users.get(name)
        if anchored is None:
            return checked, RecordProblem(None, f"user {name} has no ledger event (inserted)")
        if user.roles != anchored.roles:
            extra = sorted(user.roles - anchored.roles)
            lost = sorted(anchored.roles - user.roles)
            said = "; ".join(
                part
                for part in (
                    f"role(s) {', '.join(extra)} granted outside the ledger" if extra else "",
                    f"role(s) {', '.join(lost)} removed outside the ledger" if lost else "",
                )
                if part
            )
            given = ", ".join(sorted(anchored.roles)) or "no role"
            return checked, RecordProblem(
                anchored.seq, f"user {name}: {said} (event {anchored.seq} gave {given}) (edited)"
            )
        if (user.created_by or "") != anchored.created_by:
            return checked, RecordProblem(
                anchored.seq,
                f"user {name}: created_by does not match event {anchored.seq} (edited)",
            )
    for user_id, _role in reader.role_rows():
        if user_id not in ids:
            checked += 1
            return checked, RecordProblem(
                None, f"a role row names user id {user_id}, which does not exist (inserted)"
            )
    rows = {row[0]: row for row in reader.token_rows()}
    for token_id, (_, user_name, secret_hash, revoked, issued_by) in sorted(rows.items()):
        checked += 1
        anchored_token = state.tokens.get(token_id)
        if anchored_token is None:
            return checked, RecordProblem(
                None, f"API token {token_id} of {user_name} has no ledger event (inserted)"
            )
        seq = anchored_token.seq
        if user_name != anchored_token.user:
            return checked, RecordProblem(
                seq,
                f"API token {token_id} belongs to {user_name}, but event {seq} issued it to "
                f"{anchored_token.user} (edited)",
            )
        if anchored_token.fingerprint is not None and anchored_token.fingerprint != (
            secret_fingerprint(secret_hash)
        ):
            return checked, RecordProblem(
                seq, f"API token {token_id}: its secret does not match event {seq} (edited)"
            )
        if anchored_token.revoked and not revoked:
            return checked, RecordProblem(
                seq, f"API token {token_id} was revoked in the ledger but is active (edited)"
            )
        if revoked and not anchored_token.revoked:
            return checked, RecordProblem(
                seq, f"API token {token_id} is revoked with no ledger event (edited)"
            )
        if issued_by is not None and issued_by != anchored_token.issued_by:
            return checked, RecordProblem(
                seq, f"API token {token_id}: its issuer does not match event {seq} (edited)"
            )
    for name, anchored in sorted(state.users.items(), key=lambda item: item[1].seq):
        if name not in users:
            return checked, RecordProblem(
                anchored.seq, f"user {name} recorded by event {anchored.seq} is gone (deleted)"
            )
    for token_id, anchored_token in sorted(state.tokens.items(), key=lambda item: item[1].seq):
        if token_id not in rows:
            seq = anchored_token.seq
            return checked, RecordProblem(
                seq, f"API token {token_id} recorded by event {seq} is gone (deleted)"
            )
    return checked, None
