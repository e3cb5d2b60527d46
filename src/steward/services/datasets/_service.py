"""Dataset governance: register versions, read them, document them, set their contracts."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steward.artifacts import ArtifactStore
from steward.domain import (
    DATASHEET_FIELDS,
    Actor,
    ContractSet,
    Dataset,
    DatasetRegistered,
    DatasetVersion,
    DatasheetUpdated,
    Evidence,
    EvidenceEntry,
    MissingPolicy,
    Permission,
    Ref,
    validate_name,
)
from steward.errors import IntegrityError, InvalidInput, NotFound
from steward.ledger import canonical_bytes
from steward.services._access import require
from steward.services._records import content_hash, make_evidence, record_event, sealed_version
from steward.services.datasets._evidence import (
    contract_source,
    entities,
    first_version_findings,
    pii_findings,
)
from steward.services.datasets._inputs import (
    Prepared,
    check_declarations,
    file_sha256,
    prepare,
    to_polars,
)
from steward.settings import DEFAULT_MAX_CELL_BYTES, DEFAULT_MAX_COLUMNS
from steward.store import Store
from steward.types import utc_iso

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["DatasetService", "Registration"]

VALIDATION_CHECK = "data.validation"
PII_CHECK = "data.pii"
CHECK_VERSION = "1"
# 2: person names in any case, from Faker's name lists (decision 0019)
PII_CHECK_VERSION = "2"
PII_MIN_SHARE = 0.8
PII_SAMPLE_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class Registration:
    """The outcome of ``register``: the version, and whether it is new."""

    version: DatasetVersion
    created: bool
    evidence: tuple[Evidence, ...]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The registration's JSON document: the version, whether it is new, the note (why
        not, or what was noticed) and the evidence recorded about it."""
        return {
            "created": self.created,
            "note": self.note,
            "version": self.version.to_dict(),
            "evidence": [record.to_dict() for record in self.evidence],
        }


def read_verified(version: DatasetVersion, path: Path) -> pa.Table:
    """The table of ``version`` read from its Parquet copy at ``path``, refused unless its
    content has the version's fingerprint."""
    import pyarrow.parquet as pq

    from steward.data import canonicalize, fingerprint

    table = canonicalize(pq.read_table(path), version.ref)
    actual = fingerprint(table)
    if actual != version.fingerprint:
        raise IntegrityError(
            f"{version.ref}: stored table has fingerprint {actual[:16]}…, "
            f"registered {version.fingerprint[:16]}…"
        )
    return table


