"""``/api/v1`` work done where the server runs: dataset uploads, trainings, tuning, check
runs, reproductions, mitigations. Evidence and versions are computed by the server's code,
as the caller who asked (the services record who); the long ones run as jobs."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from steward.api._common import CALLER, Caller, answer, permission
from steward.api._jobs import JobProgress
from steward.api._models import version_ref
from steward.errors import InvalidInput, PayloadTooLarge, StewardError, UsageError

__all__ = ["UPLOAD_PATH", "check_mover", "router", "trial_mover"]

router = APIRouter(tags=["work"])
# uploads (datasets, model files): capped at the upload limit, not the JSON one
UPLOAD_PATH = re.compile(r"^/api/v1/(datasets|models)/[^/]+/versions/?$")
_V = "/models/{name}/versions/{selector}"
_CHUNK = 1 << 20
MAX_MODEL_BYTES = 512 << 20


class TrainingBody(BaseModel):
    dataset: str = Field(max_length=200)
    name: str = Field(max_length=200)
    template: str | None = Field(None, max_length=40)
    task: str | None = Field(None, max_length=20)
    trials: int = Field(0, ge=0, le=100_000)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    target: str | None = Field(None, max_length=500)
    use_sensitive: list[str] = Field(default_factory=list, max_length=100)
    use_pii: list[str] = Field(default_factory=list, max_length=100)
    drop: list[str] = Field(default_factory=list, max_length=1000)
    test_size: float = 0.2
    validation_size: float = 0.2
    study: str | None = Field(None, max_length=255)
    timeout: float | None = Field(None, gt=0)
    checks: bool = True
    params: dict[str, Any] | None = None
    parents: list[str] = Field(default_factory=list, max_length=20)
    code: dict[str, Any] | None = Field(None, description="The caller's code (git) provenance.")


class TuneBody(BaseModel):
    study: str = Field(max_length=255)
    trials: int = Field(ge=1, le=100_000)
    timeout: float | None = Field(None, gt=0)
    code: dict[str, Any] | None = None


class ChecksBody(BaseModel):
    checks: list[str] = Field(default_factory=list, max_length=100)
    params: dict[str, dict[str, Any]] | None = None
    on: str | None = Field(None, max_length=200, description="Judge every row of this dataset.")


class ReproduceBody(BaseModel):
    checks: list[str] = Field(default_factory=list, max_length=100)


class MitigateBody(BaseModel):
    attribute: str = Field(max_length=500)
    constraint: str = Field("demographic_parity", max_length=60)
    objective: str = Field("balanced_accuracy_score", max_length=60)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    checks: bool = True


def _safe_name(filename: str | None) -> str:
    """The base name of an uploaded file, with only safe characters (its suffix says its
    format): no path, no hidden file, nothing a shell or a file system reads specially."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename or "").name)[-120:].lstrip(".")
    return base or "upload"


def renamed(exc: StewardError, old: str, new: str) -> StewardError:
    """``exc`` with every mention of ``old`` (a scratch path) as ``new``."""
    details = {
        key: value.replace(old, new) if isinstance(value, str) else value
        for key, value in exc.details.items()
    }
    return type(exc)(exc.template.replace(old, new), details=details)


def trial_mover(progress: JobProgress) -> Any:
    def moved(update: Any) -> None:
        progress.move(
            "trials",
            description=f"study {update.study}",
            study=update.study,
            done=update.done,
            total=update.total,
            number=update.number,
            state=update.state,
            value=update.value,
            best=update.best,
        )

    return moved


def check_mover(progress: JobProgress, bar: str = "checks") -> Any:
    def moved(check_id: str, done: int, total: int) -> None:
        progress.move(bar, description=check_id, check=check_id, done=done, total=total)

    return moved


def _environment() -> dict[str, Any]:
    from steward.provenance import capture_environment

    return capture_environment()


