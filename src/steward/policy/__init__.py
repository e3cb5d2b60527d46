"""Policy as code: the language (``_schema.py``), reading it (``_loading.py``), the built-in
packs (``packs/``), and the pure engine (``_engine.py``): ``evaluate(policy, stage, facts)``.

Imports only ``domain`` (and pydantic, PyYAML): loading YAML is separate from evaluating, and
evaluating does no I/O.
"""

from steward.policy._engine import combine, evaluate
from steward.policy._facts import (
    CARD_BINDING,
    OBSERVED_CHECKS,
    Facts,
    card_hash,
    evidence_set_hash,
    latest_evidence,
)
from steward.policy._loading import load_policy, metric_matches
from steward.policy._monitor import (
    MONITOR_FORMAT,
    AlertRule,
    MonitorSpec,
    load_monitor,
    parse_duration,
)
from steward.policy._packs import PACKS, pack, pack_for, pack_text
from steward.policy._reproduction import disagreements
from steward.policy._schema import (
    DOCUMENTATION_FIELDS,
    POLICY_FORMAT,
    RETENTION_FLOOR_DAYS,
    ApprovalRule,
    DatasetRules,
    EvidenceRule,
    MonitoringRules,
    Policy,
    Selector,
    ServingRules,
    StageRules,
    Threshold,
    document_hash,
    policy_hash,
)

__all__ = [
    "CARD_BINDING",
    "DOCUMENTATION_FIELDS",
    "MONITOR_FORMAT",
    "OBSERVED_CHECKS",
    "PACKS",
    "POLICY_FORMAT",
    "RETENTION_FLOOR_DAYS",
    "AlertRule",
    "ApprovalRule",
    "DatasetRules",
    "EvidenceRule",
    "Facts",
    "MonitorSpec",
    "MonitoringRules",
    "Policy",
    "Selector",
    "ServingRules",
    "StageRules",
    "Threshold",
    "card_hash",
    "combine",
    "disagreements",
    "document_hash",
    "evaluate",
    "evidence_set_hash",
    "latest_evidence",
    "load_monitor",
    "load_policy",
    "metric_matches",
    "pack",
    "pack_for",
    "pack_text",
    "parse_duration",
    "policy_hash",
]
