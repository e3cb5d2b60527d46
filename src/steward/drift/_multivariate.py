"""Multivariate drift: how well a PCA of the reference reconstructs a window of inputs.

Per-input tests see each marginal distribution alone; they cannot see a change in how the
inputs move together (two inputs that were strongly correlated and no longer are, with each
one's distribution unchanged). This method, NannyML's "data reconstruction" drift, can:

1. every input is encoded as one number per row and standardised with the reference's mean
   and standard deviation (population, as scikit-learn's ``StandardScaler``; 1 when the
   reference column is constant). Numeric inputs are used as they are; a missing or
   non-finite value is imputed with the reference mean (0 once standardised). Categorical
   inputs are **frequency encoded**: a value becomes the share of reference rows that had it;
   missing is a value like any other (its share of the reference, 0 if it never was missing),
   and a category the reference never had becomes 0 — "never seen" is as rare as it gets.
   Frequency encoding keeps one dimension per input whatever the number of levels and puts
   common and rare values far apart; what it cannot see is a swap between two categories of
   about the same frequency (the per-input chi-square test does);
2. a PCA of the standardised reference (numpy: a QR of the rows block by block, then the SVD
   of its R, which has the same singular values and right singular vectors as the data
   itself, with the memory of one block) keeps the fewest components whose explained variance
   exceeds ``variance`` of the total — scikit-learn's rule for ``PCA(n_components=variance)``
   — and at most one fewer than the number of inputs, so that something is always left out;
3. a row's reconstruction error is the Euclidean distance, in standardised units, between the
   row and its projection on those components. Rows that follow the reference's correlations
   lie close to the subspace; a broken correlation pushes them off it.

The thresholds come from the reference itself. Each reference row's error is computed out of
fold: by a PCA with the same number of components fitted on the other nine of ten random
folds (a PCA reconstructs the rows it was fitted on better than new rows, so in-sample errors
would set the band too low and raise alarms on clean data). The rows are then dealt at random
(``seed``) into chunks of ``chunk_rows`` (the rows left over are not used for the
thresholds), and the band is the chunks' mean error ± 3 standard deviations (sample,
ddof = 1) of the chunk errors, the lower end floored at 0. A window drifts when its mean
error leaves the band on either side (below is drift too: the rows hug the subspace more than
the reference's did, e.g. when many values are suddenly missing and imputed). For a window
smaller than a chunk the band is widened by √(chunk_rows / rows), as its mean is that much
noisier; it is never narrowed for a larger one. The result's ``error_band`` (the window's
error ± 3 standard errors) shows how precise the window's error is.

The reference serialises to bytes without pickle, deterministically:

    b"STWMVREF" | header length (u64, little-endian) | header (UTF-8 JSON) | zero padding to
    a multiple of 8 | components (k × p), explained variance (p), chunk errors (chunks),
    float64 little-endian

Reading checks the layout and that the numbers are consistent (finite, orthonormal
components, the component count that ``variance`` selects from the explained variance) and
refuses anything else with ``InvalidInput``.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import polars as pl

from steward.drift._report import Status
from steward.drift._values import (
    Columns,
    Kind,
    category_labels,
    check_kinds,
    column_map,
    kind_of,
    numeric_array,
)
from steward.errors import InvalidInput

__all__ = [
    "CategoricalEncoding",
    "MultivariateDrift",
    "MultivariateReference",
    "NumericEncoding",
    "reconstruction_drift",
]

F64 = npt.NDArray[np.float64]

_MAGIC = b"STWMVREF"
_VERSION = 1
_LENGTH = struct.Struct("<Q")
_BLOCK = 1 << 16
"""Rows per block of the QR and of the error computation: bounds the temporaries."""
_FOLDS = 10
"""Folds of the reference for its out-of-fold errors (see ``_fit_pca``)."""
_SIGMAS = 3.0
_FLOOR = 1e-9
"""Least half-width of the band, in standardised units: data lying exactly on a subspace has
chunk errors that differ by rounding only, which must not read as drift."""


@dataclass(frozen=True, eq=False)
class NumericEncoding:
    """A numeric input: standardised as ``(x - mean) / scale``; ``missing`` reference values
    (missing or non-finite) were imputed with ``mean``. A current value is first clipped to
    the reference's range ``[low, high]``: one extreme row of a real table (a typo, a unit
    error) would otherwise move a window's *mean* error by orders of magnitude and raise an
    alarm on data of the same population, while a shift of many rows past the range still
    shows, at the range's edge."""

    name: str
    mean: float
    scale: float
    missing: int
    low: float = -math.inf
    high: float = math.inf

    kind: Kind = field(default="numeric", init=False)


