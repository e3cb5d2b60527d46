"""The conformance kit one rule at a time: one pytest id per (check, rule), as a third-party
check author parametrizes over it, and a broken rule fails alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pytest

from steward.checks import (
    Capabilities,
    Check,
    CheckContext,
    ConformanceError,
    ConformanceRule,
    Interval,
    ParameterConstraints,
    conformance_rules,
    parametrize_conformance,
)
from steward.checks._kit import RULES
from steward.domain import Evidence
from steward.testing import check_context, temporary_home, train_sample


class Share(Check):
    """Share of predictions equal to ``label`` on the test rows: conforms."""

    id = "acme.share"
    version = "1"
    capabilities = Capabilities(tasks=frozenset({"binary"}))
    parameter_constraints: ClassVar[ParameterConstraints] = {
        "label": [Interval(int, 0, 1, closed="both")]
    }

    def __init__(self, *, label: int = 1) -> None:
        self.label = label

    def run(self, context: CheckContext) -> Evidence:
        reason = self.capabilities.refuses(context.version)
        if reason:
            return context.not_applicable(self, reason)
        share = float((context.predicted == self.label).mean())
        return context.evidence(self, metrics={"share": share})


class Jittery(Share):
    """Breaks only determinism: its metric changes from one run to the next."""

    id = "acme.jittery"

    def run(self, context: CheckContext) -> Evidence:
        reason = self.capabilities.refuses(context.version)
        if reason:
            return context.not_applicable(self, reason)
        return context.evidence(self, metrics={"noise": float(np.random.default_rng().random())})


@pytest.fixture(scope="module")
def context() -> Iterator[CheckContext]:
    """The bundled sample's model, trained once for the module."""
    with temporary_home() as home, home.session() as (app, actor):
        version = train_sample(app, actor, rows=300)
        yield check_context(app, actor, version.ref)


def test_there_is_one_rule_per_check_and_rule_with_an_id_naming_both() -> None:
    rules = conformance_rules([Share, Jittery])
    assert [r.id for r in rules] == [
        f"{c}-{rule}" for c in ("acme.share", "acme.jittery") for rule in RULES
    ]
    assert len({r.id for r in rules}) == len(rules) == 2 * len(RULES)


@parametrize_conformance([Share], require_constraints=True)
def test_a_third_party_check_passes_each_rule(
    conformance_rule: ConformanceRule, context: CheckContext
) -> None:
    conformance_rule(context)


def test_parametrize_conformance_gives_pytest_one_id_per_rule() -> None:
    decorator: Any = parametrize_conformance([Share, Jittery])  # a pytest MarkDecorator
    mark = decorator.mark
    assert mark.args[0] == "conformance_rule"
    assert mark.kwargs["ids"] == [r.id for r in conformance_rules([Share, Jittery])]


def test_a_broken_rule_fails_alone_naming_the_check(context: CheckContext) -> None:
    failed = []
    for rule in conformance_rules([Jittery]):
        try:
            rule(context)
        except ConformanceError as exc:
            failed.append((rule.rule, str(exc)))
    assert failed == [
        (
            "deterministic",
            "Jittery: gives different evidence when run again with the same parameters",
        )
    ]
