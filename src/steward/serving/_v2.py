"""Open Inference Protocol ("KServe V2") scoring bodies: JSON bytes to columns and back.

``parse_v2_infer`` reads the body of ``POST /v2/models/{name}/infer`` (the Open Inference
Protocol, "KServe V2"). Like ``parse_predict`` (``steward.serving._bodies``) it answers
column-major values (``columns``: name → one value per row) for a ``Validator`` to check
against the model's signature; it checks the body's structure only, and never quotes a value
(the body may hold PII): a malformed body is one ``InvalidInput`` (422) whose one-line message
names what is wrong. ``v2_response`` writes the infer response, ``v2_metadata`` the model
metadata response (``GET /v2/models/{name}``), and ``v2_output_names`` names the outputs a
model gives.

The V2 body is ``{"id"?, "parameters"?, "inputs": [tensor, ...], "outputs"?: [{"name"}]}``
with one tensor per column (``shape`` ``[n]`` or ``[n, 1]``; ``data`` flat or nested as the
shape says; every tensor ``n`` rows) whose ``datatype`` is checked against its data: BOOL takes
booleans, INT*/UINT* whole numbers within the type's range, FP* numbers, BYTES strings, every
type ``null`` (a missing value: JSON tensors have no other way to say it). An FP* tensor may
spell non-finite numbers as strings (``"NaN"``, ``"Infinity"``, ``"-Infinity"``), which become
floats for the validator to refuse as ``not_finite``. ``parameters.context`` and
``parameters.key`` are the ``context`` and ``key`` of ``POST /predict`` (see
``steward.serving._bodies``; a server-specific extension: the protocol's parameter values are
scalars); other parameters are ignored. The binary tensor extension is not supported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from steward.errors import InternalError, InvalidInput
from steward.serving._bodies import _NONE, _context, _key, _load, _names
from steward.serving._problems import Problem, input_problems
from steward.serving._problems import json_kind as _json_kind
from steward.serving._problems import rows_text as _rows_text

__all__ = [
    "PREDICT",
    "PREDICT_PROBA",
    "V2Input",
    "parse_v2_infer",
    "v2_metadata",
    "v2_output_names",
    "v2_response",
]

_V2_FIELDS: Final = frozenset({"id", "parameters", "inputs", "outputs"})
_TENSOR_FIELDS: Final = frozenset({"name", "shape", "datatype", "data", "parameters"})

PREDICT: Final = "predict"
PREDICT_PROBA: Final = "predict_proba"

_INTEGER_RANGES: Final = {
    **{f"INT{bits}": (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) for bits in (8, 16, 32, 64)},
    **{f"UINT{bits}": (0, 2**bits - 1) for bits in (8, 16, 32, 64)},
}
_FLOATS: Final = frozenset({"FP16", "FP32", "FP64"})
DATATYPES: Final = frozenset({"BOOL", "BYTES", *_INTEGER_RANGES, *_FLOATS})
# the JSON value types each datatype's data may hold (besides null)
_ALLOWED: Final[dict[str, frozenset[type]]] = {
    "BOOL": frozenset({bool}),
    "BYTES": frozenset({str}),
    **dict.fromkeys(_FLOATS, frozenset({int, float})),
    **dict.fromkeys(_INTEGER_RANGES, frozenset({int})),
}
_NON_FINITE: Final = {
    "nan": float("nan"),
    "-nan": float("nan"),
    "inf": float("inf"),
    "infinity": float("inf"),
    "+inf": float("inf"),
    "+infinity": float("inf"),
    "-inf": float("-inf"),
    "-infinity": float("-inf"),
}


@dataclass(frozen=True, slots=True)
class V2Input:
    """A parsed V2 infer body: ``columns`` and ``rows`` as in ``ScoringInput``, the request
    ``id`` (``None``: none given), ``context`` and ``key`` (from ``parameters``), the names of
    the ``outputs`` asked for (``None``: all), and each column's tensor ``datatypes``."""

    columns: dict[str, list[Any]]
    rows: int
    id: str | None
    context: list[dict[str, Any]] | None
    key: str | None
    outputs: tuple[str, ...] | None
    datatypes: dict[str, str]


