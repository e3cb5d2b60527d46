"""Saving and loading fitted models without running arbitrary code on load.

scikit-learn pipelines are saved with skops, whose loader rebuilds objects only of types it
is told to trust. ``TRUSTED_TYPES`` is our reviewed list beyond skops' own defaults: exactly
what Steward's templates produce. A file naming any other type is refused before anything in
it is constructed. Pickle runs code from the file on load, so it is used only when the caller
says it trusts the file (and the services ledger that).
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from steward.errors import InvalidInput, Refused

__all__ = ["TRUSTED_TYPES", "dump_pickle", "dump_skops", "load_pickle", "load_skops"]

# Reviewed November 2026 against scikit-learn 1.9 and skops 0.16: skops does not trust these
# by default. None of them runs code of the file's choosing when rebuilt; the two tree types
# hold raw node arrays that a crafted file could make inconsistent (a crash at predict time,
# not code execution), which is why every load first checks the file's sha256 against the
# registry: only files registered by an identity with model:write get this far.
TRUSTED_TYPES: tuple[str, ...] = (
    # histogram gradient boosting keeps functools.partial(check_array, ...); skops checks the
    # wrapped function as a type of its own, so only the trusted check_array can be inside
    "functools.partial",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    "sklearn.utils.validation.check_array",
    # Steward's own first pipeline step (column selection and type coercion)
    "steward.ml._frame.InputFrame",
    # Steward's fairness-mitigated classifier: a base pipeline plus per-group rules held as
    # plain numbers and strings (no callables)
    "steward.ml._mitigation.GroupThresholdClassifier",
)


def dump_skops(estimator: Any) -> bytes:
    """The estimator as skops bytes; ``InvalidInput`` when skops cannot represent it."""
    import skops.io as sio

    try:
        return bytes(sio.dumps(estimator))
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(
            f"cannot save a {type(estimator).__name__} with skops ({exc}); pass the explicit "
            "pickle trust flag to store it as a pickle instead"
        ) from None


def load_skops(data: bytes, *, extra_trusted: tuple[str, ...] = ()) -> Any:
    """Rebuild an estimator from skops bytes, refusing any type outside the trusted list."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a damaged or foreign file: skops raises many kinds
        raise InvalidInput(f"not a readable skops file: {exc}") from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES) - set(extra_trusted))
    if refused:
        raise Refused(
            f"the model file carries type(s) outside Steward's trusted list: "
            f"{', '.join(refused)}; refusing to load it"
        )
    return sio.loads(data, trusted=list(untrusted))


def dump_pickle(estimator: Any) -> bytes:
    buffer = io.BytesIO()
    pickle.dump(estimator, buffer, protocol=5)
    return buffer.getvalue()


def load_pickle(data: bytes) -> Any:
    """Unpickle: runs whatever code the file names. Callers must hold an explicit trust flag."""
    return pickle.loads(data)  # noqa: S301 - the caller trusted this file explicitly
