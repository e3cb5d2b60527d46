"""The model server's request bodies and input validation: every body form to the same frame."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from steward.errors import InternalError, InvalidInput
from steward.ml._frame import InputFrame
from steward.serving._bodies import ScoringInput, parse_predict
from steward.serving._frames import assemble as _assemble
from steward.serving._frames import by_columns as _by_columns
from steward.serving._v2 import (
    V2Input,
    parse_v2_infer,
    v2_metadata,
    v2_output_names,
    v2_response,
)
from steward.serving._validate import Validator, to_frame

SIGNATURE: dict[str, Any] = {
    "inputs": [
        {"name": "income", "type": "float", "kind": "numeric", "categories": None},
        {"name": "kids", "type": "integer", "kind": "numeric", "categories": None},
        {"name": "owner", "type": "boolean", "kind": "numeric", "categories": None},
        {"name": "state", "type": "string", "kind": "categorical", "categories": ["CA", "MA"]},
        {"name": "email", "type": "string", "kind": "categorical", "categories": None},
    ],
    "output": {"type": "class", "task": "binary", "classes": ["no", "yes"], "probabilities": True},
}
NAMES = [entry["name"] for entry in SIGNATURE["inputs"]]
PII = ("email",)
ROWS: list[dict[str, Any]] = [
    {"income": 52.5, "kids": 2, "owner": True, "state": "MA", "email": "a@example.org"},
    {"income": None, "kids": 0, "owner": False, "state": None, "email": None},
    {"income": 17, "kids": None, "owner": None, "state": "CA", "email": "b@example.org"},
]
SECRET = "jane.doe.secret@example.org"


def validator(**options: Any) -> Validator:
    return Validator(SIGNATURE, pii=PII, max_rows=options.pop("max_rows", 100), **options)


def expected_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The frame as InputFrame takes it, built by hand."""

    def number(value: Any) -> float:
        return math.nan if value is None else float(value)

    def text(value: Any) -> Any:
        return math.nan if value is None else value

    frame = pd.DataFrame(
        {
            "income": np.array([number(r["income"]) for r in rows]),
            "kids": np.array([number(r["kids"]) for r in rows]),
            "owner": np.array([number(r["owner"]) for r in rows]),
            "state": pd.Series([text(r["state"]) for r in rows], dtype=object),
            "email": pd.Series([text(r["email"]) for r in rows], dtype=object),
        }
    )
    # object names, not pandas' string dtype: scikit-learn reads them on every predict
    frame.columns = pd.Index(list(frame.columns), dtype=object)
    return frame


def bodies(rows: list[dict[str, Any]]) -> dict[str, bytes]:
    """The same rows in every body form, columns in a shuffled order."""
    names = list(reversed(NAMES))
    datatypes = {"income": "FP64", "kids": "INT64", "owner": "BOOL", "state": "BYTES"}
    return {
        "instances": orjson.dumps({"instances": rows}),
        "instances_columns": orjson.dumps({"instances": {n: [r[n] for r in rows] for n in names}}),
        "inputs": orjson.dumps({"inputs": {n: [r[n] for r in rows] for n in names}}),
        "dataframe_split": orjson.dumps(
            {
                "dataframe_split": {
                    "columns": names,
                    "data": [[r[n] for n in names] for r in rows],
                    "index": list(range(len(rows))),
                }
            }
        ),
        "dataframe_records": orjson.dumps({"dataframe_records": rows}),
        "v2": orjson.dumps(
            {
                "inputs": [
                    {
                        "name": n,
                        "shape": [len(rows)],
                        "datatype": datatypes.get(n, "BYTES"),
                        "data": [r[n] for r in rows],
                    }
                    for n in names
                ]
            }
        ),
    }


def parse(form: str, body: bytes) -> ScoringInput | V2Input:
    return parse_v2_infer(body) if form == "v2" else parse_predict(body)


def refusal(body: bytes, *, v2: bool = False) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        parse_v2_infer(body) if v2 else parse_predict(body)
    assert "\n" not in raised.value.message
    return raised.value


