"""Steward's and MLflow's scoring bodies: the JSON body of ``POST /predict`` to columns.

``parse_predict`` reads the body of ``POST /predict/{endpoint}``. It answers column-major
values (``columns``: name → one value per row) for a ``Validator`` to check against the model's
signature; it checks the body's structure only, and never quotes a value (the body may hold
PII): a malformed body is one ``InvalidInput`` (422) whose one-line message names what is
wrong. The helpers the V2 bodies (``steward.serving._v2``) share live here too: reading the
JSON (``_load``), ``context`` and ``key`` (``_context``, ``_key``), and naming fields in a
message (``_names``).

``POST /predict`` takes Steward's own form and the ``/invocations`` bodies of ``mlflow models
serve``, with the meaning MLflow gives them (MLflow's "Deploy MLflow Model as a Local Inference
Server" page, section "Inference Server Specification" → "Accepted Input Formats":
https://mlflow.org/docs/latest/ml/deployment/deploy-model-locally/ ; and, where that page
says only "TF Serving format", MLflow's ``parse_tf_serving_input`` / ``parse_instances_data``
and pyfunc's schema enforcement, which turn a dict of scalars into one row). Exactly one of:

* ``instances``: a list of row objects ``[{feature: value, ...}, ...]`` (Steward's own), or
  an object of columns ``{feature: [values]}``, or of scalars ``{feature: value}`` (one row);
* ``inputs``: the same as ``instances`` (MLflow: "same as instances but with a different
  key");
* ``dataframe_split``: pandas' ``split`` orientation, ``{"columns": [...], "data": [[...],
  ...], "index"?: [...]}`` (``index`` is checked and ignored; no other field is allowed, as in
  MLflow; ``columns`` is required: without it pandas numbers the columns, which name nothing);
* ``dataframe_records``: pandas' ``records`` orientation, a list of row objects.

A field a row object lacks is a missing value (``null``) of that row, as pandas reads
records; a field no row has is a missing field, reported by the validator. MLflow's tensor
inputs (lists of lists, a bare list) have no column names and are refused. Besides the form the
body may hold ``params`` (MLflow's inference parameters: must be an object, and is ignored),
``context`` and ``key``; any other top-level field is refused, so a misspelt ``contxt`` is
not silently dropped:

* ``context``: attributes for monitoring, never passed to the model (sensitive attributes, an
  entity id): one object applying to every row, or a list of objects, one per row. Values
  are JSON scalars.
* ``key``: the sticky routing key of the request (canary routing sends equal keys to the same
  version): ONE non-empty string of at most 256 characters, for the whole request, since one
  request is scored by one version; a list is refused.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Final

import orjson

from steward.errors import InvalidInput
from steward.serving._problems import json_kind as _json_kind

__all__ = [
    "ScoringInput",
    "parse_predict",
]

FORMS: Final = ("instances", "dataframe_split", "dataframe_records", "inputs")
_PREDICT_FIELDS: Final = frozenset({*FORMS, "params", "context", "key"})
_SPLIT_FIELDS: Final = frozenset({"columns", "data", "index"})
_KEY_CHARS: Final = 256

_NONE = type(None)
_SCALARS = (str, int, float, bool, _NONE)


@dataclass(frozen=True, slots=True)
class ScoringInput:
    """A parsed ``POST /predict`` body: ``columns`` (name → ``rows`` values, in the body's
    order), one ``context`` dict per row (``None``: none given), the routing ``key``, and the
    ``form`` the body used (``instances``, ``inputs``, ``dataframe_split`` or
    ``dataframe_records``)."""

    columns: dict[str, list[Any]]
    rows: int
    context: list[dict[str, Any]] | None
    key: str | None
    form: str


def parse_predict(body: bytes | bytearray | memoryview | str) -> ScoringInput:
    """The columns of a ``POST /predict`` body (see the module docstring for the forms);
    ``InvalidInput`` when the body is not one of them."""
    document = _load(body)
    if type(document) is not dict:
        raise InvalidInput(
            f"the body must be a JSON object, not {_json_kind(document)}: "
            'send {"instances": [{feature: value, ...}, ...]}'
        )
    if not document.keys() <= _PREDICT_FIELDS:
        unknown = _names(k for k in document if k not in _PREDICT_FIELDS)
        raise InvalidInput(
            f"the body has unknown field(s) {unknown}: it takes one of "
            f"{', '.join(FORMS)}, and optionally context, key, params"
        )
    forms = [form for form in FORMS if form in document]
    if len(forms) != 1:
        if forms:
            raise InvalidInput(f"the body has {' and '.join(forms)}: send only one of them")
        raise InvalidInput(f"the body needs one of {', '.join(FORMS)}")
    if "params" in document and type(document["params"]) is not dict:
        raise InvalidInput("params must be an object")
    form = forms[0]
    payload = document[form]
    if form == "dataframe_split":
        columns, rows = _from_split(payload)
    elif form == "dataframe_records":
        if type(payload) is not list:
            raise InvalidInput(
                f"dataframe_records must be a list of row objects, not {_json_kind(payload)}"
            )
        columns, rows = _from_records(payload, form)
    elif type(payload) is list:
        columns, rows = _from_records(payload, form)
    elif type(payload) is dict:
        columns, rows = _from_columns(payload, form)
    else:
        raise InvalidInput(
            f"{form} must be a list of row objects or an object of columns, "
            f"not {_json_kind(payload)}"
        )
    context = _context(document.get("context"), rows, "context")
    return ScoringInput(columns, rows, context, _key(document.get("key"), "key"), form)


# -- reading bodies ---------------------------------------------------------------------


def _load(body: bytes | bytearray | memoryview | str) -> Any:
    if not body:
        raise InvalidInput("the body is empty: send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        hint = ""
        if "infinity" in error.msg:
            hint = ": numbers must be finite"
        else:
            spot = bytes(body[error.pos : error.pos + 9]) if not isinstance(body, str) else b""
            if spot.lstrip(b"-").startswith((b"NaN", b"Infinity")):
                hint = ": NaN and Infinity are not JSON (send null for a missing value)"
        raise InvalidInput(
            f"the body is not JSON ({error.msg} at line {error.lineno}, column {error.colno}){hint}"
        ) from None


def _from_records(records: list[Any], where: str) -> tuple[dict[str, list[Any]], int]:
    rows = len(records)
    if rows == 0:
        return {}, 0
    for at, record in enumerate(records):
        if type(record) is not dict:
            raise InvalidInput(
                f"{where}: row {at} is {_json_kind(record)}, not an object of named values "
                "(tensor inputs without column names are not taken)"
            )
    first = records[0]
    if rows == 1:
        return {name: [value] for name, value in first.items()}, 1
    keys = list(first)
    if len(keys) > 1 and set(map(len, records)) == {len(keys)}:
        try:  # every row of the same size holding the first row's fields: the same fields
            values = list(map(operator.itemgetter(*keys), records))
        except KeyError:
            pass
        else:
            by_column = zip(*values, strict=True)
            return dict(zip(keys, map(list, by_column), strict=True)), rows
    # a field some rows lack: null there (pandas' reading of records)
    names = dict.fromkeys(name for record in records for name in record)
    return {name: [record.get(name) for record in records] for name in names}, rows


def _from_columns(payload: dict[str, Any], where: str) -> tuple[dict[str, list[Any]], int]:
    if not payload:
        return {}, 0
    values = list(payload.values())
    if all(type(v) is list for v in values):
        lengths = {len(v) for v in values}
        if len(lengths) > 1:
            sizes = ", ".join(f"{name} has {len(v)}" for name, v in payload.items())
            raise InvalidInput(f"{where}: the columns have different lengths ({sizes})")
        return dict(payload), lengths.pop()
    if all(isinstance(v, _SCALARS) for v in values):
        return {name: [value] for name, value in payload.items()}, 1
    raise InvalidInput(
        f"{where}: give every column a list of values, or every column one value (one row)"
    )


def _from_split(payload: Any) -> tuple[dict[str, list[Any]], int]:
    if type(payload) is not dict:
        raise InvalidInput(
            f"dataframe_split must be an object with columns and data, not {_json_kind(payload)}"
        )
    if not payload.keys() <= _SPLIT_FIELDS:
        unknown = _names(k for k in payload if k not in _SPLIT_FIELDS)
        raise InvalidInput(
            f"dataframe_split has unknown field(s) {unknown}: it takes columns, data, index"
        )
    names, data = payload.get("columns"), payload.get("data")
    if type(names) is not list or not all(type(n) is str for n in names):
        raise InvalidInput("dataframe_split needs columns: the list of the column names")
    if len(set(names)) != len(names):
        twice = _names(dict.fromkeys(n for n in names if names.count(n) > 1))
        raise InvalidInput(f"dataframe_split names column(s) {twice} more than once")
    if type(data) is not list:
        raise InvalidInput("dataframe_split needs data: a list of rows, each a list of values")
    width = len(names)
    for at, row in enumerate(data):
        if type(row) is not list or len(row) != width:
            size = f"{len(row)} values" if type(row) is list else _json_kind(row)
            raise InvalidInput(
                f"dataframe_split: row {at} of data is {size}, not a list of {width} values"
            )
    index = payload.get("index")
    if index is not None and (type(index) is not list or len(index) != len(data)):
        raise InvalidInput("dataframe_split: index must be a list with one entry per row")
    rows = len(data)
    if rows == 0:
        return {}, 0
    # every row was checked to be width long
    by_column = zip(*data, strict=True)
    return {name: list(values) for name, values in zip(names, by_column, strict=True)}, rows


def _context(value: Any, rows: int, where: str) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if type(value) is dict:
        _check_context(value, where)
        return [dict(value) for _ in range(rows)]
    if type(value) is list:
        if len(value) != rows:
            raise InvalidInput(f"{where} has {len(value)} entries for {rows} rows")
        for at, entry in enumerate(value):
            if type(entry) is not dict:
                raise InvalidInput(f"{where}: entry {at} is {_json_kind(entry)}, not an object")
            _check_context(entry, f"{where}[{at}]")
        return value
    raise InvalidInput(
        f"{where} must be an object (for every row) or a list of objects (one per row)"
    )


def _check_context(entry: dict[str, Any], where: str) -> None:
    nested = [name for name, v in entry.items() if not isinstance(v, _SCALARS)]
    if nested:
        raise InvalidInput(
            f"{where}: attribute(s) {_names(nested)} must be a string, number, boolean or null"
        )


def _key(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if type(value) is not str or not value or len(value) > _KEY_CHARS:
        raise InvalidInput(
            f"{where} must be one non-empty string of at most {_KEY_CHARS} characters "
            "(the routing key of the whole request)"
        )
    return value


def _names(names: Any) -> str:
    """Field names from a body, listed for a message (a few, each cut short)."""
    listed = [str(n) if len(str(n)) <= 60 else str(n)[:59] + "…" for n in names]
    more = f" and {len(listed) - 5} more" if len(listed) > 5 else ""
    return ", ".join(listed[:5]) + more
