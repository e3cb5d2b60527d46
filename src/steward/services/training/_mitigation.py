"""Fairness mitigation: a new candidate version from an existing one, by group thresholds.

``mitigate`` fits fairlearn's ``ThresholdOptimizer`` over version ``ref``'s model on the
version's *validation* rows (the test rows stay unseen, so the new version's test metrics and
evidence are honest), and registers the result as the next version of the same model: its
``parents`` name the original, its ``params`` record the method, constraint, objective,
attribute and the fitted per-group rules, and it keeps the original's dataset and split. It
uses the sensitive attribute as an input (the rule differs by group), which its signature
and ``sensitive_features`` say and the ``privacy`` check reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from steward.domain import Actor, ModelVersion, Permission
from steward.errors import InvalidInput
from steward.services._access import require
from steward.services.datasets._service import DatasetService
from steward.services.models._service import ModelService

if TYPE_CHECKING:
    from steward.services.evidence._service import EvidenceService

__all__ = ["MitigationService"]


class MitigationService:
    def __init__(
        self, datasets: DatasetService, models: ModelService, evidence: EvidenceService
    ) -> None:
        self._datasets = datasets
        self._models = models
        self._evidence = evidence

    def admit(self, actor: Actor, ref: str) -> ModelVersion:
        """What ``mitigate`` refuses before it reads any data (the permission, an unknown
        version), for an edge that mitigates later (a job)."""
        require(actor, Permission.MODEL_WRITE, "register models")
        return self._models.get(actor, ref)

    def mitigate(
        self,
        actor: Actor,
        ref: str,
        *,
        attribute: str,
        constraint: str = "demographic_parity",
        objective: str = "balanced_accuracy_score",
        seed: int = 0,
        checks: bool = True,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> ModelVersion:
        """Register the threshold-mitigated candidate of version ``ref`` (next version) and,
        unless ``checks`` is false, run the default evidence checks on it (``progress``
        reports them), as after ``train``."""
        from steward.ml import classification_metrics, dump_skops, load_skops
        from steward.ml._mitigation import (
            CONSTRAINTS,
            MAX_GROUPS,
            OBJECTIVES,
            GroupThresholdClassifier,
            group_labels,
        )

        require(actor, Permission.MODEL_WRITE, "register models")
        if constraint not in CONSTRAINTS:
            raise InvalidInput(f"unknown constraint {constraint!r}: use {', '.join(CONSTRAINTS)}")
        if objective not in OBJECTIVES:
            raise InvalidInput(f"unknown objective {objective!r}: use {', '.join(OBJECTIVES)}")
        version = self._models.get(actor, ref)
        if version.split is None:
            raise InvalidInput(
                f"{version.ref} has no recorded split: mitigation is fitted on its validation "
                "rows (train it with `steward train`)"
            )
        if version.task != "binary":
            raise InvalidInput(f"{version.ref} is a {version.task} model: mitigation is binary")
        if attribute not in version.sensitive:
            declared = ", ".join(version.sensitive) or "none"
            raise InvalidInput(
                f"{attribute!r} is not a declared sensitive attribute of {version.ref}'s "
                f"dataset (declared: {declared})"
            )
        if version.format != "skops":
            raise InvalidInput(
                f"{version.ref} is stored as {version.format}: mitigation wraps skops models "
                "(logistic, hgb, forest templates)"
            )
        if "mitigation" in version.params:
            raise InvalidInput(f"{version.ref} is already mitigated: mitigate its parent")
        _, base = self._models.load(actor, version.ref)
        x_val, y_val, a_val = self._models.load_split(actor, version.ref, "validation")
        groups = group_labels(a_val[attribute])
        if len(set(groups)) > MAX_GROUPS:
            raise InvalidInput(
                f"{attribute!r} has {len(set(groups))} distinct values in the validation rows "
                f"(at most {MAX_GROUPS}): bin it into groups in the dataset first"
            )
        if len(set(groups)) < 2:
            raise InvalidInput(
                f"{attribute!r} has one group in the validation rows: nothing to mitigate"
            )
        x_val = x_val.assign(**{attribute: a_val[attribute].to_numpy()})
        try:
            mitigated = GroupThresholdClassifier(
                base=base,
                attribute=attribute,
                constraint=constraint,
                objective=objective,
                seed=seed,
            ).fit(x_val, y_val)
        except ValueError as exc:  # fairlearn: a group with one class, degenerate scores
            raise InvalidInput(f"mitigation cannot be fitted on {version.ref}: {exc}") from None
        model_bytes = dump_skops(mitigated)
        reloaded = load_skops(model_bytes)
        features = (
            version.features if attribute in version.features else (*version.features, attribute)
        )
        classes = list(version.signature["output"]["classes"])
        metrics = {}
        for part in ("validation", "test"):
            x, y, a = self._models.load_split(actor, version.ref, part)
            x = x.assign(**{attribute: a[attribute].to_numpy()})[list(features)]
            metrics[part] = classification_metrics(
                y, reloaded.predict(x), reloaded.predict_proba(x), classes
            )
        draft = replace(
            version,
            version=0,
            run_id=None,
            artifact="",
            format="skops",
            template=None,
            params={
                "mitigation": {
                    "method": "fairlearn.postprocessing.ThresholdOptimizer",
                    "parent": version.ref,
                    "attribute": attribute,
                    "constraint": constraint,
                    "objective": objective,
                    "fitted_on": "validation",
                    "seed": seed,
                    "rules": mitigated.rules_,
                },
                "parent_template": version.template,
                "parent_params": version.params,
            },
            signature=_signature(self._datasets, actor, version, attribute),
            metrics=metrics,
            features=features,
            sensitive_features=tuple(dict.fromkeys((*version.sensitive_features, attribute))),
            excluded={k: v for k, v in version.excluded.items() if k != attribute},
            tuning=None,
            parents=(version.ref,),
            created_at="",
            created_by="",
            content_hash="",
        )
        candidate = self._models.register(actor, draft, model_bytes)
        if checks:
            self._evidence.run(actor, candidate.ref, progress=progress)
        return candidate


def _signature(
    datasets: DatasetService, actor: Actor, version: ModelVersion, attribute: str
) -> dict[str, Any]:
    signature = dict(version.signature)
    names = [i["name"] for i in signature["inputs"]]
    if attribute in names:
        return signature
    dataset = datasets.get(actor, version.split["dataset"]["ref"] if version.split else "")
    column = dataset.schema.column(attribute)
    signature["inputs"] = [
        *signature["inputs"],
        {
            "name": attribute,
            "type": column.type.value if column is not None else None,
            "kind": "categorical",
            "categories": list(column.categories) if column and column.categories else None,
        },
    ]
    return signature
