from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steward.ledger import canonical_bytes


def test_keys_are_sorted_and_there_is_no_whitespace() -> None:
    assert canonical_bytes({"b": 1, "a": [1, 2, {"d": None, "c": True}]}) == (
        b'{"a":[1,2,{"c":true,"d":null}],"b":1}'
    )


def test_text_is_utf8_not_escaped() -> None:
    assert canonical_bytes({"name": "Zoë ☃"}) == '{"name":"Zoë ☃"}'.encode()


def test_integers_are_exact_at_any_size() -> None:
    big = 2**80 + 1
    assert canonical_bytes(big) == str(big).encode()


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_round_trip_exactly(value: float) -> None:
    assert json.loads(canonical_bytes(value)) == value
    assert math.copysign(1.0, json.loads(canonical_bytes(value))) == math.copysign(1.0, value)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(JSON)
def test_encoding_is_a_fixed_point_of_decode_then_encode(value: object) -> None:
    once = canonical_bytes(value)
    assert canonical_bytes(json.loads(once)) == once


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (float("nan"), "no canonical JSON form"),
        ({"x": float("inf")}, "$.x"),
        ({1: "a"}, "is not a string"),
        ({"x": b"bytes"}, "bytes is not a JSON value"),
        ({"x": {1, 2}}, "set is not a JSON value"),
        ("\ud800", "not valid Unicode"),
    ],
)
def test_values_without_a_canonical_form_are_refused(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        canonical_bytes(value)
