"""Use cases. Each takes an authenticated ``Actor``, checks permission, and writes through
the store; the edges (CLI, API, UI, model server) are thin layers over these.

Names load on first use (PEP 562): a command imports only the use cases it runs, which keeps
CLI start-up short as the product grows.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steward.services._access import require
    from steward.services._app import Application
    from steward.services._audit import (
        AuditService,
        ExportSummary,
        InclusionProof,
        tree_head_dict,
    )
    from steward.services._datasets import DatasetService, Registration
    from steward.services._evidence import EvidenceService
    from steward.services._governance import GovernanceService
    from steward.services._governing import Governing
    from steward.services._home import (
        SYSTEM_ACTOR,
        InitResult,
        initialize,
        public_key_path,
        read_saved_token,
        require_home,
        save_token,
        trusted_public_key,
        upgrade_store,
    )
    from steward.services._identity import IdentityService, hash_token, new_token, parse_roles
    from steward.services._mitigation import MitigationService
    from steward.services._models import ModelService
    from steward.services._policies import PolicyService
    from steward.services._provenance import capture_code, capture_environment
    from steward.services._reproduction import Reproduction
    from steward.services._runs import RunService
    from steward.services._training import TrainingRequest, TrainingResult, TrainingService
    from steward.services._tuning import TrialUpdate, TuningResult
    from steward.services._webhooks import WebhookService, signature
    from steward.services._witness import Witness, home_witness

_WHERE = {
    "SYSTEM_ACTOR": "_home",
    "Application": "_app",
    "AuditService": "_audit",
    "DatasetService": "_datasets",
    "EvidenceService": "_evidence",
    "ExportSummary": "_audit",
    "IdentityService": "_identity",
    "InclusionProof": "_audit",
    "InitResult": "_home",
    "MitigationService": "_mitigation",
    "ModelService": "_models",
    "Governing": "_governing",
    "GovernanceService": "_governance",
    "WebhookService": "_webhooks",
    "Witness": "_witness",
    "home_witness": "_witness",
    "signature": "_webhooks",
    "PolicyService": "_policies",
    "Registration": "_datasets",
    "Reproduction": "_reproduction",
    "RunService": "_runs",
    "TrainingRequest": "_training",
    "TrainingResult": "_training",
    "TrainingService": "_training",
    "TrialUpdate": "_tuning",
    "TuningResult": "_tuning",
    "capture_code": "_provenance",
    "capture_environment": "_provenance",
    "hash_token": "_identity",
    "initialize": "_home",
    "new_token": "_identity",
    "parse_roles": "_identity",
    "public_key_path": "_home",
    "read_saved_token": "_home",
    "require": "_access",
    "require_home": "_home",
    "save_token": "_home",
    "tree_head_dict": "_audit",
    "trusted_public_key": "_home",
    "upgrade_store": "_home",
}

__all__ = [
    "SYSTEM_ACTOR",
    "Application",
    "AuditService",
    "DatasetService",
    "EvidenceService",
    "ExportSummary",
    "GovernanceService",
    "Governing",
    "IdentityService",
    "InclusionProof",
    "InitResult",
    "MitigationService",
    "ModelService",
    "PolicyService",
    "Registration",
    "Reproduction",
    "RunService",
    "TrainingRequest",
    "TrainingResult",
    "TrainingService",
    "TrialUpdate",
    "TuningResult",
    "WebhookService",
    "Witness",
    "capture_code",
    "capture_environment",
    "hash_token",
    "home_witness",
    "initialize",
    "new_token",
    "parse_roles",
    "public_key_path",
    "read_saved_token",
    "require",
    "require_home",
    "save_token",
    "signature",
    "tree_head_dict",
    "trusted_public_key",
    "upgrade_store",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'steward.services' has no attribute {name!r}")
    value = getattr(import_module(f"steward.services.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
