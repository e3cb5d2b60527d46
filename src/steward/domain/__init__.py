"""Pure, frozen value objects of Steward. No I/O, no frameworks."""

from steward.domain._dataset import (
    DATASHEET_FIELDS,
    ColumnSchema,
    ColumnType,
    Dataset,
    DatasetVersion,
    MissingPolicy,
    TableSchema,
)
from steward.domain._evidence import (
    Evidence,
    EvidenceStatus,
    Finding,
    Severity,
    evidence_content,
    status_from,
)
from steward.domain._identity import (
    ROLE_PERMISSIONS,
    Actor,
    ApiToken,
    Permission,
    Role,
    User,
    validate_user_name,
)
from steward.domain._ledger import EventType, LedgerEvent, TreeHead
from steward.domain._model import (
    CARD_FIELDS,
    Model,
    ModelVersion,
    RiskTier,
    Stage,
    model_card_content,
)
from steward.domain._policy import (
    AppliedPolicy,
    Approval,
    Decision,
    Outcome,
    RuleOutcome,
    Waiver,
)
from steward.domain._refs import Ref, validate_name
from steward.domain._run import MetricPoint, Run, RunStatus, run_content

__all__ = [
    "CARD_FIELDS",
    "DATASHEET_FIELDS",
    "ROLE_PERMISSIONS",
    "Actor",
    "ApiToken",
    "AppliedPolicy",
    "Approval",
    "ColumnSchema",
    "ColumnType",
    "Dataset",
    "DatasetVersion",
    "Decision",
    "EventType",
    "Evidence",
    "EvidenceStatus",
    "Finding",
    "LedgerEvent",
    "MetricPoint",
    "MissingPolicy",
    "Model",
    "ModelVersion",
    "Outcome",
    "Permission",
    "Ref",
    "RiskTier",
    "Role",
    "RuleOutcome",
    "Run",
    "RunStatus",
    "Severity",
    "Stage",
    "TableSchema",
    "TreeHead",
    "User",
    "Waiver",
    "evidence_content",
    "model_card_content",
    "run_content",
    "status_from",
    "validate_name",
    "validate_user_name",
]