def parse_v2_infer(body: bytes | bytearray | memoryview | str) -> V2Input:
    """The columns of an Open Inference Protocol infer body (see the module docstring);
    ``InvalidInput`` when its structure is wrong, and one ``InvalidInput`` listing every
    tensor whose data do not match its datatype (``details["errors"]``, as the validator's)."""
    document = _load(body)
    if type(document) is not dict:
        raise InvalidInput(f"the body must be a JSON object, not {_json_kind(document)}")
    if not document.keys() <= _V2_FIELDS:
        unknown = _names(k for k in document if k not in _V2_FIELDS)
        raise InvalidInput(
            f"the body has unknown field(s) {unknown}: it takes id, parameters, inputs, outputs"
        )
    request_id = document.get("id")
    if request_id is not None and type(request_id) is not str:
        raise InvalidInput("id must be a string")
    parameters = document.get("parameters")
    if parameters is None:
        parameters = {}
    elif type(parameters) is not dict:
        raise InvalidInput("parameters must be an object")
    tensors = document.get("inputs")
    if type(tensors) is not list or not tensors:
        raise InvalidInput("inputs must be a non-empty list of tensors, one per column")
    columns: dict[str, list[Any]] = {}
    datatypes: dict[str, str] = {}
    counts: dict[str, int] = {}
    problems: list[Problem] = []
    for at, tensor in enumerate(tensors):
        name, datatype, values = _tensor(tensor, at)
        if name in columns:
            raise InvalidInput(f"inputs name tensor {name} twice")
        columns[name], datatypes[name], counts[name] = values, datatype, len(values)
        problems.extend(_check_datatype(name, datatype, values))
    if len(set(counts.values())) > 1:
        sizes = ", ".join(f"{name} has {count}" for name, count in counts.items())
        raise InvalidInput(f"the input tensors hold different numbers of rows: {sizes}")
    if problems:
        raise input_problems(problems)
    rows = next(iter(counts.values()))
    outputs = _requested_outputs(document.get("outputs"))
    context = _context(parameters.get("context"), rows, "parameters.context")
    key = _key(parameters.get("key"), "parameters.key")
    return V2Input(columns, rows, request_id, context, key, outputs, datatypes)


def v2_output_names(signature: Mapping[str, Any]) -> tuple[str, ...]:
    """The V2 outputs a model of ``signature`` gives: ``predict``, and ``predict_proba`` for
    a classifier."""
    output = signature.get("output") or {}
    if output.get("type") == "class" and output.get("probabilities", True):
        return (PREDICT, PREDICT_PROBA)
    return (PREDICT,)


