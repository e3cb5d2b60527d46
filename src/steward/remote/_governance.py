"""Remote policies, governance, webhooks and the audit ledger (see ``_base``)."""

from __future__ import annotations

from typing import Any

from steward.domain import (
    Actor,
    AppliedPolicy,
    Approval,
    Comment,
    Decision,
    Delivery,
    LedgerEvent,
    ModelVersion,
    TreeHead,
    Waiver,
    Webhook,
)
from steward.errors import InvalidInput
from steward.remote._base import _Remote, _version_path
from steward.remote._documents import decode, decode_list
from steward.remote._http import segment

__all__ = ["RemoteAudit", "RemoteGovernance", "RemotePolicies", "RemoteWebhooks"]


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
