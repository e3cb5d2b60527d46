"""Users, roles and API tokens: authentication and user management."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import replace

from steward.domain import (
    Actor,
    ApiToken,
    Permission,
    Role,
    TokenIssued,
    TokenReset,
    TokenRevoked,
    User,
    UserCreated,
    validate_user_name,
)
from steward.errors import (
    AlreadyExists,
    AuthenticationError,
    InvalidInput,
    LedgerTampered,
    NotFound,
    PermissionDenied,
)
from steward.services._access import require
from steward.services._records import record_event
from steward.services.identity._ledger import secret_fingerprint, user_identity
from steward.store import Reader, Store, Writer

__all__ = [
    "IdentityService",
    "create_user_in",
    "credentials",
    "hash_token",
    "new_token",
    "parse_roles",
]

_TOKEN = re.compile(r"^stw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def new_token() -> tuple[str, str]:
    """A fresh ``(token_id, token)``. The token is shown once and stored only as a hash."""
    token_id = secrets.token_hex(6)
    return token_id, f"stw_{token_id}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 resists guessing; no slow KDF needed.
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def parse_roles(values: Sequence[str]) -> frozenset[Role]:
    if not values:
        raise InvalidInput("a user needs at least one {role}", details={"field": "role"})
    roles: set[Role] = set()
    for value in values:
        try:
            roles.add(Role(value))
        except ValueError:
            choices = ", ".join(role.value for role in Role)
            raise InvalidInput(f"unknown role {value!r}: choose from {choices}") from None
    return frozenset(roles)


class IdentityService:
    """Authentication and user management. Every method but ``authenticate`` takes an actor."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def authenticate(self, token: str | None) -> Actor:
        """The actor ``token`` stands for; ``AuthenticationError`` if missing, invalid, revoked."""
        if not token or not token.strip():
            raise AuthenticationError("no API token given", details={"field": "token"})
        match = _TOKEN.fullmatch(token.strip())
        if match is None:
            raise AuthenticationError("invalid API token (malformed)")
        token_id = match.group(1)
        with self._store.read() as reader:
            record = reader.token_secret(token_id)
            if record is None:
                raise AuthenticationError("invalid API token (unknown to this store)")
            secret_hash, revoked_at, user_name = record
            if not hmac.compare_digest(secret_hash, hash_token(token.strip())):
                raise AuthenticationError("invalid API token (does not match)")
            if revoked_at is not None:
                raise AuthenticationError(
                    f"API token {token_id} was revoked on {revoked_at:%Y-%m-%d %H:%M} UTC"
                )
            user = reader.user(user_name)
            if user is None:  # the token's user row vanished under us
                raise AuthenticationError("invalid API token (no such user)")
            anchored = user_identity(reader, user_name)
        # The rows must be the ones the ledger recorded: a token inserted into the database,
        # or one whose secret or owner was rewritten, does not authenticate; roles granted
        # outside the ledger stop the command.
        issued = anchored.tokens.get(token_id)
        if issued is None or issued.user != user_name:
            raise AuthenticationError(
                f"API token {token_id} has no ledger record: it was not issued by Steward "
                "(run `steward audit verify`)"
            )
        if issued.fingerprint is not None and issued.fingerprint != secret_fingerprint(secret_hash):
            raise AuthenticationError(
                f"API token {token_id} does not match its ledger record (run `steward audit "
                "verify`)"
            )
        if issued.revoked:
            raise AuthenticationError(f"API token {token_id} was revoked (ledger event)")
        ledgered = anchored.users.get(user_name)
        if ledgered is None or ledgered.roles != user.roles:
            raise LedgerTampered(
                f"the roles of {user_name} in the store differ from the ledger's: refusing to "
                "act; run `steward audit verify`"
            )
        return Actor(user.id, user.name, user.roles, token_id, scopes=issued.scopes)

    def still_active(self, actor: Actor) -> int:
        """``AuthenticationError`` if the token ``actor`` authenticated with has been revoked
        since (one indexed read): a server that keeps authenticated tokens in memory checks
        this on every API call, so a revocation made through any process holds at once.
        Answers the ledger's head sequence as of the check (read in the same statement): an
        answer computed afterwards is at least that fresh."""
        with self._store.read() as reader:
            if actor.token_id is None:
                head = reader.head()
                return head.size if head is not None else 0
            record = reader.token_and_head(actor.token_id)
            if record is None:
                raise AuthenticationError("invalid API token (unknown to this store)")
            if record[0]:
                when = reader.token_secret(actor.token_id)
                revoked = f" on {when[1]:%Y-%m-%d %H:%M} UTC" if when and when[1] else ""
                raise AuthenticationError(f"API token {actor.token_id} was revoked{revoked}")
        return record[1]

    def add_user(self, actor: Actor, name: str, roles: Sequence[str]) -> tuple[User, str]:
        """Create a user with its first token; return the user and the token (shown once)."""
        require(actor, Permission.USER_MANAGE, "add users")
        try:
            validate_user_name(name)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        parsed = parse_roles(roles)
        with self._store.write(actor) as tx:
            return create_user_in(tx, name, parsed)

    def list_users(self, actor: Actor) -> list[User]:
        require(actor, Permission.USER_READ, "list users")
        with self._store.read() as reader:
            return reader.users()

    def issue_token(
        self, actor: Actor, name: str | None = None, scopes: Sequence[str] = ()
    ) -> tuple[ApiToken, str]:
        """A new token for the actor, or — an admin's act — for another existing user
        ``name``, as a reset: that user's other tokens are revoked in the same transaction,
        the ``token.reset`` event says who did it, and approvals made with the new token are
        flagged as made with a reset token.

        ``scopes`` (``predict:ENDPOINT``, ``feedback:ENDPOINT``, ``*`` for every endpoint)
        make a scoped token for the actor itself: it scores (and labels) on those endpoints
        and does nothing else, whatever its user's roles. Only the ledger holds the scopes."""
        name = name or actor.name
        reset = name != actor.name
        scoped = parse_scopes(scopes)
        if reset and scoped:
            raise InvalidInput(
                "a scoped token is issued by its own user: reset the token first",
                details={"field": "scope"},
            )
        if actor.scopes:
            raise PermissionDenied(
                f"{actor.name}'s scoped token may not issue tokens",
                details={"actor": actor.name, "reason": "scoped_token"},
            )
        if reset:
            require(actor, Permission.USER_MANAGE, f"reset the tokens of {name}")
        else:
            require(actor, Permission.TOKEN_ISSUE, "issue tokens")
        with self._store.write(actor) as tx:
            user = tx.user(name)
            if user is None:
                raise NotFound(f"no user named {name!r}")
            revoked = []
            if reset:
                for other in tx.tokens(name):
                    if other.active:
                        tx.revoke_token(other.id)
                        revoked.append(other.id)
            token_id, token = new_token()
            secret = hash_token(token)
            record = tx.add_token(token_id, user, secret)
            fingerprint = secret_fingerprint(secret)
            issued: TokenIssued | TokenReset = (
                TokenReset(
                    user=name,
                    token_id=token_id,
                    token_fingerprint=fingerprint,
                    revoked=tuple(revoked),
                )
                if reset
                else TokenIssued(
                    user=name, token_id=token_id, token_fingerprint=fingerprint, scopes=scoped
                )
            )
            record_event(tx, issued, subject=f"user:{name}")
        return replace(record, scopes=scoped), token

    def revoke_token(self, actor: Actor, token_id: str) -> ApiToken:
        if not actor.can(Permission.USER_MANAGE):  # judged before the token is looked up
            require(actor, Permission.TOKEN_ISSUE, "revoke tokens")
        with self._store.write(actor) as tx:
            token = tx.token(token_id)
            if token is None:
                raise NotFound(f"no API token with id {token_id!r}")
            if token.user_name != actor.name:
                require(actor, Permission.USER_MANAGE, f"revoke tokens of {token.user_name}")
            if not token.active:
                raise AlreadyExists(f"API token {token_id} is already revoked")
            tx.revoke_token(token_id)
            revoked = TokenRevoked(user=token.user_name, token_id=token_id)
            record_event(tx, revoked, subject=f"user:{token.user_name}")
            return replace(token, revoked_at=tx.now)

    def list_tokens(self, actor: Actor, name: str | None = None) -> list[ApiToken]:
        if name != actor.name:
            require(actor, Permission.USER_READ, "list other users' tokens")
        with self._store.read() as reader:
            tokens = reader.tokens(name)
            scopes: dict[str, tuple[str, ...]] = {}
            for user in {t.user_name for t in tokens}:
                for token_id, anchored in user_identity(reader, user).tokens.items():
                    scopes[token_id] = anchored.scopes
        return [replace(t, scopes=scopes.get(t.id, ())) for t in tokens]


