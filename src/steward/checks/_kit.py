"""The conformance kit: what every check must satisfy, in the spirit of scikit-learn's
``check_estimator``. Third-party checks run it in their own test suites:

    from steward.checks import check_conformance
    check_conformance(MyCheck, context)   # raises ConformanceError naming the broken rule

A check that declares ``parameter_constraints`` must declare them for every parameter, and
its defaults must satisfy them. One that declares none passes (each parameter is then held to
its default's kind) unless ``require_constraints=True``, which Steward's own checks are held to.

A suite that wants one test per (check, rule), so a report names the rule a check broke,
parametrizes over ``conformance_rules(checks)`` (``parametrize_conformance`` does it for
pytest, ids ``CHECK_ID-RULE``); each rule then runs alone, with what it needs.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from steward.checks._base import Capabilities, Check, CheckContext
from steward.checks._params import Constraint, accepts
from steward.domain import Evidence, EvidenceStatus, Finding
from steward.errors import InvalidInput

__all__ = [
    "RULES",
    "ConformanceError",
    "ConformanceRule",
    "check_conformance",
    "conformance_rules",
    "parametrize_conformance",
]


class ConformanceError(AssertionError):
    """A check broke a rule of the check interface."""


def _fail(check: type[Check], rule: str) -> ConformanceError:
    return ConformanceError(f"{check.__name__}: {rule}")


def check_conformance(
    check: type[Check], context: CheckContext, *, require_constraints: bool = False
) -> None:
    """Run every rule against ``check`` on ``context`` (a fitted model version with a split);
    ``require_constraints``: refuse a check that declares no ``parameter_constraints``."""
    _declares(check)
    instance = _parameters(check)
    _constraints(check, instance, require_constraints)
    record = _runs(check, instance, context)
    _deterministic(check, instance, context, record)
    _not_applicable(check, instance, context)


def _declares(check: type[Check]) -> None:
    if not issubclass(check, Check):
        raise _fail(check, "is not a subclass of steward.checks.Check")
    check_id = getattr(check, "id", None)
    if not isinstance(check_id, str) or not check_id or check_id != check_id.strip().lower():
        raise _fail(check, "declares no lower-case string id")
    if not isinstance(getattr(check, "version", None), str) or not check.version:
        raise _fail(check, "declares no version string")
    if not isinstance(check.capabilities, Capabilities) or not check.capabilities.tasks:
        raise _fail(check, "declares no capabilities (task types)")


def _parameters(check: type[Check]) -> Check:
    signature = inspect.signature(check.__init__)
    defaults: dict[str, Any] = {}
    for parameter in list(signature.parameters.values())[1:]:
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise _fail(check, f"parameter {parameter.name!r} is not keyword-only")
        if parameter.default is inspect.Parameter.empty:
            raise _fail(check, f"parameter {parameter.name!r} has no default")
        defaults[parameter.name] = parameter.default
    instance = check()
    if instance.get_params() != defaults:
        raise _fail(check, "does not store its default parameters unchanged")
    sentinel = {name: _Sentinel(name) for name in defaults}
    try:
        stored = check(**sentinel).get_params()
    except Exception as exc:
        raise _fail(
            check, "does not store its parameters unchanged (its __init__ works on them)"
        ) from exc
    for name, value in sentinel.items():
        if stored[name] is not value:
            raise _fail(check, f"does not store parameter {name!r} unchanged (as given)")
    clone = check(**instance.get_params())
    if clone.get_params() != instance.get_params():
        raise _fail(check, "is not rebuilt by its own get_params()")
    return instance


def _constraints(check: type[Check], instance: Check, required: bool) -> None:
    declared = check.parameter_constraints
    names = check.param_names()
    if declared is None:
        if required and names:
            raise _fail(check, "declares no parameter_constraints")
        return
    if not isinstance(declared, Mapping):
        raise _fail(check, "declares parameter_constraints that are not a mapping by parameter")
    for name in names:
        if name not in declared:
            raise _fail(check, f"declares no constraint for parameter {name!r}")
    for name, rules in declared.items():
        if name not in names:
            raise _fail(check, f"declares constraints for {name!r}, which is not a parameter")
        if (
            not isinstance(rules, list | tuple)
            or not rules
            or not all(r is None or isinstance(r, Constraint) for r in rules)
        ):
            raise _fail(
                check, f"constraints of {name!r} are not a non-empty list of Constraint or None"
            )
    defaults = instance.get_params()
    for name, value in defaults.items():
        if not accepts(declared[name], value):
            raise _fail(check, f"its default {name}={value!r} breaks its own constraints")
    try:
        check.validate_params(defaults)
    except InvalidInput as exc:
        raise _fail(check, f"refuses its own defaults ({exc})") from exc
    for name in names:  # a value no constraint accepts must be refused, naming the parameter
        probe = _Sentinel(name)
        if accepts(declared[name], probe):
            continue
        try:
            check.validate_params({name: probe})
        except InvalidInput as exc:
            if f"{check.id}.{name}" not in str(exc):
                raise _fail(
                    check, f"refuses a bad {name!r} without naming {check.id}.{name}"
                ) from exc
            continue
        raise _fail(check, f"validate_params accepts a value for {name!r} its constraints refuse")


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _fingerprint(context: CheckContext) -> str:
    digest = hashlib.sha256()
    for frame in (context.X, context.A):
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    digest.update(np.asarray(pd.util.hash_pandas_object(pd.Series(context.y))).tobytes())
    return digest.hexdigest()


def _runs(check: type[Check], instance: Check, context: CheckContext) -> Evidence:
    before = _fingerprint(context)
    record = instance.run(context)
    if _fingerprint(context) != before:
        raise _fail(check, "changed the context's data while running")
    if not isinstance(record, Evidence):
        raise _fail(check, "run() did not return Evidence")
    if (record.check_id, record.check_version) != (check.id, check.version):
        raise _fail(check, "returned evidence under another id or version")
    if record.subject != context.version.subject or record.params != instance.get_params():
        raise _fail(check, "returned evidence about another subject or with other parameters")
    if not all(isinstance(f, Finding) for f in record.findings):
        raise _fail(check, "returned findings that are not Finding values")
    _finite(check, record.metrics, "metrics")
    for name, key in record.artifacts.items():
        if not key.startswith("sha256:"):
            raise _fail(check, f"lists artifact {name!r} without a key from save_plot()")
    return record


def _finite(check: type[Check], value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _fail(check, f"{where} has a non-text key {key!r}")
            _finite(check, item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _finite(check, item, f"{where}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise _fail(check, f"{where} is {value} (metrics must be finite)")
    elif not isinstance(value, str | int | float | bool) and value is not None:
        raise _fail(check, f"{where} is a {type(value).__name__}, not a JSON value")


def _deterministic(
    check: type[Check], instance: Check, context: CheckContext, first: Evidence
) -> None:
    again = check(**copy.deepcopy(instance.get_params())).run(_fresh(context))
    if (again.metrics, again.findings, again.status) != (
        first.metrics,
        first.findings,
        first.status,
    ):
        raise _fail(check, "gives different evidence when run again with the same parameters")


def _fresh(context: CheckContext) -> CheckContext:
    return CheckContext(
        version=context.version,
        model=context.model,
        X=context.X,
        y=context.y,
        A=context.A,
        inputs=context.inputs,
        pii_columns=context.pii_columns,
        dataset_evidence=context.dataset_evidence,
        store=context.store,
        load_part=context.load_part,
    )


def _not_applicable(check: type[Check], instance: Check, context: CheckContext) -> None:
    tasks = check.capabilities.tasks
    other = next((t for t in ("binary", "multiclass", "regression") if t not in tasks), None)
    if other is None:
        return
    foreign = _fresh(context)
    foreign.version = replace(context.version, task=other)
    try:
        record = instance.run(foreign)
    except Exception as exc:
        raise _fail(check, f"raised {type(exc).__name__} on a {other} model instead of "
                    "answering 'not applicable'") from exc  # fmt: skip
    if record.status is not EvidenceStatus.NOT_APPLICABLE:
        raise _fail(check, f"judged a {other} model it does not declare it can judge")


# --------------------------------------------------------------------------- one rule at a time

_Test = TypeVar("_Test", bound=Callable[..., Any])
RULES = ("declares", "parameters", "constraints", "runs", "deterministic", "not_applicable")


@dataclass(frozen=True, slots=True)
class ConformanceRule:
    """One rule of the kit for one check, to run on its own: ``rule(context)`` raises
    ``ConformanceError`` naming what ``check`` broke. ``id`` (``CHECK_ID-RULE``) is the test
    id ``parametrize_conformance`` gives it, so a report names the check and the rule."""

    check: type[Check]
    rule: str
    require_constraints: bool = False

    @property
    def id(self) -> str:
        return f"{getattr(self.check, 'id', self.check.__name__)}-{self.rule}"

    def __call__(self, context: CheckContext) -> None:
        check = self.check
        _declares(check)
        if self.rule == "declares":
            return
        instance = _parameters(check)
        if self.rule == "parameters":
            return
        if self.rule == "constraints":
            _constraints(check, instance, self.require_constraints)
        elif self.rule == "runs":
            _runs(check, instance, context)
        elif self.rule == "deterministic":
            _deterministic(check, instance, context, _runs(check, instance, context))
        else:
            _not_applicable(check, instance, context)


def conformance_rules(
    checks: Iterable[type[Check]], *, require_constraints: bool = False
) -> list[ConformanceRule]:
    """Every (check, rule) pair of the kit, checks in the given order, rules in the kit's."""
    return [ConformanceRule(check, rule, require_constraints) for check in checks for rule in RULES]


def parametrize_conformance(
    checks: Iterable[type[Check]], *, require_constraints: bool = False
) -> Callable[[_Test], _Test]:
    """A ``pytest.mark.parametrize`` over ``conformance_rules(checks)``, one test id per
    (check, rule), for a test that takes ``conformance_rule`` and a context of its own:

        @parametrize_conformance([MyCheck])
        def test_my_check_conforms(conformance_rule, context):
            conformance_rule(context)

    pytest is imported only here: the kit itself needs no test framework."""
    import pytest

    rules = conformance_rules(checks, require_constraints=require_constraints)
    mark = pytest.mark.parametrize("conformance_rule", rules, ids=[r.id for r in rules])
    return cast("Callable[[_Test], _Test]", mark)