@dataclass(frozen=True, eq=False)
class CategoricalEncoding:
    """A categorical input: a value becomes its share of the reference rows (``counts`` per
    label, ``missing`` for missing values; 0 for a label the reference lacks), then
    ``(share - mean) / scale``."""

    name: str
    counts: Mapping[str, int]
    missing: int
    mean: float
    scale: float

    kind: Kind = field(default="categorical", init=False)


Encoding = NumericEncoding | CategoricalEncoding


@dataclass(frozen=True)
class MultivariateDrift:
    """One window compared with a :class:`MultivariateReference`.

    ``error``: the window's mean reconstruction error (standardised units); drifted when it is
    below ``lower_threshold`` or above ``upper_threshold`` (the band for this window's size:
    :meth:`MultivariateReference.thresholds`). ``components`` of ``inputs`` axes are kept.
    ``reference_error``: the
    reference chunks' mean error (the middle of the band). ``sampling_error``: the standard
    error of a mean over this window's rows (reference per-row standard deviation /
    √rows); ``error_band``: ``error`` ± 3 of them. ``rows``: rows in the window, all used
    (missing values are imputed); ``missing_share``: share of the window's input values that
    were missing or non-finite (``missing_share_reference``: the same in the reference);
    ``unseen_share``: share of the window's categorical values the reference never had
    (``None`` without categorical inputs). ``not_enough_data``: fewer than ``min_rows`` rows;
    ``error``, the band and the shares are then ``None`` and ``reason`` says why. ``reason``
    also says which threshold a drifted window crossed."""

    status: Status
    method: str
    rows: int
    min_rows: int
    inputs: int
    components: int
    lower_threshold: float
    upper_threshold: float
    reference_error: float
    error: float | None = None
    sampling_error: float | None = None
    error_band: tuple[float, float] | None = None
    missing_share: float | None = None
    missing_share_reference: float = 0.0
    unseen_share: float | None = None
    drifted: bool = False
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "method": self.method,
            "rows": self.rows,
            "min_rows": self.min_rows,
            "inputs": self.inputs,
            "components": self.components,
            "error": self.error,
            "lower_threshold": self.lower_threshold,
            "upper_threshold": self.upper_threshold,
            "reference_error": self.reference_error,
            "sampling_error": self.sampling_error,
            "error_band": None if self.error_band is None else list(self.error_band),
            "missing_share": self.missing_share,
            "missing_share_reference": self.missing_share_reference,
            "unseen_share": self.unseen_share,
            "drifted": self.drifted,
            "reason": self.reason,
        }


