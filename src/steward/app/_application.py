"""The composition root: services wired to one store, built from ``Settings``."""

from __future__ import annotations

from contextlib import suppress
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING

from steward.app._home import require_home, trusted_public_key
from steward.domain import Actor
from steward.errors import InvalidInput, NotFound, StewardError
from steward.ledger import Signer
from steward.services.audit._witness import home_witness
from steward.services.identity._service import IdentityService
from steward.settings import Settings
from steward.store import Store
from steward.types import Clock, SystemClock, utc_iso

if TYPE_CHECKING:
    from steward.artifacts import ArtifactStore
    from steward.services.audit._service import AuditService
    from steward.services.datasets._service import DatasetService
    from steward.services.evidence._service import EvidenceService
    from steward.services.governance._policies import PolicyService
    from steward.services.governance._service import GovernanceService
    from steward.services.governance._webhooks import WebhookService
    from steward.services.models._service import ModelService
    from steward.services.training._mitigation import MitigationService
    from steward.services.training._runs import RunService
    from steward.services.training._service import TrainingService

__all__ = ["Application"]


class Application:
    """Everything the edges (CLI, API, UI, model server) call. Close it when done."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock | None = None) -> Application:
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
        return cls(settings, store)

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

    @cached_property
    def identity(self) -> IdentityService:
        return IdentityService(self.store)

    # Use cases are imported when first used, so a command loads only what it runs.
    @cached_property
    def audit(self) -> AuditService:
        from steward.services.audit._service import AuditService
        from steward.services.audit._witness import home_witness

        return AuditService(
            self.store, trusted_public_key(self.settings), home_witness(self.settings)
        )

    @cached_property
    def datasets(self) -> DatasetService:
        from steward.services.datasets._service import DatasetService

        return DatasetService(
            self.store,
            self.artifacts,
            max_columns=self.settings.max_columns,
            max_cell_bytes=self.settings.max_cell_bytes,
        )

    @cached_property
    def runs(self) -> RunService:
        from steward.services.training._runs import RunService

        return RunService(self.store, self.artifacts)

    @cached_property
    def models(self) -> ModelService:
        from steward.services.models._service import ModelService

        return ModelService(self.store, self.artifacts, self.datasets)

    @cached_property
    def evidence(self) -> EvidenceService:
        from steward.services.evidence._service import EvidenceService

        return EvidenceService(self.store, self.artifacts, self.datasets, self.models)

    @cached_property
    def policies(self) -> PolicyService:
        from steward.services.governance._policies import PolicyService

        return PolicyService(self.store, self.datasets, self.models)

    @cached_property
    def governance(self) -> GovernanceService:
        from steward.services.governance._service import GovernanceService

        return GovernanceService(self.store, self.models, self.policies)

    @cached_property
    def webhooks(self) -> WebhookService:
        from steward.services.governance._webhooks import WebhookService

        return WebhookService(self.store)

    @cached_property
    def mitigation(self) -> MitigationService:
        from steward.services.training._mitigation import MitigationService

        return MitigationService(self.datasets, self.models)

    @cached_property
    def training(self) -> TrainingService:
        from steward.services.training._service import TrainingService

        return TrainingService(self.store, self.artifacts, self.datasets, self.runs, self.models)

    @cached_property
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
