"""Rows of models and their versions, as frozen domain objects."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from steward.domain import Model, ModelVersion, RiskTier, Stage
from steward.ledger import canonical_bytes
from steward.store._schema import model_versions, models

__all__ = [
    "insert_model",
    "insert_model_version",
    "iter_model_versions",
    "list_models",
    "model_by_name",
    "model_version",
    "model_versions_of",
    "set_stage",
    "update_model",
    "versions_in_stage",
]


def _json(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def _latest_versions(conn: Connection) -> Any:
    return (
        select(model_versions.c.model_id, func.max(model_versions.c.version).label("latest"))
        .group_by(model_versions.c.model_id)
        .subquery()
    )


def _model(row: Row[Any]) -> Model:
    return Model(
        name=row.name,
        owner=row.owner,
        risk_tier=RiskTier(row.risk_tier),
        description=row.description,
        intended_use=row.intended_use,
        limitations=row.limitations,
        tags=json.loads(row.tags),
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        latest_version=int(row.latest or 0),
        content_hash=row.content_hash,
    )


def _models_query(conn: Connection) -> Any:
    latest = _latest_versions(conn)
    return select(models, latest.c.latest).outerjoin(latest, latest.c.model_id == models.c.id)


def model_by_name(conn: Connection, name: str) -> Model | None:
    row = conn.execute(_models_query(conn).where(models.c.name == name)).one_or_none()
    return None if row is None else _model(row)


def list_models(conn: Connection) -> list[Model]:
    return [_model(row) for row in conn.execute(_models_query(conn).order_by(models.c.name))]


def _card_values(model: Model) -> dict[str, Any]:
    return {
        "owner": model.owner,
        "risk_tier": model.risk_tier.value,
        "description": model.description,
        "intended_use": model.intended_use,
        "limitations": model.limitations,
        "tags": _json(model.tags),
        "updated_at": model.updated_at,
        "content_hash": model.content_hash,
    }


def insert_model(conn: Connection, model: Model) -> None:
    conn.execute(
        insert(models).values(
            name=model.name,
            created_at=model.created_at,
            created_by=model.created_by,
            **_card_values(model),
        )
    )


def update_model(conn: Connection, model: Model) -> None:
    conn.execute(update(models).where(models.c.name == model.name).values(**_card_values(model)))


def _version(row: Row[Any]) -> ModelVersion:
    return ModelVersion.from_record(
        json.loads(row.record), content_hash=row.content_hash, stage=Stage(row.stage)
    )


def _versions_query() -> Any:
    return select(
        model_versions.c.record, model_versions.c.content_hash, model_versions.c.stage
    ).join(models, models.c.id == model_versions.c.model_id)


def insert_model_version(conn: Connection, version: ModelVersion) -> None:
    model_id = conn.execute(select(models.c.id).where(models.c.name == version.name)).scalar_one()
    conn.execute(
        insert(model_versions).values(
            model_id=model_id,
            version=version.version,
            run_id=version.run_id,
            artifact=version.artifact,
            record=_json(version.record()),
            created_at=version.created_at,
            created_by=version.created_by,
            content_hash=version.content_hash,
            stage=version.stage.value,
        )
    )


def model_version(conn: Connection, name: str, version: int) -> ModelVersion | None:
    row = conn.execute(
        _versions_query().where(models.c.name == name, model_versions.c.version == version)
    ).one_or_none()
    return None if row is None else _version(row)


def model_versions_of(conn: Connection, name: str) -> list[ModelVersion]:
    rows = conn.execute(
        _versions_query().where(models.c.name == name).order_by(model_versions.c.version)
    )
    return [_version(row) for row in rows]


def versions_in_stage(conn: Connection, name: str, stage: Stage) -> list[ModelVersion]:
    rows = conn.execute(
        _versions_query()
        .where(models.c.name == name, model_versions.c.stage == stage.value)
        .order_by(model_versions.c.version)
    )
    return [_version(row) for row in rows]


def iter_model_versions(conn: Connection) -> list[ModelVersion]:
    return [_version(row) for row in conn.execute(_versions_query().order_by(model_versions.c.id))]


def set_stage(conn: Connection, name: str, version: int, stage: Stage) -> None:
    model_id = select(models.c.id).where(models.c.name == name).scalar_subquery()
    conn.execute(
        update(model_versions)
        .where(model_versions.c.model_id == model_id, model_versions.c.version == version)
        .values(stage=stage.value)
    )
