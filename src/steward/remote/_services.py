"""The services of a remote application: the embedded services' method names and
signatures, each a call of ``/api/v1`` whose answer is decoded into what the embedded
method returns. The ``actor`` argument is kept for the signature: over HTTP the caller is
whoever the client's token stands for, decided by the server."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from steward.domain import (
    Actor,
    Alert,
    ApiToken,
    AppliedPolicy,
    Approval,
    Comment,
    Dataset,
    DatasetVersion,
    Decision,
    Delivery,
    Deployment,
    Evidence,
    LedgerEvent,
    Model,
    ModelVersion,
    Monitor,
    Ref,
    TreeHead,
    User,
    Waiver,
    Webhook,
)
from steward.errors import InvalidInput, NotFound, UsageError
from steward.remote._documents import decode, decode_list
from steward.remote._http import ApiClient, segment

__all__ = [
    "RemoteAlerts",
    "RemoteAudit",
    "RemoteDatasets",
    "RemoteDeployments",
    "RemoteEvidence",
    "RemoteGovernance",
    "RemoteIdentity",
    "RemoteMitigation",
    "RemoteModels",
    "RemoteMonitoring",
    "RemotePolicies",
    "RemotePredictions",
    "RemoteRetraining",
    "RemoteRuns",
    "RemoteTraining",
    "RemoteWebhooks",
]


def _version_path(kind: str, ref: str) -> str:
    """``/models/NAME/versions/SELECTOR`` of ``ref``; a malformed ref is refused here with
    the message the service gives it."""
    try:
        parsed = Ref.parse(ref)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    selector = str(parsed.version) if parsed.version is not None else str(parsed.alias)
    return f"/{kind}/{segment(parsed.name)}/versions/{segment(selector)}"


class _Remote:
    def __init__(self, client: ApiClient) -> None:
        self._api = client

    def __getattr__(self, name: str) -> Any:
        # only for what the class does not define: a method not offered remotely yet
        if name.startswith("_"):
            raise AttributeError(name)
        service = type(self).__name__.removeprefix("Remote").lower()
        raise UsageError(
            f"{service}.{name} is not available over STEWARD_URL yet: run this command where "
            "the server's home is (unset STEWARD_URL)"
        )


class RemoteIdentity(_Remote):
    def authenticate(self, token: str | None) -> Actor:
        body, _ = self._api.call(
            "GET", "/whoami", headers={"Authorization": f"Bearer {token or ''}"}
        )
        return decode(Actor, body)

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


class _Governing:
    """What governs a model, as a remote gate answers it (``why`` and ``label``: what the
    edges print); the policy objects themselves stay on the server."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.why: str = document["why"]
        self.label: str = document["label"]
        self.version: int = document["version"]
        self.content_hash: str = document["content_hash"]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.document)


class RemotePolicies(_Remote):
    def gate(self, actor: Actor, ref: str, stage: str) -> tuple[Decision, Any]:
        body = self._api.get(_version_path("models", ref) + "/gate", stage=stage)
        return decode(Decision, body["decision"]), _Governing(body["governing"])

    def list_policies(self, actor: Actor, *, built_in: bool = False) -> list[AppliedPolicy]:
        return decode_list(AppliedPolicy, self._api.items("/policies", built_in=built_in))

    def get(self, actor: Actor, name: str, version: int | None = None) -> AppliedPolicy:
        return decode(AppliedPolicy, self._api.get(f"/policies/{segment(name)}", version=version))

    def apply(self, actor: Actor, text: str, source: str) -> tuple[AppliedPolicy, bool]:
        body = self._api.post("/policies", {"text": text, "source": source})
        return decode(AppliedPolicy, body["policy"]), bool(body["changed"])

    def endorse(
        self, actor: Actor, name: str, version: int | None = None, comment: str = ""
    ) -> Approval:
        body = {"version": version, "comment": comment}
        return decode(Approval, self._api.post(f"/policies/{segment(name)}/endorsements", body))

    @staticmethod
    def schema() -> dict[str, Any]:
        from steward.services.governance._policies import PolicyService

        return PolicyService.schema()


