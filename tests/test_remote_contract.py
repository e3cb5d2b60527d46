"""The remote application keeps the embedded one's shape: every service it offers has the
embedded service's method names and parameters (so the CLI and the SDK run unchanged over
``STEWARD_URL``), and every service the CLI or the SDK calls is either offered or refused in
one line."""

from __future__ import annotations

import inspect

import pytest

from steward.app import Application
from steward.errors import UsageError
from steward.remote import RemoteApplication
from steward.settings import Settings


def _remote() -> RemoteApplication:
    return RemoteApplication(Settings(), "http://127.0.0.1:9", "stw_x")


SERVICES = sorted(
    name
    for name, value in vars(_remote()).items()
    if not name.startswith("_")
    and name not in ("settings", "client", "url")
    and hasattr(value, "_api")
)


@pytest.mark.parametrize("service", SERVICES)
def test_each_remote_method_has_the_embedded_methods_parameters(service: str) -> None:
    remote = getattr(_remote(), service)
    embedded = Application.__dict__[service]._build  # the service's class, from its builder
    built = inspect.signature(embedded).return_annotation
    cls = _embedded_class(service, str(built))
    for name, method in inspect.getmembers(remote, callable):
        if name.startswith("_"):
            continue
        assert hasattr(cls, name), f"{service}.{name} is not a method of {cls.__name__}"
        mine = [p for p in inspect.signature(method).parameters]
        theirs = [p for p in inspect.signature(getattr(cls, name)).parameters if p != "self"]
        assert mine == theirs, (service, name, mine, theirs)


def _embedded_class(service: str, annotation: str) -> type:
    import steward.services

    name = annotation.split("|")[0].strip()
    return getattr(steward.services, name)  # type: ignore[no-any-return]


def test_a_service_not_offered_remotely_is_refused_in_one_line() -> None:
    with pytest.raises(UsageError, match="not available over STEWARD_URL yet"):
        _ = _remote().explanations


def test_a_method_not_offered_remotely_is_refused_in_one_line_not_a_fault() -> None:
    with pytest.raises(UsageError, match=r"predictions\.recover is not available over STEWARD_URL"):
        _remote().predictions.recover(None)
