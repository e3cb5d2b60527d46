"""What every command shares: settings, opening the application, output, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer

from steward.app import load_settings, open_session

__all__ = [
    "JSON_OPTION",
    "bad",
    "deferred_progress",
    "emit_json",
    "err",
    "load_settings",
    "ok",
    "open_session",
    "out",
    "print_table",
]

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document on stdout.")


def out(message: str = "") -> None:
    """A line of human output on stdout. Plain text: Rich is imported only for tables."""
    sys.stdout.write(message + "\n")


def _mark(symbol: str, colour: str, message: str) -> None:
    if sys.stdout.isatty():
        symbol = f"\033[{colour}m{symbol}\033[0m"
    out(f"{symbol} {message}")


def ok(message: str) -> None:
    """A success line, with a green check mark on a terminal."""
    _mark("✓", "32", message)


def bad(message: str) -> None:
    """A failure line, with a red cross on a terminal."""
    _mark("✗", "31", message)


def print_table(table: Any) -> None:
    """A Rich table on stdout (the command that built it has imported Rich already)."""
    from rich.console import Console

    Console(highlight=False).print(table)


def err(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def deferred_progress(
    *, elapsed: bool = False, fields: tuple[str, ...] = ()
) -> Iterator[Callable[..., None]]:
    """A Rich progress bar on stderr (stdout stays clean for ``--json``) that appears with its
    first update and is cleared when the work fails, so a refused request prints only its
    one-line error.

    ``update(description=, total=, advance=, completed=, **fields)`` moves it; ``bar=NAME``
    adds and moves another bar below the first (the checks after a training's trials)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns: list[Any] = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    if elapsed:
        columns.append(TimeElapsedColumn())
    columns += [TextColumn(f"{{task.fields[{name}]}}") for name in fields]
    progress = Progress(*columns, console=Console(stderr=True))
    tasks: dict[str, Any] = {}

    def update(
        *,
        description: str,
        total: int,
        advance: int = 0,
        completed: int | None = None,
        bar: str = "",
        **values: Any,
    ) -> None:
        if not tasks:
            progress.start()
        if bar not in tasks:
            blank: dict[str, Any] = dict.fromkeys(fields, "")
            tasks[bar] = progress.add_task(description, total=total, **blank)
        progress.update(
            tasks[bar],
            description=description,
            total=total,
            advance=advance,
            completed=completed,
            **values,
        )

    try:
        yield update
    except BaseException:
        # a refusal or failure mid-way: clear the bar, so the one-line error stands alone
        progress.live.transient = True
        raise
    finally:
        if tasks:
            progress.stop()