def problems_of(data: ScoringInput | V2Input, **options: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        validator(**options).frame(data)
    error = raised.value
    assert "\n" not in error.message and error.http_status == 422
    return error


def codes(error: InvalidInput) -> list[tuple[str | None, str]]:
    return [(e["field"], e["problem"]) for e in error.details["errors"]]


# -- body forms ---------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["instances", "inputs", "dataframe_split", "dataframe_records"])
def test_every_predict_form_gives_the_same_columns(form: str) -> None:
    body = bodies(ROWS)[form]
    parsed = parse_predict(body)
    assert parsed.form == form and parsed.rows == 3
    assert parsed.context is None and parsed.key is None
    assert {n: parsed.columns[n] for n in NAMES} == {n: [r[n] for r in ROWS] for n in NAMES}


def test_instances_takes_mlflow_columns_and_one_row_of_scalars() -> None:
    as_columns = parse_predict(b'{"instances": {"a": [1, 2], "b": ["x", "y"]}}')
    assert as_columns.columns == {"a": [1, 2], "b": ["x", "y"]} and as_columns.rows == 2
    one_row = parse_predict(b'{"inputs": {"a": 1, "b": "x"}}')
    assert one_row.columns == {"a": [1], "b": ["x"]} and one_row.rows == 1
    rows = parse_predict(b'{"inputs": [{"a": 1}, {"a": 2}]}')
    assert rows.columns == {"a": [1, 2]} and rows.form == "inputs"


def test_a_field_a_row_lacks_is_a_missing_value_of_that_row() -> None:
    parsed = parse_predict(b'{"dataframe_records": [{"a": 1, "b": 2}, {"b": 3, "c": 4}]}')
    assert parsed.columns == {"a": [1, None], "b": [2, 3], "c": [None, 4]}


def test_an_empty_list_of_rows_parses_to_no_rows() -> None:
    assert parse_predict(b'{"instances": []}').rows == 0
    assert parse_predict(b'{"dataframe_split": {"columns": ["a"], "data": []}}').rows == 0


def test_params_are_ignored() -> None:
    parsed = parse_predict(b'{"instances": [{"a": 1}], "params": {"temperature": 0.5}}')
    assert parsed.columns == {"a": [1]}


def test_one_context_object_applies_to_every_row() -> None:
    parsed = parse_predict(b'{"instances": [{"a": 1}, {"a": 2}], "context": {"sex": "F"}}')
    assert parsed.context == [{"sex": "F"}, {"sex": "F"}]
    assert parsed.context[0] is not parsed.context[1]


def test_a_context_list_is_aligned_with_the_rows() -> None:
    parsed = parse_predict(
        b'{"instances": [{"a": 1}, {"a": 2}], "context": [{"id": 7}, {"id": null}], "key": "u1"}'
    )
    assert parsed.context == [{"id": 7}, {"id": None}] and parsed.key == "u1"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "the body is empty"),
        (b"{not json", "the body is not JSON"),
        (b'{"instances": [{"a": NaN}]}', "NaN and Infinity are not JSON"),
        (b'{"instances": [{"a": 1e999}]}', "numbers must be finite"),
        (b"[1, 2]", "must be a JSON object, not a list"),
        (b"{}", "the body needs one of instances, dataframe_split, dataframe_records, inputs"),
        (b'{"instances": [], "inputs": []}', "has instances and inputs: send only one"),
        (b'{"instances": [], "contxt": {}}', "unknown field(s) contxt"),
        (b'{"instances": 3}', "instances must be a list of row objects or an object of columns"),
        (b'{"inputs": [[1, 2], [3, 4]]}', "inputs: row 0 is a list, not an object"),
        (b'{"instances": {"a": [1], "b": [1, 2]}}', "the columns have different lengths"),
        (b'{"instances": {"a": [1], "b": 2}}', "give every column a list of values"),
        (b'{"dataframe_records": {"a": [1]}}', "dataframe_records must be a list"),
        (b'{"dataframe_split": [[1]]}', "dataframe_split must be an object"),
        (b'{"dataframe_split": {"data": [[1]]}}', "dataframe_split needs columns"),
        (b'{"dataframe_split": {"columns": ["a"]}}', "dataframe_split needs data"),
        (b'{"dataframe_split": {"columns": ["a"], "data": [], "dtype": 1}}', "unknown field"),
        (b'{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}', "row 0 of data"),
        (b'{"dataframe_split": {"columns": ["a", "a"], "data": []}}', "names column(s) a more"),
        (b'{"dataframe_split": {"columns": ["a"], "data": [[1]], "index": [0, 1]}}', "index"),
        (b'{"instances": [], "params": []}', "params must be an object"),
        (b'{"instances": [{"a": 1}], "context": [{}, {}]}', "context has 2 entries for 1 rows"),
        (b'{"instances": [{"a": 1}], "context": "x"}', "context must be an object"),
        (b'{"instances": [{"a": 1}], "context": [3]}', "context: entry 0 is a number"),
        (b'{"instances": [{"a": 1}], "key": ["a"]}', "key must be one non-empty string"),
        (b'{"instances": [{"a": 1}], "key": ""}', "key must be one non-empty string"),
    ],
)
def test_a_malformed_predict_body_is_refused_in_one_line(body: bytes, fragment: str) -> None:
    assert fragment in refusal(body).message


def test_body_errors_never_quote_values() -> None:
    body = orjson.dumps({"instances": [{"a": 1}], "context": {"email": {"v": SECRET}}})
    error = refusal(body)
    assert "email" in error.message and SECRET not in orjson.dumps(error.to_dict()).decode()


