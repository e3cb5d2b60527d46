"""The ``steward`` command line: a thin edge over ``steward.services``.

Exit codes (public contract): 0 success; 1 the answer is "no"; 2 usage or input error;
3 permission denied or not authenticated; 4 a fault of Steward itself.
"""

from steward.cli._main import app, main

__all__ = ["app", "main"]