@dataclass(frozen=True, eq=False)
class MultivariateReference:
    """What a window is compared with: the encoding of each input, the PCA and the
    thresholds. Build it with :meth:`build`; store it with :meth:`to_bytes` /
    :meth:`from_bytes`.

    ``components``: the kept principal axes, one per row (k × p, unit length, orthogonal, the
    largest absolute loading of each positive, as scikit-learn's ``svd_flip``);
    ``explained_variance``: the variance along every axis, kept or not (p values, largest
    first, ``s² / (rows - 1)`` as scikit-learn's); ``chunk_errors``: the mean error of each
    reference chunk (out-of-fold errors); ``error_std``: the standard deviation of the
    reference's out-of-fold per-row errors (ddof = 1)."""

    inputs: tuple[Encoding, ...]
    components: F64
    explained_variance: F64
    chunk_errors: F64
    error_std: float
    rows: int
    variance: float
    chunk_rows: int
    seed: int

    @property
    def explained_variance_ratio(self) -> F64:
        """Each axis' share of the total variance (p values)."""
        total = float(self.explained_variance.sum())
        return self.explained_variance / total

    @property
    def reference_error(self) -> float:
        """The mean of the chunk errors: the middle of the band."""
        return float(np.mean(self.chunk_errors))

    @property
    def chunk_std(self) -> float:
        """The standard deviation of the chunk errors (ddof = 1)."""
        return float(np.std(self.chunk_errors, ddof=1))

    @property
    def lower_threshold(self) -> float:
        """The lower end of the band for a window of ``chunk_rows`` rows or more."""
        return self.thresholds(self.chunk_rows)[0]

    @property
    def upper_threshold(self) -> float:
        """The upper end of the band for a window of ``chunk_rows`` rows or more."""
        return self.thresholds(self.chunk_rows)[1]

    @property
    def sampling_error(self) -> float:
        """The standard error of a chunk's mean error: ``error_std / √chunk_rows``."""
        return self.error_std / math.sqrt(self.chunk_rows)

    def thresholds(self, rows: int) -> tuple[float, float]:
        """``(lower, upper)``: the band a window of ``rows`` rows is judged by. The reference
        error ± 3 chunk standard deviations (the lower end floored at 0), widened by
        √(chunk_rows / rows) for a window smaller than a chunk, whose mean is that much
        noisier; never narrowed for a larger one, so a huge window is not flagged for a
        difference nobody would act on."""
        widen = math.sqrt(self.chunk_rows / rows) if 0 < rows < self.chunk_rows else 1.0
        half = max(_SIGMAS * self.chunk_std * widen, _FLOOR)
        middle = self.reference_error
        return max(0.0, middle - half), middle + half

    @classmethod
    def build(
        cls,
        reference_columns: Columns,
        kinds: Mapping[str, str] | None = None,
        *,
        variance: float = 0.65,
        chunk_rows: int = 500,
        seed: int = 0,
    ) -> MultivariateReference:
        """The reference of ``reference_columns`` (name → values, or a polars DataFrame;
        every column the same length). ``kinds`` gives a column's kind (``"numeric"`` or
        ``"categorical"``) instead of detecting it; ``variance``: the share of the variance
        the kept components must exceed (0 < variance < 1); ``chunk_rows``: rows per
        reference chunk, for the thresholds; ``seed``: how rows are dealt into folds and
        chunks (the same data and seed always give the same reference).

        ``InvalidInput`` (one line) when there are fewer than 2 columns, columns differ in
        length, a kind is unknown or names no column, a column has no usable value, every
        input is constant, a setting is out of range, or the reference has fewer than
        2 × ``chunk_rows`` rows (two chunks are the least that have a spread)."""
        variance = _fraction(variance)
        chunk_rows = _whole(chunk_rows, "chunk_rows", 1)
        seed = _whole(seed, "seed", 0)
        found = column_map(reference_columns, "the reference")
        if len(found) < 2:
            raise InvalidInput(
                f"multivariate drift needs at least 2 input columns, the reference has {len(found)}"
            )
        given = _kinds(kinds, found)
        first = _length(found)
        rows = first[1]
        if rows <= len(found):
            raise InvalidInput(
                f"the reference has {rows} rows for {len(found)} inputs; a PCA needs more "
                "rows than inputs"
            )
        if rows < 2 * chunk_rows:
            raise InvalidInput(
                f"the reference has {rows} rows; its thresholds need at least 2 chunks of "
                f"chunk_rows={chunk_rows} (give a smaller chunk_rows or a larger reference)"
            )
        inputs: list[Encoding] = []
        matrix = np.empty((rows, len(found)), dtype=np.float64, order="F")
        for j, (name, values) in enumerate(found.items()):
            kind = given.get(name) or kind_of(name, values)
            if kind is None:
                raise InvalidInput(f"reference column {name!r} has no usable value (all missing)")
            inputs.append(_fit(name, kind, values, matrix[:, j], first))
        explained, components, errors, order = _fit_pca(matrix, variance, seed)
        del matrix
        chunks = rows // chunk_rows
        chunk_errors = errors[order[: chunks * chunk_rows]].reshape(chunks, chunk_rows)
        return cls._frozen(
            inputs=tuple(inputs),
            components=components,
            explained_variance=explained,
            chunk_errors=chunk_errors.mean(axis=1),
            error_std=float(np.std(errors, ddof=1)),
            rows=rows,
            variance=variance,
            chunk_rows=chunk_rows,
            seed=seed,
        )

    @classmethod
    def _frozen(cls, **fields: Any) -> MultivariateReference:
        for name in ("components", "explained_variance", "chunk_errors"):
            array = np.ascontiguousarray(fields[name], dtype=np.float64)
            array.setflags(write=False)
            fields[name] = array
        return cls(**fields)

    def encode(self, columns: Columns) -> F64:
        """``columns`` (the reference's inputs, read as the kinds it recorded) encoded and
        standardised as the reference was: one row per row, one column per input, in the
        reference's order. ``InvalidInput`` for a missing or extra column, columns of
        different lengths or a value of the wrong kind."""
        return self._encode(columns)[0]

    def _encode(self, columns: Columns) -> tuple[F64, int, int, int]:
        """The matrix, with the counts of missing values, of unseen categorical values and of
        categorical values."""
        batch = column_map(columns, "the current window")
        names = [encoding.name for encoding in self.inputs]
        lacking = [name for name in names if name not in batch]
        extra = [name for name in batch if name not in names]
        if lacking or extra:
            parts = []
            if lacking:
                parts.append(f"lacks {', '.join(map(repr, lacking))}")
            if extra:
                parts.append(f"has {', '.join(map(repr, extra))} not in the reference")
            raise InvalidInput(f"the current window {' and '.join(parts)}")
        first = _length(batch)
        rows = first[1]
        matrix = np.empty((rows, len(names)), dtype=np.float64, order="F")
        missing = unseen = categorical = 0
        for j, encoding in enumerate(self.inputs):
            out = matrix[:, j]
            values = batch[encoding.name]
            if isinstance(encoding, NumericEncoding):
                array = numeric_array(encoding.name, values)
                _length_is(encoding.name, array.size, first)
                usable = np.isfinite(array)
                np.clip(array, encoding.low, encoding.high, out=out)
                out -= encoding.mean
                out /= encoding.scale
                out[~usable] = 0.0
                missing += rows - int(np.count_nonzero(usable))
            else:
                labels = _labels(encoding.name, values)
                _length_is(encoding.name, labels.len(), first)
                absent = labels.is_null().to_numpy()
                known = labels.is_in(list(encoding.counts)).fill_null(True).to_numpy()
                out[:] = _shares(encoding, labels, absent, self.rows)
                out -= encoding.mean
                out /= encoding.scale
                missing += int(np.count_nonzero(absent))
                unseen += rows - int(np.count_nonzero(known))
                categorical += rows
        return matrix, missing, unseen, categorical

    def to_bytes(self) -> bytes:
        """The reference as bytes (the layout in the module docstring); the same reference
        gives the same bytes."""
        entries: list[dict[str, Any]] = []
        for encoding in self.inputs:
            entry: dict[str, Any] = {
                "name": encoding.name,
                "kind": encoding.kind,
                "mean": encoding.mean,
                "scale": encoding.scale,
                "missing": encoding.missing,
            }
            if isinstance(encoding, NumericEncoding):
                entry["low"], entry["high"] = encoding.low, encoding.high
            if isinstance(encoding, CategoricalEncoding):
                entry["categories"] = list(encoding.counts)
                entry["counts"] = list(encoding.counts.values())
            entries.append(entry)
        header = json.dumps(
            {
                "format": _VERSION,
                "inputs": entries,
                "components": int(self.components.shape[0]),
                "chunks": int(self.chunk_errors.size),
                "error_std": self.error_std,
                "rows": self.rows,
                "variance": self.variance,
                "chunk_rows": self.chunk_rows,
                "seed": self.seed,
            },
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
            allow_nan=False,
        ).encode()
        start = len(_MAGIC) + _LENGTH.size + len(header)
        parts = [_MAGIC, _LENGTH.pack(len(header)), header, b"\0" * (-start % 8)]
        for array in (self.components, self.explained_variance, self.chunk_errors):
            parts.append(array.astype("<f8", copy=False).tobytes())
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> MultivariateReference:
        """The reference ``data`` holds (written by :meth:`to_bytes`); ``InvalidInput`` when
        the bytes are not a multivariate reference of this format or are inconsistent."""
        try:
            return cls._frozen(**_read(memoryview(data)))
        except (KeyError, TypeError, ValueError, AttributeError, struct.error) as error:
            raise InvalidInput(f"not a multivariate drift reference: {error}") from None


