"""Reproducing recorded evidence: another identity re-runs a version's latest recorded checks
with the recorded parameters on the same rows; the re-runs are recorded as evidence that
reproduces the originals, and the policy engine compares the two (decision 0025)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from steward.domain import Actor, Evidence, Permission
from steward.errors import InvalidInput, NotFound, PermissionDenied
from steward.services._access import require
from steward.services.evidence._service import validate

if TYPE_CHECKING:
    from steward.services.evidence._service import EvidenceService

__all__ = ["Reproduction", "reproduce"]


@dataclass(frozen=True, slots=True)
class Reproduction:
    """A recorded check re-run by another identity: the original record, the re-run's
    record, and what differs (nothing when they agree)."""

    original: Evidence
    record: Evidence
    differences: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.original.check_id,
            "original": self.original.id,
            "original_by": self.original.created_by,
            "reproduction": self.record.id,
            "reproduced_by": self.record.created_by,
            "agrees": self.agrees,
            "differences": list(self.differences),
        }


def reproduce(
    service: EvidenceService,
    actor: Actor,
    ref: str,
    check_ids: Sequence[str],
    progress: Callable[[str, int, int], None] | None,
) -> list[Reproduction]:
    """``EvidenceService.reproduce``: refuse the record's producer and the model's authors,
    a check not installed or of another version, then re-run and record."""
    from steward.checks import available_checks
    from steward.policy import disagreements, latest_evidence

    require(actor, Permission.EVIDENCE_WRITE, "reproduce evidence")
    version = service._models.get(actor, ref)
    authors = service._models.authors(actor, version)
    with service._store.read() as reader:
        records = reader.evidence_for(version.subject)
    split = version.split["id"] if version.split else None
    on_split = [e for e in records if split is None or e.inputs.get("split") == split]
    latest = latest_evidence(on_split)
    chosen = list(dict.fromkeys(check_ids)) or list(latest)
    missing = [c for c in chosen if c not in latest]
    if missing:
        raise NotFound(
            f"no recorded {', '.join(missing)} evidence about {version.ref} on its test "
            "split to reproduce"
        )
    if not chosen:
        raise NotFound(f"no recorded evidence about {version.ref} to reproduce")
    installed = available_checks()
    originals = [latest[c] for c in chosen]
    for original in originals:
        if actor.name == original.created_by or actor.name in authors:
            who = "recorded it" if actor.name == original.created_by else "is an author"
            raise PermissionDenied(
                f"{actor.name} {who} of {version.ref}'s {original.check_id} evidence and "
                "may not reproduce it: another identity must",
                details={"actor": actor.name, "reason": "own evidence"},
            )
        cls = installed.get(original.check_id)
        if cls is None:
            raise InvalidInput(f"check {original.check_id!r} is not installed here")
        if cls.version != original.check_version:
            raise InvalidInput(
                f"{original.check_id} evidence {original.id[:12]} was computed by version "
                f"{original.check_version} of the check, this Steward has version "
                f"{cls.version}: run the check again instead of reproducing it"
            )
        validate(cls, original.check_id, original.params)
    judging = service._judging(actor, version, _judged_on(originals[0]))
    runs = [
        (e.check_id, installed[e.check_id](**_as_given(installed[e.check_id], e.params)))
        for e in originals
    ]
    reproduces = {e.check_id: e for e in originals}
    drafts = service._run_checks(judging, runs, reproduces, progress)
    sealed = service._record(actor, version.subject, drafts)
    return [
        Reproduction(original, record, tuple(disagreements(original, record)))
        for original, record in zip(originals, sealed, strict=True)
    ]


def _judged_on(record: Evidence) -> str | None:
    """The dataset version a record judged every row of, or ``None`` for the test split."""
    if record.inputs.get("split") is None and record.inputs.get("rows") == "all":
        dataset = record.inputs.get("dataset") or {}
        ref = dataset.get("ref")
        return ref if isinstance(ref, str) else None
    return None


def _as_given(cls: Any, recorded: Mapping[str, Any]) -> dict[str, Any]:
    """Recorded parameters (JSON) back as the check takes them: a list where its default
    is a tuple becomes a tuple."""
    defaults = cls().get_params()
    given = {}
    for name, value in recorded.items():
        if name not in defaults:
            continue  # a parameter of an older check version; refused above if it mattered
        given[name] = (
            tuple(value) if isinstance(defaults[name], tuple) and isinstance(value, list) else value
        )
    return given
