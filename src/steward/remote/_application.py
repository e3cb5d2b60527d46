"""A remote application: the facade's service names over ``/api/v1`` of a Steward server.

``RemoteApplication`` stands where ``steward.app.Application`` stands for the CLI and the
SDK: ``open_session`` returns one when ``STEWARD_URL`` is set, and the commands run
unchanged, their outputs, errors and exit codes those of the server's services. A use case
not yet offered over HTTP says so in one line (exit 2) rather than reach for a store it
does not have.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from steward.domain import Actor
from steward.errors import UsageError
from steward.remote._governance import (
    RemoteAudit,
    RemoteGovernance,
    RemotePolicies,
    RemoteWebhooks,
)
from steward.remote._http import ApiClient
from steward.remote._operations import (
    RemoteAlerts,
    RemoteDeployments,
    RemoteMonitoring,
    RemotePredictions,
)
from steward.remote._registry import (
    RemoteDatasets,
    RemoteEvidence,
    RemoteIdentity,
    RemoteModels,
    RemoteRuns,
)
from steward.remote._training import RemoteMitigation, RemoteRetraining, RemoteTraining
from steward.settings import Settings

__all__ = ["RemoteApplication"]


class RemoteApplication:
    """The services of the server at ``url``, called with ``token``."""

    remote = True

    def __init__(self, settings: Settings, url: str, token: str | None) -> None:
        self.settings = settings
        self.client = ApiClient(url, token)
        self.url = self.client.url
        api = self.client
        self.identity = RemoteIdentity(api)
        self.models = RemoteModels(api)
        self.evidence = RemoteEvidence(api)
        self.datasets = RemoteDatasets(api)
        self.training = RemoteTraining(api)
        self.runs = RemoteRuns(api)
        self.mitigation = RemoteMitigation(api)
        self.policies = RemotePolicies(api)
        self.governance = RemoteGovernance(api)
        self.deployments = RemoteDeployments(api)
        self.monitoring = RemoteMonitoring(api)
        self.alerts = RemoteAlerts(api)
        self.predictions = RemotePredictions(api)
        self.retraining = RemoteRetraining(api)
        self.webhooks = RemoteWebhooks(api)
        self.audit = RemoteAudit(api)

    def __getattr__(self, name: str) -> Any:
        # only called for what __init__ did not set: a service not offered remotely yet
        if name.startswith("_"):
            raise AttributeError(name)
        raise UsageError(
            f"{name} is not available over STEWARD_URL yet: run this command where the "
            "server's home is (unset STEWARD_URL)"
        )

    def authenticate(self, token: str | None) -> Actor:
        return self.identity.authenticate(token)

    def store_label(self) -> str:
        return self.url

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> RemoteApplication:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