def v2_response(
    *,
    model_name: str,
    model_version: str | int,
    request_id: str,
    labels: np.ndarray,
    probabilities: np.ndarray | None = None,
    classes: Sequence[Any] | np.ndarray | None = None,
    parameters: Mapping[str, Any] | None = None,
    requested: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The V2 infer response: ``predict`` (the labels or values, ``[n]``; BYTES for text,
    INT64 for whole numbers, BOOL for booleans, FP64 otherwise) and, given ``probabilities``
    (``n`` × ``k``), ``predict_proba`` (FP64, ``[n, k]``, row-major, the class names in its
    ``parameters.classes``). ``requested`` (the body's ``outputs``) keeps only those outputs;
    naming one the model does not give is ``InvalidInput``."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise InternalError(f"predictions must be one-dimensional, not of shape {labels.shape}")
    rows = len(labels)
    datatype, data = _label_tensor(labels)
    outputs: list[dict[str, Any]] = [
        {"name": PREDICT, "datatype": datatype, "shape": [rows], "data": data}
    ]
    if probabilities is not None:
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if probabilities.ndim != 2 or probabilities.shape[0] != rows:
            raise InternalError(
                f"probabilities of shape {probabilities.shape} do not match {rows} predictions"
            )
        proba: dict[str, Any] = {
            "name": PREDICT_PROBA,
            "datatype": "FP64",
            "shape": [rows, probabilities.shape[1]],
            "data": probabilities.ravel().tolist(),
        }
        if classes is not None:
            proba["parameters"] = {"classes": [_plain(c) for c in classes]}
        outputs.append(proba)
    if requested is not None:
        given = [o["name"] for o in outputs]
        unknown = [name for name in requested if name not in given]
        if unknown:
            raise InvalidInput(
                f"the model has no output {', '.join(unknown)}: it gives {', '.join(given)}"
            )
        outputs = [o for o in outputs if o["name"] in requested]
    response: dict[str, Any] = {
        "model_name": model_name,
        "model_version": str(model_version),
        "id": request_id,
    }
    if parameters:
        response["parameters"] = dict(parameters)
    response["outputs"] = outputs
    return response


def v2_metadata(
    name: str,
    version: str | int,
    signature: Mapping[str, Any],
    governance: Mapping[str, Any],
    *,
    platform: str = "steward",
) -> dict[str, Any]:
    """The V2 model metadata response: one input tensor per signature input (``[-1]``; its
    datatype what training saw: FP64, INT64, BOOL, or BYTES for text), the outputs
    ``v2_response`` gives, and ``parameters.governance`` holding ``governance``. The inputs'
    categories are left out: a PII column's categories are its values."""
    inputs = [
        {"name": entry["name"], "datatype": _input_datatype(entry), "shape": [-1]}
        for entry in signature.get("inputs") or ()
    ]
    output = signature.get("output") or {}
    outputs: list[dict[str, Any]] = []
    for output_name in v2_output_names(signature):
        if output_name == PREDICT_PROBA:
            classes = [_plain(c) for c in output.get("classes") or ()]
            outputs.append(
                {
                    "name": PREDICT_PROBA,
                    "datatype": "FP64",
                    "shape": [-1, len(classes)],
                    "parameters": {"classes": classes},
                }
            )
        elif output.get("type") == "class":
            outputs.append(
                {
                    "name": PREDICT,
                    "datatype": _values_datatype(output.get("classes") or ()),
                    "shape": [-1],
                }
            )
        else:
            outputs.append({"name": PREDICT, "datatype": "FP64", "shape": [-1]})
    return {
        "name": name,
        "versions": [str(version)],
        "platform": platform,
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {"governance": dict(governance)},
    }


# -- reading bodies ---------------------------------------------------------------------


def _tensor(tensor: Any, at: int) -> tuple[str, str, list[Any]]:
    """An input tensor's name, datatype and values (one per row); its structure checked."""
    if type(tensor) is not dict:
        raise InvalidInput(f"inputs[{at}] is {_json_kind(tensor)}, not a tensor object")
    name = tensor.get("name")
    if type(name) is not str or not name:
        raise InvalidInput(f"inputs[{at}] needs a name")
    if not tensor.keys() <= _TENSOR_FIELDS:
        unknown = _names(k for k in tensor if k not in _TENSOR_FIELDS)
        raise InvalidInput(
            f"input {name} has unknown field(s) {unknown}: a tensor takes name, shape, "
            "datatype, data, parameters"
        )
    datatype = tensor.get("datatype")
    if datatype not in DATATYPES:
        raise InvalidInput(f"input {name}: datatype must be one of {', '.join(sorted(DATATYPES))}")
    parameters = tensor.get("parameters")
    if parameters is not None:
        if type(parameters) is not dict:
            raise InvalidInput(f"input {name}: parameters must be an object")
        if "binary_data_size" in parameters:
            raise InvalidInput(
                f"input {name}: binary tensor data are not supported, send JSON data"
            )
    shape: Any = tensor.get("shape")
    size = shape[0] if type(shape) is list and 1 <= len(shape) <= 2 else None
    if (
        type(size) is not int
        or size < 0
        or (len(shape) == 2 and (type(shape[1]) is not int or shape[1] != 1))
    ):
        raise InvalidInput(
            f"input {name}: shape must be [rows] or [rows, 1]: one input tensor per column"
        )
    data: Any = tensor.get("data")
    if type(data) is not list:
        raise InvalidInput(f"input {name}: data must be a list of values")
    if len(shape) == 2 and data and type(data[0]) is list:  # nested as the shape says
        if not all(type(row) is list and len(row) == 1 for row in data):
            raise InvalidInput(
                f"input {name}: data nested for shape [rows, 1] hold one value a row"
            )
        data = [row[0] for row in data]
    if len(data) != size:
        raise InvalidInput(f"input {name}: data hold {len(data)} values for shape {shape}")
    return name, datatype, data


def _check_datatype(name: str, datatype: str, values: list[Any]) -> list[Problem]:
    """Problems of values not of their tensor's datatype (none in the common case, checked in
    one pass); FP values spelt as non-finite strings become floats in place."""
    kinds = set(map(type, values))
    kinds.discard(_NONE)
    allowed = _ALLOWED[datatype]
    if kinds <= allowed:
        if datatype not in _INTEGER_RANGES or not kinds:
            return []
        low, high = _INTEGER_RANGES[datatype]
        numbers = [v for v in values if v is not None]
        if low <= min(numbers) and max(numbers) <= high:
            return []
    bad: list[int] = []
    for at, value in enumerate(values):
        if value is None or (type(value) in allowed and datatype not in _INTEGER_RANGES):
            continue
        if datatype in _FLOATS and type(value) is str:
            number = _NON_FINITE.get(value.strip().lower())
            if number is not None:
                values[at] = number
                continue
        if datatype in _INTEGER_RANGES and type(value) is int:
            low, high = _INTEGER_RANGES[datatype]
            if low <= value <= high:
                continue
        bad.append(at)
    if not bad:
        return []
    expected = {"BYTES": "strings", "BOOL": "true or false"}.get(
        datatype, "numbers" if datatype in _FLOATS else f"whole numbers in {datatype}'s range"
    )
    return [
        Problem(
            name,
            "wrong_type",
            tuple(bad[:5]),
            f"{name}: wrong type (a {datatype} tensor holds {expected}, got "
            f"{_json_kind(values[bad[0]])}{_rows_text(bad)})",
        )
    ]


def _requested_outputs(value: Any) -> tuple[str, ...] | None:
    if value is None or value == []:  # none asked for: all of them, as the protocol says
        return None
    if type(value) is not list or not all(
        type(o) is dict and type(o.get("name")) is str for o in value
    ):
        raise InvalidInput('outputs must be a list of objects naming an output: [{"name": ...}]')
    return tuple(o["name"] for o in value)


# -- writing responses ------------------------------------------------------------------


def _label_tensor(labels: np.ndarray) -> tuple[str, list[Any]]:
    kind = labels.dtype.kind
    if kind == "b":
        return "BOOL", labels.tolist()
    if kind == "i":
        return "INT64", labels.tolist()
    if kind == "u":
        return "UINT64", labels.tolist()
    if kind == "f":
        return "FP64", labels.tolist()
    values = [_plain(v) for v in labels.tolist()]
    datatype = _values_datatype(values)
    return datatype, [str(v) for v in values] if datatype == "BYTES" else values


def _values_datatype(values: Sequence[Any]) -> str:
    """The V2 datatype holding ``values`` (Python or numpy scalars)."""
    plain = [_plain(v) for v in values]
    if plain and all(type(v) is bool for v in plain):
        return "BOOL"
    if plain and all(type(v) is int for v in plain):
        return "INT64"
    if plain and all(type(v) in (int, float) for v in plain):
        return "FP64"
    return "BYTES"


def _input_datatype(entry: Mapping[str, Any]) -> str:
    type_, kind = entry.get("type"), entry.get("kind")
    if type_ == "boolean":
        return "BOOL"
    if type_ == "integer":
        return "INT64"
    if type_ == "float" or (type_ is None and kind == "numeric"):
        return "FP64"
    return "BYTES"


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value
