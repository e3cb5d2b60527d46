"""Rows of datasets, dataset versions and evidence, as frozen domain objects."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from steward.domain import (
    Dataset,
    DatasetVersion,
    Evidence,
    EvidenceStatus,
    Finding,
    MissingPolicy,
    TableSchema,
)
from steward.ledger import canonical_bytes
from steward.store._schema import dataset_versions, datasets, evidence

__all__ = [
    "dataset_by_name",
    "evidence_by_id",
    "evidence_for",
    "insert_dataset",
    "insert_evidence",
    "insert_version",
    "iter_evidence",
    "iter_versions",
    "list_datasets",
    "set_contract",
    "set_datasheet",
    "version_by_fingerprint",
    "version_of",
    "versions_of",
]


def _json(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def _dataset(row: Row[Any], latest: int) -> Dataset:
    return Dataset(
        name=row.name,
        latest_version=latest,
        created_at=row.created_at,
        created_by=row.created_by,
        datasheet=json.loads(row.datasheet),
        contract=json.loads(row.contract) if row.contract else None,
    )


def _latest(conn: Connection, dataset_id: int) -> int:
    value = conn.execute(
        select(func.max(dataset_versions.c.version)).where(
            dataset_versions.c.dataset_id == dataset_id
        )
    ).scalar()
    return int(value or 0)


def dataset_by_name(conn: Connection, name: str) -> Dataset | None:
    row = conn.execute(select(datasets).where(datasets.c.name == name)).one_or_none()
    return None if row is None else _dataset(row, _latest(conn, row.id))


def list_datasets(conn: Connection) -> list[Dataset]:
    latest = (
        select(dataset_versions.c.dataset_id, func.max(dataset_versions.c.version).label("v"))
        .group_by(dataset_versions.c.dataset_id)
        .subquery()
    )
    rows = conn.execute(
        select(datasets, latest.c.v)
        .outerjoin(latest, latest.c.dataset_id == datasets.c.id)
        .order_by(datasets.c.name)
    ).all()
    return [_dataset(row, int(row.v or 0)) for row in rows]


def insert_dataset(conn: Connection, name: str, created_at: str, created_by: str) -> int:
    return int(
        conn.execute(
            insert(datasets)
            .values(name=name, created_at=created_at, created_by=created_by, datasheet="{}")
            .returning(datasets.c.id)
        ).scalar_one()
    )


def _dataset_id(conn: Connection, name: str) -> int | None:
    return conn.execute(select(datasets.c.id).where(datasets.c.name == name)).scalar()


def set_datasheet(conn: Connection, name: str, datasheet: dict[str, str]) -> None:
    conn.execute(update(datasets).where(datasets.c.name == name).values(datasheet=_json(datasheet)))


def set_contract(conn: Connection, name: str, contract: dict[str, Any] | None) -> None:
    value = None if contract is None else _json(contract)
    conn.execute(update(datasets).where(datasets.c.name == name).values(contract=value))


def _version(row: Row[Any], name: str) -> DatasetVersion:
    return DatasetVersion(
        name=name,
        version=row.version,
        fingerprint=row.fingerprint,
        artifact=row.artifact,
        rows=row.rows,
        schema=TableSchema.from_dict(json.loads(row.table_schema)),
        profile=json.loads(row.profile),
        target=row.target,
        sensitive=tuple(json.loads(row.sensitive)),
        missing=MissingPolicy.from_dict(json.loads(row.missing)),
        pii_columns=tuple(json.loads(row.pii_columns)),
        source=json.loads(row.source),
        created_at=row.created_at,
        created_by=row.created_by,
        content_hash=row.content_hash,
        evidence_ids=tuple(json.loads(row.evidence_ids)),
    )


def _version_query() -> Any:
    return select(dataset_versions, datasets.c.name.label("dataset_name")).join(
        datasets, datasets.c.id == dataset_versions.c.dataset_id
    )


def version_of(conn: Connection, name: str, version: int) -> DatasetVersion | None:
    row = conn.execute(
        _version_query().where(datasets.c.name == name, dataset_versions.c.version == version)
    ).one_or_none()
    return None if row is None else _version(row, name)


def versions_of(conn: Connection, name: str) -> list[DatasetVersion]:
    rows = conn.execute(
        _version_query().where(datasets.c.name == name).order_by(dataset_versions.c.version)
    ).all()
    return [_version(row, name) for row in rows]


def iter_versions(conn: Connection) -> list[DatasetVersion]:
    rows = conn.execute(_version_query().order_by(dataset_versions.c.id)).all()
    return [_version(row, row.dataset_name) for row in rows]


def version_by_fingerprint(conn: Connection, name: str, fingerprint: str) -> DatasetVersion | None:
    row = conn.execute(
        _version_query()
        .where(datasets.c.name == name, dataset_versions.c.fingerprint == fingerprint)
        .order_by(dataset_versions.c.version.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else _version(row, name)


def insert_version(conn: Connection, version: DatasetVersion) -> None:
    dataset_id = _dataset_id(conn, version.name)
    assert dataset_id is not None
    conn.execute(
        insert(dataset_versions).values(
            dataset_id=dataset_id,
            version=version.version,
            fingerprint=version.fingerprint,
            artifact=version.artifact,
            rows=version.rows,
            table_schema=_json(version.schema.to_dict()),
            profile=_json(version.profile),
            target=version.target,
            sensitive=_json(list(version.sensitive)),
            missing=_json(version.missing.to_dict()),
            pii_columns=_json(list(version.pii_columns)),
            source=_json(version.source),
            evidence_ids=_json(list(version.evidence_ids)),
            created_at=version.created_at,
            created_by=version.created_by,
            content_hash=version.content_hash,
        )
    )


def _evidence(row: Row[Any]) -> Evidence:
    return Evidence(
        id=row.id,
        subject=row.subject,
        check_id=row.check_id,
        check_version=row.check_version,
        status=EvidenceStatus(row.status),
        params=json.loads(row.params),
        inputs=json.loads(row.inputs),
        metrics=json.loads(row.metrics),
        findings=tuple(Finding.from_dict(f) for f in json.loads(row.findings)),
        artifacts=json.loads(row.artifacts),
        created_at=row.created_at,
        created_by=row.created_by,
        content_hash=row.content_hash,
        provenance=json.loads(row.provenance or "{}"),
    )


def insert_evidence(conn: Connection, record: Evidence) -> None:
    conn.execute(
        insert(evidence).values(
            id=record.id,
            subject=record.subject,
            check_id=record.check_id,
            check_version=record.check_version,
            status=record.status.value,
            params=_json(record.params),
            inputs=_json(record.inputs),
            metrics=_json(record.metrics),
            findings=_json([f.to_dict() for f in record.findings]),
            artifacts=_json(record.artifacts),
            created_at=record.created_at,
            created_by=record.created_by,
            content_hash=record.content_hash,
            provenance=_json(record.provenance),
        )
    )


def evidence_by_id(conn: Connection, evidence_id: str) -> Evidence | None:
    row = conn.execute(select(evidence).where(evidence.c.id == evidence_id)).one_or_none()
    return None if row is None else _evidence(row)


def evidence_for(conn: Connection, subject: str) -> list[Evidence]:
    rows = conn.execute(
        select(evidence)
        .where(evidence.c.subject == subject)
        .order_by(evidence.c.created_at, evidence.c.id)
    ).all()
    return [_evidence(row) for row in rows]


def iter_evidence(conn: Connection) -> list[Evidence]:
    rows = conn.execute(select(evidence).order_by(evidence.c.created_at, evidence.c.id)).all()
    return [_evidence(row) for row in rows]
