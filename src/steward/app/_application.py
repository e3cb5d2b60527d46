"""The composition root: services wired to one store, built from ``Settings``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from steward.app._home import require_home, trusted_public_key
from steward.domain import Actor
from steward.errors import AuthenticationError, InvalidInput, NotFound, StewardError
from steward.ledger import Signer
from steward.services.audit._witness import home_witness
from steward.services.identity._service import IdentityService
from steward.settings import Settings
from steward.store import Store
from steward.types import Clock, SystemClock, utc_iso

if TYPE_CHECKING:
    from steward.artifacts import ArtifactStore
    from steward.services._secrets import SecretBox
    from steward.services.audit._service import AuditService
    from steward.services.datasets._service import DatasetService
    from steward.services.evidence._service import EvidenceService
    from steward.services.governance._notifier import DeferredDelivery, InlineDelivery
    from steward.services.governance._policies import PolicyService
    from steward.services.governance._service import GovernanceService
    from steward.services.governance._webhooks import WebhookService
    from steward.services.jobs._service import JobService
    from steward.services.models._service import ModelService
    from steward.services.monitoring._alerts import AlertService
    from steward.services.monitoring._retrain import RetrainService
    from steward.services.monitoring._service import MonitoringService
    from steward.services.serving._deployments import DeploymentService
    from steward.services.serving._explanations import ExplanationService
    from steward.services.serving._predictions import PredictionService
    from steward.services.training._mitigation import MitigationService
    from steward.services.training._runs import RunService
    from steward.services.training._service import TrainingService

__all__ = ["Application", "bearer_token"]

S = TypeVar("S")
Delivery = Literal["inline", "deferred"]
# who computes the evidence recorded through this application: a client's own process, or
# a Steward server's (its API jobs, its monitor scheduler); evidence provenance says which
Computes = Literal["client", "server"]


def bearer_token(header: str | None) -> str | None:
    """The token of an HTTP ``Authorization`` header (``None`` without one), as every server
    edge reads it; ``AuthenticationError`` for another scheme or an empty token."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthenticationError("the Authorization header must be 'Bearer TOKEN'")
    return value.strip()


class _built(Generic[S]):
    """A service built on first use, once per application, under the application's lock:
    a threaded server's request threads all get the same instance."""

    def __init__(self, build: Callable[[Any], S]) -> None:
        self._build = build
        self._name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, app: None, owner: type) -> _built[S]: ...
    @overload
    def __get__(self, app: Application, owner: type) -> S: ...
    def __get__(self, app: Application | None, owner: type) -> S | _built[S]:
        if app is None:
            return self
        try:
            return app.__dict__[self._name]  # type: ignore[no-any-return]
        except KeyError:
            pass
        with app._lock:  # re-entrant: building one service builds those it needs
            if self._name not in app.__dict__:
                app.__dict__[self._name] = self._build(app)
            return app.__dict__[self._name]  # type: ignore[no-any-return]