# -- the Open Inference Protocol ----------------------------------------------------------


def test_v2_infer_reads_one_tensor_per_column() -> None:
    body = {
        "id": "req-1",
        "parameters": {"context": {"sex": "F"}, "key": "user-9", "content_type": "pd"},
        "inputs": [
            {"name": "a", "shape": [2], "datatype": "FP32", "data": [1.5, 2]},
            {"name": "b", "shape": [2, 1], "datatype": "BYTES", "data": [["x"], ["y"]]},
            {"name": "c", "shape": [2, 1], "datatype": "BOOL", "data": [True, None]},
            {"name": "d", "shape": [2], "datatype": "UINT8", "data": [0, 255], "parameters": {}},
        ],
        "outputs": [{"name": "predict_proba"}],
    }
    parsed = parse_v2_infer(orjson.dumps(body))
    assert parsed.columns == {"a": [1.5, 2], "b": ["x", "y"], "c": [True, None], "d": [0, 255]}
    assert parsed.rows == 2 and parsed.id == "req-1" and parsed.key == "user-9"
    assert parsed.context == [{"sex": "F"}, {"sex": "F"}]
    assert parsed.outputs == ("predict_proba",)
    assert parsed.datatypes == {"a": "FP32", "b": "BYTES", "c": "BOOL", "d": "UINT8"}


@pytest.mark.parametrize(
    ("datatype", "data"),
    [
        ("FP64", ["12.5"]),
        ("FP32", [True]),
        ("INT64", [1.5]),
        ("INT8", [128]),
        ("UINT8", [-1]),
        ("UINT64", [-1, 2**63]),
        ("INT64", [2**63]),
        ("BOOL", [1]),
        ("BYTES", [7]),
    ],
)
def test_v2_data_must_match_the_datatype(datatype: str, data: list[Any]) -> None:
    tensor = {"name": "a", "shape": [len(data)], "datatype": datatype, "data": data}
    error = refusal(orjson.dumps({"inputs": [tensor]}), v2=True)
    assert codes(error) == [("a", "wrong_type")]
    assert datatype in error.message and error.details["errors"][0]["rows"] == [0]


def test_v2_datatype_problems_name_every_bad_tensor() -> None:
    tensors = [
        {"name": "a", "shape": [2], "datatype": "FP64", "data": [1.0, "x"]},
        {"name": "b", "shape": [2], "datatype": "INT32", "data": [1, 2]},
        {"name": "c", "shape": [2], "datatype": "BYTES", "data": [1, 2]},
    ]
    error = refusal(orjson.dumps({"inputs": tensors}), v2=True)
    assert codes(error) == [("a", "wrong_type"), ("c", "wrong_type")]
    assert error.details["errors"][0]["rows"] == [1] and error.message.startswith("2 input")


def test_v2_null_is_a_missing_value_of_every_datatype() -> None:
    types = ["BOOL", "INT16", "FP16", "BYTES"]
    tensors = [{"name": t, "shape": [1], "datatype": t, "data": [None]} for t in types]
    assert parse_v2_infer(orjson.dumps({"inputs": tensors})).columns == {t: [None] for t in types}


def test_v2_non_finite_strings_are_refused_by_the_validator() -> None:
    rows = [dict(ROWS[0])]
    document = orjson.loads(bodies(rows)["v2"])
    for tensor in document["inputs"]:
        if tensor["name"] == "income":
            tensor["data"] = ["-Infinity"]
    parsed = parse_v2_infer(orjson.dumps(document))
    assert parsed.columns["income"] == [-math.inf]
    assert codes(problems_of(parsed)) == [("income", "not_finite")]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"inputs": []}, "inputs must be a non-empty list"),
        (
            {"inputs": [{"name": "a", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]},
            "shape",
        ),
        ({"inputs": [{"name": "a", "shape": [2], "datatype": "FP64", "data": [1]}]}, "1 values"),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": "FLOAT", "data": [1]}]}, "datatype"),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": 1}]}, "data must"),
        ({"inputs": [{"shape": [1], "datatype": "FP64", "data": [1]}]}, "inputs[0] needs a name"),
        (
            {"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1], "x": 1}]},
            "unknown field(s) x",
        ),
        (
            {
                "inputs": [
                    {
                        "name": "a",
                        "shape": [1],
                        "datatype": "FP64",
                        "parameters": {"binary_data_size": 8},
                        "data": [],
                    }
                ]
            },
            "binary tensor data are not supported",
        ),
        (
            {
                "inputs": [
                    {"name": "a", "shape": [1], "datatype": "FP64", "data": [1]},
                    {"name": "b", "shape": [2], "datatype": "FP64", "data": [1, 2]},
                ]
            },
            "different numbers of rows: a has 1, b has 2",
        ),
        (
            {
                "inputs": [
                    {"name": "a", "shape": [1], "datatype": "FP64", "data": [1]},
                    {"name": "a", "shape": [1], "datatype": "FP64", "data": [1]},
                ]
            },
            "name tensor a twice",
        ),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]}], "id": 3}, "id"),
        ({"inputs": [], "model": "m"}, "unknown field(s) model"),
        (
            {
                "inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]}],
                "outputs": ["p"],
            },
            "outputs must be a list of objects",
        ),
        (
            {
                "inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]}],
                "parameters": {"context": [{}, {}]},
            },
            "parameters.context has 2 entries for 1 rows",
        ),
    ],
)
def test_a_malformed_v2_body_is_refused_in_one_line(body: dict[str, Any], fragment: str) -> None:
    assert fragment in refusal(orjson.dumps(body), v2=True).message