class RemoteGovernance(_Remote):
    def approve(self, actor: Actor, ref: str, stage: str, comment: str = "") -> Approval:
        body = {"stage": stage, "comment": comment}
        return decode(Approval, self._api.post(_version_path("models", ref) + "/approvals", body))

    def reject(self, actor: Actor, ref: str, stage: str, comment: str) -> Approval:
        body = {"stage": stage, "comment": comment}
        return decode(Approval, self._api.post(_version_path("models", ref) + "/rejections", body))

    def waive(self, actor: Actor, ref: str, rule: str, reason: str, expires: str) -> Waiver:
        body = {"rule": rule, "reason": reason, "expires": expires}
        return decode(Waiver, self._api.post(_version_path("models", ref) + "/waivers", body))

    def comment(self, actor: Actor, ref: str, text: str) -> Comment:
        body = {"text": text}
        return decode(Comment, self._api.post(_version_path("models", ref) + "/comments", body))

    def promote(self, actor: Actor, ref: str, stage: str) -> tuple[ModelVersion, Decision | None]:
        body = self._api.post(_version_path("models", ref) + "/promotions", {"stage": stage})
        decision = body["decision"]
        version = decode(ModelVersion, body["version"])
        return version, decode(Decision, decision) if decision is not None else None

    def history(self, actor: Actor, ref: str) -> dict[str, Any]:
        body = self._api.get(_version_path("models", ref) + "/history")
        return {
            "approvals": decode_list(Approval, body["approvals"]),
            "waivers": decode_list(Waiver, body["waivers"]),
            "comments": decode_list(Comment, body["comments"]),
        }


class RemoteDeployments(_Remote):
    def list_endpoints(self, actor: Actor) -> list[Deployment]:
        return decode_list(Deployment, self._api.items("/endpoints"))

    def plan(self, actor: Actor, endpoint: str) -> Any:
        from steward.services.serving._plan import ServingPlan

        return decode(ServingPlan, self._api.get(f"/endpoints/{segment(endpoint)}"))

    def history(self, actor: Actor, endpoint: str) -> list[Deployment]:
        return decode_list(Deployment, self._api.items(f"/endpoints/{segment(endpoint)}/history"))

    def at(self, actor: Actor, endpoint: str, when: str) -> dict[str, Any]:
        return dict(self._api.get(f"/endpoints/{segment(endpoint)}/at", time=when))

    def deploy(
        self,
        actor: Actor,
        ref: str,
        endpoint: str,
        *,
        canary: int | None = None,
        promote_canary: bool = False,
        stage: str | None = None,
    ) -> tuple[Deployment, bool]:
        body = {"ref": ref, "canary": canary, "promote_canary": promote_canary, "stage": stage}
        answer = self._api.post(f"/endpoints/{segment(endpoint)}/deployments", body)
        return decode(Deployment, answer["deployment"]), bool(answer["changed"])

    def rollback(self, actor: Actor, endpoint: str) -> Deployment:
        return decode(Deployment, self._api.post(f"/endpoints/{segment(endpoint)}/rollback"))

    def stop(self, actor: Actor, endpoint: str, reason: str) -> Deployment:
        body = {"reason": reason}
        return decode(Deployment, self._api.post(f"/endpoints/{segment(endpoint)}/stop", body))

    def resume(self, actor: Actor, endpoint: str) -> Deployment:
        return decode(Deployment, self._api.post(f"/endpoints/{segment(endpoint)}/resume"))


