"""Check parameters are constrained as data: nonsense values are refused before anything runs,
in one line naming the check's parameter, the value and what is allowed; the conformance kit
holds a declaration to every parameter; a check that declares nothing still works."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from steward.checks import (
    SEED,
    Check,
    CheckContext,
    ConformanceError,
    InstanceOf,
    Interval,
    LikeDefault,
    MappingOf,
    Options,
    ParameterConstraints,
    SequenceOf,
    available_checks,
    check_conformance,
)
from steward.checks._params import describe
from steward.domain import Evidence
from steward.errors import InvalidInput

DOCS = Path(__file__).parents[1] / "docs"
BUILTIN = {
    check_id: cls
    for check_id, cls in available_checks().items()
    if cls.__module__.startswith("steward.checks.")
}


def _defaults(cls: type[Check]) -> dict[str, Any]:
    return dict(cls().get_params())


@pytest.mark.parametrize(
    ("check_id", "name", "value", "allowed"),
    [
        ("fairness", "min_group_size", -5, "an integer in [1, inf)"),
        ("fairness", "min_group_size", 0, "an integer in [1, inf)"),
        ("fairness", "four_fifths", 7, "a number in (0, 1]"),
        ("fairness", "four_fifths", 0, "a number in (0, 1]"),
        ("fairness", "four_fifths", float("nan"), "a number in (0, 1]"),
        ("fairness", "bins", 0, "an integer in [2, inf)"),
        ("fairness", "bins", 1, "an integer in [2, inf)"),
        ("fairness", "bins", 2.0, "an integer in [2, inf)"),  # whole numbers only
        ("fairness", "bins", True, "an integer in [2, inf)"),  # a boolean is not a number
        ("fairness", "bins", "many", "an integer in [2, inf)"),
        ("fairness", "intersections", 1, "true or false"),
        ("fairness", "attributes", (), "a non-empty list"),
        ("fairness", "attributes", ("race", "race"), "without repeats"),
        ("fairness", "attributes", 5, "None, a text or a non-empty list"),
        ("fairness", "edges", {"age": [65, 40]}, "strictly increasing"),
        ("fairness", "edges", {"age": [25, float("inf")]}, "each item a finite number"),
        ("fairness", "edges", [25, 40], "a mapping of a text"),
        ("performance", "seed", -1, "an integer in [0, 4294967295]"),
        ("performance", "seed", 2**32, "an integer in [0, 4294967295]"),
        ("performance", "bootstrap", 0, "an integer in [1, inf)"),
        ("performance", "confidence", 1, "a number in (0, 1)"),
        ("performance", "confidence", float("inf"), "a number in (0, 1)"),
        ("performance", "calibration_bins", 1, "an integer in [2, inf)"),
        ("performance", "suspicious_score", 0.5, "a number in (0.5, 1]"),
        ("performance", "suspicious_score", 1.01, "a number in (0.5, 1]"),
        ("privacy", "leakage_auc", 0.3, "a number in (0.5, 1]"),
        ("privacy", "leakage_auc", float("-inf"), "a number in (0.5, 1]"),
        ("privacy", "leakage_r2", 0, "a number in (0, 1]"),
        ("privacy", "proxy_auc", 2, "a number in (0.5, 1]"),
        ("privacy", "folds", 1, "an integer in [2, inf)"),
        ("privacy", "max_depth", 0, "an integer in [1, inf)"),
        ("privacy", "seed", -1, "an integer in [0, 4294967295]"),
        ("robustness", "noise", 0, "a number in (0, inf)"),
        ("robustness", "noise", float("inf"), "a number in (0, inf)"),
        ("robustness", "missing_rate", 0, "a number in (0, 1]"),
        ("robustness", "missing_rate", 1.5, "a number in (0, 1]"),
        ("robustness", "max_flip_rate", -0.1, "a number in [0, 1]"),
        ("robustness", "shift", -1, "a number in [0, inf)"),
        ("explainability", "rows", 0, "an integer in [1, inf)"),
        ("explainability", "background", -3, "an integer in [1, inf)"),
        ("explainability", "black_box_rows", 0, "an integer in [1, inf)"),
        ("explainability", "black_box_background", 0, "an integer in [1, inf)"),
        ("explainability", "repeats", 0, "an integer in [1, inf)"),
        ("explainability", "min_rank_agreement", 1.5, "a number in [-1, 1]"),
        ("explainability", "seed", 2**40, "an integer in [0, 4294967295]"),
    ],
)
def test_nonsense_parameters_are_refused_naming_the_parameter_value_and_range(
    check_id: str, name: str, value: Any, allowed: str
) -> None:
    cls = BUILTIN[check_id]
    with pytest.raises(InvalidInput) as caught:
        cls.validate_params({name: value})
    message = caught.value.message
    assert message.startswith(f"parameter {check_id}.{name} must be ")
    assert allowed in message and message.endswith(f"not {value!r}")
    assert "\n" not in str(caught.value)
    assert caught.value.details["check"] == check_id
    assert caught.value.details["parameter"] == name


@pytest.mark.parametrize("check_id", sorted(BUILTIN))
def test_no_builtin_check_takes_a_non_finite_or_boolean_number(check_id: str) -> None:
    cls = BUILTIN[check_id]
    numeric = {
        name: value
        for name, value in _defaults(cls).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    for name in numeric:
        for bad in (float("nan"), float("inf"), float("-inf"), True, "1", None, [1]):
            with pytest.raises(InvalidInput, match=rf"^parameter {check_id}\.{name} must be"):
                cls.validate_params({name: bad})


@pytest.mark.parametrize(
    ("check_id", "values"),
    [
        ("fairness", {"four_fifths": 1, "min_group_size": 1, "bins": 2, "attributes": "race"}),
        ("fairness", {"attributes": ["race", "sex"], "edges": {"age": [25, 40.5, 65]}}),
        ("fairness", {"attributes": None, "edges": None, "intersections": False}),
        ("performance", {"seed": 2**32 - 1, "bootstrap": 1, "suspicious_score": 1.0}),
        ("performance", {"seed": np.int64(3), "confidence": np.float64(0.9)}),  # NumPy scalars
        ("privacy", {"leakage_auc": 1, "leakage_r2": 0.5, "folds": 2, "max_depth": 1}),
        ("robustness", {"missing_rate": 1.0, "max_flip_rate": 0, "shift": 0}),
        ("explainability", {"rows": 1, "min_rank_agreement": -1, "seed": 0}),
    ],
)
def test_values_at_the_edges_of_the_allowed_ranges_are_accepted(
    check_id: str, values: dict[str, Any]
) -> None:
    BUILTIN[check_id].validate_params(values)


@pytest.mark.parametrize("check_id", sorted(BUILTIN))
def test_builtin_checks_declare_every_parameter_and_their_defaults_satisfy_it(
    check_id: str,
) -> None:
    cls = BUILTIN[check_id]
    assert cls.parameter_constraints is not None
    assert set(cls.parameter_constraints) == set(cls.param_names())
    cls.validate_params(_defaults(cls))


def test_unknown_parameters_are_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match=r"check 'fairness' has no parameter 'colour' \(its"):
        BUILTIN["fairness"].validate_params({"colour": "red"})


class _Untouchable:
    """A context that fails the test if a check so much as looks at it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the check read context.{name} before refusing its parameters")