def test_v2_response_of_a_classifier() -> None:
    response = v2_response(
        model_name="loans",
        model_version=3,
        request_id="req-1",
        labels=np.array(["no", "yes"], dtype=object),
        probabilities=np.array([[0.75, 0.25], [0.125, 0.875]]),
        classes=np.array(["no", "yes"], dtype=object),
        parameters={"request_ids": ["r1", "r2"]},
    )
    assert response == {
        "model_name": "loans",
        "model_version": "3",
        "id": "req-1",
        "parameters": {"request_ids": ["r1", "r2"]},
        "outputs": [
            {"name": "predict", "datatype": "BYTES", "shape": [2], "data": ["no", "yes"]},
            {
                "name": "predict_proba",
                "datatype": "FP64",
                "shape": [2, 2],
                "data": [0.75, 0.25, 0.125, 0.875],
                "parameters": {"classes": ["no", "yes"]},
            },
        ],
    }
    orjson.dumps(response)  # plain JSON values only


@pytest.mark.parametrize(
    ("labels", "datatype", "data"),
    [
        (np.array([0, 1, 1]), "INT64", [0, 1, 1]),
        (np.array([True, False, True]), "BOOL", [True, False, True]),
        (np.array([1, 2, 3], dtype=object), "INT64", [1, 2, 3]),
        (np.array(["a", "b", "c"]), "BYTES", ["a", "b", "c"]),
        (np.array([0.5, 1.5, 2.5]), "FP64", [0.5, 1.5, 2.5]),
    ],
)
def test_v2_predict_datatype_follows_the_labels(
    labels: np.ndarray, datatype: str, data: list[Any]
) -> None:
    response = v2_response(model_name="m", model_version="1", request_id="r", labels=labels)
    [output] = response["outputs"]
    assert (output["datatype"], output["shape"], output["data"]) == (datatype, [3], data)
    assert "parameters" not in response


def test_v2_response_keeps_only_the_outputs_asked_for() -> None:
    proba = np.array([[0.5, 0.5]])
    response = v2_response(
        model_name="m",
        model_version="1",
        request_id="r",
        labels=np.array([1]),
        probabilities=proba,
        classes=[0, 1],
        requested=["predict_proba"],
    )
    assert [o["name"] for o in response["outputs"]] == ["predict_proba"]
    with pytest.raises(InvalidInput, match="no output explain: it gives predict"):
        v2_response(
            model_name="m", model_version="1", request_id="r", labels=np.array([1.0]),
            requested=["explain"],
        )  # fmt: skip
    with pytest.raises(InternalError):
        v2_response(
            model_name="m", model_version="1", request_id="r", labels=np.array([1, 0]),
            probabilities=proba,
        )  # fmt: skip


def test_v2_metadata_describes_inputs_outputs_and_governance() -> None:
    governance = {"version": "loans@3", "stage": "production", "gates": {"fairness": "pass"}}
    metadata = v2_metadata("loans", 3, SIGNATURE, governance)
    assert metadata == {
        "name": "loans",
        "versions": ["3"],
        "platform": "steward",
        "inputs": [
            {"name": "income", "datatype": "FP64", "shape": [-1]},
            {"name": "kids", "datatype": "INT64", "shape": [-1]},
            {"name": "owner", "datatype": "BOOL", "shape": [-1]},
            {"name": "state", "datatype": "BYTES", "shape": [-1]},
            {"name": "email", "datatype": "BYTES", "shape": [-1]},
        ],
        "outputs": [
            {"name": "predict", "datatype": "BYTES", "shape": [-1]},
            {
                "name": "predict_proba",
                "datatype": "FP64",
                "shape": [-1, 2],
                "parameters": {"classes": ["no", "yes"]},
            },
        ],
        "parameters": {"governance": governance},
    }
    regression = {**SIGNATURE, "output": {"type": "value", "task": "regression", "target": "y"}}
    assert v2_output_names(regression) == ("predict",)
    assert v2_metadata("r", "1", regression, {})["outputs"] == [
        {"name": "predict", "datatype": "FP64", "shape": [-1]}
    ]