def reconstruction_drift(
    reference: MultivariateReference, current_columns: Columns, *, min_rows: int = 30
) -> MultivariateDrift:
    """Compare the window ``current_columns`` (name → values, or a polars DataFrame, with
    exactly the reference's inputs) with ``reference``: its mean reconstruction error against
    the reference's band. Fewer than ``min_rows`` rows is a result (``not_enough_data``), not
    an error; ``InvalidInput`` (one line) for a missing or extra column, columns of different
    lengths, a value of the wrong kind or ``min_rows`` below 1."""
    min_rows = _whole(min_rows, "min_rows", 1)
    matrix, missing, unseen, categorical = reference._encode(current_columns)
    rows, inputs = matrix.shape
    reference_missing = sum(encoding.missing for encoding in reference.inputs)
    lower, upper = reference.thresholds(rows)
    base = MultivariateDrift(
        status="ok",
        method="pca_reconstruction",
        rows=rows,
        min_rows=min_rows,
        inputs=inputs,
        components=int(reference.components.shape[0]),
        lower_threshold=lower,
        upper_threshold=upper,
        reference_error=reference.reference_error,
        missing_share_reference=reference_missing / (reference.rows * inputs),
    )
    if rows < min_rows:
        plural = "s" if rows != 1 else ""
        why = f"{rows} current row{plural}, fewer than min_rows={min_rows}"
        return replace(base, status="not_enough_data", reason=why)
    error = float(np.mean(_row_errors(matrix, reference.components)))
    standard_error = reference.error_std / math.sqrt(rows)
    reason: str | None = None
    if error > base.upper_threshold:
        reason = (
            f"mean reconstruction error {error:.4g} is above the upper threshold "
            f"{base.upper_threshold:.4g}"
        )
    elif error < base.lower_threshold:
        reason = (
            f"mean reconstruction error {error:.4g} is below the lower threshold "
            f"{base.lower_threshold:.4g}"
        )
    return replace(
        base,
        error=error,
        sampling_error=standard_error,
        error_band=(error - _SIGMAS * standard_error, error + _SIGMAS * standard_error),
        missing_share=missing / (rows * inputs),
        unseen_share=unseen / categorical if categorical else None,
        drifted=reason is not None,
        reason=reason,
    )


