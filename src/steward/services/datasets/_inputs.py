"""What registration reads: the table in canonical form, and the checked declarations."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steward.errors import InvalidInput

if TYPE_CHECKING:
    import pyarrow as pa

    from steward.data import TableLimits

__all__ = ["Prepared", "check_declarations", "file_sha256", "prepare", "to_polars"]


@dataclass(frozen=True, slots=True)
class Prepared:
    table: pa.Table
    fingerprint: str
    origin: str
    source: dict[str, Any]


def prepare(data: Path | Any, limits: TableLimits, origin: str | None = None) -> Prepared:
    """Read ``data`` (refusing it past ``limits``), canonicalise and fingerprint it;
    ``origin`` names a file in messages (default its path: an upload's is the client's)."""
    from steward.data import canonicalize, fingerprint, frame_to_arrow, read_file

    if isinstance(data, str | Path):
        path = Path(data)
        raw = read_file(path, limits)
        origin = origin or str(path)
        source = {"kind": "file", "name": path.name, "bytes": path.stat().st_size}
    else:
        origin = "the data frame"
        raw = frame_to_arrow(data, origin, limits)
        source = {"kind": "frame", "library": type(data).__module__.split(".")[0]}
    table = canonicalize(raw, origin)
    source["columns"] = table.num_columns
    return Prepared(table, fingerprint(table), origin, source)


def check_declarations(
    prepared: Prepared, target: str | None, sensitive: tuple[str, ...]
) -> tuple[str, ...]:
    names = prepared.table.column_names
    for column, role in [(target, "target"), *((s, "sensitive") for s in sensitive)]:
        if column is not None and column not in names:
            raise InvalidInput(
                f"{prepared.origin}: {role} column {column!r} is not in the table "
                f"(columns: {', '.join(names[:20])}{' …' if len(names) > 20 else ''})"
            )
    if len(set(sensitive)) != len(sensitive):
        raise InvalidInput(f"{prepared.origin}: a sensitive column is declared twice")
    if target is not None and target in sensitive:
        raise InvalidInput(f"{prepared.origin}: {target!r} cannot be both target and sensitive")
    if target is not None and prepared.table.column(target).null_count == prepared.table.num_rows:
        raise InvalidInput(f"{prepared.origin}: target column {target!r} is entirely missing")
    return sensitive


def to_polars(table: pa.Table) -> Any:
    import polars as pl

    return pl.from_arrow(table, rechunk=False)


def file_sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()