# -- validation ---------------------------------------------------------------------------


def test_the_frame_is_typed_as_input_frame_expects_in_signature_order() -> None:
    frame = validator().frame(parse_predict(bodies(ROWS)["dataframe_split"]))
    assert list(frame.columns) == NAMES
    assert [str(t) for t in frame.dtypes] == ["float64"] * 3 + ["object"] * 2
    assert frame["owner"].tolist()[:2] == [1.0, 0.0] and math.isnan(frame["owner"][2])
    assert frame["state"][1] is not None and math.isnan(frame["state"][1])
    pd.testing.assert_frame_equal(frame, expected_frame(ROWS))
    pd.testing.assert_frame_equal(to_frame(parse_predict(bodies(ROWS)["instances"]), SIGNATURE,
                                           pii=PII, max_rows=10), frame)  # fmt: skip


def test_a_missing_field_is_named() -> None:
    error = problems_of(parse_predict(b'{"instances": [{"income": 1, "kids": 2, "owner": true}]}'))
    assert codes(error) == [("state", "missing"), ("email", "missing")]
    assert error.message.startswith("2 input problems: state: missing field")


def test_an_unknown_field_is_named() -> None:
    row = {**ROWS[0], "zip": "02134"}
    error = problems_of(parse_predict(orjson.dumps({"instances": [row]})))
    assert codes(error) == [("zip", "unknown")] and "02134" not in error.message


def test_a_number_given_as_a_string_is_a_wrong_type() -> None:
    rows = [dict(ROWS[0]), {**ROWS[0], "income": "12.5"}, {**ROWS[0], "income": "13"}]
    error = problems_of(parse_predict(orjson.dumps({"instances": rows})))
    assert codes(error) == [("income", "wrong_type")]
    assert error.details["errors"][0]["rows"] == [1, 2]
    assert error.message == (
        '1 input problem: income: wrong type (expected a number, got a string "12.5"; rows 1, 2)'
    )


def test_a_non_finite_number_is_refused() -> None:
    error = problems_of(parse_predict(orjson.dumps({"instances": [{**ROWS[0], "kids": "NaN"}]})))
    assert codes(error) == [("kids", "not_finite")]
    by_hand = ScoringInput(
        {**{n: [ROWS[0][n]] for n in NAMES}, "income": [math.inf]}, 1, None, None, "x"
    )
    assert codes(problems_of(by_hand)) == [("income", "not_finite")]
    huge = ScoringInput({**{n: [ROWS[0][n]] for n in NAMES}, "kids": [10**400]}, 1, None, None, "x")
    assert codes(problems_of(huge)) == [("kids", "not_finite")]


def test_an_unseen_category_is_refused_only_when_asked() -> None:
    data = parse_predict(orjson.dumps({"instances": [ROWS[0], {**ROWS[0], "state": "TX"}]}))
    assert validator().frame(data)["state"].tolist() == ["MA", "TX"]
    error = problems_of(data, unseen_categories="refuse")
    assert codes(error) == [("state", "unseen_category")]
    assert error.details["errors"][0]["rows"] == [1] and '"TX"' in error.message


def test_too_many_rows_are_refused() -> None:
    error = problems_of(parse_predict(bodies(ROWS)["instances"]), max_rows=2)
    assert codes(error) == [(None, "too_many_rows")] and "at most 2" in error.message


def test_no_rows_are_refused() -> None:
    error = problems_of(parse_predict(b'{"instances": []}'))
    assert codes(error) == [(None, "empty")]


def test_every_bad_field_is_named_at_once() -> None:
    row = {"income": "x", "kids": True, "owner": 2, "state": 5, "zip": 1}
    error = problems_of(parse_predict(orjson.dumps({"instances": [row]})))
    assert codes(error) == [
        ("income", "wrong_type"),
        ("kids", "wrong_type"),
        ("owner", "wrong_type"),
        ("state", "wrong_type"),
        ("email", "missing"),
        ("zip", "unknown"),
    ]
    assert error.message.startswith("6 input problems: income: wrong type")
    assert all(e["message"].startswith(e["field"]) for e in error.details["errors"])


def test_a_long_summary_is_cut_and_the_details_keep_everything() -> None:
    row = {**ROWS[0], **{f"extra_{i:02d}_{'x' * 30}": 1 for i in range(30)}}
    error = problems_of(parse_predict(orjson.dumps({"instances": [row]})))
    assert len(error.details["errors"]) == 30
    assert len(error.message) < 500 and error.message.endswith("more (see details)")


