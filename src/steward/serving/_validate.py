"""Check a request's columns against a model version's signature; make the model's frame.

A :class:`Validator` is compiled once per model version from its stored signature (see
``InputPlan.signature``) and turns the columns of a parsed request body (``ScoringInput``,
``V2Input``: anything with ``columns`` and ``rows``) into the pandas DataFrame the model's
``InputFrame`` expects, in the signature's column order:

* a numeric input becomes float64: JSON numbers as they are, ``null`` as NaN (the pipeline
  imputes it). A ``boolean`` input (numeric, as ``plan_inputs`` makes it) takes ``true`` and
  ``false`` (or 1 and 0) and becomes 1.0 and 0.0, as training saw it. An ``integer`` input
  takes any finite number (the model computes in floats; 30.0 from a JavaScript client is 30).
* a categorical input becomes an object column of ``str``, ``null`` as NaN. A ``string``
  categorical takes strings; a JSON integer is taken for the text it spells only when that
  text is one of the training categories (``2`` for a category ``"2"``; ``2.0`` is not): any
  other value that is not a string is a wrong type, since quietly turning a number into a
  text the model never saw would score nonsense. An ``integer``-typed categorical takes whole
  numbers (``3`` → ``"3"``), a ``float``-typed one numbers (``str(float)``), a
  ``boolean``-typed one ``true``/``false`` spelled as the training categories spell them
  (``"True"``/``"False"`` by default, as pandas writes booleans as text). Strings are taken
  as they are by every categorical input.
* an input without ``type`` and ``kind`` (a model registered from outside) takes any JSON
  scalar: a column of numbers (and booleans, as 1.0/0.0) becomes float64, any other column an
  object column with numbers as float and strings as str. ``datetime`` inputs are read the same.

Numbers given as strings (``"12.5"``) are a wrong type, not parsed; strings spelling a
non-finite number (``"NaN"``, ``"Infinity"``) and non-finite numbers (which V2 tensors and
Python callers can carry; JSON cannot) are ``not_finite``. A value outside the training
categories is ``unseen_category`` only when the validator refuses unseen categories.

Every problem of a request is reported at once (but ``empty`` and ``too_many_rows``, reported
alone: the values of a request refused whole are not read), in ONE :class:`InvalidInput`
(422): its message is one line summarising the problems, its ``details`` are ``{"errors":
[{"field", "problem", "rows", "message"}, ...]}`` naming every bad field (``field`` is
``None`` for a problem of the whole request). ``rows`` holds the first few (0-based) row
indices a problem was found at, ``[]`` for a problem of the field itself (``missing``,
``unknown``). A value of a column named in ``pii`` is never quoted, in the message nor in the
details; other offending scalar values are quoted, shortened to 40 characters.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, Literal, Protocol

import numpy as np
import orjson
import pandas as pd

from steward.errors import InternalError, InvalidInput
from steward.serving._frames import assemble as _assemble
from steward.serving._frames import float_array
from steward.serving._problems import (
    PROBLEMS,
    ROWS_SHOWN,
    Problem,
    input_problems,
)
from steward.serving._problems import json_kind as _json_kind
from steward.serving._problems import rows_text as _rows_text

__all__ = ["PROBLEMS", "Columns", "Problem", "Validator", "input_problems", "to_frame"]

_VALUE_CHARS = 40
_NAME_CHARS = 80

_NONE = type(None)
_NUMBER_TYPES = frozenset({int, float, _NONE})
_BOOL_TYPES = frozenset({bool, _NONE})
_TEXT_TYPES = frozenset({str, _NONE})
_NON_FINITE_WORDS = frozenset(
    {"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}
)

# How a column's values are read (see the module docstring).
_NUMBER, _BOOL, _ANY, _TEXT, _TEXT_INT, _TEXT_FLOAT, _TEXT_BOOL = range(7)
_TEXT_MODES = frozenset({_TEXT, _TEXT_INT, _TEXT_FLOAT, _TEXT_BOOL})
_EXPECTED = {
    _NUMBER: "expected a number",
    _BOOL: "expected true or false",
    _ANY: "expected a number or a string",
    _TEXT: "expected a string",
    _TEXT_INT: "expected a whole number or a string",
    _TEXT_FLOAT: "expected a number or a string",
    _TEXT_BOOL: "expected true, false or a string",
}


class Columns(Protocol):
    """What a validator reads: column-major values (every list ``rows`` long)."""

    @property
    def columns(self) -> Mapping[str, Sequence[Any]]: ...

    @property
    def rows(self) -> int: ...


@dataclass(frozen=True, slots=True)
class _Input:
    name: str
    position: int
    mode: int
    categories: frozenset[str] | None
    pii: bool
    true: str = "True"  # how a boolean-typed categorical spells its values
    false: str = "False"


class Validator:
    """The compiled input check of one model version: build once, call :meth:`frame` per
    request (the server's hot path).

    ``signature`` is the version's stored signature; ``pii`` names the columns whose values
    must never be quoted; ``max_rows`` is the most rows one request may hold;
    ``unseen_categories`` says whether a categorical value outside the training categories is
    accepted (the pipeline's encoder handles it) or refused. A malformed signature is stored
    data gone bad: ``InternalError``.
    """

    def __init__(
        self,
        signature: Mapping[str, Any],
        *,
        pii: Collection[str],
        max_rows: int,
        unseen_categories: Literal["accept", "refuse"] = "accept",
    ) -> None:
        if unseen_categories not in ("accept", "refuse"):
            raise InternalError(
                f"unseen_categories must be accept or refuse, not {unseen_categories!r}"
            )
        if max_rows < 1:
            raise InternalError(f"max_rows must be at least 1, not {max_rows}")
        self.signature = signature
        self.pii = frozenset(pii)
        self.max_rows = max_rows
        self.unseen_categories = unseen_categories
        self._inputs = tuple(_compile(signature, self.pii))
        self.names: tuple[str, ...] = tuple(i.name for i in self._inputs)
        self._names = frozenset(self.names)
        # object, not pandas's string dtype: sklearn reads the names back on every predict
        self._index = pd.Index(list(self.names), dtype=object)
        self._one_row = pd.RangeIndex(1)  # immutable: shared by the frames of one row
        self._refuse = unseen_categories == "refuse"
        self._number = tuple(i for i in self._inputs if i.mode == _NUMBER)
        self._bool = tuple(i for i in self._inputs if i.mode == _BOOL)
        self._text = tuple(i for i in self._inputs if i.mode in _TEXT_MODES)
        self._any = tuple(i for i in self._inputs if i.mode == _ANY)
        self._float_place = np.array(
            [i.position for i in (*self._number, *self._bool)], dtype=np.intp
        )
        self._text_place = np.array([i.position for i in self._text], dtype=np.intp)
        # where the floats go when every untyped input came as numbers (the common case)
        self._all_float_place = np.array(
            [*self._float_place, *(i.position for i in self._any)], dtype=np.intp
        )

    @property
    def numeric(self) -> bool:
        """Whether every input is a number or a flag: :meth:`array` applies."""
        return not self._text and not self._any

    def frame(self, data: Columns) -> pd.DataFrame:
        """The model's input frame for ``data`` (``InvalidInput`` naming every problem)."""
        return self._frame(data, *self._checked(data))

    def array(self, data: Columns) -> np.ndarray:
        """The rows of ``data`` as one float64 array, columns in the signature's order: the
        same checks and values as :meth:`frame`, without pandas, for a :attr:`numeric`
        signature (``InternalError`` otherwise)."""
        if not self.numeric:
            raise InternalError("array() takes a signature of numbers and flags only")
        values = self.values(data)
        if not isinstance(values, np.ndarray):  # pragma: no cover - numeric: no text columns
            raise InternalError("a numeric signature gave text columns")
        return values

    def values(self, data: Columns) -> np.ndarray | pd.DataFrame:
        """:meth:`array` when every column of ``data`` came out a number (always, for a
        :attr:`numeric` signature; per request, for inputs of no declared type), else
        :meth:`frame`: one pass of the checks either way."""
        checked = self._checked(data)
        floats, float_place, texts, _, rows = checked
        if texts:
            return self._frame(data, *checked)
        try:
            return float_array(floats, float_place, rows)
        except OverflowError:  # a whole number too large for a float (from Python callers)
            raise self._overflow(data) from None

    def _frame(
        self,
        data: Columns,
        floats: list[Sequence[Any]],
        float_place: np.ndarray,
        texts: list[Sequence[Any]],
        text_place: np.ndarray,
        rows: int,
    ) -> pd.DataFrame:
        index = self._one_row if rows == 1 else pd.RangeIndex(rows)
        try:
            return _assemble(floats, float_place, texts, text_place, index, self._index)
        except OverflowError:  # a whole number too large for a float (from Python callers)
            raise self._overflow(data) from None

    def _overflow(self, data: Columns) -> InvalidInput:
        problems: list[Problem] = []
        for spec in (*self._number, *self._bool, *self._any):
            self._convert(spec, data.columns[spec.name], data.rows, problems)
        return input_problems(self._ordered(problems))

    def _checked(
        self, data: Columns
    ) -> tuple[list[Sequence[Any]], np.ndarray, list[Sequence[Any]], np.ndarray, int]:
        """Every check of ``data``: ``(float columns, their positions, object columns, their
        positions, rows)``, or ``InvalidInput`` naming every problem."""
        columns, rows = data.columns, data.rows
        if rows == 0:
            raise input_problems([Problem(None, "empty", (), "no rows: the request holds no rows")])
        if rows > self.max_rows:
            raise input_problems(
                [
                    Problem(
                        None,
                        "too_many_rows",
                        (),
                        f"too many rows: {rows} (at most {self.max_rows} per request)",
                    )
                ]
            )
        problems: list[Problem] = []
        if columns.keys() != self._names:
            problems.extend(self._name_problems(columns))
            # the present columns are checked still, so that every bad field is named
            columns = {n: columns[n] if n in columns else [None] * rows for n in self.names}
        if set(map(len, columns.values())) != {rows}:  # the parsers never make such columns
            raise InternalError(f"the columns do not all hold {rows} values")

        number = [columns[i.name] for i in self._number]
        floats: list[Sequence[Any]] = number
        if number and not self._clean_numbers(number):
            floats = [self._convert(i, columns[i.name], rows, problems) for i in self._number]
        flags = [columns[i.name] for i in self._bool]
        if flags:
            if set(map(type, chain.from_iterable(flags))) <= _BOOL_TYPES:
                floats = [*floats, *flags]
            else:
                floats = [
                    *floats,
                    *(self._convert(i, columns[i.name], rows, problems) for i in self._bool),
                ]
        texts = [columns[i.name] for i in self._text]
        if texts:
            kinds = set(map(type, chain.from_iterable(texts)))
            if kinds <= _TEXT_TYPES:
                if _NONE in kinds:
                    texts = [_nan_for_none(values) for values in texts]
                if self._refuse:
                    for spec, values in zip(self._text, texts, strict=True):
                        self._check_categories(spec, values, problems)
            else:
                texts = [self._convert(i, columns[i.name], rows, problems) for i in self._text]
        float_place, text_place = self._float_place, self._text_place
        if self._any and not problems:
            given_all = [columns[spec.name] for spec in self._any]
            if self._clean_numbers(given_all) and all(map(_has_value, given_all)):
                # every untyped input a column of finite numbers (and nulls): one pass
                return [*floats, *given_all], self._all_float_place, texts, text_place, rows
        if self._any:
            extra_floats: list[Sequence[Any]] = []
            extra_texts: list[Sequence[Any]] = []
            float_at, text_at = list(float_place), list(text_place)
            for spec in self._any:
                given = columns[spec.name]
                if self._clean_numbers([given]) and any(v is not None for v in given):
                    extra_floats.append(given)  # finite numbers and nulls: as they are
                    float_at.append(spec.position)
                    continue
                values = self._convert(spec, given, rows, problems)
                numeric = all(type(v) is float for v in values)
                (extra_floats if numeric else extra_texts).append(values)
                (float_at if numeric else text_at).append(spec.position)
            floats, texts = [*floats, *extra_floats], [*texts, *extra_texts]
            float_place = np.array(float_at, dtype=np.intp)
            text_place = np.array(text_at, dtype=np.intp)
        if problems:
            raise input_problems(self._ordered(problems))
        return floats, float_place, texts, text_place, rows

    # -- checks -------------------------------------------------------------------------

    def _clean_numbers(self, number: list[Sequence[Any]]) -> bool:
        """Whether the numeric columns hold only finite JSON numbers and nulls (the common
        case, checked in one pass); ``False`` sends them through the per-value path."""
        values = chain.from_iterable(number)
        kinds = set(map(type, values))
        if not kinds <= _NUMBER_TYPES:
            return False
        # NaN and infinities make the sum non-finite (filter drops the nulls, and zeros,
        # which add nothing); a sum overflowing from finite values only takes the slow path
        if float not in kinds:
            return True
        try:
            return math.isfinite(sum(filter(None, chain.from_iterable(number))))
        except OverflowError:  # a whole number too large for a float
            return False

    def _name_problems(self, columns: Mapping[str, Sequence[Any]]) -> list[Problem]:
        problems = [
            Problem(
                spec.name,
                "missing",
                (),
                f"{spec.name}: missing field (send null for an unknown value)",
            )
            for spec in self._inputs
            if spec.name not in columns
        ]
        problems.extend(
            Problem(_short(name), "unknown", (), f"{_short(name)}: unknown field")
            for name in columns
            if name not in self._names
        )
        return problems

    def _ordered(self, problems: list[Problem]) -> list[Problem]:
        """Problems in the signature's column order, unknown fields last."""
        order = {name: at for at, name in enumerate(self.names)}
        return sorted(problems, key=lambda p: order.get(p.field or "", len(order)))

    def _check_categories(
        self, spec: _Input, values: Sequence[Any], problems: list[Problem]
    ) -> None:
        if spec.categories is None:
            return
        seen = {v for v in values if type(v) is str}
        if seen <= spec.categories:
            return
        rows = [at for at, v in enumerate(values) if type(v) is str and v not in spec.categories]
        problems.append(_value_problem(spec, "unseen_category", rows, values[rows[0]]))

    def _convert(
        self, spec: _Input, values: Sequence[Any], rows: int, problems: list[Problem]
    ) -> list[Any]:
        """The per-value path: each value read by the column's mode; problems collected."""
        converted: list[Any] = [math.nan] * rows
        bad: dict[str, list[int]] = {}
        sample: dict[str, Any] = {}
        mode = spec.mode
        for at, value in enumerate(values):
            try:
                converted[at] = _read(spec, mode, value)
            except _Bad as error:
                bad.setdefault(error.problem, []).append(at)
                sample.setdefault(error.problem, value)
        if mode in _TEXT_MODES and self._refuse:
            self._check_categories(spec, converted, problems)
        for problem, where in bad.items():
            problems.append(_value_problem(spec, problem, where, sample[problem]))
        return converted


def to_frame(
    data: Columns,
    signature: Mapping[str, Any],
    *,
    pii: Collection[str],
    max_rows: int,
    unseen_categories: Literal["accept", "refuse"] = "accept",
) -> pd.DataFrame:
    """``Validator(signature, ...).frame(data)``: compiles the signature on every call, so a
    server builds one :class:`Validator` per model version instead."""
    validator = Validator(
        signature, pii=pii, max_rows=max_rows, unseen_categories=unseen_categories
    )
    return validator.frame(data)


# -- reading values ---------------------------------------------------------------------


class _Bad(Exception):  # a fresh one each time: a re-raised instance keeps its tracebacks
    def __init__(self, problem: str) -> None:
        self.problem = problem


def _read(spec: _Input, mode: int, value: Any) -> Any:
    """One value as the frame holds it (float, str or NaN), or ``_Bad``."""
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_):
        if mode in (_BOOL, _ANY):
            return 1.0 if value else 0.0
        if mode == _TEXT_BOOL:
            return spec.true if value else spec.false
        raise _Bad("wrong_type")
    if isinstance(value, str):
        if mode in _TEXT_MODES:
            return value
        if mode == _ANY:
            return value
        problem = "not_finite" if value.strip().lower() in _NON_FINITE_WORDS else "wrong_type"
        raise _Bad(problem)
    if isinstance(value, int | float | np.integer | np.floating):
        try:
            number = float(value)
        except OverflowError:
            raise _Bad("not_finite") from None
        if not math.isfinite(number):
            raise _Bad("not_finite")
        if mode in (_NUMBER, _ANY):
            return number
        if mode == _BOOL:
            if number in (0.0, 1.0):
                return number
            raise _Bad("wrong_type")
        if mode == _TEXT_FLOAT:
            return str(number)
        whole = number.is_integer()
        if mode == _TEXT_INT and whole:
            return str(int(value))
        if (
            mode == _TEXT
            and whole
            and not isinstance(value, float | np.floating)
            and spec.categories is not None
            and str(int(value)) in spec.categories
        ):
            return str(int(value))
    raise _Bad("wrong_type")


def _nan_for_none(values: Sequence[Any]) -> list[Any]:
    return [math.nan if v is None else v for v in values]


def _value_problem(spec: _Input, problem: str, rows: Sequence[int], value: Any) -> Problem:
    where = _rows_text(rows)
    name = spec.name
    if problem == "not_finite":
        text = f"{name}: not a finite number ({_quoted(spec, value)}{where})"
    elif problem == "unseen_category":
        text = f"{name}: unseen category ({_quoted(spec, value)}{where})"
    else:
        text = f"{name}: wrong type ({_EXPECTED[spec.mode]}, got {_quoted(spec, value)}{where})"
    return Problem(name, problem, tuple(rows[:ROWS_SHOWN]), text)


def _quoted(spec: _Input, value: Any) -> str:
    """What the message says of an offending value: its JSON kind, and the value itself
    (shortened) when it is a scalar of a column that does not hold PII."""
    kind = _json_kind(value)
    if spec.pii:
        return kind
    if isinstance(value, str):
        # cut before quoting: a megabyte string is not copied to be shown 40 characters of
        text = orjson.dumps(value[:_VALUE_CHARS]).decode()
    elif isinstance(value, bool | np.bool_):
        text = "true" if value else "false"
    elif isinstance(value, int | np.integer) and int(value).bit_length() <= 128:
        text = str(int(value))
    elif isinstance(value, float | np.floating):
        text = repr(float(value))
    else:  # a list, an object, a whole number of hundreds of digits: its kind says enough
        return kind
    if len(text) > _VALUE_CHARS:
        text = text[: _VALUE_CHARS - 1] + "…"
    return f"{kind} {text}"


def _short(name: str) -> str:
    """A field name from the body, cut to a length a message can hold."""
    return name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 1] + "…"


