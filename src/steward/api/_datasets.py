"""``/api/v1`` datasets: the inventory, versions, their evidence, datasheets, contracts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from steward.api._common import (
    CALLER,
    PAGE,
    Caller,
    PageQuery,
    answer,
    file_answer,
    page,
    permission,
)

__all__ = ["router"]

router = APIRouter(tags=["datasets"])
_VERSION = "/datasets/{name}/versions/{selector}"


class Datasheet(BaseModel):
    fields: dict[str, str] = Field(max_length=50)


class Contract(BaseModel):
    contract: dict[str, Any]
    origin: str = Field("<api>", max_length=500)


def _listed(row: Any) -> dict[str, Any]:
    dataset, latest = row
    return {**dataset.to_dict(), "latest": latest.to_dict() if latest is not None else None}


@router.get("/datasets", summary="Every dataset", openapi_extra=permission("dataset:read"))
def datasets(query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    found = call.app.datasets.list_datasets(call.actor)
    return page(found, query, identity=lambda row: row[0].name, render=_listed)


@router.get(
    "/datasets/{name}",
    summary="A dataset: version count, datasheet, contract",
    openapi_extra=permission("dataset:read"),
)
def dataset(name: str, call: Caller = CALLER) -> Response:
    return answer(call.app.datasets.dataset(call.actor, name).to_dict())


@router.patch(
    "/datasets/{name}/datasheet",
    summary="Edit a dataset's datasheet",
    openapi_extra=permission("dataset:write"),
)
def update_datasheet(name: str, body: Datasheet, call: Caller = CALLER) -> Response:
    return answer(call.app.datasets.update_datasheet(call.actor, name, body.fields).to_dict())


@router.get(
    "/datasets/{name}/contract",
    summary="The contract the next version is validated against",
    openapi_extra=permission("dataset:read"),
)
def contract(name: str, call: Caller = CALLER) -> Response:
    return answer(call.app.datasets.contract(call.actor, name))


@router.put(
    "/datasets/{name}/contract",
    summary="Replace the contract new versions are validated against",
    openapi_extra=permission("dataset:write"),
)
def set_contract(name: str, body: Contract, call: Caller = CALLER) -> Response:
    return answer(call.app.datasets.set_contract(call.actor, name, body.contract, body.origin))


@router.get(
    _VERSION,
    summary="A dataset version: schema, profile, PII, declarations",
    openapi_extra=permission("dataset:read"),
)
def version(name: str, selector: str, call: Caller = CALLER) -> Response:
    return answer(call.app.datasets.get(call.actor, f"{name}@{selector}").to_dict())


@router.get(
    _VERSION + "/evidence",
    summary="A dataset version's evidence (PII scan, quality)",
    openapi_extra=permission("dataset:read"),
)
def evidence(name: str, selector: str, query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    found = call.app.datasets.evidence(call.actor, f"{name}@{selector}")
    return page(found, query, identity=lambda record: record.id)


@router.get(
    _VERSION + "/table",
    summary="A dataset version's table (its stored Parquet copy, hash-checked)",
    openapi_extra=permission("dataset:read"),
    responses={200: {"content": {"application/vnd.apache.parquet": {}}}},
)
def table(name: str, selector: str, call: Caller = CALLER) -> Response:
    def write(folder: Path) -> tuple[Path, dict[str, str]]:
        found, path = call.app.datasets.table_file(call.actor, f"{name}@{selector}", folder)
        return path, {"X-Steward-Fingerprint": found.fingerprint}

    return file_answer(write, "application/vnd.apache.parquet", "steward-table-")