@pytest.mark.parametrize(
    ("check_id", "params"),
    [
        ("fairness", {"min_group_size": -5}),
        ("performance", {"seed": -1}),
        ("privacy", {"leakage_auc": float("nan")}),
        ("robustness", {"missing_rate": 7}),
        ("explainability", {"rows": 0}),
    ],
)
def test_a_builtin_check_refuses_bad_parameters_before_it_reads_anything(
    check_id: str, params: dict[str, Any]
) -> None:
    ((name, value),) = params.items()
    check = BUILTIN[check_id](**params)
    assert check.get_params()[name] is value  # the constructor stores it unchanged
    untouchable: Any = _Untouchable()
    with pytest.raises(InvalidInput, match=rf"parameter {check_id}\.{name}"):
        check.run(untouchable)


# What a third party may write without declaring anything.
class Undeclared(Check):
    id = "acme.undeclared"
    version = "1"

    def __init__(self, *, label: int = 1, share: float = 0.5, names: tuple[str, ...] = ()):
        self.label = label
        self.share = share
        self.names = names

    def run(self, context: CheckContext) -> Evidence:
        return context.evidence(self, metrics={})


def test_a_check_without_declarations_holds_each_parameter_to_its_defaults_kind() -> None:
    assert Undeclared.constraints() == {
        "label": (LikeDefault(1),),
        "share": (LikeDefault(0.5),),
        "names": (LikeDefault(()),),
    }
    Undeclared.validate_params({"label": 3, "share": 1, "names": ["a"]})
    Undeclared.validate_params({"names": "a"})
    with pytest.raises(InvalidInput, match=r"^parameter acme\.undeclared\.label must be like 1"):
        Undeclared.validate_params({"label": "x"})
    with pytest.raises(InvalidInput, match=r"acme\.undeclared\.share must be like 0\.5, not nan"):
        Undeclared.validate_params({"share": float("nan")})


