"""The one exception tree of Steward.

Every error a user can meet is an instance of :class:`StewardError`. Each class carries a
stable machine-readable ``code`` (part of the public contract: scripts and the HTTP API key on
it), the HTTP status the API answers with, and the CLI exit code::

    StewardError                      code            http  exit
    ├── UsageError                    usage            400     2
    │   ├── InvalidInput              invalid_input    422     2
    │   ├── NotFound                  not_found        404     2
    │   ├── AlreadyExists             already_exists   409     2
    │   ├── PayloadTooLarge           too_large        413     2
    │   ├── PreconditionFailed        precondition     412     2   (an If-Match that fails)
    │   ├── RateLimited               rate_limited     429     2   (too many failed sign-ins)
    │   ├── NotAStewardHome           not_a_home       400     2
    │   └── SchemaOutOfDate           schema_outdated  409     2
    ├── AuthenticationError           unauthenticated  401     3
    ├── PermissionDenied              forbidden        403     3
    ├── Refused                       refused          409     1   (the answer is "no")
    ├── Unavailable                   unavailable      503     2   (the store cannot be reached)
    ├── IntegrityError                integrity        500     1   (stored data failed verification)
    │   └── LedgerTampered            ledger_tampered  500     1
    └── InternalError                 internal         500     4   (a fault of Steward itself)

Messages are one line, name the thing that is wrong, and say what to do when there is
something to do. ``details`` holds structured context for ``--json`` output and API bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "AuthenticationError",
    "IntegrityError",
    "InternalError",
    "InvalidInput",
    "LedgerTampered",
    "NotAStewardHome",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "PreconditionFailed",
    "RateLimited",
    "Refused",
    "SchemaOutOfDate",
    "StewardError",
    "Unavailable",
    "UsageError",
]


class StewardError(Exception):
    """Root of every error Steward raises on purpose."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 2

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        # One line, always: the CLI prints it as is on stderr.
        self.template = " ".join(message.split())
        self.details: dict[str, Any] = dict(details or {})
        self.message = self.render()
        super().__init__(self.message)

    @property
    def fields(self) -> tuple[str, ...]:
        """The request fields the error is about: ``details["field"]``, then
        ``details["fields"]``."""
        named = [self.details["field"]] if "field" in self.details else []
        return tuple(str(field) for field in [*named, *self.details.get("fields", ())])

    def render(self, words: Mapping[str, str] | None = None) -> str:
        """The message, each ``{field}`` placeholder of a named field in an edge's own words
        (``{"expires": "--expires"}`` on the command line); the field's name by default. The
        services name fields, never an edge's flags or parameters."""
        text = self.template
        for field in self.fields:
            text = text.replace("{" + field + "}", (words or {}).get(field, field))
        return text

    @staticmethod
    def body_schema() -> dict[str, Any]:
        """The JSON Schema of ``to_dict()``: every API's documented error body."""
        return {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "details"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {"type": "object"},
                        "template": {"type": "string"},
                    },
                }
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body of the public contract. An error about named request fields
        also carries its ``template`` (the message with its ``{field}`` placeholders), so a
        remote command line words it as the embedded one does."""
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "details": self.details,
        }
        if self.fields and self.template != self.message:
            error["template"] = self.template
        return {"error": error}


class UsageError(StewardError):
    """The caller asked for something malformed or impossible."""

    code = "usage"
    http_status = 400


class InvalidInput(UsageError):
    """An argument or an input file does not hold what it must."""

    code = "invalid_input"
    http_status = 422


class NotFound(UsageError):
    """A referenced object (user, token, event, artifact) does not exist."""

    code = "not_found"
    http_status = 404


class AlreadyExists(UsageError):
    """Creating something whose name or identity is already taken."""

    code = "already_exists"
    http_status = 409


class PayloadTooLarge(UsageError):
    """A request body or upload is larger than the server accepts."""

    code = "too_large"
    http_status = 413


class PreconditionFailed(UsageError):
    """A conditional request's precondition (``If-Match``: the version of the object the
    caller last read) no longer holds: someone else changed it since."""

    code = "precondition"
    http_status = 412


class RateLimited(UsageError):
    """Too many requests of one kind from one client (failed authentications): wait for
    ``details["retry_after"]`` seconds."""

    code = "rate_limited"
    http_status = 429


class NotAStewardHome(UsageError):
    """``STEWARD_HOME`` points at a folder that ``steward init`` did not create."""

    code = "not_a_home"
    http_status = 400


class SchemaOutOfDate(UsageError):
    """The metadata store's schema is not the one this Steward expects."""

    code = "schema_outdated"
    http_status = 409


class AuthenticationError(StewardError):
    """No identity could be established: missing, invalid or revoked token."""

    code = "unauthenticated"
    http_status = 401
    exit_code = 3


class PermissionDenied(StewardError):
    """The authenticated identity lacks the permission the operation needs."""

    code = "forbidden"
    http_status = 403
    exit_code = 3


class Refused(StewardError):
    """The operation ran and its answer is "no" (a gate failed, a promotion was refused)."""

    code = "refused"
    http_status = 409
    exit_code = 1


class Unavailable(StewardError):
    """A service Steward depends on (the database server) cannot be reached."""

    code = "unavailable"
    http_status = 503


class IntegrityError(StewardError):
    """Stored data failed verification (an artifact whose bytes do not match its hash).

    Not the caller's fault and not a bug: the data at rest was changed or damaged. The answer
    to the command is "no" (exit 1); the server answers 500 because its own data is bad.
    """

    code = "integrity"
    http_status = 500
    exit_code = 1


class LedgerTampered(IntegrityError):
    """The audit ledger failed verification; ``details`` names the first bad entry."""

    code = "ledger_tampered"


class InternalError(StewardError):
    """A fault of Steward itself (a bug), not of the caller nor of the data."""

    code = "internal"
    http_status = 500
    exit_code = 4
