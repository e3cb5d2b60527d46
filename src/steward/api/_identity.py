"""``/api/v1`` identity: who the caller is, users, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from steward.api._common import CALLER, PAGE, Caller, PageQuery, answer, page, permission

__all__ = ["router"]

router = APIRouter(tags=["identity"])


class NewUser(BaseModel):
    name: str = Field(max_length=200)
    roles: list[str] = Field(max_length=10)


class NewToken(BaseModel):
    user: str | None = Field(
        None, max_length=200, description="Another user: an admin's reset of their tokens."
    )
    scopes: list[str] = Field(default_factory=list, max_length=50)


@router.get("/whoami", summary="The identity of the caller's token", openapi_extra=permission(None))
def whoami(call: Caller = CALLER) -> Response:
    return answer(call.actor.to_dict())


@router.get("/users", summary="Users and their roles", openapi_extra=permission("user:read"))
def users(query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    return page(call.app.identity.list_users(call.actor), query, identity=lambda user: user.name)


@router.post(
    "/users",
    status_code=201,
    summary="Add a user; its first token is answered once",
    openapi_extra=permission("user:manage"),
)
def add_user(body: NewUser, call: Caller = CALLER) -> Response:
    user, token = call.app.identity.add_user(call.actor, body.name, body.roles)
    return answer({"user": user.to_dict(), "token": token}, 201)


@router.get(
    "/tokens",
    summary="API tokens, never their secrets (one's own, with user=NAME, need no permission)",
    openapi_extra=permission("user:read"),
)
def tokens(
    user: str | None = Query(None, max_length=200),
    query: PageQuery = PAGE,
    call: Caller = CALLER,
) -> Response:
    found = call.app.identity.list_tokens(call.actor, user)
    return page(found, query, identity=lambda token: token.id)


@router.post(
    "/tokens",
    status_code=201,
    summary="Issue a token for oneself (an admin naming a user resets theirs: user:manage)",
    openapi_extra=permission("token:issue"),
)
def issue_token(body: NewToken, call: Caller = CALLER) -> Response:
    record, token = call.app.identity.issue_token(call.actor, body.user, body.scopes)
    return answer({"token": record.to_dict(), "secret": token}, 201)


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke one's own token (another's: user:manage); every process refuses it at once",
    openapi_extra=permission("token:issue"),
)
def revoke_token(token_id: str, call: Caller = CALLER) -> Response:
    return answer(call.app.identity.revoke_token(call.actor, token_id[:200]).to_dict())
