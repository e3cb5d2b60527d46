"""Reading the log: Parquet partitions and the segments not yet compacted, as one frame.

Frames are polars ``DataFrame``s of :data:`~steward.logs._frame.SCHEMA`, one row per
prediction (a batch line gives one row per prediction it holds): polars is typed (the
installed pyarrow is not, so a ``pyarrow.Table`` would be ``Any`` to every caller), scans
Parquet lazily with the time filter pushed down, and ``frame.to_arrow()`` is zero-copy for a
caller that wants Arrow.

Reading is not verification (that is :func:`~steward.logs.verify_log`): records are returned
as stored. Records are not deduplicated; a segment caught between its two forms (compaction
writes its Parquet files, then removes the ``.jsonl``) is read from its Parquet file for each
(segment, day) that has one and from the ``.jsonl`` otherwise, so no record is read twice or
missed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from steward.logs._frame import COLUMNS, STORED, Columns, rows_of_fields
from steward.logs._layout import SEGMENT_ID, check_endpoint, parquet_dir, segments_dir
from steward.logs._record import record_time
from steward.logs._segment import iter_lines

__all__ = ["find_requests", "read_predictions"]


def read_predictions(
    root: Path,
    endpoint: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """The records of ``endpoint`` timed in ``[since, until)`` (aware datetimes; either may be
    open), ordered by time (then segment and seq). Columns: request_id, time (UTC, µs),
    endpoint, model, inputs, context and outputs (JSON text), latency_ms, segment, seq, hash.
    Includes the complete lines of open segments (a record may show before its writer's
    flush returns). ``ValueError`` for an invalid endpoint name or a naive datetime."""
    root = Path(root)
    check_endpoint(endpoint)
    low = None if since is None else record_time(since)
    high = None if until is None else record_time(until)

    def wanted(when: str) -> bool:
        return (low is None or when >= low) and (high is None or when < high)

    # Segments first, then Parquet: a segment compacted meanwhile is then found in Parquet.
    by_segment = _segment_columns(root, endpoint, wanted)
    files = _endpoint_files(
        root,
        endpoint,
        None if low is None else date.fromisoformat(low[:10]),
        None if high is None else date.fromisoformat(high[:10]),
    )
    in_parquet = {(path.stem, path.parent.name[4:]) for path in files}
    frames = [
        columns.frame()
        for (segment, day), columns in by_segment.items()
        if (segment, day) not in in_parquet
    ]
    frames.append(Columns().frame())  # the columns and types, when nothing else is read
    if files:
        scan = _scan(files)
        if since is not None:
            scan = scan.filter(pl.col("time") >= since.astimezone(UTC))
        if until is not None:
            scan = scan.filter(pl.col("time") < until.astimezone(UTC))
        frames.append(scan.collect())
    return pl.concat(frames).sort(["time", "segment", "seq", "row"]).select(COLUMNS)


def find_requests(root: Path, endpoint: str, request_ids: Iterable[str]) -> set[str]:
    """Which of ``request_ids`` the log holds a record of, for ``endpoint`` (to attach
    feedback labels to predictions). One columnar scan of the endpoint's ``request_id``
    column, however many ids are asked. ``ValueError`` for an invalid endpoint name."""
    root = Path(root)
    check_endpoint(endpoint)
    wanted = {str(request_id) for request_id in request_ids}
    if not wanted:
        return set()
    found = {
        row["request_id"]
        for row in _segment_rows(root, endpoint, lambda row: row["request_id"] in wanted)
    }
    files = _endpoint_files(root, endpoint, None, None)
    if files:
        hits = (
            _scan(files)
            .select("request_id")
            .filter(pl.col("request_id").is_in(sorted(wanted)))
            .collect()
        )
        found.update(hits.get_column("request_id").to_list())
    return found


def _segment_rows(
    root: Path, endpoint: str, wanted: Callable[[dict[str, Any]], bool]
) -> Iterable[dict[str, Any]]:
    for fields in _segment_lines(root, endpoint):
        for row in rows_of_fields(fields) or ():
            if wanted(row):
                yield row


def _segment_columns(
    root: Path, endpoint: str, wanted: Callable[[str], bool]
) -> dict[tuple[str, str], Columns]:
    """The rows of ``endpoint`` in the segments not yet compacted (complete lines, a valid
    record's or batch's), by (segment, day), of the lines whose time is ``wanted`` (every
    row of a line has its time)."""
    found: dict[tuple[str, str], Columns] = {}
    for fields in _segment_lines(root, endpoint):
        when, segment = fields.get("time"), fields.get("segment")
        if not (isinstance(when, str) and isinstance(segment, str)) or not wanted(when):
            continue
        columns = found.get((segment, when[:10]))
        if columns is None:
            columns = found[(segment, when[:10])] = Columns()
        columns.add_line(fields)
    return found


def _segment_lines(root: Path, endpoint: str) -> Iterable[dict[str, Any]]:
    """The objects of ``endpoint``'s complete lines in the segments not yet compacted."""
    folder = segments_dir(root)
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.jsonl")):
        if SEGMENT_ID.fullmatch(path.stem) is None:
            continue
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # compacted since the listing: its Parquet files are read next
        for line in iter_lines(data):
            if line.fields is not None and line.fields.get("endpoint") == endpoint:
                yield line.fields


def _scan(files: list[Path]) -> pl.LazyFrame:
    """The Parquet files, in :data:`~steward.logs._frame.STORED` (a file written before
    batches has no ``row``: null)."""
    return pl.scan_parquet(files, hive_partitioning=False, schema=STORED, missing_columns="insert")


def _endpoint_files(root: Path, endpoint: str, first: date | None, last: date | None) -> list[Path]:
    base = parquet_dir(root) / f"endpoint={endpoint}"
    if not base.is_dir():
        return []
    files: list[Path] = []
    for folder in sorted(base.glob("day=*")):
        try:
            day = date.fromisoformat(folder.name[4:])
        except ValueError:
            continue
        if (first is not None and day < first) or (last is not None and day > last):
            continue
        files += [p for p in sorted(folder.glob("*.parquet")) if SEGMENT_ID.fullmatch(p.stem)]
    return files