# -- compiling the signature ------------------------------------------------------------


def _compile(signature: Mapping[str, Any], pii: frozenset[str]) -> Iterable[_Input]:
    inputs = signature.get("inputs") if isinstance(signature, Mapping) else None
    if not isinstance(inputs, list) or not inputs:
        raise InternalError("the model's signature lists no inputs")
    seen: set[str] = set()
    for position, entry in enumerate(inputs):
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if not isinstance(name, str) or name in seen:
            raise InternalError(f"the model's signature has a bad input at position {position}")
        seen.add(name)
        kind, type_ = entry.get("kind"), entry.get("type")
        raw = entry.get("categories")
        categories = frozenset(str(c) for c in raw) if raw is not None else None
        mode = _mode(kind, type_)
        true, false = "True", "False"
        if mode == _TEXT_BOOL and categories:
            spelled = {c.lower(): c for c in categories}
            true, false = spelled.get("true", true), spelled.get("false", false)
        yield _Input(name, position, mode, categories, name in pii, true, false)


def _mode(kind: Any, type_: Any) -> int:
    if kind == "numeric":
        return _BOOL if type_ == "boolean" else _NUMBER
    if kind == "categorical":
        return {"integer": _TEXT_INT, "float": _TEXT_FLOAT, "boolean": _TEXT_BOOL}.get(type_, _TEXT)
    return {"float": _NUMBER, "integer": _NUMBER, "boolean": _BOOL, "string": _TEXT}.get(
        type_, _ANY
    )


def _has_value(values: Sequence[Any]) -> bool:
    """Whether a column holds a value that is not null."""
    return any(value is not None for value in values)