# -- building -------------------------------------------------------------------------------


def _fit(name: str, kind: Kind, values: Any, out: F64, first: tuple[str, int]) -> Encoding:
    """The encoding of a reference column, its standardised values written to ``out``."""
    if kind == "numeric":
        array = numeric_array(name, values)
        _length_is(name, array.size, first)
        usable = np.isfinite(array)
        kept = int(np.count_nonzero(usable))
        if kept == 0:
            raise InvalidInput(f"reference column {name!r} has no usable value")
        finite = array if kept == array.size else array[usable]
        mean = float(np.mean(finite))
        scale = _scale(float(np.std(finite)))
        np.subtract(array, mean, out=out)
        out /= scale
        out[~usable] = 0.0  # imputed with the mean
        return NumericEncoding(
            name=name,
            mean=mean,
            scale=scale,
            missing=array.size - kept,
            low=float(np.min(finite)),
            high=float(np.max(finite)),
        )
    labels = _labels(name, values)
    _length_is(name, labels.len(), first)
    absent = labels.is_null().to_numpy()
    counted = labels.drop_nulls().value_counts(name="count")
    counts = dict(
        sorted(
            zip(
                counted.get_column(labels.name).to_list(),
                counted.get_column("count").to_list(),
                strict=True,
            )
        )
    )
    if not counts:
        raise InvalidInput(f"reference column {name!r} has no usable value (all missing)")
    provisional = CategoricalEncoding(
        name=name,
        counts={str(k): int(v) for k, v in counts.items()},
        missing=int(np.count_nonzero(absent)),
        mean=0.0,
        scale=1.0,
    )
    shares = _shares(provisional, labels, absent, labels.len())
    mean = float(np.mean(shares))
    scale = _scale(float(np.std(shares)))
    np.subtract(shares, mean, out=out)
    out /= scale
    return replace(provisional, mean=mean, scale=scale)