_SCOPE = re.compile(r"^(predict|feedback):(\*|[a-z][a-z0-9-]{0,62})$")


def parse_scopes(values: Sequence[str]) -> tuple[str, ...]:
    """Token scopes, checked and sorted: ``predict:ENDPOINT`` or ``feedback:ENDPOINT``
    (``*`` for every endpoint)."""
    scopes = set()
    for value in values:
        if not _SCOPE.fullmatch(value.strip()):
            raise InvalidInput(
                f"unknown {{scope}} {value[:80]!r}: use predict:ENDPOINT or feedback:ENDPOINT "
                "(ENDPOINT may be *)",
                details={"field": "scope"},
            )
        scopes.add(value.strip())
    return tuple(sorted(scopes))


def create_user_in(tx: Writer, name: str, roles: frozenset[Role]) -> tuple[User, str]:
    if tx.user(name) is not None:
        raise AlreadyExists(f"user {name!r} already exists")
    user = tx.add_user(name, roles)
    token_id, token = new_token()
    secret = hash_token(token)
    tx.add_token(token_id, user, secret)
    created = UserCreated(
        user=name,
        roles=tuple(sorted(role.value for role in roles)),
        token_id=token_id,
        token_fingerprint=secret_fingerprint(secret),
    )
    record_event(tx, created, subject=f"user:{name}")
    return user, token


