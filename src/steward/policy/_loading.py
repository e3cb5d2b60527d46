"""Reading a policy document: YAML → validated ``Policy``, or one error naming the file, the
line and the field.

Validation has two parts: the schema (pydantic: unknown fields, wrong types, bad values) and
the metrics (a threshold must name a metric its check produces; the caller passes each
installed check's declared metric patterns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from steward.errors import InvalidInput
from steward.policy._schema import Policy

__all__ = ["line_of", "load_policy", "metric_matches", "parse_document"]


def load_policy(
    text: str,
    source: str = "<policy>",
    *,
    metrics: Mapping[str, Sequence[str] | None] | None = None,
    parameters: Mapping[str, Sequence[str]] | None = None,
) -> Policy:
    """Parse and validate ``text``; ``InvalidInput("FILE:LINE: FIELD: problem")`` if wrong.

    ``metrics`` maps each installed check id to the metric path patterns it declares
    (``None``: undeclared, any metric accepted); when given, a rule naming an uninstalled
    check or a threshold on a metric the check does not produce is refused. ``parameters``
    maps check ids to their parameter names, against which a rule's ``params`` are checked."""
    node, policy = parse_document(
        text, source, Policy, "a policy is a YAML mapping (format, name, stages...)"
    )
    if metrics is not None:
        _check_metrics(policy, node, source, metrics)
    if parameters is not None:
        _check_parameters(policy, node, source, parameters)
    return policy


M = TypeVar("M", bound=BaseModel)


def parse_document(text: str, source: str, model: type[M], shape: str) -> tuple[Any, M]:
    """``text`` as its YAML node tree and validated ``model``; ``InvalidInput("FILE:LINE:
    FIELD: problem")`` when it is not valid YAML, not a mapping (``shape`` says what it
    should be) or not valid for ``model``."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput(f"{source}:{line}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}:1: {shape}")
    try:
        return node, model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        field = ".".join(str(part) for part in loc) or "(document)"
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        message = message.removeprefix("Value error, ")
        raise InvalidInput(f"{source}:{line_of(node, loc)}: {field}: {message}") from None


def _check_parameters(
    policy: Policy, node: Any, source: str, parameters: Mapping[str, Sequence[str]]
) -> None:
    for stage, rules in policy.stages.items():
        for i, rule in enumerate(rules.evidence):
            known = parameters.get(rule.check)
            if known is None:
                continue
            for name in rule.params:
                if name not in known:
                    at = ("stages", stage, "evidence", i, "params", name)
                    raise InvalidInput(
                        f"{source}:{line_of(node, at)}: stages.{stage}.evidence.{i}.params."
                        f"{name}: check {rule.check!r} has no parameter {name!r} (its "
                        f"parameters: {', '.join(known) or 'none'})"
                    )


def metric_matches(path: str, pattern: str) -> bool:
    """Whether metric ``path`` (from a policy) fits ``pattern`` (declared by a check); ``*``
    segments on either side match any one segment."""
    left, right = path.split("."), pattern.split(".")
    return len(left) == len(right) and all(
        a == b or a == "*" or b == "*" for a, b in zip(left, right, strict=True)
    )


def _check_metrics(
    policy: Policy, node: Any, source: str, catalog: Mapping[str, Sequence[str] | None]
) -> None:
    for stage, rules in policy.stages.items():
        for i, rule in enumerate(rules.evidence):
            where = ("stages", stage, "evidence", i)
            if rule.check not in catalog:
                raise InvalidInput(
                    f"{source}:{line_of(node, (*where, 'check'))}: stages.{stage}.evidence.{i}."
                    f"check: no installed check {rule.check!r} (installed: "
                    f"{', '.join(sorted(catalog))})"
                )
            patterns = catalog[rule.check]
            if patterns is None:
                continue
            for j, threshold in enumerate(rule.thresholds):
                if not any(metric_matches(threshold.metric, p) for p in patterns):
                    at = (*where, "thresholds", j, "metric")
                    raise InvalidInput(
                        f"{source}:{line_of(node, at)}: stages.{stage}.evidence.{i}.thresholds."
                        f"{j}.metric: check {rule.check!r} produces no metric "
                        f"{threshold.metric!r} (it produces {', '.join(patterns)})"
                    )


def line_of(node: Any, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at ``loc`` (as deep as the document goes)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