def test_a_quoted_value_is_shortened() -> None:
    error = problems_of(
        parse_predict(orjson.dumps({"instances": [{**ROWS[0], "income": "9" * 100}]}))
    )
    message = error.details["errors"][0]["message"]
    assert "9" * 38 in message and "9" * 40 not in message and "…" in message


@pytest.mark.parametrize(
    "value",
    [SECRET, 12345, [SECRET], {"v": SECRET}, True],
    ids=["unseen", "number", "list", "obj", "bool"],
)
def test_a_pii_value_never_appears_in_the_error(value: Any) -> None:
    signature = {
        **SIGNATURE,
        "inputs": [
            *SIGNATURE["inputs"][:4],
            {"name": "email", "type": "string", "kind": "categorical", "categories": ["a@b.org"]},
        ],
    }
    data = parse_predict(orjson.dumps({"instances": [{**ROWS[0], "email": value}]}))
    with pytest.raises(InvalidInput) as raised:
        Validator(signature, pii=PII, max_rows=10, unseen_categories="refuse").frame(data)
    error = raised.value
    assert [e["field"] for e in error.details["errors"]] == ["email"]
    serialised = orjson.dumps(error.to_dict()).decode()
    assert SECRET not in serialised and "12345" not in serialised


def test_a_whole_number_is_taken_for_a_training_category_it_spells() -> None:
    signature = {
        "inputs": [
            {"name": "grade", "type": "string", "kind": "categorical", "categories": ["1", "2"]}
        ]
    }
    check = Validator(signature, pii=(), max_rows=10)
    data = parse_predict(b'{"instances": [{"grade": 2}, {"grade": "3"}]}')
    assert check.frame(data)["grade"].tolist() == ["2", "3"]
    error = problems_of_signature(signature, b'{"instances": [{"grade": 3}, {"grade": 1.0}]}')
    assert codes(error) == [("grade", "wrong_type")]
    assert error.details["errors"][0]["rows"] == [0, 1]


def problems_of_signature(signature: dict[str, Any], body: bytes) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        Validator(signature, pii=(), max_rows=10).frame(parse_predict(body))
    return raised.value


def test_typed_categoricals_spell_values_as_training_did() -> None:
    signature = {
        "inputs": [
            {"name": "code", "type": "integer", "kind": "categorical", "categories": None},
            {"name": "rate", "type": "float", "kind": "categorical", "categories": None},
            {
                "name": "flag",
                "type": "boolean",
                "kind": "categorical",
                "categories": ["false", "true"],
            },
            {"name": "plain", "type": "boolean", "kind": "categorical", "categories": None},
        ]
    }
    body = b'{"instances": [{"code": 3, "rate": 2, "flag": true, "plain": false},' \
        b'{"code": 4.0, "rate": 0.5, "flag": "false", "plain": null}]}'  # fmt: skip
    frame = Validator(signature, pii=(), max_rows=10).frame(parse_predict(body))
    assert frame["code"].tolist() == ["3", "4"] and frame["rate"].tolist() == ["2.0", "0.5"]
    assert frame["flag"].tolist() == ["true", "false"]
    assert frame["plain"][0] == "False" and math.isnan(frame["plain"][1])
    error = problems_of_signature(signature, b'{"instances": [{"code": 3.5, "rate": true, '
                                  b'"flag": 1, "plain": []}]}')  # fmt: skip
    assert [problem for _, problem in codes(error)] == ["wrong_type"] * 4


def test_a_boolean_input_takes_true_false_and_zero_one() -> None:
    data = ScoringInput(
        {**{n: [ROWS[0][n]] * 3 for n in NAMES}, "owner": [1, 0.0, False]}, 3, None, None, "x"
    )
    assert validator().frame(data)["owner"].tolist() == [1.0, 0.0, 0.0]


def test_an_untyped_input_takes_any_scalar() -> None:
    signature = {
        "inputs": [
            {"name": "a", "type": None, "kind": None, "categories": None},
            {"name": "b", "type": None, "kind": None, "categories": None},
            {"name": "c", "type": None, "kind": None, "categories": None},
        ]
    }
    check = Validator(signature, pii=(), max_rows=10)
    body = b'{"instances": [{"a": 1, "b": "x", "c": true}, {"a": null, "b": 2, "c": 0}]}'
    frame = check.frame(parse_predict(body))
    assert frame["a"].dtype == np.float64 and frame["b"].dtype == object
    assert frame["b"].tolist() == ["x", 2.0] and frame["c"].tolist() == [1.0, 0.0]
    error = problems_of_signature(signature, b'{"instances": [{"a": [1], "b": {}, "c": "NaN"}]}')
    assert codes(error) == [("a", "wrong_type"), ("b", "wrong_type")]


