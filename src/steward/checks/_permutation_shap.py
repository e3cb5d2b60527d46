"""Permutation SHAP values for a model seen only through its predictions, in whole batches.

The estimator is the antithetic permutation sampler of SHAP's ``PermutationExplainer``
(Štrumbelj and Kononenko's sampling, each order walked forward and then backward) with an
independent background: for one explained row and one order of the inputs, the inputs are
switched from the background's values to the row's one at a time along the order, then back
again along the same order; an input's value is the mean of the change it made on the way up
and on the way down. The model's output for a partly switched row is its mean over every
background row. One such pass adds up exactly: the values of a row sum to its output minus
the mean output over the background.

Unlike SHAP's explainer, which calls the model once or twice per explained row and compiles
numba kernels in every new process (9 to 18 seconds on the project's machine, more than the
explanation itself; docs/decisions/0029), this builds the partly switched rows of many
explained rows at once and sends them to the model in batches of about ``batch_rows`` rows.
``tests/test_permutation_shap.py`` checks the values against SHAP's explainer driven with the
same orders.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["antithetic_orders", "permutation_shap"]

Predict = Callable[[np.ndarray], np.ndarray]


def antithetic_orders(rows: int, width: int, seed: int) -> np.ndarray:
    """One random order of the ``width`` inputs per explained row (``rows × width``)."""
    rng = np.random.default_rng(seed)
    return rng.permuted(np.tile(np.arange(width), (rows, 1)), axis=1)


def permutation_shap(
    predict: Predict,
    rows: np.ndarray,
    background: np.ndarray,
    orders: np.ndarray,
    *,
    batch_rows: int = 65_536,
) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values of ``rows`` (``n × w``) against ``background`` (``b × w``), one antithetic
    pass along ``orders[i]`` for row ``i``; ``predict`` maps an ``m × w`` matrix to ``m``
    outputs (or ``m × k``). Returns the values (``n × w``, or ``n × w × k``) and the base
    value of each row (``n``, or ``n × k``): the mean output over the background."""
    n, width = rows.shape
    base = np.asarray(predict(background), dtype=np.float64).mean(axis=0)
    full = np.asarray(predict(rows), dtype=np.float64)
    tail = full.shape[1:]
    # forward[i, k]: the output with the first k inputs of row i's order switched (k = 0..w);
    # backward[i, k]: with all but those first k switched
    forward = np.empty((n, width + 1, *tail))
    backward = np.empty((n, width + 1, *tail))
    forward[:, 0] = backward[:, width] = base
    forward[:, width] = backward[:, 0] = full
    steps = width - 1  # partly switched states on each way
    if steps > 0:
        ranks = np.argsort(orders, axis=1)  # ranks[i, j]: where input j comes in row i's order
        cut = np.arange(1, width)
        chunk = max(1, batch_rows // (2 * steps * len(background)))
        for start in range(0, n, chunk):
            part = slice(start, min(n, start + chunk))
            switched = ranks[part, None, :] < cut[None, :, None]  # rows × steps × w
            masks = np.concatenate([switched, ~switched], axis=1)
            mixed = np.where(masks[:, :, None, :], rows[part, None, None, :], background)
            outputs = np.asarray(predict(mixed.reshape(-1, width)), dtype=np.float64)
            means = outputs.reshape(*mixed.shape[:3], *tail).mean(axis=2)
            forward[part, 1:width] = means[:, :steps]
            backward[part, 1:width] = means[:, steps:]
    up = np.diff(forward, axis=1)  # the change made by the k-th input of the order, going up
    down = -np.diff(backward, axis=1)  # and coming back down
    values = np.empty((n, width, *tail))
    positions = np.arange(n)[:, None]
    values[positions, orders] = (up + down) / 2
    return values, np.broadcast_to(base, (n, *tail)).copy()
