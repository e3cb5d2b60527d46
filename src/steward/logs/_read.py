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

from steward.logs._frame import COLUMNS, STORED, frame_of_rows, rows_of_fields
from steward.logs._layout import SEGMENT_ID, check_endpoint, parquet_dir, segments_dir
from steward.logs._record import record_time
from steward.logs._segment import parse_lines

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

    def wanted(row: dict[str, Any]) -> bool:
        when: str = row["time"]
        return (low is None or when >= low) and (high is None or when < high)

    # Segments first, then Parquet: a segment compacted meanwhile is then found in Parquet.
    rows = list(_segment_rows(root, endpoint, wanted))
    files = _endpoint_files(
        root,
        endpoint,
        None if low is None else date.fromisoformat(low[:10]),
        None if high is None else date.fromisoformat(high[:10]),
    )
    in_parquet = {(path.stem, path.parent.name[4:]) for path in files}
    frames = [frame_of_rows(r for r in rows if (r["segment"], r["time"][:10]) not in in_parquet)]
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
        lines, _ = parse_lines(data)
        for line in lines:
            if line.fields is None or line.fields.get("endpoint") != endpoint:
                continue
            for row in rows_of_fields(line.fields) or ():
                if wanted(row):
                    yield row


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
