"""Finding checks: every check, the built-ins included, is an entry point of the group
``steward.checks`` whose name is the check's id and whose object is its class."""

from __future__ import annotations

from importlib.metadata import entry_points

from steward.checks._base import Check
from steward.errors import InvalidInput

__all__ = ["ENTRY_POINT_GROUP", "available_checks", "get_check"]

ENTRY_POINT_GROUP = "steward.checks"


def available_checks() -> dict[str, type[Check]]:
    """Every installed check by id. An entry point that does not load a ``Check`` subclass
    whose ``id`` is the entry point's name is refused, naming the distribution."""
    found: dict[str, type[Check]] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        where = point.dist.name if point.dist is not None else point.value
        try:
            loaded = point.load()
        except Exception as exc:  # a broken plug-in: say which
            raise InvalidInput(f"check {point.name!r} from {where} does not load: {exc}") from None
        if not (isinstance(loaded, type) and issubclass(loaded, Check)):
            raise InvalidInput(f"check {point.name!r} from {where} is not a steward Check class")
        if getattr(loaded, "id", None) != point.name:
            raise InvalidInput(
                f"check {point.name!r} from {where} declares id {getattr(loaded, 'id', None)!r}"
            )
        if point.name in found and found[point.name] is not loaded:
            raise InvalidInput(f"two installed checks claim the id {point.name!r}")
        found[point.name] = loaded
    return dict(sorted(found.items()))


def get_check(check_id: str) -> type[Check]:
    checks = available_checks()
    if check_id not in checks:
        raise InvalidInput(f"no check {check_id!r}: installed are {', '.join(checks) or 'none'}")
    return checks[check_id]