def test_the_fallback_takes_values_of_the_defaults_kind() -> None:
    """A parameter a check declares nothing for takes values of its default's kind: a whole
    number for a float, a sequence or one string for a tuple, anything for a None default;
    numbers must be finite, and NumPy's integers are integers."""
    assert LikeDefault(4).accepts(3) and not LikeDefault(4).accepts(2.0)
    assert not LikeDefault(4).accepts(True) and LikeDefault(True).accepts(False)
    assert LikeDefault(0.8).accepts(1) and not LikeDefault(0.8).accepts("0.8")
    assert LikeDefault(("a",)).accepts(["a", "b"]) and LikeDefault(("a",)).accepts("a")
    assert LikeDefault(None).accepts({"anything": [1]})
    assert not LikeDefault(0.8).accepts(float("nan")) and not LikeDefault(0.8).accepts(math.inf)
    assert LikeDefault(4).accepts(np.int64(2)) and LikeDefault(0.8).accepts(np.int64(2))


def test_the_constraint_vocabulary() -> None:
    whole = Interval(int, 1, 10, closed="left")
    assert whole.accepts(1) and whole.accepts(9) and not whole.accepts(10)
    assert not whole.accepts(1.0) and not whole.accepts(True) and whole.accepts(np.int32(5))
    assert whole.describe() == "an integer in [1, 10)"
    real = Interval(float, None, 0, closed="neither")
    assert real.accepts(-1) and real.accepts(-0.5) and not real.accepts(0)
    assert not real.accepts(float("-inf")) and not real.accepts(-(10**400))
    assert real.describe() == "a number in (-inf, 0)"
    assert Interval(float, 0.5, None, closed="right").describe() == "a number in (0.5, inf)"
    assert SEED.accepts(0) and SEED.accepts(2**32 - 1) and not SEED.accepts(2**32)
    options = Options("quantiles", "edges")
    assert options.accepts("edges") and not options.accepts("bands")
    assert options.describe() == "one of 'quantiles', 'edges'"
    assert Options(1).accepts(1) and not Options(1).accepts(True)
    assert InstanceOf(int).accepts(3) and not InstanceOf(int).accepts(False)
    assert InstanceOf(str, bool).describe() == "a text or true or false"
    listed = SequenceOf(InstanceOf(str), min_length=2)
    assert listed.accepts(("a", "b")) and not listed.accepts(["a"]) and not listed.accepts("ab")
    mapped = MappingOf(InstanceOf(str), Interval(int, 0, None, closed="left"))
    assert mapped.accepts({"a": 0}) and not mapped.accepts({"a": -1}) and not mapped.accepts({1: 1})
    assert describe([None, whole]) == "None or an integer in [1, 10)"
    with pytest.raises(TypeError):
        Interval(str, 0, 1)
    with pytest.raises(ValueError, match="above"):
        Interval(int, 2, 1)