def test_a_malformed_signature_is_an_internal_error() -> None:
    with pytest.raises(InternalError):
        Validator({"inputs": []}, pii=(), max_rows=10)
    with pytest.raises(InternalError):
        Validator({"inputs": [{"name": "a"}, {"name": "a"}]}, pii=(), max_rows=10)


def test_misaligned_columns_are_an_internal_error() -> None:
    data = ScoringInput({**{n: [ROWS[0][n]] for n in NAMES}, "kids": [1, 2]}, 1, None, None, "x")
    with pytest.raises(InternalError):
        validator().frame(data)


def test_the_frame_without_the_blocks_api_is_the_same() -> None:
    floats = [[1.0, math.nan], [0.0, 1.0]]
    texts = [["a", math.nan]]
    columns = pd.Index(["x", "s", "y"])
    args = (np.array([2, 0]), np.array(texts, dtype=object), np.array([1]))
    fast = _assemble(floats, args[0], texts, args[2], pd.RangeIndex(2), columns)
    slow = _by_columns(np.array(floats), args[0], args[1], args[2], pd.RangeIndex(2), columns)
    pd.testing.assert_frame_equal(fast, slow)
    assert list(fast.columns) == ["x", "s", "y"] and fast["x"].tolist()[0] == 0.0


# -- every form, the same frame, the same predictions ------------------------------------


@pytest.fixture(scope="module")
def model() -> Pipeline:
    rng = np.random.default_rng(0)
    n = 60
    train = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "kids": rng.integers(0, 4, n).astype(float),
            "owner": rng.integers(0, 2, n).astype(float),
            "state": pd.Series(rng.choice(["CA", "MA"], n), dtype=object),
            "email": pd.Series([f"u{i}@example.org" for i in range(n)], dtype=object),
        }
    )
    labels = np.where(train["income"] + 5 * train["owner"] > 52, "yes", "no")
    numeric, categorical = ("income", "kids", "owner"), ("state",)
    pipeline = Pipeline(
        [
            ("frame", InputFrame(numeric=numeric, categorical=categorical)),
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("numbers", SimpleImputer(strategy="median"), list(numeric)),
                        (
                            "categories",
                            Pipeline(
                                [
                                    ("impute", SimpleImputer(strategy="most_frequent")),
                                    ("encode", OneHotEncoder(handle_unknown="ignore")),
                                ]
                            ),
                            list(categorical),
                        ),
                    ]
                ),
            ),
            ("model", LogisticRegression(max_iter=1000)),
        ]
    )
    return pipeline.fit(train, labels)


def assert_every_form_gives_the_same_frame(
    rows: list[dict[str, Any]], model: Pipeline, *, predict_every: bool = True
) -> None:
    expected = expected_frame(rows)
    check = validator()
    for form, body in bodies(rows).items():
        frame = check.frame(parse(form, body))
        pd.testing.assert_frame_equal(frame, expected, obj=form)
        if predict_every or form == "v2":
            proba = model.predict_proba(frame)
            np.testing.assert_array_equal(proba, model.predict_proba(expected))


def test_every_form_gives_the_same_frame_and_predictions(model: Pipeline) -> None:
    assert_every_form_gives_the_same_frame(ROWS, model)
    assert_every_form_gives_the_same_frame(ROWS[:1], model)


_finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
_row = st.fixed_dictionaries(
    {
        "income": st.none() | _finite | st.integers(-1000, 1000),
        "kids": st.none() | st.integers(0, 10),
        "owner": st.none() | st.booleans(),
        "state": st.none() | st.sampled_from(["CA", "MA", "TX"]),
        "email": st.none() | st.text(st.characters(codec="utf-8"), max_size=12),
    }
)


@settings(max_examples=20, deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=6))
def test_any_valid_rows_give_the_same_frame_in_every_form(
    rows: list[dict[str, Any]], model: Pipeline
) -> None:
    # the frames are equal, so one form's predictions stand for all (InputFrame is slow)
    assert_every_form_gives_the_same_frame(rows, model, predict_every=False)


# -- the array of a numeric signature (no pandas on the hot path) -------------------------

NUMERIC: dict[str, Any] = {
    "inputs": [  # a flag before a number: the array keeps the signature's order
        {"name": "owner", "type": "boolean", "kind": "numeric", "categories": None},
        {"name": "income", "type": "float", "kind": "numeric", "categories": None},
        {"name": "kids", "type": "integer", "kind": "numeric", "categories": None},
    ],
    "output": SIGNATURE["output"],
}
_numeric_row = st.fixed_dictionaries(
    {
        "owner": st.none() | st.booleans(),
        "income": st.none() | _finite | st.integers(-1000, 1000),
        "kids": st.none() | st.integers(0, 10),
    }
)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_numeric_row, min_size=1, max_size=6))
def test_the_array_holds_the_frames_values_in_signature_order(rows: list[dict[str, Any]]) -> None:
    checked = Validator(NUMERIC, pii=(), max_rows=100)
    assert checked.numeric
    parsed = parse_predict(orjson.dumps({"instances": rows}))
    array = checked.array(parsed)
    frame = checked.frame(parsed)
    assert array.dtype == np.float64 and array.flags.c_contiguous
    assert array.shape == (len(rows), 3)
    np.testing.assert_array_equal(array, frame.to_numpy(dtype=np.float64))
    expected = [
        [
            math.nan if row[name] is None else float(row[name])
            for name in ("owner", "income", "kids")
        ]
        for row in rows
    ]
    np.testing.assert_array_equal(array, np.array(expected, dtype=np.float64))