def _scale(std: float) -> float:
    # A constant column has no spread to divide by; as scikit-learn's StandardScaler, it is
    # only centred (and any value other than the constant then counts in its own units).
    return std if std > 0.0 else 1.0


def _labels(name: str, values: Any) -> pl.Series:
    """A categorical column as text labels, null where missing (as ``category_counts``
    reads them)."""
    return category_labels(name, values)


def _shares(encoding: CategoricalEncoding, labels: pl.Series, absent: Any, rows: int) -> F64:
    """Each value's share of the ``rows`` reference rows (0 for a label it lacks)."""
    shares = (
        labels.replace_strict(
            list(encoding.counts),
            [count / rows for count in encoding.counts.values()],
            default=0.0,
            return_dtype=pl.Float64,
        )
        .to_numpy()
        .copy()
    )
    # replace_strict sends nulls to the default; missing has its own share.
    shares[absent] = encoding.missing / rows
    return cast(F64, shares)


def _r_factor(matrix: F64) -> F64:
    """The R of a QR of ``matrix``, block by block: ``RᵀR = MᵀM``, so R has the matrix's
    singular values and right singular vectors, with the memory of one block."""
    r: F64 | None = None
    for start in range(0, matrix.shape[0], _BLOCK):
        block = cast(F64, np.linalg.qr(matrix[start : start + _BLOCK], mode="r"))
        r = block if r is None else _stacked([r, block])
    assert r is not None  # never empty: the reference has more rows than inputs
    return r


def _stacked(factors: list[F64]) -> F64:
    """The R factor of the rows the ``factors`` stand for, together."""
    return cast(F64, np.linalg.qr(np.vstack(factors), mode="r"))


def _axes(r: F64) -> tuple[F64, F64]:
    """``(singular values, right singular vectors as rows)`` of the matrix ``r`` stands for,
    each axis' largest absolute loading positive (scikit-learn's ``svd_flip`` with
    ``u_based_decision=False``), so the same data always gives the same axes."""
    _, singular, vt = np.linalg.svd(r, full_matrices=False)
    signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
    return singular, vt * signs[:, None]


