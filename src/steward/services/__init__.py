"""Use cases, grouped by family (``identity``, ``datasets``, ``models``, ``training``,
``evidence``, ``governance``, ``serving``, ``monitoring``, ``audit``). Each takes an
authenticated ``Actor``, checks permission, and writes through the store;
``steward.app.Application`` builds them, and the edges (CLI, API, UI, model server, monitor
scheduler) are thin layers over it.

This package lists the service classes and their request/result types only. Names load on
first use (PEP 562): a command imports only the use cases it runs, which keeps CLI start-up
short as the product grows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from steward._lazy import lazy_attributes

if TYPE_CHECKING:
    from steward.services.audit._service import AuditService, ExportSummary, InclusionProof
    from steward.services.datasets._service import DatasetService, Registration
    from steward.services.evidence._reproduction import Reproduction
    from steward.services.evidence._service import EvidenceService
    from steward.services.governance._policies import PolicyService
    from steward.services.governance._service import GovernanceService
    from steward.services.governance._webhooks import WebhookService
    from steward.services.identity._service import IdentityService
    from steward.services.jobs._service import JobService
    from steward.services.models._service import ModelService
    from steward.services.monitoring._alerts import AlertService
    from steward.services.monitoring._retrain import Retraining, RetrainService
    from steward.services.monitoring._service import MonitoringService, MonitorRun
    from steward.services.serving._deployments import DeploymentService
    from steward.services.serving._explanations import ExplanationService
    from steward.services.serving._plan import RouteCheck, ServingPlan
    from steward.services.serving._predictions import PredictionService
    from steward.services.serving._retention import retention_to_keep
    from steward.services.training._mitigation import MitigationService
    from steward.services.training._request import TrainingRequest, TrainingResult
    from steward.services.training._runs import RunService
    from steward.services.training._service import TrainingService
    from steward.services.training._tuning import TrialUpdate, TuningResult

_WHERE = {
    "AlertService": "monitoring._alerts",
    "AuditService": "audit._service",
    "DatasetService": "datasets._service",
    "DeploymentService": "serving._deployments",
    "EvidenceService": "evidence._service",
    "ExplanationService": "serving._explanations",
    "ExportSummary": "audit._service",
    "GovernanceService": "governance._service",
    "IdentityService": "identity._service",
    "InclusionProof": "audit._service",
    "JobService": "jobs._service",
    "MitigationService": "training._mitigation",
    "ModelService": "models._service",
    "MonitorRun": "monitoring._service",
    "MonitoringService": "monitoring._service",
    "PolicyService": "governance._policies",
    "PredictionService": "serving._predictions",
    "Registration": "datasets._service",
    "Reproduction": "evidence._reproduction",
    "RetrainService": "monitoring._retrain",
    "Retraining": "monitoring._retrain",
    "RouteCheck": "serving._plan",
    "RunService": "training._runs",
    "ServingPlan": "serving._plan",
    "TrainingRequest": "training._request",
    "TrainingResult": "training._request",
    "TrainingService": "training._service",
    "TrialUpdate": "training._tuning",
    "TuningResult": "training._tuning",
    "WebhookService": "governance._webhooks",
    "retention_to_keep": "serving._retention",
}

__all__ = [
    "AlertService",
    "AuditService",
    "DatasetService",
    "DeploymentService",
    "EvidenceService",
    "ExplanationService",
    "ExportSummary",
    "GovernanceService",
    "IdentityService",
    "InclusionProof",
    "JobService",
    "MitigationService",
    "ModelService",
    "MonitorRun",
    "MonitoringService",
    "PolicyService",
    "PredictionService",
    "Registration",
    "Reproduction",
    "RetrainService",
    "Retraining",
    "RouteCheck",
    "RunService",
    "ServingPlan",
    "TrainingRequest",
    "TrainingResult",
    "TrainingService",
    "TrialUpdate",
    "TuningResult",
    "WebhookService",
    "retention_to_keep",
]


__getattr__ = lazy_attributes(__name__, _WHERE)


def __dir__() -> list[str]:
    return sorted(__all__)
