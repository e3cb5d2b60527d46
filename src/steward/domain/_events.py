"""Typed ledger events: one frozen dataclass per ``EventType``, documented field by field.

A service builds one of these and records it (``Writer.record`` with ``event.event_type``
and ``event.payload()``: ``services._records.record_event``); a reader of the ledger gets it
back with :func:`parse_event` and reads attributes, not string keys. ``_event_base`` holds
the rules that map fields to payload keys (one rule for every event: fields with a default
are left out at that default, so the payloads of older ledgers read back, and are written,
exactly as before). This module holds the events of the ledger itself, identities, datasets,
and runs; ``_model_events`` those of models and evidence, ``_governance_events`` those of
governance; ``_event_registry.parse_event`` reads any of them back. docs/audit.md lists
every field; a test keeps it complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

from steward.domain._event_base import Event, Payload
from steward.domain._evidence import Evidence
from steward.domain._ledger import EventType

__all__ = [
    "ContractSet",
    "DatasetRegistered",
    "DatasheetUpdated",
    "EvidenceEntry",
    "LedgerStarted",
    "RunFinished",
    "RunStarted",
    "TokenIssued",
    "TokenReset",
    "TokenRevoked",
    "UserCreated",
]


@dataclass(frozen=True, slots=True)
class LedgerStarted(Event):
    """Event ``ledger.started``: ``steward init`` created the store; always event 1.

    :ivar key_id: the id of the key that signs this ledger's tree heads.
    :ivar public_key: that Ed25519 public key (hex).
    :ivar schema: the store's schema revision.
    :ivar steward_version: the Steward version that created it.
    :ivar replaces: after ``init --force`` over a store with a ledger, what that ledger was
        (``store``, ``tree_size``, ``root_hash``, ``by``); absent otherwise.
    """

    event_type: ClassVar[EventType] = EventType.LEDGER_STARTED

    key_id: str
    public_key: str
    schema: str
    steward_version: str
    replaces: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class UserCreated(Event):
    """Event ``user.created``: a user was created, with its first API token; the actor is
    the creator. Replayed by every authentication and by ``audit verify``.

    :ivar user: the user's name.
    :ivar roles: its roles, sorted.
    :ivar token_id: the id of its first token.
    :ivar token_fingerprint: a digest of the token's stored hash (never the hash itself);
        absent in events written before fingerprints were kept.
    """

    event_type: ClassVar[EventType] = EventType.USER_CREATED

    user: str
    roles: tuple[str, ...]
    token_id: str
    token_fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class TokenIssued(Event):
    """Event ``token.issued``: a user issued themselves a further API token.

    :ivar user: the token's user.
    :ivar token_id: the token's id.
    :ivar token_fingerprint: a digest of the token's stored hash; absent in events written
        before fingerprints were kept.
    :ivar scopes: what a scoped token may do (``predict:ENDPOINT``…); absent for a token
        with its user's full permissions.
    """

    event_type: ClassVar[EventType] = EventType.TOKEN_ISSUED

    user: str
    token_id: str
    token_fingerprint: str | None = None
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TokenReset(Event):
    """Event ``token.reset``: an admin (the actor) issued a token for another user and
    revoked that user's other tokens in the same transaction.

    :ivar user: the token's user.
    :ivar token_id: the new token's id.
    :ivar token_fingerprint: a digest of the new token's stored hash.
    :ivar revoked: the ids of the tokens revoked.
    """

    event_type: ClassVar[EventType] = EventType.TOKEN_RESET

    user: str
    token_id: str
    token_fingerprint: str
    revoked: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TokenRevoked(Event):
    """Event ``token.revoked``: an API token was revoked.

    :ivar user: the token's user.
    :ivar token_id: the token's id.
    """

    event_type: ClassVar[EventType] = EventType.TOKEN_REVOKED

    user: str
    token_id: str


@dataclass(frozen=True, slots=True)
class EvidenceEntry(Payload):
    """One evidence record as an event lists it (in ``dataset.registered`` and
    ``evidence.recorded``).

    :ivar id: the record's id.
    :ivar check_id: the check that produced it.
    :ivar status: its status (``pass``, ``warn``, ``fail``, ``error``).
    :ivar content_hash: the SHA-256 of its canonical content.
    :ivar check_version: the check's version; absent in ``dataset.registered``.
    :ivar reproduces: for a reproduction, the id of the record it reproduces; absent
        otherwise.
    :ivar code_matches_source: ``false`` when the code that computed it differed from its
        source; absent otherwise.
    """

    id: str
    check_id: str
    status: str
    content_hash: str
    check_version: str | None = None
    reproduces: str | None = None
    code_matches_source: bool = True

    @classmethod
    def of(cls, record: Evidence, *, check_version: bool = True) -> Self:
        """The entry of ``record`` (without its check version, as a dataset's lists it)."""
        return cls(
            id=record.id,
            check_id=record.check_id,
            status=record.status.value,
            content_hash=record.content_hash,
            check_version=record.check_version if check_version else None,
            reproduces=record.reproduces or None,
            code_matches_source=record.provenance.get("code_matches_source") is not False,
        )


@dataclass(frozen=True, slots=True)
class DatasetRegistered(Event):
    """Event ``dataset.registered``: a dataset version was registered, with its validation
    and PII evidence.

    :ivar dataset: the dataset's name.
    :ivar version: the version number.
    :ivar fingerprint: the table's canonical fingerprint.
    :ivar artifact: the stored table (``sha256:…``).
    :ivar rows: its number of rows.
    :ivar columns: its number of columns.
    :ivar target: the declared target column, or ``null``.
    :ivar sensitive: the declared sensitive attributes.
    :ivar pii_columns: the columns the PII scan flagged.
    :ivar content_hash: the SHA-256 of the version's canonical record.
    :ivar evidence: the version's evidence records (``id``, ``check_id``, ``status``,
        ``content_hash`` of each).
    """

    event_type: ClassVar[EventType] = EventType.DATASET_REGISTERED

    dataset: str
    version: int
    fingerprint: str
    artifact: str
    rows: int
    columns: int
    target: str | None
    sensitive: tuple[str, ...]
    pii_columns: tuple[str, ...]
    content_hash: str
    evidence: tuple[EvidenceEntry, ...]


@dataclass(frozen=True, slots=True)
class DatasheetUpdated(Event):
    """Event ``dataset.datasheet_updated``: datasheet fields of a dataset were edited.

    :ivar dataset: the dataset's name.
    :ivar fields: the edited fields' new values (an empty value clears a field).
    """

    event_type: ClassVar[EventType] = EventType.DATASHEET_UPDATED

    dataset: str
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ContractSet(Event):
    """Event ``dataset.contract_set``: a dataset's validation contract was replaced.

    :ivar dataset: the dataset's name.
    :ivar contract_hash: the SHA-256 of the new contract's canonical JSON.
    """

    event_type: ClassVar[EventType] = EventType.CONTRACT_SET

    dataset: str
    contract_hash: str


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    """Event ``run.started``: a run started.

    :ivar run: the run's id.
    :ivar name: its name.
    :ivar parent: the parent run's id, or ``null``.
    :ivar code: the code it runs (git commit, dirty flag, diff hash).
    """

    event_type: ClassVar[EventType] = EventType.RUN_STARTED

    run: str
    name: str
    parent: str | None
    code: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunFinished(Event):
    """Event ``run.finished``: a run ended (finished or failed) and was sealed. A tuning
    trial is recorded whole when it ends, with this event only (no ``run.started``).

    :ivar run: the run's id.
    :ivar status: ``finished`` or ``failed``.
    :ivar metrics: the number of metric points.
    :ivar inputs: the dataset versions it read (``dataset``, ``fingerprint``).
    :ivar artifacts: its artifacts (label to ``sha256:…``).
    :ivar content_hash: the SHA-256 of the whole run, every metric point included.
    :ivar name: for a trial, the run's name; absent otherwise.
    :ivar parent: for a trial, the parent run's id; absent otherwise.
    :ivar reason: for ``steward run fail``, why it failed; absent otherwise.
    :ivar by: for ``steward run fail``, who failed it; absent otherwise.
    """

    event_type: ClassVar[EventType] = EventType.RUN_FINISHED

    run: str
    status: str
    metrics: int
    inputs: tuple[dict[str, Any], ...]
    artifacts: dict[str, Any]
    content_hash: str
    name: str | None = None
    parent: str | None = None
    reason: str | None = None
    by: str | None = None
