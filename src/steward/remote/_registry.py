"""Remote identity, models, evidence, datasets and runs (see ``_base``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from steward.domain import (
    Actor,
    ApiToken,
    Dataset,
    DatasetVersion,
    Evidence,
    Model,
    ModelVersion,
    User,
)
from steward.errors import InvalidInput
from steward.remote._base import _evidence, _mover, _Remote, _version_path
from steward.remote._documents import decode, decode_list
from steward.remote._http import segment

__all__ = ["RemoteDatasets", "RemoteEvidence", "RemoteIdentity", "RemoteModels", "RemoteRuns"]


class RemoteIdentity(_Remote):
    def authenticate(self, token: str | None) -> Actor:
        body, _ = self._api.call(
            "GET", "/whoami", headers={"Authorization": f"Bearer {token or ''}"}
        )
        actor = decode(Actor, body)
        self._api.remember(actor.token_id, token)
        return actor

    def add_user(self, actor: Actor, name: str, roles: Sequence[str]) -> tuple[User, str]:
        body = self._api.post("/users", {"name": name, "roles": list(roles)})
        return decode(User, body["user"]), str(body["token"])

    def list_users(self, actor: Actor) -> list[User]:
        return decode_list(User, self._api.items("/users"))

    def issue_token(
        self, actor: Actor, name: str | None = None, scopes: Sequence[str] = ()
    ) -> tuple[ApiToken, str]:
        body = self._api.post("/tokens", {"user": name, "scopes": list(scopes)})
        return decode(ApiToken, body["token"]), str(body["secret"])

    def list_tokens(self, actor: Actor, name: str | None = None) -> list[ApiToken]:
        return decode_list(ApiToken, self._api.items("/tokens", user=name))

    def revoke_token(self, actor: Actor, token_id: str) -> ApiToken:
        return decode(ApiToken, self._api.delete(f"/tokens/{segment(token_id)}"))


class RemoteModels(_Remote):
    def list_models(self, actor: Actor) -> list[Model]:
        return decode_list(Model, self._api.items("/models"))

    def model(self, actor: Actor, name: str) -> Model:
        return decode(Model, self._api.get(f"/models/{segment(name)}"))

    def versions(self, actor: Actor, name: str) -> list[ModelVersion]:
        return decode_list(ModelVersion, self._api.items(f"/models/{segment(name)}/versions"))

    def get(self, actor: Actor, ref: str) -> ModelVersion:
        return decode(ModelVersion, self._api.get(_version_path("models", ref)))

    def lineage(self, actor: Actor, ref: str) -> dict[str, Any]:
        return dict(self._api.get(_version_path("models", ref) + "/lineage"))

    def artifact(
        self, actor: Actor, ref: str, *, trust_pickle: bool = False
    ) -> tuple[ModelVersion, bytes]:
        """The version and its model file, whose sha256 is checked here against the
        version's key: a file changed on the way (or on the server) is refused."""
        import hashlib

        from steward.errors import IntegrityError

        version = self.get(actor, ref)
        data, _ = self._api.raw(
            "GET", _version_path("models", version.ref) + "/artifact", trust_pickle=trust_pickle
        )
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if digest != version.artifact:
            raise IntegrityError(
                f"the model file of {version.ref} does not match its hash ({digest[:23]}… "
                f"received, {version.artifact[:23]}… registered)"
            )
        return version, data

    def load(
        self, actor: Actor, ref: str, *, trust_pickle: bool = False
    ) -> tuple[ModelVersion, Any]:
        from steward.services.models._service import deserialize

        version, data = self.artifact(actor, ref, trust_pickle=trust_pickle)
        return version, deserialize(version, data)

    def split_rows(self, actor: Actor, ref: str, part: str) -> tuple[ModelVersion, Any]:
        import pyarrow as pa

        version = self.get(actor, ref)
        data, _ = self._api.raw(
            "GET", _version_path("models", version.ref) + f"/splits/{segment(part)}"
        )
        return version, pa.ipc.open_stream(data).read_all()

    def load_split(self, actor: Actor, ref: str, part: str) -> tuple[Any, Any, Any]:
        from steward.ml import frames

        version, rows = self.split_rows(actor, ref, part)
        return frames(
            rows,
            range(rows.num_rows),
            features=version.features,
            target=str(version.target),
            sensitive=version.sensitive,
        )

    def register_estimator(
        self,
        actor: Actor,
        estimator: Any,
        *,
        name: str,
        features: Sequence[str] | None = None,
        dataset: str | None = None,
        run_id: str | None = None,
        trust_pickle: bool = False,
    ) -> ModelVersion:
        """Sent as a skops file; the server loads it with the trusted list only."""
        from steward.ml import dump_skops

        if trust_pickle:
            raise InvalidInput(
                "a pickled model cannot be registered over STEWARD_URL: the server never "
                "unpickles what a client sends (save it with skops)"
            )
        if not hasattr(estimator, "predict"):
            raise InvalidInput(f"a {type(estimator).__name__} has no predict method")
        fields = [("features", str(feature)) for feature in features or ()]
        fields += [
            (key, value) for key, value in (("dataset", dataset), ("run_id", run_id)) if value
        ]
        body = self._api.upload(
            f"/models/{segment(name)}/versions", ("model.skops", dump_skops(estimator)), fields
        )
        return decode(ModelVersion, body)

    def update(
        self, actor: Actor, name: str, changes: dict[str, Any], *, if_match: str | None = None
    ) -> Model:
        headers = {"If-Match": f'"{if_match}"'} if if_match else None
        return decode(Model, self._api.patch(f"/models/{segment(name)}", changes, headers))