def _fit_pca(
    matrix: F64, variance: float, seed: int
) -> tuple[F64, F64, F64, npt.NDArray[np.int64]]:
    """``(explained variance of every axis, kept components, every row's out-of-fold
    error, the random order of the rows)`` of the standardised (so centred) reference.

    A PCA reconstructs the rows it was fitted on better than new rows of the same
    population: its last kept axes partly fit the sample's noise. Thresholds from those
    in-sample errors sit too low, and a clean window would raise alarms (with 25
    independent inputs and 10,000 reference rows, in 7 of 20 train/test splits). So each
    row's error is computed by a PCA fitted, with the same number of components, on the
    other folds of ``_FOLDS`` random folds; the R factors of the folds make each fit cost a
    QR of a few p × p blocks."""
    rows, width = matrix.shape
    order = np.random.default_rng(seed).permutation(rows)
    fold_of = np.empty(rows, dtype=np.int64)
    fold_of[order] = np.arange(rows) % _FOLDS
    members = [np.flatnonzero(fold_of == fold) for fold in range(min(_FOLDS, rows))]
    factors = [_r_factor(matrix[rows_of]) for rows_of in members]
    singular, vt = _axes(_stacked(factors))
    explained = np.zeros(width)
    explained[: singular.size] = singular**2 / (rows - 1)
    if not float(explained.sum()) > 0.0:
        raise InvalidInput("every reference input is constant: there is no variance to model")
    count = _components(explained, variance)
    errors = np.empty(rows)
    for fold, rows_of in enumerate(members):
        _, others = _axes(_stacked(factors[:fold] + factors[fold + 1 :]))
        errors[rows_of] = _row_errors(matrix[rows_of], others[:count])
    return explained, vt[:count].copy(), errors, order


def _components(explained: F64, variance: float) -> int:
    """The fewest axes whose cumulated share of the variance exceeds ``variance``
    (scikit-learn's ``searchsorted(..., side="right") + 1``), at most all but one."""
    ratio = np.cumsum(explained / explained.sum())
    count = int(np.searchsorted(ratio, variance, side="right")) + 1
    return max(1, min(count, explained.size - 1))


def _row_errors(matrix: F64, components: F64) -> F64:
    """Each row's distance to its projection on ``components``, block by block."""
    errors = np.empty(matrix.shape[0])
    for start in range(0, matrix.shape[0], _BLOCK):
        block = matrix[start : start + _BLOCK]
        residual = block - (block @ components.T) @ components
        errors[start : start + block.shape[0]] = np.sqrt(np.einsum("ij,ij->i", residual, residual))
    return errors


# -- checking -------------------------------------------------------------------------------


def _kinds(kinds: Mapping[str, str] | None, found: Mapping[str, Any]) -> dict[str, Kind]:
    return check_kinds(kinds, found)


def _length(columns: Mapping[str, Any]) -> tuple[str, int]:
    """The first column's name and length (the others are checked against it as read)."""
    name, first = next(iter(columns.items()))
    if isinstance(first, pl.Series):
        return name, int(first.len())
    if not isinstance(first, np.ndarray | list | tuple):
        raise InvalidInput(
            f"column {name!r}: values must be a numpy array, a list or a polars Series, "
            f"not {type(first).__name__}"
        )
    return name, len(first)


def _length_is(name: str, size: int, first: tuple[str, int]) -> None:
    if size != first[1]:
        raise InvalidInput(
            f"columns differ in length: {first[0]!r} has {first[1]} values, {name!r} has {size}"
        )


def _fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
        raise InvalidInput(f"variance must be a number between 0 and 1 (exclusive), not {value!r}")
    return float(value)


