"""Usage errors as one line, and whole numbers that fit where they are going.

Click (vendored by Typer) reports a usage error with a usage box over several lines; the
public contract is one line on stderr and exit 2 (``../shared/design/CONTRACT.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import typer
from typer._click import Command, Context, Parameter
from typer._click.exceptions import BadParameter, ClickException, FileError, UsageError
from typer.core import _TyperParameter

__all__ = ["INT_MAX", "INT_MIN", "NamingContext", "adapt", "usage_line"]

# What an integer column holds in both stores (SQLite INTEGER, PostgreSQL BIGINT) and what
# NumPy's int64 takes: a larger value would reach the store and fail there as a crash.
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

Callback = Callable[[Context, Parameter, Any], Any]


def usage_line(exc: ClickException) -> tuple[str, int]:
    """The one line to print for a Click error, and the exit code: 2 for a usage error (bad
    arguments) and for a file Click could not open (an input error, as the contract says)."""
    message = " ".join(exc.format_message().split())
    if message.endswith(".") and not message.endswith(".."):
        message = message[:-1]
    if isinstance(exc, UsageError):
        path = exc.ctx.command_path if exc.ctx is not None else "steward"
        return f"error: {message} (see `{path} --help`)", 2
    return f"error: {message}", 2 if isinstance(exc, FileError) else exc.exit_code


class NamingContext(typer.Context):
    """A context that names its command in the usage errors raised while it is active and
    that carry no context (Click's parser raises "Option '--limit' requires an argument"
    without one), so the one-line error can say which command's help to read."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        if isinstance(exc_value, UsageError) and exc_value.ctx is None:
            exc_value.ctx, exc_value.cmd = self, self.command
        return super().__exit__(exc_type, exc_value, tb)


def _commands(command: Command) -> Iterator[Command]:
    yield command
    for sub in (getattr(command, "commands", None) or {}).values():
        yield from _commands(sub)


def _check_int64(ctx: Context, param: Parameter, value: Any) -> None:
    for item in value if isinstance(value, list | tuple) else (value,):
        if isinstance(item, int) and not INT_MIN <= item <= INT_MAX:
            bound = f"at most {INT_MAX}" if item > 0 else f"at least {INT_MIN}"
            typer_param = param if isinstance(param, _TyperParameter) else None
            raise BadParameter(f"{item} is out of range ({bound})", ctx=ctx, param=typer_param)


def _bounded(then: Callback | None) -> Callback:
    def callback(ctx: Context, param: Parameter, value: Any) -> Any:
        _check_int64(ctx, param, value)
        return value if then is None else then(ctx, param, value)

    return callback


def adapt(command: Command) -> None:
    """Prepare a freshly built ``command`` and its subcommands for one-line usage errors:
    their contexts name them (``NamingContext``), and every whole-number parameter refuses a
    value outside 64 bits as a usage error, checked after Typer's conversion and before the
    parameter's own callback if it has one (Click's validation hook, so help texts stay as
    they are)."""
    for each in _commands(command):
        each.context_class = NamingContext
        for param in each.params:
            annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
            if annotation is int or annotation == list[int]:
                param.callback = _bounded(param.callback)