class RemoteEvidence(_Remote):
    def installed(self) -> list[dict[str, Any]]:
        return list(self._api.get("/checks")["items"])

    def list_evidence(self, actor: Actor, ref: str) -> list[Evidence]:
        return decode_list(Evidence, self._api.items(_version_path("models", ref) + "/evidence"))

    def artifact(self, actor: Actor, ref: str, evidence_id: str, name: str) -> bytes:
        path = f"{_version_path('models', ref)}/evidence/{segment(evidence_id)}"
        data, _ = self._api.raw("GET", f"{path}/files/{segment(name)}")
        return data

    def run(
        self,
        actor: Actor,
        ref: str,
        check_ids: Sequence[str] = (),
        *,
        params: Any = None,
        on: str | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> list[Evidence]:
        body = {"checks": list(check_ids), "params": params, "on": on}
        answer = self._api.post(_version_path("models", ref) + "/checks", body)
        return list(_evidence(self._api.wait(answer, _mover(None, progress))))

    def reproduce(
        self,
        actor: Actor,
        ref: str,
        check_ids: Sequence[str] = (),
        *,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> list[Any]:
        from steward.services import Reproduction

        answer = self._api.post(
            _version_path("models", ref) + "/reproductions", {"checks": list(check_ids)}
        )
        found = self._api.wait(answer, _mover(None, progress))
        return [
            Reproduction(
                original=decode(Evidence, item["original_record"]),
                record=decode(Evidence, item["record"]),
                differences=tuple(item["differences"]),
            )
            for item in found
        ]


class RemoteDatasets(_Remote):
    def load_version(self, actor: Actor, ref: str) -> tuple[DatasetVersion, Any]:
        """The version and its table, checked against the version's fingerprint here."""
        import tempfile
        from pathlib import Path

        from steward.services.datasets._service import read_verified

        version = self.get(actor, ref)
        data, _ = self._api.raw("GET", _version_path("datasets", version.ref) + "/table")
        with tempfile.TemporaryDirectory(prefix="steward-load-") as folder:
            path = Path(folder) / "table.parquet"
            path.write_bytes(data)
            return version, read_verified(version, path)

    def load(self, actor: Actor, ref: str) -> Any:
        return self.load_version(actor, ref)[1]

    def list_datasets(self, actor: Actor) -> list[tuple[Dataset, DatasetVersion | None]]:
        rows = self._api.items("/datasets")
        return [
            (
                decode(Dataset, row),
                decode(DatasetVersion, row["latest"]) if row["latest"] is not None else None,
            )
            for row in rows
        ]

    def dataset(self, actor: Actor, name: str) -> Dataset:
        return decode(Dataset, self._api.get(f"/datasets/{segment(name)}"))

    def get(self, actor: Actor, ref: str) -> DatasetVersion:
        return decode(DatasetVersion, self._api.get(_version_path("datasets", ref)))

    def evidence(self, actor: Actor, ref: str) -> list[Evidence]:
        path = _version_path("datasets", ref) + "/evidence"
        return decode_list(Evidence, self._api.items(path))

    def update_datasheet(self, actor: Actor, name: str, fields: dict[str, str]) -> Dataset:
        body = self._api.patch(f"/datasets/{segment(name)}/datasheet", {"fields": fields})
        return decode(Dataset, body)

    def contract(self, actor: Actor, ref: str) -> dict[str, Any]:
        return dict(self._api.get(f"/datasets/{segment(ref)}/contract"))

    def set_contract(self, actor: Actor, name: str, raw: Any, origin: str) -> dict[str, Any]:
        body = {"contract": raw, "origin": origin}
        return dict(self._api.put(f"/datasets/{segment(name)}/contract", body))

    def register(
        self,
        actor: Actor,
        data: Any,
        *,
        name: str,
        target: str | None = None,
        sensitive: Sequence[str] = (),
        missing: str = "impute",
        origin: str | None = None,
    ) -> Any:
        import tempfile
        from pathlib import Path

        from steward.services import Registration

        fields = [("missing", missing), *(("sensitive", s) for s in sensitive)]
        if target is not None:
            fields.append(("target", target))
        path = f"/datasets/{segment(name)}/versions"
        if isinstance(data, str | Path):
            file = Path(data)
            if not file.is_file():
                raise InvalidInput(f"cannot read {file}: no such file")
            fields.append(("origin", origin or str(file)))
            body = self._api.upload(path, file, fields)
        else:  # a frame: sent as Parquet
            with tempfile.TemporaryDirectory(prefix="steward-upload-") as folder:
                file = Path(folder) / "frame.parquet"
                _frame_to_parquet(data, file)
                fields.append(("origin", origin or "the data frame"))
                body = self._api.upload(path, file, fields)
        return Registration(
            version=decode(DatasetVersion, body["version"]),
            created=bool(body["created"]),
            evidence=_evidence(body["evidence"]),
            note=body["note"],
        )


def _frame_to_parquet(data: Any, path: Any) -> None:
    module = type(data).__module__.split(".")[0]
    if module == "polars":
        data.write_parquet(path)
    elif module == "pandas":
        data.to_parquet(path, index=False)
    else:
        raise InvalidInput(
            f"cannot register a {type(data).__name__}: give a pandas or polars DataFrame or a "
            "CSV/Parquet path"
        )


class RemoteRuns(_Remote):
    def start(
        self,
        actor: Actor,
        name: str,
        *,
        parent_id: str | None = None,
        params: Any = None,
        tags: Any = None,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
    ) -> Any:
        from steward.domain import Run
        from steward.services.training._runs import json_values, text_tags

        body = {
            "name": name,
            "parent_id": parent_id,
            "params": json_values(dict(params or {}), "parameter"),
            "tags": text_tags(dict(tags or {})),
            "code": code,
            "environment": environment,
        }
        return decode(Run, self._api.post("/runs", body))

    def get(self, actor: Actor, run_id: str) -> Any:
        from steward.domain import Run

        return decode(Run, self._api.get(f"/runs/{segment(run_id)}"))

    def list_runs(
        self, actor: Actor, *, parent_id: str | None = None, limit: int | None = 100
    ) -> list[Any]:
        from steward.domain import Run

        found = decode_list(Run, self._api.items("/runs", parent_id=parent_id))
        return found if limit is None else found[:limit]

    def named(self, actor: Actor, name: str) -> list[Any]:
        from steward.domain import Run

        return decode_list(Run, self._api.items("/runs", name=name))

    def metrics(self, actor: Actor, run_id: str) -> list[Any]:
        from steward.domain import MetricPoint

        return decode_list(MetricPoint, self._api.items(f"/runs/{segment(run_id)}/metrics"))

    # values are checked here by the service's own rules (a value JSON cannot carry, a NaN,
    # never reaches the wire), and again by the server
    def log_params(self, actor: Actor, run_id: str, params: Any) -> None:
        from steward.services.training._runs import json_values

        body = {"params": json_values(dict(params), "parameter")}
        self._api.post(f"/runs/{segment(run_id)}/params", body)

    def set_tags(self, actor: Actor, run_id: str, tags: Any) -> None:
        from steward.services.training._runs import text_tags

        self._api.post(f"/runs/{segment(run_id)}/tags", {"tags": text_tags(dict(tags))})

    def log_metrics(self, actor: Actor, run_id: str, points: Sequence[Any]) -> None:
        from steward.services.training._runs import finite_metric

        body = {"points": [[k, finite_metric(k, v), int(step)] for k, v, step in points]}
        self._api.post(f"/runs/{segment(run_id)}/metrics", body)

    def use_dataset(self, actor: Actor, run_id: str, ref: str, fingerprint: str) -> None:
        body = {"ref": ref, "fingerprint": fingerprint}
        self._api.post(f"/runs/{segment(run_id)}/datasets", body)

    def log_artifact(self, actor: Actor, run_id: str, path: Any, name: str | None = None) -> str:
        from pathlib import Path

        import orjson

        file = Path(path)
        if not file.is_file():
            raise InvalidInput(f"{file}: not a file")
        data, _ = self._api.raw(
            "POST",
            f"/runs/{segment(run_id)}/artifacts",
            content=file.read_bytes(),
            name=name or file.name,
        )
        return str(orjson.loads(data)["key"])

    def finish(
        self, actor: Actor, run_id: str, status: Any = "finished", *, reason: str | None = None
    ) -> Any:
        from steward.domain import Run

        body = {"status": str(getattr(status, "value", status)), "reason": reason}
        return decode(Run, self._api.post(f"/runs/{segment(run_id)}/end", body))

    def fail(self, actor: Actor, run_id: str, reason: str) -> Any:
        from steward.domain import Run

        return decode(Run, self._api.post(f"/runs/{segment(run_id)}/fail", {"reason": reason}))
