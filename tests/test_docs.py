"""Every user-visible command, option, setting, role, permission, event type and error code
is documented; these tests fail when one is added without its documentation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from steward import errors
from steward.cli import app
from steward.domain import EventType, Permission, Role
from steward.settings import Settings

DOCS = Path(__file__).parents[1] / "docs"


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    # Typer vendors Click; walk its command tree by shape rather than by Click's classes.
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        found: list[tuple[str, Any]] = []
        for name, sub in sorted(subcommands.items()):
            found += _commands(sub, (*path, name))
        return found
    return [(" ".join(("steward", *path)), command)]


COMMANDS = _commands(typer.main.get_command(app))


def _section(text: str, heading: str) -> str:
    pattern = re.compile(rf"^### `{re.escape(heading)}`.*?(?=^### |\Z)", re.M | re.S)
    match = pattern.search(text)
    assert match, f"docs/cli.md has no section '### `{heading}`'"
    return match.group(0)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_and_option_is_in_the_cli_reference(name: str, command: Any) -> None:
    section = _section((DOCS / "cli.md").read_text(), name)
    for parameter in command.params:
        if parameter.param_type_name == "option":
            if "--help" in parameter.opts:
                continue
            assert any(opt in section for opt in parameter.opts), (name, parameter.opts)
        else:
            assert (parameter.name or "").upper() in section, (name, parameter.name)


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    for field in Settings.model_fields:
        assert f"STEWARD_{field.upper()}" in text, field


def test_every_role_and_permission_is_documented() -> None:
    text = (DOCS / "access.md").read_text()
    for value in [*Role, *Permission]:
        assert f"`{value.value}`" in text, value


def test_every_event_type_is_documented() -> None:
    text = (DOCS / "audit.md").read_text()
    for event_type in EventType:
        assert f"`{event_type.value}`" in text, event_type


def test_every_error_code_is_documented() -> None:
    text = (DOCS / "errors.md").read_text()
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert f"`{cls.code}`" in text, name
