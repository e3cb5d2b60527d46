"""Remote endpoints, monitors, alerts and the prediction log (see ``_base``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from steward.domain import (
    Actor,
    Alert,
    Deployment,
    Evidence,
    Monitor,
)
from steward.errors import NotFound, UsageError
from steward.remote._base import _mover, _Remote, _version_path
from steward.remote._documents import decode, decode_list
from steward.remote._http import segment

__all__ = ["RemoteAlerts", "RemoteDeployments", "RemoteMonitoring", "RemotePredictions"]


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

    def retention_days(self, actor: Actor) -> int:
        return int(self._api.get("/predictions/retention")["retention_days"])

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

    def stored_reference(self, actor: Actor, ref: str) -> Evidence | None:
        try:
            return decode(Evidence, self._api.get(_version_path("models", ref) + "/reference"))
        except NotFound:
            return None

    def reference(self, actor: Actor, ref: str) -> Evidence:
        found = self.stored_reference(actor, ref)
        if found is not None:
            return found
        return decode(Evidence, self._api.post(_version_path("models", ref) + "/reference"))

    def estimate(self, actor: Actor, ref: str, x: Any) -> dict[str, Any]:
        import pyarrow as pa

        table = pa.Table.from_pandas(x)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        data, _ = self._api.raw(
            "POST",
            _version_path("models", ref) + "/estimates",
            content=sink.getvalue().to_pybytes(),
            content_type="application/vnd.apache.arrow.stream",
        )
        return dict(json.loads(data))

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

    def prune(self, actor: Actor, retention_days: int, *, today: date | None = None) -> list[str]:
        if today is not None:
            raise UsageError("over STEWARD_URL the server's own date decides what is past")
        body = self._api.post("/predictions/prunings", {"retention_days": retention_days})
        return [str(name) for name in body["segments"]]

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
