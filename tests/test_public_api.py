"""The public API is curated in one place and stays complete; imports point one way."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import steward

PACKAGE = Path(steward.__file__).parent


def test_top_level_names_all_resolve() -> None:
    # Order is enforced by ruff (RUF022); completeness of the lazy table here.
    for name in steward.__all__:
        assert getattr(steward, name) is not None
    assert set(steward.__all__) - {"__version__"} == set(steward._LAZY)


@pytest.mark.parametrize(
    "module",
    sorted(
        name
        for _, name, ispkg in pkgutil.walk_packages([str(PACKAGE)], "steward.")
        if ispkg and ".migrations" not in name
    ),
)
def test_every_subpackage_lists_its_public_names(module: str) -> None:
    imported = importlib.import_module(module)
    names = getattr(imported, "__all__", None)
    assert names is not None, module
    lazy = getattr(imported, "_WHERE", None)
    if lazy is not None:  # a lazily loaded package: its table is its public surface
        assert set(names) == set(lazy), module
        for name in names:
            assert getattr(imported, name) is not None, (module, name)
        return
    public = {
        name
        for name, value in vars(imported).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert set(names) == public, module


# What each layer may import from inside steward (ARCHITECTURE.md). Shared modules
# (errors, settings, types, _version) are open to all.
ALLOWED = {
    "domain": set(),
    "ledger": {"domain"},
    "artifacts": {"domain"},
    "store": {"domain", "ledger"},
    "data": {"domain", "ledger"},
    "ml": {"domain"},
    "checks": {"domain", "ml"},
    "policy": {"domain"},
    "samples": set(),
    "services": {"domain", "ledger", "store", "artifacts", "data", "ml", "checks", "policy"},
    "demo": {"domain", "ledger", "services", "samples"},
    "cli": {"domain", "ledger", "services", "store", "demo"},
}
SHARED = {"errors", "settings", "types", "_version"}


def _steward_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("steward."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("steward."):
                    found.add(alias.name.split(".")[1])
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_one_way(layer: str) -> None:
    for path in (PACKAGE / layer).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        bad = _steward_imports(path) - ALLOWED[layer] - SHARED - {layer}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_the_standalone_verifier_imports_only_the_standard_library() -> None:
    source = (PACKAGE / "ledger" / "verify_export.py").read_text()
    assert "import steward" not in source and "from steward" not in source


def test_settings_are_the_only_reader_of_the_environment() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name == "settings.py":
            continue
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path
