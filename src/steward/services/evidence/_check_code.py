"""What computed a piece of evidence: the check's code, as installed and as loaded.

``check_provenance(cls)`` gives Steward's version, the check's class, the SHA-256 of the file
that defines it, a digest of the code the running process actually holds for it (every
function of the class, its bases up to ``Check``, and its module), whether that code is the
code the file compiles to, the Python and library versions, and the host.

``code_matches_source`` catches a check patched in the computing process (a method or a
module function replaced after import) by a process that does not also patch this function.
It cannot catch one that does — an author's own process can report anything — which is why a
policy can require evidence *reproduced* by another identity (``steward check reproduce``).
"""

from __future__ import annotations

import hashlib
import inspect
import platform
import sys
from functools import cache
from types import CodeType, FunctionType, ModuleType
from typing import Any

from steward._version import __version__

__all__ = ["check_provenance", "code_digest"]

_PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "fairlearn", "shap")


def code_digest(code: CodeType) -> str:
    """A digest of what a code object does (bytecode, names, constants, nested code),
    independent of where its file lives and of line numbers."""
    parts: list[str] = [
        code.co_code.hex(),
        repr(code.co_names),
        repr(code.co_varnames),
        repr(code.co_freevars),
        repr(code.co_cellvars),
        repr((code.co_argcount, code.co_kwonlyargcount, code.co_posonlyargcount)),
        repr(code.co_flags),
    ]
    for constant in code.co_consts:
        parts.append(code_digest(constant) if isinstance(constant, CodeType) else repr(constant))
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _code_of(value: Any) -> CodeType | None:
    """The code a class or module attribute runs, through method wrappers and decorators
    (``functools.wraps``); ``None`` for anything that is not a function."""
    if isinstance(value, classmethod | staticmethod):
        value = value.__func__
    if isinstance(value, property):
        value = value.fget
    seen = 0
    while not isinstance(value, FunctionType) and hasattr(value, "__wrapped__") and seen < 8:
        value = value.__wrapped__
        seen += 1
    return value.__code__ if isinstance(value, FunctionType) else None


def _held(cls: type) -> tuple[dict[str, str], list[str]]:
    """Digests of the code the running process holds for ``cls`` — its methods and those of
    its bases (Steward's ``Check`` included), and the top-level functions of the modules
    defining them — by qualified name; and what differs from the files they come from."""
    held: dict[str, str] = {}
    differs: list[str] = []
    modules: set[str] = set()
    for klass in cls.__mro__:
        if klass is object or klass.__module__ in ("abc", "builtins"):
            continue
        modules.add(klass.__module__)
        compiled = _compiled_for(klass.__module__)
        prefix = f"{klass.__module__}:{klass.__qualname__}."
        expected = {name for name in compiled if name.startswith(prefix)}
        for name, value in vars(klass).items():
            code = _code_of(value)
            if code is None:
                continue
            key = prefix + name
            held[key] = code_digest(code)
            if compiled.get(key) != held[key]:
                differs.append(key)
            expected.discard(key)
        # a method of the source that the class no longer holds as a function
        differs += sorted(k for k in expected if "." not in k[len(prefix) :] and "<" not in k)
    for module_name in sorted(modules):
        module = sys.modules.get(module_name)
        compiled = _compiled_for(module_name)
        for key, digest in compiled.items():
            name = key.split(":", 1)[1]
            if "." in name or "<" in name:
                continue  # methods (above), nested functions and lambdas (in their parent)
            code = _code_of(getattr(module, name, None))
            held[key] = code_digest(code) if code is not None else "missing"
            if held[key] != digest:
                differs.append(key)
    return held, differs


def _compiled_for(module_name: str) -> dict[str, str]:
    module = sys.modules.get(module_name)
    try:
        path = inspect.getsourcefile(module) if isinstance(module, ModuleType) else None
    except TypeError:
        path = None
    return _compiled(path, module_name) if path else {}


@cache
def _compiled(path: str, module: str) -> dict[str, str]:
    """Digests of every function the file at ``path`` compiles to, by qualified name."""
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        code = compile(source, path, "exec", dont_inherit=True)
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[str, str] = {}
    pending = [code]
    while pending:
        current = pending.pop()
        for constant in current.co_consts:
            if isinstance(constant, CodeType):
                if constant.co_flags & inspect.CO_NEWLOCALS:  # a function, not a class body
                    found[f"{module}:{constant.co_qualname}"] = code_digest(constant)
                pending.append(constant)
    return found


@cache
def _file_sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def check_provenance(cls: type) -> dict[str, Any]:
    """The provenance an evidence record of check class ``cls`` carries."""
    from importlib import metadata

    held, differs = _held(cls)
    code_sha256 = hashlib.sha256(
        "\n".join(f"{name} {digest}" for name, digest in sorted(held.items())).encode()
    ).hexdigest()
    module = sys.modules.get(cls.__module__)
    try:
        path = inspect.getsourcefile(module) if isinstance(module, ModuleType) else None
    except TypeError:
        path = None
    packages: dict[str, str] = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    provenance: dict[str, Any] = {
        "steward": __version__,
        "check": f"{cls.__module__}.{cls.__qualname__}",
        "source_sha256": _file_sha256(path) if path else None,
        "code_sha256": code_sha256,
        "code_matches_source": bool(path) and not differs,
        "python": platform.python_version(),
        "packages": packages,
        "host": platform.node(),
    }
    if differs:
        provenance["code_differs"] = sorted(differs)[:10]
    return provenance
