"""The public API is curated in one place and stays complete; imports point one way."""

from __future__ import annotations

import ast
import graphlib
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
# (errors, settings, types, _version) are open to all. A layer is a package or a module.
EDGE = {"app", "services", "domain"}  # what a server edge may use: never the store
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
    "provenance": set(),
    "logs": set(),
    "drift": set(),
    "services": {
        "domain",
        "ledger",
        "store",
        "artifacts",
        "data",
        "ml",
        "checks",
        "policy",
        "logs",
        "drift",
    },
    # the session opens a remote application when STEWARD_URL is set
    "app": {"domain", "ledger", "store", "artifacts", "services", "remote"},
    # the client of the REST API: the services' result types, decoded; never the store
    "remote": {"domain", "ledger", "policy", "services", "ml"},
    # the demo runs the model server in its own process (its steps are an edge's), or
    # drives a `steward serve` over HTTP (remote)
    "demo": {"domain", "ledger", "app", "services", "samples", "provenance", "serving", "remote"},
    "cli": {"domain", "ledger", "app", "services", "demo", "provenance"},
    "_sdk": {"domain", "app", "services", "provenance"},
    # test support for tests, benchmarks and third-party check authors: an edge, no store
    "testing": {"domain", "app", "services", "samples", "checks", "provenance"},
    # the REST API's jobs record the environment the server runs them in
    "api": EDGE | {"provenance"},
    "ui": EDGE,
    # the model server writes its prediction log itself (a capability with no store)
    # and it hosts the monitor scheduler, and the REST API on its application
    "serving": EDGE | {"logs", "monitoring", "api"},
    "monitoring": EDGE,
}
SHARED = {"errors", "settings", "types", "_version", "_lazy"}


def _steward_imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """The ``steward.*`` modules ``path`` imports (all of them, or those imported when it loads:
    not inside functions nor under ``TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text())
    nodes: list[ast.stmt] = list(tree.body) if top_level_only else list(ast.walk(tree))  # type: ignore[arg-type]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("steward."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("steward."))
    return found


def _layer_files(layer: str) -> list[Path]:
    module = PACKAGE / f"{layer}.py"
    files = [module] if module.exists() else list((PACKAGE / layer).rglob("*.py"))
    return [path for path in files if "migrations" not in path.parts]


def test_every_layer_has_a_rule() -> None:
    present = {
        path.stem if path.is_file() else path.name
        for path in PACKAGE.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.stem not in {"__init__", "__main__"})
    }
    assert present - SHARED <= set(ALLOWED), sorted(present - SHARED - set(ALLOWED))


def test_the_layers_form_no_cycle() -> None:
    graphlib.TopologicalSorter(ALLOWED).static_order()  # raises CycleError on a cycle


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_one_way(layer: str) -> None:
    for path in _layer_files(layer):
        layers = {module.split(".")[1] for module in _steward_imports(path)}
        bad = layers - ALLOWED[layer] - SHARED - {layer}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "edge", sorted(layer for layer, allowed in ALLOWED.items() if allowed == EDGE)
)
def test_no_server_edge_may_import_the_store(edge: str) -> None:
    assert "store" not in ALLOWED[edge] and "app" in ALLOWED[edge]


def test_no_module_import_cycle_at_load_time() -> None:
    """Modules whose load-time imports form a cycle work only in one import order."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[name] = _steward_imports(path, top_level_only=True)
    graphlib.TopologicalSorter(
        {name: {target for target in targets if target in graph} for name, targets in graph.items()}
    ).static_order()


def test_the_standalone_verifier_imports_only_the_standard_library() -> None:
    source = (PACKAGE / "ledger" / "verify_export.py").read_text()
    assert "import steward" not in source and "from steward" not in source


def test_settings_are_the_only_reader_of_the_environment() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name == "settings.py":
            continue
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path
