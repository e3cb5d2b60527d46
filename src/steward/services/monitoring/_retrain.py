"""Retraining: a challenger built with the champion's recipe, compared on the same rows, and
datasets assembled from logged predictions with their feedback labels.

``retrain`` trains the next version of the champion's model with its template, parameters
(or a new tuning study) and seed on a new dataset version; the challenger's ``parents`` name
the champion, so its lineage shows where it came from, and it runs the default checks like
any training. It then records ``comparison`` evidence about the challenger: champion versus
challenger on the challenger's test rows — for each metric the paired bootstrap difference
with its interval, and each sensitive attribute's selection rates and disparate-impact ratio
side by side. The challenger gets no shortcut: it needs its own gate and approvals, and
reaches an endpoint by a canary (or shadow) deployment like any version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from steward.domain import Actor, Evidence, EvidenceStatus, Finding, Permission, Ref, Severity
from steward.errors import InvalidInput, NotFound
from steward.services._access import require

if TYPE_CHECKING:
    from steward.services.datasets._service import DatasetService
    from steward.services.evidence._service import EvidenceService
    from steward.services.models._service import ModelService
    from steward.services.monitoring._alerts import AlertService
    from steward.services.serving._predictions import PredictionService
    from steward.services.training._service import TrainingService

__all__ = ["COMPARISON_CHECK", "RetrainService", "Retraining"]

COMPARISON_CHECK = "comparison"
COMPARED_METRICS = ("roc_auc", "accuracy", "f1")


@dataclass(frozen=True)
class Retraining:
    champion: Any  # ModelVersion
    result: Any  # TrainingResult
    comparison: Evidence
    alert: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "champion": self.champion.ref,
            "challenger": self.result.version.ref,
            "training": self.result.to_dict(),
            "comparison": self.comparison.to_dict(),
            "alert": self.alert,
        }


class RetrainService:
    def __init__(
        self,
        datasets: DatasetService,
        models: ModelService,
        training: TrainingService,
        evidence: EvidenceService,
        predictions: PredictionService,
        alerts: AlertService,
    ) -> None:
        self._datasets = datasets
        self._models = models
        self._training = training
        self._evidence = evidence
        self._predictions = predictions
        self._alerts = alerts

    def admit(self, actor: Actor, name: str) -> Any:
        """What ``retrain`` refuses first (the permissions, an unknown model), for an edge
        that retrains later (a job): the champion."""
        require(actor, Permission.MODEL_WRITE, "retrain models")
        require(actor, Permission.RUN_WRITE, "retrain models")
        return self.champion(actor, name)

    def champion(self, actor: Actor, name: str) -> Any:
        """``NAME@N`` as given, else the model's production version, else its latest."""
        if "@" in name:
            return self._models.get(actor, name)
        try:
            return self._models.get(actor, f"{name}@production")
        except NotFound:
            return self._models.get(actor, f"{name}@latest")

    def retrain(
        self,
        actor: Actor,
        name: str,
        *,
        dataset: str | None = None,
        trials: int = 0,
        alert: str | None = None,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        progress: Any = None,
        check_progress: Any = None,
    ) -> Retraining:
        """Train a challenger of ``name``'s champion on ``dataset`` (default: the latest
        version of the champion's dataset) and record the comparison (module docstring).
        ``alert``: the retraining request (an alert whose rule retrains) it answers, named in
        the comparison; the alert stays open until someone who may resolves it."""
        from steward.services.training._request import TrainingRequest

        require(actor, Permission.RUN_WRITE, "retrain models")
        require(actor, Permission.MODEL_WRITE, "retrain models")
        champion = self.champion(actor, name)
        if champion.split is None or champion.target is None:
            raise InvalidInput(
                f"{champion.ref} was not trained by Steward (no recorded recipe): train a new "
                "model instead"
            )
        answered = self._alerts.alert(actor, alert) if alert else None
        data = dataset or Ref.parse(champion.split["dataset"]["ref"]).name
        schema = self._datasets.get(actor, data).schema
        dropped = tuple(
            c
            for c in champion.excluded
            if c not in champion.sensitive and schema.column(c) is not None
        )
        fractions = champion.split.get("fractions", {})
        request = TrainingRequest(
            dataset=data,
            name=champion.name,
            template=champion.template,
            trials=trials,
            seed=int(champion.split.get("seed", 0)),
            target=champion.target,
            use_sensitive=tuple(champion.sensitive_features),
            drop=dropped,
            test_size=float(fractions.get("test", 0.2)),
            validation_size=float(fractions.get("validation", 0.2)),
            params=None if trials else dict(champion.params),
            parents=(champion.ref,),
        )
        result = self._training.train(
            actor,
            request,
            code=code,
            environment=environment,
            progress=progress,
            check_progress=check_progress,
        )
        comparison = self._compare(actor, champion, result.version, answered)
        return Retraining(champion, result, comparison, answered.id if answered else None)

    def _compare(
        self, actor: Actor, champion: Any, challenger: Any, answered: Any = None
    ) -> Evidence:
        from steward.drift import group_rates, paired_difference

        x, y, a = self._models.load_split(actor, challenger.ref, "test")
        _, old = self._models.load(actor, champion.ref)
        _, new = self._models.load(actor, challenger.ref)
        missing = [c for c in champion.features if c not in x.columns]
        if missing:
            raise InvalidInput(
                f"{challenger.ref}'s test rows lack {', '.join(missing)} that {champion.ref} reads"
            )
        classes = [str(c) for c in challenger.signature.get("output", {}).get("classes") or []]
        truth = np.asarray([str(v) for v in np.asarray(y).tolist()], dtype=object)
        metrics: dict[str, Any] = {"rows": len(x), "metrics": {}, "fairness": {}}
        findings: list[Finding] = []
        old_scores = np.asarray(old.predict_proba(x[list(champion.features)]), dtype=np.float64)
        new_scores = np.asarray(new.predict_proba(x[list(challenger.features)]), dtype=np.float64)
        for metric in COMPARED_METRICS:
            found = paired_difference(
                truth, old_scores, new_scores, classes, metric=metric, n_boot=1000, seed=0
            )
            metrics["metrics"][metric] = found.to_dict()
            if found.upper is not None and found.upper < 0:
                findings.append(
                    Finding(
                        code="challenger_worse",
                        severity=Severity.MEDIUM,
                        message=f"the challenger's {metric} is lower than the champion's: "
                        f"{found.value:+.4f} [{found.lower:+.4f}, {found.upper:+.4f}]",
                    )
                )
        if len(classes) == 2:
            old_pred = np.asarray([classes[i] for i in old_scores.argmax(axis=1)], dtype=object)
            new_pred = np.asarray([classes[i] for i in new_scores.argmax(axis=1)], dtype=object)
            for attribute in challenger.sensitive:
                groups = np.asarray([None if v is None else str(v) for v in a[attribute]], object)
                side = {}
                for label, predicted in (("champion", old_pred), ("challenger", new_pred)):
                    side[label] = group_rates(
                        predicted, groups, positive=classes[1], labels=truth
                    ).to_dict()
                metrics["fairness"][attribute] = side
        return self._evidence.record(
            actor,
            challenger.subject,
            [
                Evidence(
                    id=uuid.uuid4().hex,
                    subject=challenger.subject,
                    check_id=COMPARISON_CHECK,
                    check_version="1",
                    status=EvidenceStatus.WARNING if findings else EvidenceStatus.PASSED,
                    params={"metrics": list(COMPARED_METRICS), "n_boot": 1000, "seed": 0},
                    inputs={
                        "champion": champion.ref,
                        "champion_artifact": champion.artifact,
                        "model_artifact": challenger.artifact,
                        "dataset": challenger.split["dataset"],
                        "rows_of": challenger.split["id"],
                        "answers_alert": answered.id if answered is not None else None,
                    },
                    metrics=metrics,
                    findings=tuple(findings),
                    artifacts={},
                    created_at="",
                    created_by="",
                    content_hash="",
                )
            ],
        )[0]

    def from_predictions(
        self,
        actor: Actor,
        endpoint: str,
        *,
        name: str,
        base: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Any:
        """Register the labelled predictions of ``endpoint`` (``since``/``until``) as a new
        version of dataset ``name``: the inputs as logged (PII columns still keyed hashes),
        the declared sensitive context attributes, and the feedback label as the target of
        the version that answered them — after the rows of dataset version ``base`` when
        given (its columns the model reads, its sensitive attributes and target: what the
        log can hold)."""
        import orjson
        import polars as pl

        require(actor, Permission.DATASET_WRITE, "register datasets")
        frame = self._predictions.read(actor, endpoint, since=since, until=until)
        frame = frame.filter(pl.col("label").is_not_null())
        if frame.height == 0:
            raise InvalidInput(
                f"no labelled prediction of {endpoint} in that period: attach labels first "
                "(`steward feedback`)"
            )
        models = sorted(set(frame.get_column("model").to_list()))
        version = self._models.get(actor, models[-1])
        if version.target is None:
            raise InvalidInput(f"{version.ref} records no target to name the labels by")
        rows: list[dict[str, Any]] = []
        for inputs, context, label in frame.select("inputs", "context", "label").iter_rows():
            row = dict(orjson.loads(inputs))
            attributes = orjson.loads(context)
            for attribute in version.sensitive:
                row[attribute] = attributes.get(attribute)
            row[version.target] = orjson.loads(label)
            rows.append(row)
        columns = [*version.features, *version.sensitive, version.target]
        logged = pl.DataFrame(
            {c: [r.get(c) for r in rows] for c in dict.fromkeys(columns)},
            infer_schema_length=None,
        )
        sensitive = list(version.sensitive)
        if base is None:
            return self._datasets.register(
                actor, logged, name=name, target=version.target, sensitive=sensitive
            )
        dataset, table = self._datasets.load_version(actor, base)
        earlier = pl.from_arrow(table)
        assert isinstance(earlier, pl.DataFrame)
        lacking = [c for c in logged.columns if c not in earlier.columns]
        if lacking:
            raise InvalidInput(
                f"{dataset.ref} lacks column(s) {', '.join(lacking)} the logged predictions hold"
            )
        earlier = earlier.select(logged.columns)
        logged = logged.select(
            pl.col(c).cast(earlier.schema[c], strict=False) for c in logged.columns
        )
        return self._datasets.register(
            actor,
            pl.concat([earlier, logged], how="vertical_relaxed"),
            name=name,
            target=version.target,
            sensitive=sensitive,
            missing=dataset.missing.mode,
        )
