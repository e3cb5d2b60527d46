"""Concurrent requests for one version share a call of its model (``steward.serving._coalesce``):
tried on real scikit-learn estimators through ``LoadedVersion.predict``, each request's
answer against the estimator's own ``predict_proba`` of its rows alone; a request that makes
the model fail fails alone; the bound on rows per call holds; switched off, nothing is
shared."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from steward.serving._coalesce import Coalescer
from steward.serving._runtime import LoadedVersion

X, Y = make_classification(2000, 6, random_state=0)


def _loaded(estimator: Any, name: str = "m") -> LoadedVersion:
    version: Any = SimpleNamespace(ref=f"{name}@1", signature={"output": {"type": "class"}})
    return LoadedVersion(
        version=version,
        estimator=estimator,
        validator=None,
        pii=frozenset(),
        sensitive=frozenset(),
        stage="production",
        governance={},
        classes=tuple(estimator.classes_),
    )


@pytest.fixture(scope="module")
def trees() -> LoadedVersion:
    return _loaded(HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, Y))


@pytest.fixture(scope="module")
def linear() -> LoadedVersion:
    return _loaded(LogisticRegression().fit(X, Y), "linear")


def _requests(sizes: list[int], seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(size, X.shape[1])) * 2 for size in sizes]


def _concurrently(coalescer: Coalescer, loaded: LoadedVersion, frames: list[Any]) -> list[Any]:
    async def run() -> list[Any]:
        return list(
            await asyncio.gather(
                *(coalescer.predict("e", loaded, frame) for frame in frames),
                return_exceptions=True,
            )
        )

    return asyncio.run(run())


def _watched(max_rows: int = 2048) -> tuple[Coalescer, list[int]]:
    calls: list[int] = []
    return Coalescer(max_rows, observe=lambda _e, _m, rows: calls.append(rows)), calls


def test_concurrent_requests_share_one_call_and_each_gets_its_own_rows(
    trees: LoadedVersion, linear: LoadedVersion
) -> None:
    sizes = [1, 7, 100, 3, 1, 40]
    frames = _requests(sizes)
    for loaded, atol in ((trees, 0.0), (linear, 1e-15)):  # BLAS: the last bit may differ
        coalescer, calls = _watched()
        answers = _concurrently(coalescer, loaded, frames)
        assert calls == [sum(sizes)]
        for frame, (labels, proba) in zip(frames, answers, strict=True):
            own = loaded.estimator.predict_proba(frame)
            assert proba.shape == own.shape
            np.testing.assert_allclose(proba, own, rtol=0, atol=atol)
            assert labels.tolist() == loaded.estimator.classes_[own.argmax(axis=1)].tolist()
    exact = _concurrently(Coalescer(), trees, frames)
    assert all(  # trees: the same bits as a call of their own
        np.array_equal(proba, trees.estimator.predict_proba(frame))
        for frame, (_, proba) in zip(frames, exact, strict=True)
    )


def test_a_call_holds_at_most_max_rows_and_a_larger_request_goes_alone(
    trees: LoadedVersion,
) -> None:
    coalescer, calls = _watched(max_rows=50)
    frames = _requests([20, 20, 20, 20, 20, 60, 5])
    answers = _concurrently(coalescer, trees, frames)
    assert calls == [60, 40, 40, 25]  # the 60-row request at once; then 20+20, 20+20, 20+5
    for frame, (_, proba) in zip(frames, answers, strict=True):
        assert np.array_equal(proba, trees.estimator.predict_proba(frame))


def test_a_request_that_makes_the_model_fail_fails_alone(linear: LoadedVersion) -> None:
    frames = _requests([3, 2, 4])
    frames[1][0, 2] = np.nan  # LogisticRegression refuses NaN: the shared call raises
    coalescer, calls = _watched()
    answers = _concurrently(coalescer, linear, frames)
    assert isinstance(answers[1], ValueError) and "NaN" in str(answers[1])
    for at in (0, 2):
        np.testing.assert_allclose(
            answers[at][1], linear.estimator.predict_proba(frames[at]), rtol=0, atol=1e-15
        )
    assert calls == [3, 4]  # the failed calls are not counted


def test_versions_do_not_share_a_call_and_switched_off_nothing_is_shared(
    trees: LoadedVersion, linear: LoadedVersion
) -> None:
    frames = _requests([2, 3, 4])

    async def mixed(coalescer: Coalescer) -> list[Any]:
        return list(
            await asyncio.gather(
                coalescer.predict("e", trees, frames[0]),
                coalescer.predict("e", linear, frames[1]),
                coalescer.predict("e", trees, frames[2]),
                coalescer.predict("other", trees, frames[2]),
            )
        )

    coalescer, calls = _watched()
    answers = asyncio.run(mixed(coalescer))
    assert sorted(calls) == [3, 4, 6]  # trees@e: 2+4; linear: 3; trees@other: 4
    assert np.array_equal(answers[2][1], trees.estimator.predict_proba(frames[2]))
    np.testing.assert_allclose(
        answers[1][1], linear.estimator.predict_proba(frames[1]), rtol=0, atol=1e-15
    )
    off, alone = _watched(max_rows=0)
    _concurrently(off, trees, frames)
    assert alone == [2, 3, 4]


def test_a_request_gone_before_the_call_is_left_out(trees: LoadedVersion) -> None:
    frames = _requests([5, 6, 7])
    coalescer, calls = _watched()

    async def run() -> list[Any]:
        tasks = [asyncio.ensure_future(coalescer.predict("e", trees, f)) for f in frames]
        await asyncio.sleep(0)  # every request waits for the shared call
        tasks[1].cancel()  # its client went away
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    answers = asyncio.run(run())
    assert isinstance(answers[1], asyncio.CancelledError)
    assert calls == [12]
    assert np.array_equal(answers[2][1], trees.estimator.predict_proba(frames[2]))


def test_frames_stack_only_when_their_columns_and_dtypes_agree() -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    train = pd.DataFrame({"x": X[:, 0], "region": np.where(X[:, 1] > 0, "north", "south")})
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["region"]), remainder="passthrough"
        ),
        LogisticRegression(),
    ).fit(train, Y)
    loaded = _loaded(model, "frame")
    regions = pd.CategoricalDtype(["north", "south"])
    frames = [
        pd.DataFrame({"x": [0.5, -1.0], "region": pd.Series(["north", "south"], dtype=regions)}),
        pd.DataFrame({"x": [2.0], "region": pd.Series(["south"], dtype=regions)}),
        pd.DataFrame({"x": [1.5], "region": pd.Series(["east"], dtype="category")}),
    ]
    coalescer, calls = _watched()
    answers = _concurrently(coalescer, loaded, frames)
    assert calls == [3, 1]  # the third's categories differ: a call of its own
    for frame, (_, proba) in zip(frames, answers, strict=True):
        np.testing.assert_allclose(proba, model.predict_proba(frame), rtol=0, atol=1e-15)