class RemoteMonitoring(_Remote):
    def list_monitors(self, actor: Actor) -> list[Monitor]:
        return decode_list(Monitor, self._api.items("/monitors"))

    def get(self, actor: Actor, name: str) -> Monitor:
        return decode(Monitor, self._api.get(f"/monitors/{segment(name)}"))

    def runs(self, actor: Actor, name: str) -> list[Evidence]:
        return decode_list(Evidence, self._api.items(f"/monitors/{segment(name)}/runs"))

    def apply(self, actor: Actor, text: str, source: str = "<monitor>") -> tuple[Monitor, bool]:
        body = self._api.post("/monitors", {"text": text, "source": source})
        return decode(Monitor, body["monitor"]), bool(body["changed"])

    def add(self, actor: Actor, document: dict[str, Any]) -> tuple[Monitor, bool]:
        body = self._api.post("/monitors", {"document": document, "source": "<command line>"})
        return decode(Monitor, body["monitor"]), bool(body["changed"])

    def admit_run(self, actor: Actor, name: str) -> Monitor:
        """Checked by the server when the run is asked for."""
        return self.get(actor, name)

    def run(
        self,
        actor: Actor,
        name: str,
        *,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> Any:
        from steward.services import MonitorRun

        answer = self._api.post(f"/monitors/{segment(name)}/runs")
        found = self._api.wait(answer, _mover(None, progress))
        return MonitorRun(
            monitor=self.get(actor, found["monitor"].rsplit("@", 1)[0]),
            record=decode(Evidence, found["evidence"]),
            raised=tuple(decode(Alert, a) for a in found["raised"]),
            still_open=tuple(decode(Alert, a) for a in found["still_open"]),
            outcomes=tuple(found["actions"]),
        )

    def schema(self) -> dict[str, Any]:
        from steward.policy import MonitorSpec

        return MonitorSpec.model_json_schema()


class RemotePredictions(_Remote):
    def read(
        self,
        actor: Actor,
        endpoint: str,
        *,
        since: str | None = None,
        until: str | None = None,
        labels: bool = True,
    ) -> Any:
        """A polars DataFrame, as embedded."""
        import polars as pl
        import pyarrow as pa

        data, _ = self._api.raw(
            "GET",
            f"/endpoints/{segment(endpoint)}/predictions",
            since=since,
            until=until,
            labels=labels,
        )
        return pl.from_arrow(pa.ipc.open_stream(data).read_all())

    def label(self, actor: Actor, endpoint: str, labels: Sequence[Any]) -> dict[str, Any]:
        body = {"labels": [dict(label) for label in labels]}
        return dict(self._api.post(f"/endpoints/{segment(endpoint)}/labels", body))

    def write_export(self, frame: Any, out: Any) -> Any:
        from steward.services.serving._predictions import write_frame

        return write_frame(frame, out)


class RemoteAlerts(_Remote):
    def alerts(
        self, actor: Actor, *, status: str | None = None, endpoint: str | None = None
    ) -> list[Alert]:
        return decode_list(Alert, self._api.items("/alerts", status=status, endpoint=endpoint))

    def alert(self, actor: Actor, alert_id: str) -> Alert:
        return decode(Alert, self._api.get(f"/alerts/{segment(alert_id)}"))

    def acknowledge(self, actor: Actor, alert_id: str, note: str) -> Alert:
        body = self._api.post(f"/alerts/{segment(alert_id)}/acknowledge", {"note": note})
        return decode(Alert, body)

    def resolve(self, actor: Actor, alert_id: str, note: str) -> Alert:
        return decode(Alert, self._api.post(f"/alerts/{segment(alert_id)}/resolve", {"note": note}))


class RemoteWebhooks(_Remote):
    def list_webhooks(self, actor: Actor) -> list[Webhook]:
        return decode_list(Webhook, self._api.items("/webhooks"))

    def add(self, actor: Actor, url: str, events: list[str]) -> Webhook:
        return decode(Webhook, self._api.post("/webhooks", {"url": url, "events": list(events)}))

    def remove(self, actor: Actor, hook_id: str) -> None:
        self._api.delete(f"/webhooks/{segment(hook_id)}")

    def log(self, actor: Actor) -> list[Delivery]:
        return decode_list(Delivery, self._api.items("/webhooks/deliveries"))

    def deliver(self, actor: Actor | None = None) -> list[Delivery]:
        return decode_list(Delivery, self._api.post("/webhooks/deliveries")["items"])


class RemoteAudit(_Remote):
    def log(
        self,
        actor: Actor,
        *,
        limit: int = 50,
        type_: str | None = None,
        subject: str | None = None,
    ) -> list[LedgerEvent]:
        if limit < 1:  # the service's own refusal, before a request the API would refuse
            raise InvalidInput(
                f"{{limit}} must be at least 1, not {limit}", details={"field": "limit"}
            )
        body = self._api.get("/audit/events", limit=limit, type=type_, subject=subject)
        return decode_list(LedgerEvent, body["items"])

    def head(self, actor: Actor) -> TreeHead | None:
        body = self._api.get("/audit/head")
        return decode(TreeHead, body) if body is not None else None

    def proof(self, actor: Actor, seq: int) -> Any:
        from steward.services.audit._service import InclusionProof

        return decode(InclusionProof, self._api.get(f"/audit/proofs/{int(seq)}"))

    def verify(
        self,
        actor: Actor,
        trusted_key: Any = None,
        *,
        witness: Any = None,
        artifacts: Any = None,
        progress: Any = None,
    ) -> Any:
        if trusted_key is not None or witness is not None or artifacts is not None:
            raise InvalidInput(
                "over STEWARD_URL the server verifies with its own key, witness and store: "
                "verify an export offline (steward audit export) to use your own"
            )
        from steward.ledger import Verification

        return decode(Verification, self._api.post("/audit/verify"))

    def export(self, actor: Actor, out: Any) -> Any:
        """The server's export of its ledger, written to ``out`` here (0600)."""
        from pathlib import Path

        from steward.services._files import write_private
        from steward.services.audit._service import ExportSummary

        path = Path(out)
        if not path.parent.is_dir():
            raise InvalidInput(f"cannot write {path}: folder {path.parent} does not exist")
        data, headers = self._api.raw("GET", "/audit/export")
        write_private(path, data)
        return ExportSummary(
            path, int(headers["x-steward-events"]), headers["x-steward-root"],
            headers["x-steward-key"],
        )  # fmt: skip


def _mover(
    trial: Callable[[Any], None] | None, check: Callable[[str, int, int], None] | None
) -> Callable[[dict[str, Any]], None]:
    """A job's progress documents as the embedded progress callbacks: one ``trial`` call per
    finished trial, one ``check`` call per move of the checks' bar."""
    from steward.services import TrialUpdate

    state: dict[str, Any] = {"trials": 0, "check": None}

    def moved(progress: dict[str, Any]) -> None:
        trials = progress.get("trials")
        if trial is not None and trials:
            fields = {k: trials.get(k) for k in TrialUpdate.__dataclass_fields__}
            for _ in range(int(trials.get("done") or 0) - int(state["trials"] or 0)):
                trial(TrialUpdate(**fields))
            state["trials"] = trials.get("done") or 0
        checks = progress.get("checks")
        if check is not None and checks:
            key = (checks.get("check"), checks.get("done"), checks.get("total"))
            if key != state["check"]:
                state["check"] = key
                check(str(checks["check"]), int(checks["done"]), int(checks["total"]))

    return moved


def _evidence(records: list[Any]) -> tuple[Evidence, ...]:
    return tuple(decode(Evidence, record) for record in records)


class _Work(_Remote):
    """Registration, training, tuning, checks and mitigation, done where the server runs:
    the services below take their methods from here."""

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

    def train(
        self,
        actor: Actor,
        request: Any,
        *,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        progress: Callable[[Any], None] | None = None,
        check_progress: Callable[[str, int, int], None] | None = None,
    ) -> Any:
        """``environment`` is the server's, where the training runs; ``code`` the caller's."""
        import dataclasses

        from steward.domain import Run
        from steward.services import TrainingResult

        body = {**dataclasses.asdict(request), "code": code}
        answer = self._api.post("/training", body)
        result = self._api.wait(answer, _mover(progress, check_progress))
        return TrainingResult(
            version=decode(ModelVersion, result["version"]),
            run=decode(Run, result["run"]),
            evidence=_evidence(result["evidence"]),
        )

    def join(
        self,
        actor: Actor,
        study_name: str,
        trials: int,
        *,
        timeout: float | None = None,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        progress: Callable[[Any], None] | None = None,
    ) -> Any:
        from steward.domain import Run
        from steward.services import TuningResult

        body = {"study": study_name, "trials": trials, "timeout": timeout, "code": code}
        result = self._api.wait(self._api.post("/tuning", body), _mover(progress, None))
        return TuningResult(
            study=result["study"], run=decode(Run, result["run_record"]), trials=result["trials"]
        )

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

    def mitigate(
        self,
        actor: Actor,
        ref: str,
        *,
        attribute: str,
        constraint: str = "demographic_parity",
        objective: str = "balanced_accuracy_score",
        seed: int = 0,
        checks: bool = True,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> ModelVersion:
        body = {
            "attribute": attribute,
            "constraint": constraint,
            "objective": objective,
            "seed": seed,
            "checks": checks,
        }
        answer = self._api.post(_version_path("models", ref) + "/mitigations", body)
        return decode(ModelVersion, self._api.wait(answer, _mover(None, progress)))


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


# The services whose work runs where the server runs, with the embedded services' names.
RemoteDatasets.register = _Work.register  # type: ignore[attr-defined]
RemoteEvidence.run = _Work.run  # type: ignore[attr-defined]
RemoteEvidence.reproduce = _Work.reproduce  # type: ignore[attr-defined]


class RemoteTraining(_Remote):
    train = _Work.train
    join = _Work.join

    def admit(self, actor: Actor, request: Any) -> Any:
        """Checked by the server when the training is asked for."""

    def admit_join(self, actor: Actor) -> None:
        """Checked by the server when the trials are asked for."""


class RemoteMitigation(_Remote):
    mitigate = _Work.mitigate

    def admit(self, actor: Actor, ref: str) -> ModelVersion:
        """Checked by the server when the mitigation is asked for."""
        return RemoteModels(self._api).get(actor, ref)


class RemoteRetraining(_Remote):
    def champion(self, actor: Actor, name: str) -> ModelVersion:
        if "@" in name:
            return RemoteModels(self._api).get(actor, name)
        try:
            return RemoteModels(self._api).get(actor, f"{name}@production")
        except NotFound:
            return RemoteModels(self._api).get(actor, f"{name}@latest")

    def admit(self, actor: Actor, name: str) -> ModelVersion:
        """Checked by the server when the retraining is asked for."""
        return self.champion(actor, name)

    def retrain(
        self,
        actor: Actor,
        name: str,
        *,
        dataset: str | None = None,
        trials: int = 0,
        alert: str | None = None,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        progress: Any = None,
        check_progress: Any = None,
    ) -> Any:
        from steward.domain import Run
        from steward.services import Retraining, TrainingResult

        body = {"name": name, "dataset": dataset, "trials": trials, "alert": alert, "code": code}
        found = self._api.wait(
            self._api.post("/retraining", body), _mover(progress, check_progress)
        )
        training = found["training"]
        return Retraining(
            champion=decode(ModelVersion, found["champion_version"]),
            result=TrainingResult(
                version=decode(ModelVersion, training["version"]),
                run=decode(Run, training["run"]),
                evidence=_evidence(training["evidence"]),
            ),
            comparison=decode(Evidence, found["comparison"]),
            alert=found["alert"],
        )

    def from_predictions(
        self,
        actor: Actor,
        endpoint: str,
        *,
        name: str,
        base: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Any:
        from steward.services import Registration

        body = {"name": name, "base": base, "since": since, "until": until}
        found = self._api.post(f"/endpoints/{segment(endpoint)}/datasets", body)
        return Registration(
            version=decode(DatasetVersion, found["version"]),
            created=bool(found["created"]),
            evidence=_evidence(found["evidence"]),
            note=found["note"],
        )
