"""Which policy governs a model, with the built-in pack of its tier as the floor, and whether
a relaxation of that floor is in force (decision 0024)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from steward.domain import ROLE_PERMISSIONS, AppliedPolicy, Approval, Permission, Role

__all__ = ["FLOOR_STAGE", "Governing", "check_defaults", "relaxation"]

# The "stage" of an endorsement: approval of a policy that relaxes the built-in packs.
FLOOR_STAGE = "floor"


@dataclass(frozen=True, slots=True)
class Governing:
    """The policy that governs a model: an applied one (``version`` ≥ 1) or a built-in pack
    (``version`` 0), and the built-in pack of the model's risk tier, its floor.

    Under an applied policy the floor is enforced too (an applied policy tightens it), unless
    the policy relaxes it and that relaxation is in force (``relaxed_by``: the one who
    applied it and the endorsers). ``content_hash`` is what approvals are bound to: the
    applied policy's and, while enforced, the floor's."""

    policy: Any  # steward.policy.Policy
    version: int
    content_hash: str
    why: str
    floor: Any = None  # steward.policy.Policy: the tier's pack, when it is not ``policy``
    floor_hash: str = ""
    relaxed_by: tuple[str, ...] = ()
    floor_note: str = ""

    @property
    def label(self) -> str:
        return (
            f"{self.policy.name}@{self.version}"
            if self.version
            else f"{self.policy.name} (built-in)"
        )

    @property
    def enforced_floor(self) -> Any:
        """The floor pack the decision is tightened by, or ``None``."""
        return self.floor if self.floor is not None and not self.relaxed_by else None

    def to_dict(self) -> dict[str, Any]:
        """What governs the model, for an API answer: the policy's name, version and hash,
        why it governs, and how the floor bore on it."""
        return {
            "policy": self.policy.name,
            "version": self.version,
            "label": self.label,
            "content_hash": self.content_hash,
            "why": self.why,
            "floor": self.floor_document(),
        }

    def floor_document(self) -> dict[str, Any] | None:
        """How the floor bore on the decision, for every gate report."""
        if self.floor is None:
            return None
        return {
            "pack": self.floor.name,
            "content_hash": self.floor_hash,
            "enforced": not self.relaxed_by,
            "relaxed_by": list(self.relaxed_by),
            "note": self.floor_note,
        }


def check_defaults() -> dict[str, dict[str, Any]]:
    """Each installed check's default parameters, as the JSON its evidence records them in."""
    import json

    from steward.checks import available_checks

    return {
        check_id: json.loads(json.dumps(cls().get_params(), default=list))
        for check_id, cls in available_checks().items()
    }


def relaxation(
    policy: AppliedPolicy, endorsements: list[Approval], authors: set[str]
) -> tuple[tuple[str, ...], str]:
    """``((applier, endorser, ...), "")`` when a relaxation is in force for a model with
    these authors, else ``((), why not)``."""
    if policy.applied_by in authors:
        return (), f"{policy.applied_by}, who applied it, authored this model"
    endorsers = sorted(
        {
            e.user
            for e in endorsements
            if e.decision == "approve"
            and e.user != policy.applied_by
            and e.user not in authors
            and policy.applied_by not in e.vouchers
            and not authors & set(e.vouchers)
            and any(
                Permission.POLICY_MANAGE in ROLE_PERMISSIONS.get(Role(r), frozenset())
                for r in e.roles
                if r in {role.value for role in Role}
            )
        }
    )
    if not endorsers:
        return (), (
            "no second policy:manage holder (not its applier, not an author of this model, "
            "not vouched for by either) has endorsed it (`steward policy endorse`)"
        )
    return (policy.applied_by, *endorsers), ""
