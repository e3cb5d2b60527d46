"""The durable, tamper-evident prediction log of the model server.

Each server worker writes its predictions through one :class:`PredictionLog`, one record per
request (a :class:`PredictionBatch`: its rows' inputs column by column; a single
:class:`PredictionRecord` is a record too): ``append``
writes them at once in the caller's thread and returns a ticket (``submit``: a future), and
one sync thread flushes everything written with a single ``fdatasync`` (group commit) and
settles the tickets it covered. Records go to append-only
JSON-lines segments; a segment is sealed (a manifest with its count and digest) when full,
old or closed, and the caller anchors ``(segment id, count, digest)`` in the ledger, one event
per segment. :func:`recover` seals the segments of dead writers, :func:`compact` turns sealed
segments into Parquet partitioned by endpoint and day, :func:`read_predictions` and
:func:`find_requests` read both forms, :func:`verify_log` names edited, deleted, duplicated
and unanchored records and segments, and :func:`prune` removes old segments whole.

PII columns are keyed-hashed by :func:`redact` before a record is made; the log stores what
it is given. This package uses only the standard library, orjson and polars (and
``steward.errors``; polars only where Parquet is read or written, imported on first use): it
knows nothing of the store, the services or the server. On-disk layout and the guarantees:
``docs/prediction-log.md``.
"""

from typing import TYPE_CHECKING

from steward._lazy import lazy_attributes

if TYPE_CHECKING:
    from steward.logs._batch import PredictionBatch
    from steward.logs._compact import compact, compact_all
    from steward.logs._read import find_requests, read_predictions
    from steward.logs._record import PredictionRecord, record_hash, record_time
    from steward.logs._recover import recover
    from steward.logs._redact import new_log_key, redact, redact_columns
    from steward.logs._retention import prune
    from steward.logs._segment import (
        SealedSegment,
        compaction_behind,
        sealed_waiting,
        segment_digest,
    )
    from steward.logs._verify import LogReport, sealed_segments, unanchored, verify_log
    from steward.logs._writer import PredictionLog

# Loaded on first use: what reads or writes Parquet needs polars (tens of MB a process), and a
# server worker, which only writes segments, never loads it.
_WHERE = {
    "LogReport": "_verify",
    "PredictionBatch": "_batch",
    "PredictionLog": "_writer",
    "PredictionRecord": "_record",
    "SealedSegment": "_segment",
    "compact": "_compact",
    "compact_all": "_compact",
    "compaction_behind": "_segment",
    "find_requests": "_read",
    "new_log_key": "_redact",
    "prune": "_retention",
    "read_predictions": "_read",
    "record_hash": "_record",
    "record_time": "_record",
    "recover": "_recover",
    "redact": "_redact",
    "redact_columns": "_redact",
    "sealed_segments": "_verify",
    "sealed_waiting": "_segment",
    "segment_digest": "_segment",
    "unanchored": "_verify",
    "verify_log": "_verify",
}

__all__ = [
    "LogReport",
    "PredictionBatch",
    "PredictionLog",
    "PredictionRecord",
    "SealedSegment",
    "compact",
    "compact_all",
    "compaction_behind",
    "find_requests",
    "new_log_key",
    "prune",
    "read_predictions",
    "record_hash",
    "record_time",
    "recover",
    "redact",
    "redact_columns",
    "sealed_segments",
    "sealed_waiting",
    "segment_digest",
    "unanchored",
    "verify_log",
]


__getattr__ = lazy_attributes(__name__, _WHERE)