def _whole(value: object, what: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InvalidInput(f"{what} must be a whole number of at least {least}, not {value!r}")
    return value


def _read(data: memoryview) -> dict[str, Any]:
    if bytes(data[: len(_MAGIC)]) != _MAGIC:
        raise ValueError("wrong magic bytes")
    (length,) = _LENGTH.unpack_from(data, len(_MAGIC))
    start = len(_MAGIC) + _LENGTH.size
    if start + length > len(data):
        raise ValueError("the header is truncated")
    header = json.loads(bytes(data[start : start + length]).decode())
    if header.get("format") != _VERSION:
        raise ValueError(f"format {header.get('format')!r}, expected {_VERSION}")
    rows = _count(header["rows"], 2)
    inputs: list[Encoding] = []
    for entry in header["inputs"]:
        name = entry["name"]
        if not isinstance(name, str) or any(e.name == name for e in inputs):
            raise ValueError(f"bad or repeated input name {name!r}")
        mean, scale = _finite(entry["mean"]), _finite(entry["scale"])
        missing = _count(entry["missing"])
        if not scale > 0.0 or missing > rows:
            raise ValueError(f"input {name!r}: bad scale or count")
        if entry["kind"] == "numeric":
            if missing == rows:
                raise ValueError(f"input {name!r}: no usable reference value")
            low, high = _finite(entry["low"]), _finite(entry["high"])
            if not low <= high:
                raise ValueError(f"input {name!r}: bad range")
            inputs.append(
                NumericEncoding(
                    name=name, mean=mean, scale=scale, missing=missing, low=low, high=high
                )
            )
        elif entry["kind"] == "categorical":
            labels, numbers = entry["categories"], entry["counts"]
            if (
                not labels
                or len(labels) != len(numbers)
                or len(set(labels)) != len(labels)
                or not all(isinstance(label, str) for label in labels)
            ):
                raise ValueError(f"input {name!r}: inconsistent categories")
            counts = {label: _count(n, 1) for label, n in zip(labels, numbers, strict=True)}
            if sum(counts.values()) + missing != rows:
                raise ValueError(f"input {name!r}: inconsistent counts")
            inputs.append(
                CategoricalEncoding(
                    name=name, counts=counts, missing=missing, mean=mean, scale=scale
                )
            )
        else:
            raise ValueError(f"input {name!r}: unknown kind {entry['kind']!r}")
    width = len(inputs)
    if width < 2:
        raise ValueError("fewer than 2 inputs")
    count, chunks = _count(header["components"], 1), _count(header["chunks"], 2)
    offset = start + length
    offset += -offset % 8
    if offset + 8 * (count * width + width + chunks) != len(data):
        raise ValueError("the arrays do not have the sizes the header gives")

    def take(size: int) -> F64:
        nonlocal offset
        array = np.frombuffer(data, dtype="<f8", count=size, offset=offset)
        offset += 8 * size
        if not np.isfinite(array).all():
            raise ValueError("a stored number is not finite")
        return array.astype(np.float64, copy=False)

    components = take(count * width).reshape(count, width)
    explained, chunk_errors = take(width), take(chunks)
    variance = _finite(header["variance"])
    if not 0.0 < variance < 1.0:
        raise ValueError(f"variance {variance!r} out of range")
    if (explained < 0).any() or (np.diff(explained) > 0).any() or not explained.sum() > 0:
        raise ValueError("the explained variances are not non-negative and decreasing")
    if count != _components(explained, variance):
        raise ValueError("the component count does not follow from the explained variance")
    if not np.allclose(components @ components.T, np.eye(count), rtol=0, atol=1e-9):
        raise ValueError("the components are not orthonormal")
    error_std = _finite(header["error_std"])
    if (chunk_errors < 0).any() or error_std < 0:
        raise ValueError("a reconstruction error is negative")
    chunk_rows = _count(header["chunk_rows"], 1)
    if chunks != rows // chunk_rows:
        raise ValueError("the chunk count does not follow from rows and chunk_rows")
    return {
        "inputs": tuple(inputs),
        "components": components,
        "explained_variance": explained,
        "chunk_errors": chunk_errors,
        "error_std": error_std,
        "rows": rows,
        "variance": variance,
        "chunk_rows": chunk_rows,
        "seed": _count(header["seed"]),
    }


def _count(value: object, least: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"bad count {value!r}")
    return value


def _finite(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"bad number {value!r}")
    return float(value)
