"""The root Typer application and the console entry point.

The root imports no command module: its commands come from the registry in ``_lazy.py`` and
are imported when one is looked up, so ``steward --help`` and ``--version`` stay cheap.
"""

from __future__ import annotations

import sys

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from steward._version import __version__
from steward.cli._lazy import LazyGroup
from steward.cli._usage import usage_line
from steward.errors import InternalError, StewardError

__all__ = ["app", "main"]

app = typer.Typer(
    name="steward",
    cls=LazyGroup,
    help="Steward: MLOps governance you can prove.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # The root's own help is plain text from the registry: Rich costs more to import than the
    # rest of `steward --help` together. Subcommands keep Rich help (see _lazy.scratch_app).
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"steward {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Steward: MLOps governance you can prove."""


def _flag(field: str) -> str:
    """The command line's word for a request field the services name (``expires`` →
    ``--expires``): every field a service names in a message is an option of the commands
    that pass it on."""
    return "--" + field.replace("_", "-")


def _err(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")


def main() -> None:
    """Console entry point: run a command, turning Steward errors into one line and an exit code.

    Click's errors are handled here rather than by Click (``standalone_mode=False``), so a
    usage error is one line on stderr and exit 2 instead of a usage box."""
    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        # A group named without a subcommand shows its help on stdout (a Rich group has
        # printed it already, while building the exception), exit 2 as before.
        if exc.message:
            sys.stdout.write(exc.message + "\n")
        sys.exit(exc.exit_code)
    except ClickException as exc:
        line, status = usage_line(exc)
        _err(line)
        sys.exit(status)
    except typer.Abort:  # end of input at a prompt
        _err("error: aborted")
        sys.exit(1)
    except StewardError as exc:
        _err(f"error: {exc.render({field: _flag(field) for field in exc.fields})}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, keep the exit code distinct
        _err(f"internal error: {type(exc).__name__}: {exc} (a bug in Steward; please report it)")
        sys.exit(InternalError.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
