"""Evidence checks as plug-ins: one interface (``_base.py``), parameter constraints declared as
data (``_params.py``), found through the entry-point group ``steward.checks`` (built-ins
included), held to one conformance kit (``_kit.py``)."""

from steward.checks._base import Capabilities, Check, CheckContext
from steward.checks._kit import (
    ConformanceError,
    ConformanceRule,
    check_conformance,
    conformance_rules,
    parametrize_conformance,
)
from steward.checks._params import (
    SEED,
    Constraint,
    InstanceOf,
    Interval,
    LikeDefault,
    MappingOf,
    Options,
    ParameterConstraints,
    SequenceOf,
)
from steward.checks._registry import ENTRY_POINT_GROUP, available_checks, get_check

__all__ = [
    "ENTRY_POINT_GROUP",
    "SEED",
    "Capabilities",
    "Check",
    "CheckContext",
    "ConformanceError",
    "ConformanceRule",
    "Constraint",
    "InstanceOf",
    "Interval",
    "LikeDefault",
    "MappingOf",
    "Options",
    "ParameterConstraints",
    "SequenceOf",
    "available_checks",
    "check_conformance",
    "conformance_rules",
    "get_check",
    "parametrize_conformance",
]
