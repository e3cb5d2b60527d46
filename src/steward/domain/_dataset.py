"""Datasets, their immutable versions, schemas, missing-data policies and datasheets."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "DATASHEET_FIELDS",
    "ColumnSchema",
    "ColumnType",
    "Dataset",
    "DatasetVersion",
    "MissingPolicy",
    "TableSchema",
]

# Datasheet sections, after Gebru et al., "Datasheets for Datasets" (2021).
DATASHEET_FIELDS: tuple[str, ...] = (
    "motivation",
    "composition",
    "collection_process",
    "preprocessing",
    "uses",
    "maintenance",
)


class ColumnType(StrEnum):
    """Logical column types; every input type is mapped onto one of these."""

    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    STRING = "string"
    DATETIME = "datetime"

    @property
    def numeric(self) -> bool:
        return self in (ColumnType.INTEGER, ColumnType.FLOAT)


@dataclass(frozen=True, slots=True)
class ColumnSchema:
    """One column as inferred: type, whether nulls occur, levels, observed range."""

    name: str
    type: ColumnType
    nullable: bool
    categories: tuple[str, ...] | None = None
    minimum: float | int | str | None = None
    maximum: float | int | str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.value,
            "nullable": self.nullable,
            "categories": list(self.categories) if self.categories is not None else None,
            "minimum": self.minimum,
            "maximum": self.maximum,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ColumnSchema:
        categories = raw.get("categories")
        return cls(
            name=raw["name"],
            type=ColumnType(raw["type"]),
            nullable=bool(raw["nullable"]),
            categories=tuple(categories) if categories is not None else None,
            minimum=raw.get("minimum"),
            maximum=raw.get("maximum"),
        )


@dataclass(frozen=True, slots=True)
class TableSchema:
    columns: tuple[ColumnSchema, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> ColumnSchema | None:
        return next((c for c in self.columns if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [column.to_dict() for column in self.columns]}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TableSchema:
        return cls(tuple(ColumnSchema.from_dict(c) for c in raw["columns"]))


@dataclass(frozen=True, slots=True)
class MissingPolicy:
    """How training handles missing values: impute per column type, or drop incomplete rows.

    Recorded with the version; the training templates apply it with scikit-learn's
    ``SimpleImputer`` (``strategy`` names are scikit-learn's) or by dropping rows.
    """

    mode: str = "impute"
    numeric_strategy: str = "median"
    categorical_strategy: str = "most_frequent"

    MODES = ("impute", "drop")

    def __post_init__(self) -> None:
        if self.mode not in self.MODES:
            raise ValueError(f"unknown missing-data policy {self.mode!r}: use impute or drop")

    def to_dict(self) -> dict[str, Any]:
        if self.mode == "drop":
            return {"mode": "drop"}
        return {
            "mode": "impute",
            "numeric_strategy": self.numeric_strategy,
            "categorical_strategy": self.categorical_strategy,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> MissingPolicy:
        if raw.get("mode") == "drop":
            return cls("drop")
        return cls(
            "impute",
            raw.get("numeric_strategy", "median"),
            raw.get("categorical_strategy", "most_frequent"),
        )


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """An immutable, numbered version of a dataset.

    ``fingerprint`` is the SHA-256 of the table's canonical content (the same table read from
    CSV or Parquet has the same fingerprint); ``artifact`` is the key of its canonical Parquet
    copy in the artifact store. ``content_hash`` covers every field below and is repeated in
    the ledger event that recorded the version.
    """

    name: str
    version: int
    fingerprint: str
    artifact: str
    rows: int
    schema: TableSchema
    profile: dict[str, Any]
    target: str | None
    sensitive: tuple[str, ...]
    missing: MissingPolicy
    pii_columns: tuple[str, ...]
    source: dict[str, Any]
    created_at: str
    created_by: str
    content_hash: str = ""
    evidence_ids: tuple[str, ...] = field(default=())

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def subject(self) -> str:
        return f"dataset:{self.ref}"

    def content(self) -> dict[str, Any]:
        """The hashed content of the version."""
        return {
            "artifact": self.artifact,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "evidence_ids": list(self.evidence_ids),
            "fingerprint": self.fingerprint,
            "missing": self.missing.to_dict(),
            "name": self.name,
            "pii_columns": list(self.pii_columns),
            "profile": self.profile,
            "rows": self.rows,
            "schema": self.schema.to_dict(),
            "sensitive": list(self.sensitive),
            "source": self.source,
            "target": self.target,
            "version": self.version,
        }

    def to_dict(self) -> dict[str, Any]:
        """The version's JSON document: its reference, hashed content and content hash."""
        return {"ref": self.ref, **self.content(), "content_hash": self.content_hash}


@dataclass(frozen=True, slots=True)
class Dataset:
    """A named dataset: its versions' count and its datasheet (editable documentation)."""

    name: str
    latest_version: int
    created_at: str
    created_by: str
    datasheet: dict[str, str]
    contract: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The dataset's JSON document: its version count, datasheet and contract (``None``
        while versions are validated against the first one's schema)."""
        return {
            "name": self.name,
            "latest_version": self.latest_version,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "datasheet": self.datasheet,
            "contract": self.contract,
        }
