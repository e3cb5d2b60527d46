"""Verification: the log against the anchors the ledger holds.

For each segment, in either form (``.jsonl`` or Parquet), every record's content is hashed
again and compared with its ``hash`` ("edited"), its ``seq`` values must run 0…count-1 once
each ("deleted", "duplicated", "added"), and the digest of its hashes must equal the anchor's.
When the digest differs but nothing else does (the content was edited and its hash
recomputed), the ``.hashes`` file written at sealing is used to name the record, once its own
SHA-256 proves it is the anchored one. Segments anchored but gone, sealed but not anchored,
and unsealed with no live writer are problems too; segments held by a live writer are not
(their count is reported).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steward.logs._layout import (
    SEGMENT_ID,
    hashes_path,
    manifest_path,
    parquet_files,
    segments_dir,
)
from steward.logs._record import fields_hash
from steward.logs._segment import (
    SealedSegment,
    parse_lines,
    read_manifest,
    read_manifests,
    segment_digest,
    try_lock,
)

__all__ = ["LogReport", "sealed_segments", "unanchored", "verify_log"]

# (where in the files, the line's or row's object or None)
_Entry = tuple[str, dict[str, Any] | None]


@dataclass(frozen=True)
class LogReport:
    """What :func:`verify_log` found: one human line per problem (naming the segment and,
    where it can, the record's seq and request id), the records (lines: one per request)
    and the predictions they hold, the sealed segments checked, and the segments still open
    (held by a live writer; not checked, not problems)."""

    problems: tuple[str, ...]
    records: int
    segments: int
    open_segments: int
    predictions: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": list(self.problems),
            "records": self.records,
            "predictions": self.predictions,
            "segments": self.segments,
            "open_segments": self.open_segments,
        }


def sealed_segments(root: Path) -> list[SealedSegment]:
    """Every sealed segment's manifest under ``root`` (including compacted ones), in id order."""
    return [segment for segment in read_manifests(Path(root)).values() if segment is not None]


def unanchored(root: Path, anchored: Collection[str]) -> list[SealedSegment]:
    """The sealed segments whose id is not in ``anchored``, in id order: what a server starting
    up anchors (segments sealed before a crash, or whose ``on_sealed`` failed)."""
    known = set(anchored)
    return [segment for segment in sealed_segments(root) if segment.segment_id not in known]


def verify_log(
    root: Path, anchors: Mapping[str, tuple[int, str]], *, pruned: Collection[str] = ()
) -> LogReport:
    """Verify the log under ``root`` against ``anchors`` (segment id → (count, digest), as the
    ledger recorded them). Segments in ``pruned`` (ids :func:`~steward.logs.prune` returned,
    as the ledger recorded them) may be absent."""
    root = Path(root)
    gone_by_retention = set(pruned)
    manifests = read_manifests(root)
    files = parquet_files(root)
    folder = segments_dir(root)
    jsonl = (
        {p.stem: p for p in sorted(folder.glob("*.jsonl")) if SEGMENT_ID.fullmatch(p.stem)}
        if folder.is_dir()
        else {}
    )
    problems: list[str] = []
    records = segments = open_segments = predictions = 0
    for segment_id in sorted(set(anchors) | set(manifests) | set(jsonl) | set(files)):
        anchor = anchors.get(segment_id)
        known = segment_id in manifests
        manifest = manifests.get(segment_id)
        if segment_id in jsonl and not known:
            fd = try_lock(jsonl[segment_id], shared=True)
            if fd is None and jsonl[segment_id].exists():
                open_segments += 1
                continue
            if fd is not None:
                os.close(fd)
            # Sealed (or compacted) between the listing and the lock?
            known = manifest_path(root, segment_id).exists()
            manifest = read_manifest(root, segment_id) if known else None
            if not known:
                problems.append(
                    f"segment {segment_id}: not sealed and no writer holds it (run recover)"
                )
        if known and manifest is None:
            problems.append(f"segment {segment_id}: its manifest cannot be read")
        entries = _entries(root, segment_id, jsonl.get(segment_id), files.get(segment_id))
        if entries is None:
            if segment_id in gone_by_retention:
                continue
            if anchor is not None:
                problems.append(
                    f"segment {segment_id}: anchored with {anchor[0]} records, "
                    "but its records are gone (deleted)"
                )
            elif known:
                problems.append(
                    f"segment {segment_id}: sealed but not anchored, and its records are gone"
                )
            continue
        segments += 1
        if not known and segment_id not in jsonl:
            problems.append(f"segment {segment_id}: has records but no manifest")
        if anchor is None and known and segment_id not in gone_by_retention:
            problems.append(f"segment {segment_id}: sealed but not anchored in the ledger")
        if (
            anchor is not None
            and manifest is not None
            and (manifest.count, manifest.digest) != (anchor[0], anchor[1])
        ):
            problems.append(f"segment {segment_id}: its manifest differs from its anchor")
        reference = anchor if anchor is not None else None
        if reference is None and manifest is not None:
            reference = (manifest.count, manifest.digest)
        found, count, held = _check_segment(root, segment_id, entries[0], reference)
        problems += found
        records += count
        predictions += held
        if entries[1]:
            problems += _check_copy(segment_id, entries[0], entries[1])
    return LogReport(tuple(problems), records, segments, open_segments, predictions)


def _entries(
    root: Path, segment_id: str, source: Path | None, parquet: list[Path] | None
) -> tuple[list[_Entry], list[_Entry]] | None:
    """The segment's records: from its ``.jsonl`` when it has one (with the Parquet rows of a
    compaction cut short, to compare), else from its Parquet files; ``None`` when it has
    neither."""
    data = None
    if source is not None:
        try:
            data = source.read_bytes()
        except FileNotFoundError:  # compacted since the listing
            parquet = parquet_files(root, segment_id).get(segment_id)
    rows: list[_Entry] = []
    if parquet:
        import polars as pl  # here only: verifying a log of segments needs no Parquet

        from steward.logs._frame import lines_of_frame
    for path in parquet or []:
        where = path.relative_to(root).as_posix()
        try:
            found = lines_of_frame(pl.read_parquet(path, hive_partitioning=False))
        except (pl.exceptions.PolarsError, OSError):
            rows.append((f"{where} (unreadable)", None))
            continue
        rows += [(f"{where} row {i}", fields) for i, fields in found]
    if data is None:
        return (rows, []) if parquet else None
    lines, complete = parse_lines(data)
    entries: list[_Entry] = [(f"line {line.number}", line.fields) for line in lines]
    if complete != len(data):
        entries.append((f"line {len(lines) + 1}", None))  # a torn tail
    return entries, rows


def _check_segment(
    root: Path, segment_id: str, entries: list[_Entry], reference: tuple[int, str] | None
) -> tuple[list[str], int, int]:
    """The problems of one segment's records, how many records it holds and how many
    predictions they hold."""
    from steward.logs._frame import rows_of_fields

    problems: list[str] = []
    by_seq: dict[int, list[dict[str, Any]]] = {}
    named: set[int] = set()
    for where, fields in entries:
        if fields is None or rows_of_fields(fields) is None:
            problems.append(f"segment {segment_id} {where}: not a record")
            continue
        seq: int = fields["seq"]
        label = _label(segment_id, seq, fields)
        if fields["segment"] != segment_id:
            problems.append(f"{label}: moved here from segment {fields['segment']}")
            named.add(seq)
        if fields_hash(fields) != fields["hash"]:
            problems.append(f"{label}: edited (its content no longer matches its hash)")
            named.add(seq)
        by_seq.setdefault(seq, []).append(fields)
    expected = reference[0] if reference is not None else max(by_seq, default=-1) + 1
    for seq in sorted(by_seq):
        copies = by_seq[seq]
        if len(copies) > 1:
            ids = ", ".join(_ids(f) for f in copies)
            problems.append(f"segment {segment_id} seq {seq}: duplicated (requests {ids})")
        if not 0 <= seq < expected:
            problems.append(f"{_label(segment_id, seq, copies[0])}: added beyond the anchor")
    problems += [
        f"segment {segment_id} {_span(low, high)}: deleted"
        for low, high in _gaps(sorted(s for s in by_seq if 0 <= s < expected), expected)
    ]
    if reference is not None:
        hashes = [f["hash"] for seq in sorted(by_seq) for f in by_seq[seq]]
        if segment_digest(hashes) != reference[1]:
            located = _locate(root, segment_id, by_seq, reference, named)
            problems += located
            if not located and not problems:
                problems.append(
                    f"segment {segment_id}: the digest of its records differs from its anchor"
                )
    held = sum(_rows(f) for copies in by_seq.values() for f in copies)
    return problems, sum(len(copies) for copies in by_seq.values()), held


def _locate(
    root: Path,
    segment_id: str,
    by_seq: dict[int, list[dict[str, Any]]],
    reference: tuple[int, str],
    named: set[int],
) -> list[str]:
    """Name the records whose hash is not the one sealed, if the ``.hashes`` file is the one
    anchored (its SHA-256 is the digest)."""
    try:
        data = hashes_path(root, segment_id).read_bytes()
    except FileNotFoundError:
        return []
    if hashlib.sha256(data).hexdigest() != reference[1]:
        return []
    sealed = data.decode("ascii").split("\n") if data else []
    if len(sealed) != reference[0]:
        return []
    return [
        f"{_label(segment_id, seq, f)}: edited (its hash was rewritten to match)"
        for seq in sorted(by_seq)
        if 0 <= seq < len(sealed) and seq not in named
        for f in by_seq[seq]
        if f["hash"] != sealed[seq]
    ]


def _check_copy(segment_id: str, entries: list[_Entry], rows: list[_Entry]) -> list[str]:
    """A compaction cut short left Parquet rows beside the ``.jsonl``: they must be its
    records."""
    from steward.logs._frame import rows_of_fields

    sealed = {f["seq"]: f["hash"] for _, f in entries if f and rows_of_fields(f) is not None}
    problems: list[str] = []
    for where, fields in rows:
        if fields is None or rows_of_fields(fields) is None:
            problems.append(f"segment {segment_id} {where}: not a record")
        elif fields_hash(fields) != fields["hash"] or sealed.get(fields["seq"]) != fields["hash"]:
            label = _label(segment_id, fields["seq"], fields)
            problems.append(f"{label}: edited in {where.split(' row ')[0]}")
    return problems


def _label(segment_id: str, seq: int, fields: dict[str, Any]) -> str:
    return f"segment {segment_id} seq {seq} ({_requests(fields)})"


def _requests(fields: dict[str, Any]) -> str:
    """The request a record answered, or the requests of a batch's rows."""
    ids = fields.get("request_ids")
    return f"requests {_ids(fields)}" if isinstance(ids, list) else f"request {_ids(fields)}"


def _rows(fields: dict[str, Any]) -> int:
    ids = fields.get("request_ids")
    return len(ids) if isinstance(ids, list) else 1


def _ids(fields: dict[str, Any]) -> str:
    ids = fields.get("request_ids")
    if not isinstance(ids, list):
        return str(fields.get("request_id"))
    more = f" and {len(ids) - 3} more" if len(ids) > 3 else ""
    return ", ".join(str(rid) for rid in ids[:3]) + more


def _span(low: int, high: int) -> str:
    return f"seq {low}" if low == high else f"seq {low}-{high}"


def _gaps(present: list[int], expected: int) -> list[tuple[int, int]]:
    gaps: list[tuple[int, int]] = []
    nxt = 0
    for seq in [*present, expected]:
        if seq > nxt:
            gaps.append((nxt, seq - 1))
        nxt = seq + 1
    return gaps