class Application:
    """Everything the edges (CLI, API, UI, model server, monitor scheduler) call. Close it
    when done.

    Safe to share between threads: the store's engine pools connections (SQLite's writes go
    through one connection under a lock), services are built once under a lock and keep no
    per-request state. ``delivery`` says when queued webhook notifications are sent:
    ``"inline"`` (the CLI, the SDK: one attempt before the call returns) or ``"deferred"``
    (a server: ``app.notifier.run_pending()`` from its own background loop)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        delivery: Delivery = "inline",
        computes: Computes = "client",
    ) -> None:
        if delivery not in ("inline", "deferred"):
            raise InvalidInput(f"unknown delivery {delivery!r}: use inline or deferred")
        self.settings = settings
        self.store = store
        self.delivery = delivery
        self.computes = computes
        self._lock = threading.RLock()

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        delivery: Delivery = "inline",
        computes: Computes = "client",
    ) -> Application:
        """Open the home named by ``settings``; refuse a non-home, an out-of-date store, or a
        store whose ledger does not extend the head this home witnessed (``LedgerTampered``:
        an older copy restored, or history rewritten; see ``_witness.py``)."""
        require_home(settings)
        key_path = settings.signing_key_path
        witness = home_witness(settings)

        def load_signer() -> Signer:
            try:
                signer = Signer.from_file(key_path)  # refuses a key others may read
            except FileNotFoundError:
                raise NotFound(
                    f"no ledger signing key at {key_path}: changes cannot be recorded "
                    "(set STEWARD_SIGNING_KEY to the team's key)"
                ) from None
            except ValueError as exc:
                raise InvalidInput(f"unusable ledger signing key at {key_path}: {exc}") from None
            # The first write comes next: the store may have been swapped since it was opened.
            witness.check(store)
            return signer

        store = Store.open(settings.database_url, signer=load_signer, clock=clock or SystemClock())
        try:
            witness.check(store)
        except BaseException:
            store.close()
            raise
        return cls(settings, store, delivery=delivery, computes=computes)

    def close(self) -> None:
        """Advance this home's witness to the store's head, then close the store.

        The witness moves only forwards, to a head that extends it and is signed by this
        home's key; when it cannot (the store is unreachable, or no longer extends it) it is
        left as it was, so the next ``open`` refuses the store rather than this ``close``
        failing a command that has already done its work."""
        try:
            with suppress(StewardError, OSError):
                home_witness(self.settings).advance(
                    self.store,
                    lambda: trusted_public_key(self.settings),
                    lambda: utc_iso(self.store.now()),
                )
        finally:
            self.store.close()

    def __enter__(self) -> Application:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @_built
    def identity(self) -> IdentityService:
        return IdentityService(self.store)

    # Use cases are imported when first used, so a command loads only what it runs.
    @_built
    def audit(self) -> AuditService:
        from steward.services.audit._service import AuditService
        from steward.services.audit._witness import home_witness

        return AuditService(
            self.store,
            trusted_public_key(self.settings),
            home_witness(self.settings),
            log_root=self.settings.home / "logs",
        )

    @_built
    def datasets(self) -> DatasetService:
        from steward.services.datasets._service import DatasetService

        return DatasetService(
            self.store,
            self.artifacts,
            max_columns=self.settings.max_columns,
            max_cell_bytes=self.settings.max_cell_bytes,
        )

    @_built
    def runs(self) -> RunService:
        from steward.services.training._runs import RunService

        return RunService(self.store, self.artifacts)

    @_built
    def models(self) -> ModelService:
        from steward.services.models._service import ModelService

        return ModelService(self.store, self.artifacts, self.datasets)

    @_built
    def evidence(self) -> EvidenceService:
        from steward.services.evidence._service import EvidenceService

        return EvidenceService(
            self.store, self.artifacts, self.datasets, self.models, computed_by=self.computes
        )

    @_built
    def policies(self) -> PolicyService:
        from steward.services.governance._policies import PolicyService

        return PolicyService(self.store, self.datasets, self.models)

    @_built
    def governance(self) -> GovernanceService:
        from steward.services.governance._service import GovernanceService

        return GovernanceService(self.store, self.models, self.policies, self.notifier)

    @_built
    def deployments(self) -> DeploymentService:
        from steward.services.serving._deployments import DeploymentService

        return DeploymentService(self.store, self.models, self.policies)

    @_built
    def explanations(self) -> ExplanationService:
        from steward.services.serving._explanations import ExplanationService

        return ExplanationService(self.store, self.artifacts)

    @_built
    def predictions(self) -> PredictionService:
        from steward.services.serving._predictions import PredictionService

        home = self.settings.home
        return PredictionService(
            self.store, home / "logs", home / "keys" / "prediction_log.key", self.secrets
        )

    @_built
    def monitoring(self) -> MonitoringService:
        from steward.services.monitoring._service import MonitoringService

        return MonitoringService(
            self.store,
            self.artifacts,
            self.datasets,
            self.models,
            self.evidence,
            self.deployments,
            self.predictions,
            self.notifier,
        )

    @_built
    def retraining(self) -> RetrainService:
        from steward.services.monitoring._retrain import RetrainService

        return RetrainService(
            self.datasets,
            self.models,
            self.training,
            self.evidence,
            self.predictions,
            self.alerts,
        )

    @_built
    def alerts(self) -> AlertService:
        from steward.services.monitoring._alerts import AlertService

        return AlertService(self.store)

    @_built
    def notifier(self) -> InlineDelivery | DeferredDelivery:
        """Sends the webhook notifications governance calls queue (see ``delivery``)."""
        from steward.services.governance._notifier import DeferredDelivery, InlineDelivery

        if self.delivery == "deferred":
            return DeferredDelivery(self.webhooks)
        return InlineDelivery(self.webhooks)

    @_built
    def webhooks(self) -> WebhookService:
        from steward.services.governance._webhooks import WebhookService

        return WebhookService(self.store, self.secrets)

    @_built
    def secrets(self) -> SecretBox:
        """Seals secrets at rest under the home's secrets key (or STEWARD_SECRETS_KEY)."""
        from steward.services._secrets import SecretBox

        return SecretBox(self.settings.secrets_key_path)

    @_built
    def jobs(self) -> JobService:
        from steward.services.jobs._service import JobService

        return JobService(self.store)

    @_built
    def mitigation(self) -> MitigationService:
        from steward.services.training._mitigation import MitigationService

        return MitigationService(self.datasets, self.models, self.evidence)

    @_built
    def training(self) -> TrainingService:
        from steward.services.training._service import TrainingService

        return TrainingService(
            self.store, self.artifacts, self.datasets, self.runs, self.models, self.evidence
        )

    @_built
    def artifacts(self) -> ArtifactStore:
        from steward.artifacts import ArtifactStore

        return ArtifactStore(self.settings.artifacts_location)

    def authenticate(self, token: str | None) -> Actor:
        """The actor ``token`` stands for, or ``AuthenticationError``: the strict path every
        server edge uses. A missing token is refused; it never falls back to an identity of
        the home (``open_session`` is the local, ambient path)."""
        return self.identity.authenticate(token)

    def store_label(self) -> str:
        """The store's URL with any password hidden, for people to read."""
        return self.store.engine.url.render_as_string(hide_password=True)
