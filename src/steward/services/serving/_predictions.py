"""The prediction log as governed records: anchoring sealed segments in the ledger, reading
and exporting predictions, attaching ground-truth labels, retention, verification.

The log itself (``steward.logs``) is a capability: segments on disk, group commit,
compaction, verification against anchors. This service ledgers one ``predictions.sealed``
event per sealed segment (idempotent: several processes may seal-and-anchor after a crash),
reads the anchors back for ``audit verify``, and checks who may read or label what.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from steward.domain import (
    Actor,
    LabelsRecorded,
    Permission,
    PredictionsPruned,
    PredictionsSealed,
)
from steward.errors import InvalidInput, PermissionDenied
from steward.ledger import canonical_bytes
from steward.services._access import require
from steward.services._files import publish_once, write_private
from steward.services._records import record_event
from steward.services._secrets import SecretBox
from steward.services.serving._deployment_rules import endpoint_name, parse_time
from steward.services.serving._retention import MAX_RETENTION_DAYS
from steward.store import Reader, Store

__all__ = ["MAX_LABELS", "PredictionService"]

MAX_LABELS = 100_000


def anchors(reader: Reader) -> tuple[dict[str, tuple[int, str]], set[str]]:
    """``({segment: (count, digest)}, pruned segments)`` as the ledger recorded them."""
    found: dict[str, tuple[int, str]] = {}
    pruned: set[str] = set()
    for event in reader.events_of_types("predictions.sealed", "predictions.pruned"):
        if event.type == "predictions.sealed":
            found[event.payload["segment"]] = (event.payload["count"], event.payload["digest"])
        else:
            pruned.update(event.payload["segments"])
    return found, pruned


class PredictionService:
    """The prediction log of the home at ``root`` (``$STEWARD_HOME/logs``), keyed by the
    secret at ``key_path`` (created on first use, mode 0600)."""

    def __init__(
        self, store: Store, root: Path, key_path: Path, box: SecretBox | None = None
    ) -> None:
        self._store = store
        self.root = root
        self._key_path = key_path
        self._box = box

    # --- the server's side -------------------------------------------------------------

    def log_key(self) -> bytes:
        """The HMAC key that hashes PII values in the log: created once, kept in the home,
        sealed under the secrets key (``SecretBox``; a key kept before sealing existed is
        read as it is).

        Workers starting at once may each create one: a key is written whole to a private
        temporary file and published by a hard link, which fails when the key exists, so a
        reader never sees a key half-written and the first one published wins."""
        try:
            return self._opened(self._key_path.read_bytes())
        except FileNotFoundError:
            pass
        key = secrets.token_bytes(32)
        stored = key if self._box is None else self._box.seal(key, context="log-key").encode()
        return self._opened(publish_once(self._key_path, stored))

    def _opened(self, stored: bytes) -> bytes:
        return stored if self._box is None else self._box.open(stored, context="log-key")

    def anchor(self, actor: Actor, sealed: Any) -> bool:
        """Ledger a sealed segment (``steward.logs.SealedSegment``) unless it is already:
        ``True`` when an event was written."""
        subject = f"predictions:{sealed.segment_id}"
        with self._store.read() as reader:
            if reader.events_about(subject, "predictions.sealed"):
                return False
        with self._store.write(actor.name) as tx:
            tx.lock(subject)
            if tx.events_about(subject, "predictions.sealed"):
                return False
            event = PredictionsSealed(
                segment=sealed.segment_id,
                count=sealed.count,
                digest=sealed.digest,
                endpoints=tuple(sorted(sealed.endpoints)),
                first=sealed.first_time,
                last=sealed.last_time,
            )
            record_event(tx, event, subject=subject)
        return True

    def recover(self, actor: Actor, *, compact: bool = True) -> int:
        """Seal the segments of writers that died, anchor every sealed segment not yet in the
        ledger, and (``compact``) compact them to Parquet; the number of segments anchored."""
        from steward.logs import recover, unanchored

        if not self.root.exists():
            return 0
        recover(self.root)
        with self._store.read() as reader:
            anchored, _ = anchors(reader)
        written = sum(self.anchor(actor, s) for s in unanchored(self.root, set(anchored)))
        if compact:
            self.compact()
        return written

    def sealed(self, actor: Actor, segment: Any, *, compact: bool = True) -> None:
        """A writer sealed ``segment``: anchor it, then (``compact``) compact it."""
        self.anchor(actor, segment)
        if compact:
            from steward.logs import compact as compact_segment

            compact_segment(self.root, segment)

    def compact(self) -> int:
        """Compact every sealed segment still in its first form to Parquet (reading and
        verifying work on either form: this only makes reading faster); the files written."""
        from steward.logs import compact_all

        if not self.root.exists():
            return 0
        return len(compact_all(self.root))

    def compaction_due(self) -> bool:
        """Whether a sealed segment waits for compaction (a glance at the folder)."""
        from steward.logs import sealed_waiting

        return self.root.exists() and sealed_waiting(self.root)

    def compaction_behind(self) -> bool:
        """Whether more sealed segments wait than compaction should leave waiting (a glance
        at the folder): a server then starts it at once, not at its usual pace."""
        from steward.logs import compaction_behind

        return self.root.exists() and compaction_behind(self.root)

    # --- reading -----------------------------------------------------------------------

    def read(
        self,
        actor: Actor,
        endpoint: str,
        *,
        since: str | None = None,
        until: str | None = None,
        labels: bool = True,
    ) -> Any:
        """The logged predictions of ``endpoint`` (a polars DataFrame), oldest first, with
        their ground-truth label when one was attached (``label``)."""
        import polars as pl

        from steward.logs import read_predictions

        require(actor, Permission.PREDICTION_READ, "read logged predictions")
        endpoint = endpoint_name(endpoint)
        start = parse_time(since, "since") if since else None
        end = parse_time(until, "until") if until else None
        if start and end and end < start:
            raise InvalidInput("{until} is before {since}", details={"fields": ["since", "until"]})
        frame = read_predictions(self.root, endpoint, since=start, until=end)
        if labels:
            import orjson

            with self._store.read() as reader:
                known = reader.labels(endpoint)
            attached = pl.DataFrame(
                {
                    "request_id": list(known),
                    "label": [orjson.dumps(v).decode() for v in known.values()],
                },
                schema={"request_id": pl.String, "label": pl.String},
            )
            frame = frame.join(attached, on="request_id", how="left", maintain_order="left")
        return frame

    # --- ground truth ------------------------------------------------------------------

    def label(
        self, actor: Actor, endpoint: str, labels: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """Attach ground-truth labels (``{"request_id", "label"}`` each) to logged
        predictions of ``endpoint``. Idempotent: a label already recorded is not recorded
        again; request ids the log does not hold are reported and skipped. A scoped token
        needs ``feedback:ENDPOINT``; otherwise ``prediction:label``."""
        from steward.logs import find_requests

        endpoint = endpoint_name(endpoint)
        if not (actor.has_scope("feedback", endpoint) or actor.can(Permission.PREDICTION_LABEL)):
            raise PermissionDenied(
                f"{actor.name} may not label predictions of {endpoint} (needs a token with "
                f"scope feedback:{endpoint}, or permission prediction:label)",
                details={"actor": actor.name, "permission": "prediction:label"},
            )
        if len(labels) > MAX_LABELS:
            raise InvalidInput(f"at most {MAX_LABELS} labels per call", details={"field": "labels"})
        given: dict[str, Any] = {}
        bad: list[int] = []
        for i, item in enumerate(labels):
            rid = item.get("request_id") if isinstance(item, Mapping) else None
            if not isinstance(rid, str) or not rid or len(rid) > 64 or "label" not in item:
                bad.append(i)
                continue
            label = item["label"]
            if not isinstance(label, str | int | float | bool) or (
                isinstance(label, float) and label != label
            ):
                bad.append(i)
                continue
            given[rid] = label
        if bad:
            raise InvalidInput(
                f"{len(bad)} label(s) malformed (each needs a request_id string and a label "
                f"that is a string, number or boolean), first at position {bad[0]}",
                details={"field": "labels", "rows": bad[:20]},
            )
        known = find_requests(self.root, endpoint, list(given)) if given else set()
        unknown = sorted(set(given) - known)
        wanted = {rid: given[rid] for rid in given if rid in known}
        with self._store.read() as reader:
            recorded = reader.labels(endpoint, list(wanted))
        changed = {rid: v for rid, v in wanted.items() if recorded.get(rid, object()) != v}
        if changed:
            digest = hashlib.sha256(canonical_bytes(sorted(changed.items()))).hexdigest()
            with self._store.write(actor) as tx:
                tx.set_labels(endpoint, changed)
                event = LabelsRecorded(
                    endpoint=endpoint, count=len(changed), digest=digest, unknown=len(unknown)
                )
                record_event(tx, event, subject=f"endpoint:{endpoint}")
        return {
            "endpoint": endpoint,
            "recorded": len(changed),
            "unchanged": len(wanted) - len(changed),
            "unknown": unknown,
        }

    # --- retention and verification ----------------------------------------------------

    def prune(self, actor: Actor, retention_days: int, *, today: date | None = None) -> list[str]:
        """Delete prediction records older than ``retention_days`` — whole sealed segments,
        each once all its days are past — ledgered as one ``predictions.pruned`` event; the
        segments now gone."""
        from steward.logs import compact_all, prune
        from steward.policy import RETENTION_FLOOR_DAYS

        require(actor, Permission.MODEL_DEPLOY, "prune the prediction log")
        if retention_days > MAX_RETENTION_DAYS:
            raise InvalidInput(
                f"{{retention_days}} must be at most {MAX_RETENTION_DAYS} (a century)",
                details={"field": "retention_days"},
            )
        if retention_days < RETENTION_FLOOR_DAYS:
            raise InvalidInput(
                f"{{retention_days}} must be at least {RETENTION_FLOOR_DAYS} (six months)",
                details={"field": "retention_days"},
            )
        day = today or datetime.now(UTC).date()
        before = day - timedelta(days=retention_days)
        if not self.root.exists():
            return []
        compact_all(self.root)  # sealed segments still in their first form count too
        gone = prune(self.root, before)
        if gone:
            with self._store.write(actor) as tx:
                event = PredictionsPruned(
                    before=before.isoformat(),
                    segments=tuple(sorted(gone)),
                    retention_days=retention_days,
                )
                record_event(tx, event, subject="predictions")
        return list(gone)

    def verify(self, reader: Reader) -> Any:
        """``steward.logs.LogReport`` of the log against the ledger's anchors."""
        from steward.logs import verify_log

        anchored, pruned = anchors(reader)
        return verify_log(self.root, anchored, pruned=pruned)

    def write_export(self, frame: Any, out: Path) -> Path:
        """Write ``frame`` to ``out`` (``write_frame``)."""
        return write_frame(frame, out)


def write_frame(frame: Any, out: Path) -> Path:
    """Write logged predictions ``frame`` to ``out``: Parquet for ``.parquet``, CSV for
    ``.csv``, JSON lines otherwise (here or in a remote client)."""
    if out.suffix == ".parquet":
        frame.write_parquet(out)
    elif out.suffix == ".csv":
        frame.write_csv(out)
    else:
        write_private(out, frame.write_ndjson().encode("utf-8"))
    return out
