"""Users, roles and API tokens: authentication and user management."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

from steward.domain import (
    Actor,
    ApiToken,
    EventType,
    Permission,
    Role,
    User,
    validate_user_name,
)
from steward.errors import AlreadyExists, AuthenticationError, InvalidInput, NotFound
from steward.services._access import require
from steward.store import Store, Writer

__all__ = ["IdentityService", "create_user_in", "hash_token", "new_token", "parse_roles"]

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
        raise InvalidInput("a user needs at least one --role")
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
        if not token:
            raise AuthenticationError(
                "no API token: run `steward login TOKEN` or set STEWARD_TOKEN"
            )
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
        return Actor(user.id, user.name, user.roles, token_id)

    def add_user(self, actor: Actor, name: str, roles: Sequence[str]) -> tuple[User, str]:
        """Create a user with its first token; return the user and the token (shown once)."""
        require(actor, Permission.USER_MANAGE, "add users")
        try:
            validate_user_name(name)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        parsed = parse_roles(roles)
        with self._store.write(actor.name) as tx:
            return create_user_in(tx, name, parsed)

    def list_users(self, actor: Actor) -> list[User]:
        require(actor, Permission.USER_READ, "list users")
        with self._store.read() as reader:
            return reader.users()

    def issue_token(self, actor: Actor, name: str) -> tuple[ApiToken, str]:
        """A new token for user ``name``: an admin's act, or the user's own."""
        if name != actor.name:
            require(actor, Permission.USER_MANAGE, f"issue tokens for {name}")
        with self._store.write(actor.name) as tx:
            user = tx.user(name)
            if user is None:
                raise NotFound(f"no user named {name!r}")
            token_id, token = new_token()
            record = tx.add_token(token_id, user, hash_token(token))
            tx.record(
                EventType.TOKEN_ISSUED,
                subject=f"user:{name}",
                payload={"user": name, "token_id": token_id},
            )
        return record, token

    def revoke_token(self, actor: Actor, token_id: str) -> ApiToken:
        with self._store.write(actor.name) as tx:
            token = tx.token(token_id)
            if token is None:
                raise NotFound(f"no API token with id {token_id!r}")
            if token.user_name != actor.name:
                require(actor, Permission.USER_MANAGE, f"revoke tokens of {token.user_name}")
            if not token.active:
                raise AlreadyExists(f"API token {token_id} is already revoked")
            tx.revoke_token(token_id)
            tx.record(
                EventType.TOKEN_REVOKED,
                subject=f"user:{token.user_name}",
                payload={"user": token.user_name, "token_id": token_id},
            )
            return ApiToken(token.id, token.user_name, token.created_at, tx.now)

    def list_tokens(self, actor: Actor, name: str | None = None) -> list[ApiToken]:
        if name != actor.name:
            require(actor, Permission.USER_READ, "list other users' tokens")
        with self._store.read() as reader:
            return reader.tokens(name)


def create_user_in(tx: Writer, name: str, roles: frozenset[Role]) -> tuple[User, str]:
    if tx.user(name) is not None:
        raise AlreadyExists(f"user {name!r} already exists")
    user = tx.add_user(name, roles)
    token_id, token = new_token()
    tx.add_token(token_id, user, hash_token(token))
    tx.record(
        EventType.USER_CREATED,
        subject=f"user:{name}",
        payload={"user": name, "roles": sorted(roles), "token_id": token_id},
    )
    return user, token