def test_the_array_is_refused_what_the_frame_is_refused() -> None:
    checked = Validator(NUMERIC, pii=("income",), max_rows=2)
    bad = {"instances": [{"owner": "yes", "income": "1e3", "kids": 1, "extra": 0}]}
    for make in (checked.frame, checked.array):
        with pytest.raises(InvalidInput) as refused:
            make(parse_predict(orjson.dumps(bad)))
        fields = {e["field"]: e["problem"] for e in refused.value.details["errors"]}
        assert fields == {"owner": "wrong_type", "income": "wrong_type", "extra": "unknown"}
        assert "1e3" not in refused.value.message  # income is PII: never quoted
    three = {"instances": [{"owner": True, "income": 1, "kids": 1}] * 3}
    with pytest.raises(InvalidInput, match="too many rows"):
        checked.array(parse_predict(orjson.dumps(three)))
    huge = ScoringInput(
        columns={"owner": [True], "income": [10**400], "kids": [1]},
        rows=1,
        context=None,
        key=None,
        form="instances",
    )
    with pytest.raises(InvalidInput, match="income: not a finite number"):
        checked.array(huge)


def test_a_signature_with_text_has_no_array() -> None:
    checked = validator()
    assert not checked.numeric
    with pytest.raises(InternalError, match="numbers and flags only"):
        checked.array(parse_predict(orjson.dumps({"instances": ROWS})))


@pytest.mark.parametrize("assemble", [_assemble, _by_columns], ids=["blocks", "columns"])
def test_the_frame_reads_back_as_an_array_in_signature_order(assemble: Any) -> None:
    # one float block placed out of order (flags after numbers, a flag first): pandas reads
    # such a frame back in the block's order unless the block is put in column order
    floats = [[10.0, 11.0], [20.0, 21.0], [0.0, 1.0]]  # income, kids, then the flag owner
    columns = pd.Index(["owner", "income", "kids"], dtype=object)
    place, none = np.array([1, 2, 0], dtype=np.intp), np.array([], dtype=np.intp)
    if assemble is _by_columns:
        frame = _by_columns(
            np.array(floats), place, np.empty((0, 2), dtype=object), none, pd.RangeIndex(2), columns
        )
    else:
        frame = _assemble(floats, place, [], none, pd.RangeIndex(2), columns)
    assert frame["owner"].tolist() == [0.0, 1.0]
    np.testing.assert_array_equal(np.asarray(frame), [[0.0, 10.0, 20.0], [1.0, 11.0, 21.0]])


UNTYPED: dict[str, Any] = {  # a model registered from outside: inputs of no declared type
    "inputs": [
        {"name": name, "type": None, "kind": None, "categories": None} for name in ("a", "b", "c")
    ],
    "output": SIGNATURE["output"],
}


def test_untyped_inputs_give_an_array_when_every_value_is_a_number() -> None:
    checked = Validator(UNTYPED, pii=(), max_rows=10)
    assert not checked.numeric
    rows = [{"a": 1, "b": None, "c": True}, {"a": 2.5, "b": -3, "c": False}]
    values = checked.values(parse_predict(orjson.dumps({"instances": rows})))
    assert isinstance(values, np.ndarray) and values.flags.c_contiguous
    np.testing.assert_array_equal(values, [[1.0, math.nan, 1.0], [2.5, -3.0, 0.0]])
    # a text value in the middle column: the frame, with the columns still in their places
    mixed = [{"a": 1, "b": "x", "c": 2}]
    frame = checked.values(parse_predict(orjson.dumps({"instances": mixed})))
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["a", "b", "c"]
    assert frame.iloc[0].tolist() == [1.0, "x", 2.0]
    assert np.asarray(frame, dtype=object).tolist() == [[1.0, "x", 2.0]]
    huge = ScoringInput(
        columns={"a": [1], "b": [10**400], "c": [1]}, rows=1, context=None, key=None, form="x"
    )
    for make in (checked.values, checked.frame):  # a number too large for a float: named
        with pytest.raises(InvalidInput, match="b: not a finite number"):
            make(huge)
