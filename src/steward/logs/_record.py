"""One prediction, as the log keeps it, and the hash that makes an edit visible.

The canonical bytes of a record in segment ``S`` at sequence number ``N`` are the JSON object
of its fields plus ``"segment": S`` and ``"seq": N``, written by orjson with every object's
keys sorted and no white space. ``record_hash`` is the SHA-256 (hex) of those bytes: the hash
covers the record's place as well as its content, so a record copied into another segment or
moved within one no longer matches. A line of a segment file is the same object with
``"hash"`` added.

A record is encoded when it is made (``TypeError`` there for a value with no JSON form), so
later changes to the dicts it was given cannot change what is written.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from steward.logs._layout import check_endpoint

if TYPE_CHECKING:
    from steward.logs._batch import PredictionBatch

__all__ = [
    "FIELDS",
    "PredictionRecord",
    "canonical_bytes",
    "check_shared",
    "fields_hash",
    "record_hash",
    "record_time",
]

FIELDS = (
    "request_id",
    "time",
    "endpoint",
    "model",
    "inputs",
    "context",
    "outputs",
    "latency_ms",
)
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_MODEL = re.compile(r"^[^@\s]+@[1-9]\d*$")
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY
# "time" is the last key of the sorted top-level object and its value has a fixed width, so
# the encoded record ends with exactly this many bytes: ,"time":"YYYY-MM-DDTHH:MM:SS.ffffffZ"}
_TIME_TAIL = len(',"time":"2026-01-01T00:00:00.000000Z"}') - 1


def record_time(when: datetime | None = None) -> str:
    """``when`` (now by default; an aware datetime) in the log's time form:
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, UTC, always with microseconds, so times sort as text."""
    moment = datetime.now(UTC) if when is None else when
    if moment.tzinfo is None:
        raise ValueError("a record time must be timezone-aware")
    # isoformat is several times faster than strftime; in UTC it ends with "+00:00"
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def check_shared(time: Any, endpoint: Any, model: Any, latency: Any) -> float:
    """Check the fields a record and a batch share; the latency as a float (5 and 5.0
    encode differently, and Parquet gives back 5.0). ``ValueError`` for a field out of
    form, ``TypeError`` for a latency that is not a number."""
    if not isinstance(time, str) or _TIME.fullmatch(time) is None:
        raise ValueError(f"record time {time!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    check_endpoint(endpoint)
    if not isinstance(model, str) or _MODEL.fullmatch(model) is None:
        raise ValueError(f"record model {model!r} is not NAME@VERSION")
    if isinstance(latency, bool) or not isinstance(latency, int | float):
        raise TypeError("a record's latency_ms must be a number")
    if not math.isfinite(latency) or latency < 0:
        raise ValueError(f"record latency_ms {latency!r} must be finite and not negative")
    return float(latency)


@dataclass(frozen=True)
class PredictionRecord:
    """One answered prediction.

    ``time`` is :func:`record_time`'s form; ``endpoint`` matches ``^[a-z][a-z0-9-]{0,62}$``;
    ``model`` is ``NAME@VERSION``; ``inputs`` and ``context`` are already redacted (see
    :func:`~steward.logs.redact`: the log writes what it is given); ``outputs`` holds e.g.
    ``{"prediction": ..., "probabilities": {...}}``; ``latency_ms`` is finite and not negative.
    Raises ``ValueError`` for a field out of form and ``TypeError`` for a value with no JSON
    form.
    """

    request_id: str
    time: str
    endpoint: str
    model: str
    inputs: Mapping[str, Any]
    context: Mapping[str, Any]
    outputs: Mapping[str, Any]
    latency_ms: float
    _body: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.request_id, str) or not self.request_id:
            raise ValueError("a record's request_id must be a non-empty string")
        for name in ("inputs", "context", "outputs"):
            if not isinstance(getattr(self, name), Mapping):
                raise TypeError(f"a record's {name} must be a mapping")
        latency = check_shared(self.time, self.endpoint, self.model, self.latency_ms)
        object.__setattr__(self, "latency_ms", latency)
        object.__setattr__(self, "_body", orjson.dumps(self.to_dict(), option=_OPTIONS))

    @classmethod
    def rows(
        cls,
        *,
        request_ids: Sequence[str],
        time: str,
        endpoint: str,
        model: str,
        inputs: Sequence[dict[str, Any]],
        contexts: Sequence[dict[str, Any]],
        outputs: Sequence[dict[str, Any]],
        latency_ms: float,
    ) -> list[PredictionRecord]:
        """The records of one request's rows, which share ``time``, ``endpoint``, ``model``
        and ``latency_ms``: equal to one ``PredictionRecord(...)`` per row, with the shared
        fields checked once (the server's path, where per-row checks cost more than the
        model). ``inputs``, ``contexts`` and ``outputs`` hold one dict per row; each record
        keeps the dicts it was given and is encoded now, as the constructor does.
        """
        count = len(request_ids)
        if not (len(inputs) == len(contexts) == len(outputs) == count):
            raise ValueError("one request id, inputs, context and outputs per row")
        if count == 0:
            return []
        first = cls(
            request_ids[0], time, endpoint, model, inputs[0], contexts[0], outputs[0], latency_ms
        )
        made = [first]
        latency = first.latency_ms
        new = object.__new__
        dumps = orjson.dumps
        for at in range(1, count):
            request_id, given, context, output = (
                request_ids[at],
                inputs[at],
                contexts[at],
                outputs[at],
            )
            if not (
                type(request_id) is str
                and request_id
                and type(given) is dict
                and type(context) is dict
                and type(output) is dict
            ):  # something out of the ordinary: the constructor says what is wrong
                made.append(cls(request_id, time, endpoint, model, given, context, output, latency))
                continue
            record = new(cls)
            fields = {
                "request_id": request_id,
                "time": time,
                "endpoint": endpoint,
                "model": model,
                "inputs": given,
                "context": context,
                "outputs": output,
                "latency_ms": latency,
            }
            body = dumps(fields, option=_OPTIONS)
            record.__dict__.update(fields, _body=body)
            made.append(record)
        return made

    def to_dict(self) -> dict[str, Any]:
        """The record's fields as a JSON-ready document (without segment, seq and hash)."""
        return {
            "request_id": self.request_id,
            "time": self.time,
            "endpoint": self.endpoint,
            "model": self.model,
            "inputs": dict(self.inputs),
            "context": dict(self.context),
            "outputs": dict(self.outputs),
            "latency_ms": self.latency_ms,
        }


