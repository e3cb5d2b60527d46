"""The services of a remote application: the embedded services' method names and
signatures, each a call of ``/api/v1`` whose answer is decoded into what the embedded
method returns. The ``actor`` argument is kept for the signature: over HTTP the caller is
whoever the client's token stands for, decided by the server."""

from __future__ import annotations

from collections.abc import Sequence
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
from steward.errors import InvalidInput
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
    "RemoteModels",
    "RemoteMonitoring",
    "RemotePolicies",
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

    def update(
        self, actor: Actor, name: str, changes: dict[str, Any], *, if_match: str | None = None
    ) -> Model:
        headers = {"If-Match": f'"{if_match}"'} if if_match else None
        return decode(Model, self._api.patch(f"/models/{segment(name)}", changes, headers))


class RemoteEvidence(_Remote):
    def list_evidence(self, actor: Actor, ref: str) -> list[Evidence]:
        return decode_list(Evidence, self._api.items(_version_path("models", ref) + "/evidence"))


class RemoteDatasets(_Remote):
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

    def schema(self) -> dict[str, Any]:
        from steward.policy import MonitorSpec

        return MonitorSpec.model_json_schema()


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
