"""The Python SDK, as a data scientist in a notebook uses it."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

import steward
from steward.errors import AuthenticationError, InvalidInput
from steward.settings import Settings

# every SDK call of this module's tests runs embedded, then over STEWARD_URL
pytestmark = pytest.mark.both_modes


def test_a_frame_registers_and_loads_back_as_pandas_and_polars(sdk_env: Settings) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "a"], "label": [0, 1, 0]})
    version = steward.register_dataset(frame, name="toy", target="label")
    assert version.ref == "toy@1" and version.target == "label"
    again = steward.register_dataset(pl.from_pandas(frame), name="toy", target="label")
    assert again.ref == "toy@1"
    loaded = steward.load_dataset("toy@1")
    pd.testing.assert_frame_equal(loaded, frame, check_dtype=False)
    as_polars = steward.load_dataset("toy", kind="polars")
    assert as_polars.equals(pl.from_pandas(frame))


def test_the_sdk_obeys_the_same_identity_rules(
    sdk_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEWARD_TOKEN", "stw_000000000000_" + "A" * 43)
    with pytest.raises(AuthenticationError):
        steward.register_dataset(pd.DataFrame({"x": [1]}), name="toy")


def test_an_unknown_kind_is_refused(sdk_env: Settings) -> None:
    with pytest.raises(InvalidInput, match="unknown kind"):
        steward.load_dataset("toy", kind="excel")  # type: ignore[arg-type]
