"""The root command starts cheaply and stays in step with the real commands; usage errors are
one line on stderr with exit 2.

No timings here (they live in ``benchmarks/startup.py``): what makes ``steward --help`` slow is
what it imports, and that is what these tests pin."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.models import ParameterInfo
from typer.testing import CliRunner

import steward.cli
from conftest import Run
from steward import __version__
from steward.cli import _main, app, main
from steward.cli._lazy import ROOT, Entry, LazyCommands, load, scratch_app, summary
from steward.cli._usage import INT_MAX

BIN = Path(sys.executable).parent
# What `steward --help` and `--version` may import of Steward; nothing else of it, and none of
# the heavy libraries the commands use.
LIGHT = {
    "steward",
    "steward._version",
    "steward.errors",
    "steward.cli",
    "steward.cli._main",
    "steward.cli._lazy",
    "steward.cli._usage",
}
HEAVY = {"rich", "pydantic", "pydantic_core", "pydantic_settings", "sqlalchemy", "yaml", "numpy"}

CHILD = """
import json, sys
from steward.cli import main
sys.argv = ["steward", *sys.argv[1:]]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
sys.stderr.write(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _child(*args: str) -> tuple[dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False
    )
    return json.loads(done.stderr), done.stdout


def _walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in (getattr(command, "commands", None) or {}).items():
        found += _walk(sub, (*path, name))
    return found


def _registered(entry: Entry) -> dict[str, Any]:
    probe = scratch_app()
    entry.register(probe)
    return dict(typer.main.get_group(probe).commands)


# --------------------------------------------------------------------------- start-up


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_command_module_and_no_heavy_library(flag: str) -> None:
    result, stdout = _child(flag)
    assert result["code"] == 0
    steward_modules = {name for name in result["modules"] if name.split(".")[0] == "steward"}
    assert steward_modules <= LIGHT, sorted(steward_modules - LIGHT)
    heavy = {name for name in result["modules"] if name.split(".")[0] in HEAVY}
    assert not heavy, sorted(heavy)
    if flag == "--version":
        assert stdout == f"steward {__version__}\n"
    else:
        for entry in ROOT:
            assert f"  {entry.name} " in stdout, entry.name


def test_a_subcommand_imports_only_its_own_module() -> None:
    result, stdout = _child("db", "--help")
    assert result["code"] == 0 and "Usage: steward db" in stdout
    loaded = {name for name in result["modules"] if name.startswith("steward.cli._")}
    assert "steward.cli._db" in loaded
    assert not loaded & {"steward.cli._models", "steward.cli._datasets", "steward.cli._checks"}


def test_python_dash_m_steward_and_the_installed_script_run() -> None:
    module = subprocess.run(
        [sys.executable, "-m", "steward", "--help"], capture_output=True, text=True, check=False
    )
    assert module.returncode == 0 and "Commands:" in module.stdout
    script = subprocess.run(
        [str(BIN / "steward"), "--version"], capture_output=True, text=True, check=False
    )
    assert script.returncode == 0 and script.stdout == f"steward {__version__}\n"


# --------------------------------------------------------------------------- the registry


def test_every_top_level_command_a_registrar_adds_is_in_the_registry() -> None:
    for register in dict.fromkeys(entry.register for entry in ROOT):
        listed = {entry.name for entry in ROOT if entry.register is register}
        registered = _registered(next(e for e in ROOT if e.register is register))
        for name in registered.keys() - listed:
            pytest.fail(
                f"`steward {name}` is registered by {register.__name__} but missing from ROOT "
                f"in src/steward/cli/_lazy.py; add: Entry({name!r}, "
                f"{summary(registered[name])!r}, {register.__name__})"
            )
        for name in listed - registered.keys():
            pytest.fail(
                f"ROOT lists `steward {name}` but {register.__name__} registers no such command"
            )


@pytest.mark.parametrize("entry", ROOT, ids=[entry.name for entry in ROOT])
def test_the_registry_summary_is_the_command_own_help(entry: Entry) -> None:
    real = summary(load(entry))
    assert entry.help == real, (
        f"ROOT's line for `steward {entry.name}` (src/steward/cli/_lazy.py) differs from the "
        f"command's help; make it: Entry({entry.name!r}, {real!r}, {entry.register.__name__})"
    )


def test_every_command_function_and_sub_app_in_the_cli_is_reachable() -> None:
    tree = typer.main.get_command(app)
    reachable = {inspect.unwrap(cmd.callback) for _, cmd in _walk(tree) if cmd.callback}
    unreachable = []
    for info in pkgutil.iter_modules(steward.cli.__path__, "steward.cli."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, typer.Typer):
                callbacks = [c.callback for c in value.registered_commands if c.callback]
                if any(callback not in reachable for callback in callbacks):
                    unreachable.append(f"{info.name}.{name} (a Typer sub-app)")
            elif (
                inspect.isfunction(value)
                and value.__module__ == info.name
                and any(
                    isinstance(p.default, ParameterInfo)
                    for p in inspect.signature(value).parameters.values()
                )
                and value not in reachable
            ):
                unreachable.append(f"{info.name}.{name}")
    assert not unreachable, (
        f"no top-level command reaches {', '.join(unreachable)}: register it in a registrar in "
        "src/steward/cli/_lazy.py and add its Entry(name, one-line help, registrar) to ROOT"
    )


def test_get_command_gives_the_fully_loaded_tree() -> None:
    # tests/test_docs.py walks this tree to check that every command is documented
    tree = typer.main.get_command(app)
    assert list(tree.commands) == [entry.name for entry in ROOT]  # type: ignore[attr-defined]
    paths = {" ".join(path) for path, _ in _walk(tree)}
    assert {"dataset register", "model comment", "model history", "audit verify"} <= paths


def _shape(command: Any) -> tuple[Any, ...]:
    params: list[tuple[Any, ...]] = [
        (type(p).__name__, p.name, p.opts, p.secondary_opts, p.required, repr(p.default))
        for p in command.params
    ]
    params += [(p.multiple, p.nargs, getattr(p, "help", None)) for p in command.params]
    settings = ("help", "short_help", "epilog", "hidden", "no_args_is_help", "context_settings")
    typer_settings = ("rich_markup_mode", "rich_help_panel", "suggest_commands")
    return (
        type(command).__name__,
        *(getattr(command, name, None) for name in (*settings, *typer_settings)),
        params,
    )


def test_subcommands_are_built_as_an_eager_root_builds_them() -> None:
    eager = scratch_app()
    for register in dict.fromkeys(entry.register for entry in ROOT):
        register(eager)
    eager_tree = dict(_walk(typer.main.get_command(eager)))
    lazy_tree = dict(_walk(typer.main.get_command(app)))
    assert sorted(lazy_tree) == sorted(eager_tree)
    for path, command in eager_tree.items():
        if path:
            assert _shape(lazy_tree[path]) == _shape(command), path
    runner = CliRunner()
    for entry in ROOT:  # rendering is slow: each top-level command's help, in full
        want = runner.invoke(eager, [entry.name, "--help"], prog_name="steward")
        got = runner.invoke(app, [entry.name, "--help"], prog_name="steward")
        assert (got.exit_code, got.output) == (want.exit_code, want.output), entry.name


def test_lazy_commands_load_a_command_on_first_read_only() -> None:
    calls: list[str] = []

    def register(probe: typer.Typer) -> None:
        calls.append("loaded")

        @probe.command("hello")
        def hello() -> None:
            """Say hello."""

        @probe.command("other")
        def other() -> None:
            """Another."""

    commands = LazyCommands([Entry("hello", "Say hello.", register)])
    assert "hello" in commands and list(commands) == ["hello"] and len(commands) == 1
    assert "nope" not in commands and commands.get("nope") is None
    assert calls == []
    assert summary(commands["hello"]) == "Say hello."
    commands["hello"]
    assert calls == ["loaded"]


# --------------------------------------------------------------------------- usage errors


USAGE_ERRORS = [
    (("train", "--frob"), "No such option: --frob", "steward train"),
    (("audit", "proof"), "Missing argument 'seq'", "steward audit proof"),
    (("user", "add", "x"), "Missing option '--role'", "steward user add"),
    (("audit", "log", "--limit", "many"), "Invalid value for '--limit'", "steward audit log"),
    (("audit", "log", "--limit"), "Option '--limit' requires an argument", "steward audit log"),
    (("audit", "log", "extra"), "unexpected extra argument", "steward audit log"),
    (("frob",), "No such command 'frob'", "steward"),
    (("trian",), "Did you mean 'train'", "steward"),
    (("audit", "frob"), "No such command 'frob'", "steward audit"),
    (("--frob",), "No such option: --frob", "steward"),
    (
        ("audit", "log", "--limit", str(2**64)),
        f"out of range (at most {INT_MAX})",
        "steward audit log",
    ),
    (("audit", "proof", "--", str(-(2**70))), "out of range (at least", "steward audit proof"),
    (("run", "list", "--limit", "1" + "0" * 30), "out of range", "steward run list"),
    (("policy", "show", "p", "--version", str(2**63)), "out of range", "steward policy show"),
]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # parsing only: no store touched
@pytest.mark.parametrize(("args", "reason", "command"), USAGE_ERRORS, ids=lambda v: str(v))
def test_a_usage_error_is_one_line_on_stderr_and_exit_2(
    cli: Run, args: tuple[str, ...], reason: str, command: str
) -> None:
    result = cli(*args)
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert reason in result.stderr
    assert result.stderr.endswith(f"(see `{command} --help`)\n"), result.stderr


def test_the_installed_script_prints_a_usage_error_as_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "steward"), "audit", "log", "--limit", str(10**20)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"error: Invalid value for '--limit': {10**20} is out of range (at most {INT_MAX}) "
        "(see `steward audit log --help`)\n"
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("args", "usage"), [((), "Usage: steward [OPTIONS]"), (("audit",), "Usage: steward audit")]
)
def test_a_group_without_a_subcommand_shows_its_help_as_before(
    cli: Run, args: tuple[str, ...], usage: str
) -> None:
    result = cli(*args)
    assert result.code == 2 and result.stderr == ""
    assert usage in result.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_whole_number_within_64_bits_reaches_the_command(cli: Run) -> None:
    result = cli("audit", "proof", str(INT_MAX))
    assert result.code == 2 and "out of range" not in result.stderr  # no home: the command ran


@pytest.mark.parametrize(
    ("raised", "code", "line"),
    [
        (RuntimeError("boom"), 4, "internal error: RuntimeError: boom (a bug in Steward"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (typer.Abort(), 1, "error: aborted"),
    ],
)
def test_main_turns_other_failures_into_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    raised: BaseException,
    code: int,
    line: str,
) -> None:
    def fail(**_: Any) -> None:
        raise raised

    monkeypatch.setattr(_main, "app", fail)
    with pytest.raises(SystemExit) as exit_:
        main()
    captured = capsys.readouterr()
    assert exit_.value.code == code and captured.out == ""
    assert captured.err.startswith(line) and captured.err.count("\n") == 1
