"""References: ``NAME@N``, ``NAME@latest``, ``NAME@stage``; a bare ``NAME`` means latest."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Ref", "validate_name"]

_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,62}$")
# Version numbers are stored as 32-bit integers on every backend.
MAX_VERSION = 2**31 - 1


def validate_name(kind: str, name: str) -> str:
    """Return ``name`` if valid for a dataset or model, else raise ``ValueError`` saying why."""
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid {kind} name {name!r}: use 1-63 characters, lower-case letters, digits, "
            "'_', '.' or '-', starting with a letter"
        )
    return name


@dataclass(frozen=True, slots=True)
class Ref:
    """A parsed reference. ``version`` is set for ``@N``; ``alias`` for ``@latest``/``@stage``."""

    name: str
    version: int | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, text: str) -> Ref:
        name, sep, selector = text.strip().partition("@")
        if not name:
            raise ValueError(f"invalid reference {text!r}: expected NAME, NAME@N or NAME@latest")
        if not sep or selector in ("", "latest"):
            return cls(name, alias="latest")
        if selector.isascii() and selector.isdigit():
            if len(selector) > 10 or int(selector) > MAX_VERSION:
                raise ValueError(
                    f"invalid reference {text[:80]!r}: version {selector[:20]} is out of range "
                    f"(at most {MAX_VERSION})"
                )
            version = int(selector)
            if version < 1:
                raise ValueError(f"invalid reference {text!r}: versions start at 1")
            return cls(name, version=version)
        if re.fullmatch(r"[a-z][a-z_]*", selector):
            return cls(name, alias=selector)
        raise ValueError(f"invalid reference {text!r}: expected NAME, NAME@N or NAME@latest")

    def __str__(self) -> str:
        return f"{self.name}@{self.version}" if self.version else f"{self.name}@{self.alias}"