def credentials(reader: Reader, actor: Actor) -> tuple[tuple[str, ...], str | None]:
    """``(vouchers, reset_by)`` of an authenticated actor.

    Vouchers are the identities that created the actor's user or issued the token it acts
    with, and, transitively, those that created them or issued their active tokens (Steward
    itself, ``@system``, ends every chain). Whoever appears there could have made the
    actor's identity or handed out its credentials: a version's author among them makes the
    actor's approval of that version count for nothing. ``reset_by`` is the admin whose
    token reset gave the actor its token, if one did."""
    # the actor's own user and token as the ledger recorded them (authentication checked
    # the rows against these)
    anchored = user_identity(reader, actor.name)
    user = anchored.users.get(actor.name)
    token = anchored.tokens.get(actor.token_id or "")
    start = [user.created_by if user else None, token.issued_by if token else None]
    reset_by = token.issued_by if token is not None and token.reset else None
    seen: list[str] = []
    queue = [name for name in start if name]
    while queue:
        name = queue.pop(0)
        if name in seen or name == actor.name:
            continue
        seen.append(name)
        voucher = reader.user(name)
        if voucher is None:
            continue  # @system, or a user since removed
        if voucher.created_by:
            queue.append(voucher.created_by)
        queue.extend(t.issued_by for t in reader.tokens(name) if t.active and t.issued_by)
    return tuple(seen), reset_by
