"""What a comparison reports: per input its statistics and verdict, and the settings used.

A column is either ``"ok"`` (tested: every statistic present, ``drifted`` decided) or
``"not_enough_data"`` (too few usable current values to trust a test: statistics ``None``,
``drifted`` false and a ``reason``). The report keeps both apart, so an input that could
not be judged is never mistaken for one that passed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from steward.drift._correction import Correction
from steward.drift._values import Kind

__all__ = ["ColumnDrift", "DriftReport", "DriftSettings", "Method", "Status"]

Status = Literal["ok", "not_enough_data"]
Method = Literal["exact", "sketch"]


@dataclass(frozen=True)
class DriftSettings:
    """The decision rule of one comparison (see :func:`steward.drift.detect`)."""

    alpha: float
    correction: Correction
    numeric_threshold: float
    categorical_threshold: float
    min_rows: int
    method: Method = "exact"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ColumnDrift:
    """One input's comparison.

    ``test``: ``"ks_2samp"`` (numeric) or ``"chi2_contingency"`` (categorical), with its
    ``statistic``, ``p_value`` and ``p_value_method`` (``"exact"``/``"asymp"`` for KS,
    ``"chi2"``); ``adjusted_p_value`` after the multiple-testing correction; ``effect_size``
    named by ``effect`` (``"wasserstein_normalised"``: W1 / max(std(reference), 0.001), or
    ``"jensen_shannon"``); ``wasserstein`` (raw W1, numeric only); ``psi``;
    ``unseen_share`` (categorical only). ``rows``: values in the current batch; ``used``:
    those the statistics saw (finite, not missing). Shares of missing (NaN/None) and of
    non-finite (±inf, numeric) values are of each side's rows (``None`` for an empty batch).
    A numeric input compared by the sketch (``p_value_method`` ``"sketch"``) also carries
    ``statistic_upper`` (the exact KS statistic lies in ``[statistic, statistic_upper]``)
    and ``wasserstein_error`` (the exact W1 is within it of ``wasserstein``).
    """

    name: str
    kind: Kind
    status: Status
    test: str
    effect: str
    rows: int
    used: int
    missing_reference: float
    missing_current: float | None
    non_finite_reference: float
    non_finite_current: float | None
    statistic: float | None = None
    p_value: float | None = None
    p_value_method: str | None = None
    adjusted_p_value: float | None = None
    effect_size: float | None = None
    wasserstein: float | None = None
    psi: float | None = None
    unseen_share: float | None = None
    drifted: bool = False
    reason: str | None = None
    statistic_upper: float | None = None
    wasserstein_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    """Every input's :class:`ColumnDrift` (in the profile's order) and the settings used.

    ``drifted``: names of the drifted inputs; ``not_enough_data``: names that could not be
    tested; ``drifted_share``: drifted inputs over tested ones (``None`` when none could be
    tested)."""

    columns: tuple[ColumnDrift, ...]
    settings: DriftSettings

    @property
    def drifted(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.drifted)

    @property
    def not_enough_data(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.status == "not_enough_data")

    @property
    def tested(self) -> int:
        return sum(1 for c in self.columns if c.status == "ok")

    @property
    def drifted_share(self) -> float | None:
        tested = self.tested
        return len(self.drifted) / tested if tested else None

    def column(self, name: str) -> ColumnDrift:
        """The result for input ``name`` (``KeyError`` when the profile has no such input)."""
        for result in self.columns:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [c.to_dict() for c in self.columns],
            "drifted": list(self.drifted),
            "not_enough_data": list(self.not_enough_data),
            "tested": self.tested,
            "drifted_share": self.drifted_share,
            "settings": self.settings.to_dict(),
        }