class DatasetService:
    """Every method takes the acting identity and checks its permission first."""

    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        *,
        max_columns: int = DEFAULT_MAX_COLUMNS,
        max_cell_bytes: int = DEFAULT_MAX_CELL_BYTES,
    ) -> None:
        """``max_columns`` and ``max_cell_bytes`` bound the tables ``register`` accepts
        (``Settings.max_columns``, ``Settings.max_cell_bytes``)."""
        self._store = store
        self._artifacts = artifacts
        self._max_columns = max_columns
        self._max_cell_bytes = max_cell_bytes

    # --- registration -------------------------------------------------------------------

    def register(
        self,
        actor: Actor,
        data: Path | Any,
        *,
        name: str,
        target: str | None = None,
        sensitive: Sequence[str] = (),
        missing: str = "impute",
        origin: str | None = None,
    ) -> Registration:
        """Register ``data`` (a CSV/Parquet path or a pandas/polars frame) as a new version;
        ``origin`` is how messages name the file (an upload: the path the client gave).

        Identical content with identical declarations is reported, not duplicated. Nothing
        is written — no version, no artifact, no ledger event — when any check refuses.
        """
        require(actor, Permission.DATASET_WRITE, "register datasets")
        try:
            validate_name("dataset", name)
            policy = MissingPolicy(missing)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        from steward.data import TableLimits

        prepared = prepare(data, TableLimits(self._max_columns, self._max_cell_bytes), origin)
        declared = check_declarations(prepared, target, tuple(sensitive))

        with self._store.read() as reader:
            dataset = reader.dataset(name)
            previous = (
                reader.dataset_version(name, dataset.latest_version)
                if dataset and dataset.latest_version
                else None
            )
            same = reader.dataset_version_by_fingerprint(name, prepared.fingerprint)
            identical = same is not None and (same.target, same.sensitive, same.missing) == (
                target,
                declared,
                policy,
            )
            if identical:
                assert same is not None
                evidence = tuple(
                    e for i in same.evidence_ids if (e := reader.evidence(i)) is not None
                )
        if identical:
            assert same is not None
            return Registration(
                same, False, evidence, f"identical to {same.ref}: no new version registered"
            )
        return self._register_new(
            actor, name, prepared, target, declared, policy, dataset, previous, same
        )

    def _register_new(
        self,
        actor: Actor,
        name: str,
        prepared: Prepared,
        target: str | None,
        sensitive: tuple[str, ...],
        policy: MissingPolicy,
        dataset: Dataset | None,
        previous: DatasetVersion | None,
        same: DatasetVersion | None,
    ) -> Registration:
        from steward.data import (
            check_contract,
            contract_from_version,
            profile_table,
            sample_rows,
            scan_pii,
            write_parquet,
        )

        # The scan reads a seeded sample of rows (it samples each column again from those),
        # so its cost does not grow with the table.
        scan = scan_pii(
            to_polars(sample_rows(prepared.table, PII_SAMPLE_ROWS)), min_share=PII_MIN_SHARE
        )
        # Columns whose values are personal data; a name alone only raises a finding.
        private = tuple(dict.fromkeys(f.column for f in scan.findings if f.source == "values"))
        schema, profile = profile_table(prepared.table, private=frozenset(private))
        contract = None
        if dataset is not None and dataset.contract is not None:
            contract = dataset.contract
        elif previous is not None:
            contract = contract_from_version(previous)
        contract_findings = check_contract(prepared.table, contract) if contract else ()

        with tempfile.TemporaryDirectory(prefix="steward-register-") as tmp:
            parquet = Path(tmp) / "table.parquet"
            write_parquet(prepared.table, parquet)
            key = "sha256:" + file_sha256(parquet)
            existed = self._artifacts.exists(key)
            self._artifacts.put_file(parquet)
        try:
            with self._store.write(actor) as tx:
                # Serialize registrations of one dataset and look again under the lock: of
                # several processes registering the same content at once, one registers it and
                # the others find it (rather than each making a version).
                tx.lock(f"dataset:{name}")
                again = tx.dataset_version_by_fingerprint(name, prepared.fingerprint)
                if again is not None and (again.target, again.sensitive, again.missing) == (
                    target,
                    sensitive,
                    policy,
                ):
                    found = tuple(
                        e for i in again.evidence_ids if (e := tx.evidence(i)) is not None
                    )
                    return Registration(
                        again, False, found, f"identical to {again.ref}: no new version registered"
                    )
                if tx.dataset(name) is None:
                    tx.add_dataset(name)
                current = tx.dataset(name)
                assert current is not None
                number = current.latest_version + 1
                subject = f"dataset:{name}@{number}"
                when = utc_iso(tx.now)
                base = {"dataset": f"{name}@{number}", "fingerprint": prepared.fingerprint}
                validation = make_evidence(
                    subject=subject,
                    check_id=VALIDATION_CHECK,
                    check_version=CHECK_VERSION,
                    params={"contract_source": contract_source(dataset, previous)},
                    inputs={
                        **base,
                        "contract_hash": content_hash(contract) if contract else None,
                    },
                    metrics={
                        "findings": len(contract_findings),
                        "columns": len(schema.columns),
                    },
                    findings=contract_findings or first_version_findings(previous, contract),
                    created_at=when,
                    created_by=actor.name,
                )
                pii = make_evidence(
                    subject=subject,
                    check_id=PII_CHECK,
                    check_version=PII_CHECK_VERSION,
                    params={
                        "sample_rows": PII_SAMPLE_ROWS,
                        "sample_size": scan.sample_size,
                        "min_share": PII_MIN_SHARE,
                        "entities": list(entities()),
                    },
                    inputs=base,
                    metrics={
                        "columns_scanned": scan.columns_scanned,
                        "columns_flagged": len(private),
                        "truncated": scan.truncated,
                    },
                    findings=pii_findings(scan),
                    created_at=when,
                    created_by=actor.name,
                )
                version = sealed_version(
                    DatasetVersion(
                        name=name,
                        version=number,
                        fingerprint=prepared.fingerprint,
                        artifact=key,
                        rows=prepared.table.num_rows,
                        schema=schema,
                        profile=profile,
                        target=target,
                        sensitive=sensitive,
                        missing=policy,
                        pii_columns=private,
                        source=prepared.source,
                        created_at=when,
                        created_by=actor.name,
                        evidence_ids=(validation.id, pii.id),
                    )
                )
                tx.add_evidence(validation)
                tx.add_evidence(pii)
                tx.add_dataset_version(version)
                registered = DatasetRegistered(
                    dataset=name,
                    version=number,
                    fingerprint=prepared.fingerprint,
                    artifact=key,
                    rows=version.rows,
                    columns=len(schema.columns),
                    target=target,
                    sensitive=tuple(sensitive),
                    pii_columns=tuple(private),
                    content_hash=version.content_hash,
                    evidence=tuple(
                        EvidenceEntry.of(e, check_version=False) for e in (validation, pii)
                    ),
                )
                record_event(tx, registered, subject=subject)
        except BaseException:
            if not existed:
                self._artifacts.delete(key)
            raise
        note = f"same content as {same.ref}, new declarations" if same else None
        return Registration(version, True, (validation, pii), note)

    # --- reading ------------------------------------------------------------------------

    def list_datasets(self, actor: Actor) -> list[tuple[Dataset, DatasetVersion | None]]:
        require(actor, Permission.DATASET_READ, "list datasets")
        with self._store.read() as reader:
            return [
                (d, reader.dataset_version(d.name, d.latest_version) if d.latest_version else None)
                for d in reader.datasets()
            ]

    def get(self, actor: Actor, ref: str) -> DatasetVersion:
        require(actor, Permission.DATASET_READ, "read datasets")
        with self._store.read() as reader:
            return _resolve(reader, ref)

    def dataset(self, actor: Actor, name: str) -> Dataset:
        require(actor, Permission.DATASET_READ, "read datasets")
        with self._store.read() as reader:
            found = reader.dataset(name)
        if found is None:
            raise NotFound(f"no dataset named {name!r}")
        return found

    def evidence(self, actor: Actor, ref: str) -> list[Evidence]:
        require(actor, Permission.DATASET_READ, "read datasets")
        with self._store.read() as reader:
            version = _resolve(reader, ref)
            return reader.evidence_for(version.subject)

    def load(self, actor: Actor, ref: str) -> pa.Table:
        """The version's table, after checking its artifact hash and its fingerprint."""
        return self.load_version(actor, ref)[1]

    def load_version(self, actor: Actor, ref: str) -> tuple[DatasetVersion, pa.Table]:
        """The resolved version and its verified table (see ``load``)."""
        with tempfile.TemporaryDirectory(prefix="steward-load-") as tmp:
            version, path = self.table_file(actor, ref, Path(tmp))
            return version, read_verified(version, path)

    def table_file(self, actor: Actor, ref: str, folder: Path) -> tuple[DatasetVersion, Path]:
        """The resolved version and its stored Parquet copy, copied (hash-checked) into
        ``folder``: what ``load_version`` reads, here or in a remote client."""
        version = self.get(actor, ref)
        return version, self._artifacts.copy_to(version.artifact, folder / "table.parquet")

    # --- documentation and contracts ----------------------------------------------------

    def update_datasheet(self, actor: Actor, name: str, fields: dict[str, str]) -> Dataset:
        require(actor, Permission.DATASET_WRITE, "edit datasheets")
        unknown = set(fields) - set(DATASHEET_FIELDS)
        if unknown:
            raise InvalidInput(
                f"unknown datasheet field(s) {', '.join(sorted(unknown))}: use "
                f"{', '.join(DATASHEET_FIELDS)}"
            )
        if not fields:
            raise InvalidInput("no datasheet field given")
        with self._store.write(actor) as tx:
            dataset = tx.dataset(name)
            if dataset is None:
                raise NotFound(f"no dataset named {name!r}")
            sheet = {**dataset.datasheet, **fields}
            sheet = {k: v for k, v in sheet.items() if v != ""}
            tx.set_datasheet(name, sheet)
            record_event(
                tx, DatasheetUpdated(dataset=name, fields=fields), subject=f"dataset:{name}"
            )
            updated = tx.dataset(name)
        assert updated is not None
        return updated

    def contract(self, actor: Actor, ref: str) -> dict[str, Any]:
        """The contract the next version of the dataset will be validated against."""
        from steward.data import contract_from_version

        require(actor, Permission.DATASET_READ, "read datasets")
        with self._store.read() as reader:
            version = _resolve(reader, ref)
            dataset = reader.dataset(version.name)
        assert dataset is not None
        if dataset.contract is not None and Ref.parse(ref).alias == "latest":
            return dataset.contract
        return contract_from_version(version)

    def set_contract(self, actor: Actor, name: str, raw: Any, origin: str) -> dict[str, Any]:
        """Replace the contract new versions of ``name`` are validated against."""
        from steward.data import parse_contract

        require(actor, Permission.DATASET_WRITE, "set dataset contracts")
        contract = parse_contract(raw, origin)
        if contract.get("dataset") not in (None, name):
            raise InvalidInput(f"{origin}: the contract is for dataset {contract['dataset']!r}")
        try:
            canonical_bytes(contract)
        except ValueError as exc:
            raise InvalidInput(f"{origin}: {exc}") from None
        with self._store.write(actor) as tx:
            if tx.dataset(name) is None:
                raise NotFound(f"no dataset named {name!r}")
            tx.set_contract(name, contract)
            contract_set = ContractSet(dataset=name, contract_hash=content_hash(contract))
            record_event(tx, contract_set, subject=f"dataset:{name}")
        return contract


def _resolve(reader: Any, ref: str) -> DatasetVersion:
    try:
        parsed = Ref.parse(ref)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    dataset = reader.dataset(parsed.name)
    if dataset is None:
        raise NotFound(f"no dataset named {parsed.name!r}")
    if parsed.version is None and parsed.alias != "latest":
        raise InvalidInput(f"datasets have no stage {parsed.alias!r}: use NAME@N or NAME@latest")
    number = parsed.version or dataset.latest_version
    version = reader.dataset_version(parsed.name, number)
    if version is None:
        raise NotFound(
            f"dataset {parsed.name!r} has no version {number} (latest is {dataset.latest_version})"
        )
    assert isinstance(version, DatasetVersion)
    return version
