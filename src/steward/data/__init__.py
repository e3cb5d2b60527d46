"""Dataset capabilities: reading, fingerprinting, profiling, validation, PII scanning.

Heavy libraries (pyarrow, polars, pandera, phonenumbers) load when this package is imported;
the services import it only when a dataset operation runs, never at CLI start-up.
"""

from steward.data._contract import (
    CONTRACT_FORMAT,
    MISSING_RATE_TOLERANCE,
    check_contract,
    contract_from_version,
    parse_contract,
)
from steward.data._limits import TableLimits
from steward.data._pii import ENTITIES, PiiFinding, PiiScan, scan_pii
from steward.data._profile import (
    HISTOGRAM_BINS,
    MAX_CATEGORIES,
    PROFILE_FORMAT,
    QUANTILES,
    profile_table,
)
from steward.data._table import (
    FORMATS,
    canonicalize,
    detect_format,
    fingerprint,
    frame_to_arrow,
    logical_type,
    read_file,
    sample_rows,
    write_parquet,
)

__all__ = [
    "CONTRACT_FORMAT",
    "ENTITIES",
    "FORMATS",
    "HISTOGRAM_BINS",
    "MAX_CATEGORIES",
    "MISSING_RATE_TOLERANCE",
    "PROFILE_FORMAT",
    "QUANTILES",
    "PiiFinding",
    "PiiScan",
    "TableLimits",
    "canonicalize",
    "check_contract",
    "contract_from_version",
    "detect_format",
    "fingerprint",
    "frame_to_arrow",
    "logical_type",
    "parse_contract",
    "profile_table",
    "read_file",
    "sample_rows",
    "scan_pii",
    "write_parquet",
]