# --- the conformance kit -------------------------------------------------------------------


class Partial(Check):
    id = "acme.partial"
    version = "1"
    parameter_constraints: ClassVar[ParameterConstraints] = {
        "bins": [Interval(int, 2, None, closed="left")]
    }

    def __init__(self, *, bins: int = 4, rate: float = 0.1) -> None:
        self.bins = bins
        self.rate = rate

    def run(self, context: CheckContext) -> Evidence:
        return context.evidence(self, metrics={})


class BadDefault(Partial):
    id = "acme.bad_default"
    parameter_constraints: ClassVar[ParameterConstraints] = {
        "bins": [Interval(int, 2, None, closed="left")],
        "rate": [Interval(float, 0.5, 1, closed="both")],  # the default 0.1 is outside
    }


class Stray(Partial):
    id = "acme.stray"
    parameter_constraints: ClassVar[ParameterConstraints] = {
        "bins": [Interval(int, 2, None, closed="left")],
        "rate": [Interval(float, 0, 1, closed="both")],
        "colour": [InstanceOf(str)],
    }


class Empty(Partial):
    id = "acme.empty"
    parameter_constraints: ClassVar[ParameterConstraints] = {
        "bins": [],
        "rate": [Interval(float, 0, 1, closed="both")],
    }


class Lenient(Partial):
    """Declares properly but overrides validate_params to accept anything."""

    id = "acme.lenient"
    parameter_constraints: ClassVar[ParameterConstraints] = {
        "bins": [Interval(int, 2, None, closed="left")],
        "rate": [Interval(float, 0, 1, closed="both")],
    }

    @classmethod
    def validate_params(cls, values: Any) -> None:
        return None


@pytest.mark.parametrize(
    ("check", "rule"),
    [
        (Partial, "declares no constraint for parameter 'rate'"),
        (BadDefault, "its default rate=0.1 breaks its own constraints"),
        (Stray, "declares constraints for 'colour', which is not a parameter"),
        (Empty, "constraints of 'bins' are not a non-empty list"),
        (Lenient, "validate_params accepts a value for 'bins' its constraints refuse"),
    ],
)
def test_the_kit_holds_a_declaration_to_every_parameter_and_its_defaults(
    check: type[Check], rule: str
) -> None:
    untouchable: Any = _Untouchable()  # refused before the kit runs the check
    with pytest.raises(ConformanceError, match=re.escape(rule)):
        check_conformance(check, untouchable)


def test_the_kit_requires_declarations_only_when_asked() -> None:
    untouchable: Any = _Untouchable()
    with pytest.raises(ConformanceError, match="declares no parameter_constraints"):
        check_conformance(Undeclared, untouchable, require_constraints=True)
    # without the flag, the kit goes on to run the undeclared check (and so reads the context)
    with pytest.raises(AssertionError, match="before refusing its parameters"):
        check_conformance(Undeclared, untouchable)


def test_every_builtin_parameter_and_its_constraints_are_documented() -> None:
    """docs/checks.md holds a table row per parameter: its default and what it accepts, as
    ``describe`` says it, so the documented ranges are the enforced ones."""
    text = (DOCS / "checks.md").read_text()
    rows = set(re.findall(r"^\| `([a-z0-9_.]+)` \| `([^`]*)` \| (.+?) \|$", text, re.M))
    for check_id, cls in BUILTIN.items():
        defaults = _defaults(cls)
        for name, rules in cls.constraints().items():
            assert (f"{check_id}.{name}", _literal(defaults[name]), describe(rules)) in rows, (
                check_id,
                name,
            )
    documented = {row[0] for row in rows if row[0].split(".")[0] in BUILTIN}
    assert documented == {f"{c}.{n}" for c, cls in BUILTIN.items() for n in cls.param_names()}


def _literal(value: Any) -> str:
    """A default as YAML writes it (``--param`` values are YAML)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