@router.post(
    "/datasets/{name}/versions",
    status_code=201,
    summary="Register a dataset version from an uploaded CSV or Parquet file (multipart)",
    openapi_extra={
        "x-steward-permission": "dataset:write",
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "target": {"type": "string"},
                            "sensitive": {"type": "array", "items": {"type": "string"}},
                            "missing": {"type": "string", "enum": ["impute", "drop"]},
                            "origin": {"type": "string"},
                        },
                    }
                }
            },
        },
    },
)
async def register_dataset(name: str, request: Request, call: Caller = CALLER) -> Response:
    """The file streams to a scratch file under the server's home (never whole in memory),
    is registered there as the embedded command registers a path, and is deleted: nothing
    of a refused upload remains."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UsageError("a dataset upload is multipart/form-data with a 'file' part")
    scratch = call.app.settings.home / "uploads"
    scratch.mkdir(mode=0o700, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=scratch))
    try:
        async with request.form(max_files=1, max_fields=64, max_part_size=1 << 16) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("the upload has no 'file' part", details={"field": "file"})
            given = _safe_name(upload.filename)
            path = folder / given
            with path.open("wb") as out:
                await run_in_threadpool(shutil.copyfileobj, upload.file, out, _CHUNK)
            fields = {key: form.getlist(key) for key in ("target", "missing", "origin")}
            sensitive = [str(value) for value in form.getlist("sensitive")]
        target = str(fields["target"][0]) if fields["target"] else None
        missing = str(fields["missing"][0]) if fields["missing"] else "impute"
        origin = str(fields["origin"][0])[:500] if fields["origin"] else given
        try:
            result = await run_in_threadpool(
                call.app.datasets.register,
                call.actor,
                path,
                name=name,
                target=target,
                sensitive=sensitive,
                missing=missing,
                origin=origin,
            )
        except StewardError as exc:  # name the client's file, never the server's scratch path
            raise renamed(exc, str(path), origin) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return answer(result.to_dict(), 201 if result.created else 200)


def _jobs(request: Request) -> Any:
    return request.app.state.api_jobs


@router.post(
    "/training",
    status_code=202,
    summary="Train (and tune) a version where the server runs: a job",
    openapi_extra=permission("model:write"),
)
def train(body: TrainingBody, request: Request, call: Caller = CALLER) -> Response:
    from steward.services import TrainingRequest

    fields = body.model_dump(exclude={"code"})
    training = TrainingRequest(
        **{
            **fields,
            "use_sensitive": tuple(body.use_sensitive),
            "use_pii": tuple(body.use_pii),
            "drop": tuple(body.drop),
            "parents": tuple(body.parents),
        }
    )
    call.app.training.admit(call.actor, training)  # refused at once, not as a failed job

    def work(progress: JobProgress) -> Any:
        result = call.app.training.train(
            call.actor,
            training,
            code=body.code,
            environment=_environment(),
            progress=trial_mover(progress),
            check_progress=check_mover(progress),
        )
        return result.to_dict()

    return _jobs(request).submit(call, "training", work)  # type: ignore[no-any-return]


@router.post(
    "/tuning",
    status_code=202,
    summary="Run more trials of a tuning study where the server runs: a job",
    openapi_extra=permission("run:write"),
)
def tune(body: TuneBody, request: Request, call: Caller = CALLER) -> Response:
    call.app.training.admit_join(call.actor)

    def work(progress: JobProgress) -> Any:
        result = call.app.training.join(
            call.actor,
            body.study,
            body.trials,
            timeout=body.timeout,
            code=body.code,
            environment=_environment(),
            progress=trial_mover(progress),
        )
        return {**result.to_dict(), "run_record": result.run.to_dict()}

    return _jobs(request).submit(call, "tuning", work)  # type: ignore[no-any-return]


@router.post(
    _V + "/checks",
    status_code=202,
    summary="Run evidence checks on a version where the server runs: a job",
    openapi_extra=permission("evidence:write"),
)
def run_checks(
    name: str, selector: str, body: ChecksBody, request: Request, call: Caller = CALLER
) -> Response:
    ref = version_ref(name, selector)
    call.app.evidence.admit(call.actor, ref, body.checks, params=body.params, on=body.on)

    def work(progress: JobProgress) -> Any:
        found = call.app.evidence.run(
            call.actor,
            ref,
            body.checks,
            params=body.params,
            on=body.on,
            progress=check_mover(progress),
        )
        return [record.to_dict() for record in found]

    return _jobs(request).submit(call, "checks", work)  # type: ignore[no-any-return]


@router.post(
    _V + "/reproductions",
    status_code=202,
    summary="Reproduce a version's recorded evidence as the caller: a job",
    openapi_extra=permission("evidence:write"),
)
def reproduce(
    name: str, selector: str, body: ReproduceBody, request: Request, call: Caller = CALLER
) -> Response:
    ref = version_ref(name, selector)
    call.app.evidence.admit_reproduction(call.actor, ref)

    def work(progress: JobProgress) -> Any:
        found = call.app.evidence.reproduce(
            call.actor, ref, body.checks, progress=check_mover(progress)
        )
        return [
            {
                **item.to_dict(),
                "original_record": item.original.to_dict(),
                "record": item.record.to_dict(),
            }
            for item in found
        ]

    return _jobs(request).submit(call, "reproduction", work)  # type: ignore[no-any-return]


@router.post(
    _V + "/mitigations",
    status_code=202,
    summary="Register a fairness-mitigated candidate of a version: a job",
    openapi_extra=permission("model:write"),
)
def mitigate(
    name: str, selector: str, body: MitigateBody, request: Request, call: Caller = CALLER
) -> Response:
    ref = version_ref(name, selector)
    call.app.mitigation.admit(call.actor, ref)

    def work(progress: JobProgress) -> Any:
        version = call.app.mitigation.mitigate(
            call.actor,
            ref,
            attribute=body.attribute,
            constraint=body.constraint,
            objective=body.objective,
            seed=body.seed,
            checks=body.checks,
            progress=check_mover(progress),
        )
        return version.to_dict()

    return _jobs(request).submit(call, "mitigation", work)  # type: ignore[no-any-return]


@router.post(
    "/models/{name}/versions",
    status_code=201,
    summary="Register a model fitted elsewhere: its skops file (multipart)",
    openapi_extra={
        "x-steward-permission": "model:write",
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "features": {"type": "array", "items": {"type": "string"}},
                            "dataset": {"type": "string"},
                            "run_id": {"type": "string"},
                        },
                    }
                }
            },
        },
    },
)
async def register_model(name: str, request: Request, call: Caller = CALLER) -> Response:
    """Only skops files, loaded with the reviewed list of trusted types: the server never
    unpickles what a client sends."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UsageError("a model file is sent as multipart/form-data with a 'file' part")
    async with request.form(max_files=1, max_fields=20_000, max_part_size=1 << 16) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("the upload has no 'file' part", details={"field": "file"})
        data = await upload.read(MAX_MODEL_BYTES + 1)
        if len(data) > MAX_MODEL_BYTES:
            raise PayloadTooLarge(f"a model file is at most {MAX_MODEL_BYTES >> 20} MiB")
        features = [str(value) for value in form.getlist("features")]
        dataset = form.get("dataset")
        run_id = form.get("run_id")
    version = await run_in_threadpool(
        call.app.models.register_skops,
        call.actor,
        data,
        name=name,
        features=features or None,
        dataset=str(dataset) if dataset is not None else None,
        run_id=str(run_id) if run_id is not None else None,
    )
    return answer(version.to_dict(), 201)
