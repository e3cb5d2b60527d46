"""The durable, tamper-evident prediction log of the model server.

Each server worker writes its predictions through one :class:`PredictionLog`: ``submit``
returns a future that resolves once the records are on disk, and one writer thread flushes
everything queued with a single ``fdatasync`` (group commit). Records go to append-only
JSON-lines segments; a segment is sealed (a manifest with its count and digest) when full,
old or closed, and the caller anchors ``(segment id, count, digest)`` in the ledger, one event
per segment. :func:`recover` seals the segments of dead writers, :func:`compact` turns sealed
segments into Parquet partitioned by endpoint and day, :func:`read_predictions` and
:func:`find_requests` read both forms, :func:`verify_log` names edited, deleted, duplicated
and unanchored records and segments, and :func:`prune` removes old segments whole.

PII columns are keyed-hashed by :func:`redact` before a record is made; the log stores what
it is given. This package uses only the standard library, orjson and polars (and
``steward.errors``): it knows nothing of the store, the services or the server. On-disk
layout and the guarantees: ``docs/prediction-log.md``.
"""

from steward.logs._compact import compact, compact_all
from steward.logs._read import find_requests, read_predictions
from steward.logs._record import PredictionRecord, record_hash, record_time
from steward.logs._recover import recover
from steward.logs._redact import new_log_key, redact
from steward.logs._retention import prune
from steward.logs._segment import SealedSegment, segment_digest
from steward.logs._verify import LogReport, sealed_segments, unanchored, verify_log
from steward.logs._writer import PredictionLog

__all__ = [
    "LogReport",
    "PredictionLog",
    "PredictionRecord",
    "SealedSegment",
    "compact",
    "compact_all",
    "find_requests",
    "new_log_key",
    "prune",
    "read_predictions",
    "record_hash",
    "record_time",
    "recover",
    "redact",
    "sealed_segments",
    "segment_digest",
    "unanchored",
    "verify_log",
]
