"""``steward demo``: the governed lifecycle, narrated."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["demo"]


def demo(
    keep: Path | None = typer.Option(
        None, "--keep", help="Build the demo home in this folder and keep it (default: a temp dir)."
    ),
    remote: bool = typer.Option(
        False,
        "--remote",
        help="Start `steward serve` over the demo home and drive every step over its REST API.",
    ),
) -> None:
    """Run the governed lifecycle end to end in a fresh home on the embedded store, narrated
    (with --remote, through a Steward server on a loopback port, over HTTP)."""
    from rich.console import Console

    from steward.demo import run_demo

    result = run_demo(Console(highlight=False), keep=keep, remote=remote)
    if not result.ok:
        raise typer.Exit(1)
