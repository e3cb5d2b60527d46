from __future__ import annotations

import inspect

import pytest

import steward.errors as errors
from steward.errors import StewardError

ALL = [
    obj for _, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, StewardError)
]


def test_every_error_class_has_a_unique_stable_code() -> None:
    codes = [cls.code for cls in ALL]
    assert len(codes) == len(set(codes)), codes
    assert set(errors.__all__) == {cls.__name__ for cls in ALL}


@pytest.mark.parametrize(
    ("cls", "exit_code", "status_range"),
    [
        (errors.UsageError, 2, range(400, 500)),
        (errors.InvalidInput, 2, range(400, 500)),
        (errors.NotFound, 2, range(404, 405)),
        (errors.AlreadyExists, 2, range(409, 410)),
        (errors.NotAStewardHome, 2, range(400, 500)),
        (errors.SchemaOutOfDate, 2, range(400, 500)),
        (errors.AuthenticationError, 3, range(401, 402)),
        (errors.PermissionDenied, 3, range(403, 404)),
        (errors.Refused, 1, range(400, 500)),
        (errors.IntegrityError, 1, range(500, 600)),
        (errors.LedgerTampered, 1, range(500, 600)),
        (errors.InternalError, 4, range(500, 600)),
    ],
)
def test_exit_codes_and_http_statuses_follow_the_contract(
    cls: type[StewardError], exit_code: int, status_range: range
) -> None:
    assert cls.exit_code == exit_code
    assert cls.http_status in status_range


def test_messages_are_one_line_and_serialise_to_the_api_error_body() -> None:
    error = errors.NotFound("no user\n named   'x'", details={"name": "x"})
    assert error.message == "no user named 'x'"
    assert error.to_dict() == {
        "error": {"code": "not_found", "message": "no user named 'x'", "details": {"name": "x"}}
    }


def test_the_tree_in_the_module_docstring_names_every_class() -> None:
    doc = errors.__doc__ or ""
    for cls in ALL:
        assert cls.__name__ in doc and cls.code in doc, cls.__name__