def canonical_bytes(record: PredictionRecord | PredictionBatch, segment: str, seq: int) -> bytes:
    """The canonical bytes of ``record`` at ``seq`` in ``segment`` (see the module docstring).

    Equal to encoding the record's document plus ``segment`` and ``seq`` with sorted keys;
    built by splicing the two fields into the encoding made with the record (they sort just
    before ``time``, the last key of a record's object and of a batch's), so the writer
    encodes nothing.
    """
    body = record._body
    cut = len(body) - _TIME_TAIL
    place = b'"segment":' + orjson.dumps(segment) + b',"seq":' + str(int(seq)).encode() + b","
    return body[:cut] + place + body[cut:]


def record_hash(record: PredictionRecord | PredictionBatch, segment: str, seq: int) -> str:
    """SHA-256 (hex) of :func:`canonical_bytes`."""
    return hashlib.sha256(canonical_bytes(record, segment, seq)).hexdigest()


def fields_hash(fields: Mapping[str, Any]) -> str:
    """The hash of a record read back: ``fields`` holds the record's fields, ``segment`` and
    ``seq`` (any ``hash`` key is left out)."""
    document = {key: value for key, value in fields.items() if key != "hash"}
    return hashlib.sha256(orjson.dumps(document, option=_OPTIONS)).hexdigest()
