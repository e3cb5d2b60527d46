"""Offline, column-level PII scanner for tabular data.

:func:`scan_pii` looks at each column of a :class:`polars.DataFrame` and reports the columns
that hold personal data. It works offline (no NER model, no network) and is built to stay
quiet on ordinary columns: a column is flagged from its *values* only when most of its cells
are, as a whole, an instance of one entity.

Rules:

* **Sampling.** Per column, at most ``sample_size`` non-null, non-blank cells are examined: all
  of them, or a random sample drawn with ``seed`` (the same frame and seed give the same
  result). Work per column is bounded, so a million-row table scans like a small one.
* **Whole-cell matches.** After stripping surrounding whitespace, the entity must cover the
  whole cell; an e-mail inside free text does not count.
* **Values findings.** A column gets ``source="values"`` for an entity when
  ``matched / sampled >= min_share``; at most one per column (the highest share; ties follow
  the order of :data:`ENTITIES`).
* **Recognizers.** EMAIL_ADDRESS: the WHATWG "valid e-mail address" grammar with a dot in the
  domain. PHONE_NUMBER: phone-shaped strings (digits, spaces, ``-``, ``.``, parentheses,
  leading ``+``; 7-20 characters; at least 7 digits; not a date, decimal or dotted quad)
  that ``phonenumbers`` (default region US) finds valid. US_SSN: ``ddd-dd-dddd`` passing
  ``stdnum.us.ssn``; bare 9 digits only when the column name suggests an SSN. CREDIT_CARD:
  13-19 digits (space/dash separators allowed), Luhn-valid, with the issuer prefix of a real
  network. IBAN: ``stdnum.iban`` checksum. IP_ADDRESS: ``ipaddress.ip_address`` (v4 and v6).
  DATE_OF_BIRTH needs a column-name hint: dates within 1900-01-01..today. PERSON_NAME, in
  any case, is decided per column by :mod:`steward.data._pii_person`: at least ``min_share``
  name-shaped cells (1-4 words of letters), confirmed by capitalisation under a person column
  name, or by Faker's name lists (read on first need) — under a name hint, or without one
  when the column has many distinct values that are mostly full names.
* **Column types.** String, Categorical and Enum columns try every recognizer. Integer
  columns are formatted as decimal strings and try only CREDIT_CARD, plus US_SSN (zero-padded
  to 9 digits) when the name suggests an SSN. Date/Datetime columns try only DATE_OF_BIRTH
  (name-hinted). Boolean, float and all other columns are skipped.
* **Name findings.** The column name (lower-cased, split on non-alphanumerics and camelCase)
  is a second signal: when it suggests an entity that the values do not establish, a
  ``source="name"`` finding is emitted (string and temporal columns: any hint; integer
  columns: only SSN, card and phone hints). Exact tokens only: ``user_email`` hints an
  e-mail, ``emailed_count`` does not. ``name`` alone or with a person qualifier (``first_name``,
  ``customer_name``...) hints PERSON_NAME; ``username``, ``file_name``, ``hostname`` and
  ``display_name`` do not (they name accounts and things, not people). ``first``, ``last``,
  ``given``... alone help the values decide but never give a name finding on their own.
  A column never has both findings for one entity. Columns without a non-null value get no
  findings.
* **Masking.** ``example`` is one masked matched value (never the raw value); ``None`` for
  name findings.
* **Time budget.** ``clock()`` is read before each column; once more than
  ``time_budget_seconds`` have passed, scanning stops and ``truncated`` is True.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers
import polars as pl
from stdnum import iban, luhn
from stdnum.us import ssn

from steward.data._pii_names import name_hints, person_hint
from steward.data._pii_person import person_names
from steward.errors import InvalidInput

__all__ = ["ENTITIES", "PiiFinding", "PiiScan", "scan_pii"]

ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "US_SSN",
    "CREDIT_CARD",
    "IBAN",
    "IP_ADDRESS",
    "DATE_OF_BIRTH",
    "PERSON_NAME",
)


@dataclass(frozen=True, slots=True)
class PiiFinding:
    """One entity found in one column, from its values or from its name only."""

    column: str
    entity: str
    source: str
    matched: int
    sampled: int
    share: float
    example: str | None


@dataclass(frozen=True, slots=True)
class PiiScan:
    """The outcome of :func:`scan_pii`; findings sorted by column order, then ENTITIES order."""

    findings: tuple[PiiFinding, ...]
    columns_scanned: int
    sample_size: int
    truncated: bool
    elapsed_seconds: float

    def columns(self) -> tuple[str, ...]:
        """The distinct columns with any finding, in table order."""
        return tuple(dict.fromkeys(f.column for f in self.findings))


# --- recognizers ---------------------------------------------------------------------------

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+")
_PHONE_SHAPE = re.compile(r"\+?[0-9(][0-9 ().-]{4,18}[0-9]")
_NOT_PHONE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"  # dates
    r"|[+-]?\d*\.\d+|\d{1,3}(?:\.\d{1,3}){3}"  # decimals, dotted quads
)
_SSN_DASHED = re.compile(r"\d{3}-\d{2}-\d{4}")
_NINE_DIGITS = re.compile(r"\d{9}")
_CARD = re.compile(r"\d(?:[ -]?\d){12,18}")
_IBAN = re.compile(r"[A-Za-z]{2}\d{2}[A-Za-z0-9 ]{10,40}")
_DATE_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ][0-9:.+Z-]*)?")
_DATE_DMY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")

# Issuer prefixes as (prefix length, lowest, highest): Visa; Mastercard; Amex; Discover;
# Diners; JCB; UnionPay.
_CARD_PREFIXES: tuple[tuple[int, int, int], ...] = (
    (1, 4, 4), (2, 51, 55), (4, 2221, 2720), (2, 34, 34), (2, 37, 37), (4, 6011, 6011),
    (3, 644, 649), (2, 65, 65), (3, 300, 305), (2, 36, 36), (2, 38, 38), (4, 3528, 3589),
    (2, 62, 62),
)  # fmt: skip


def _is_email(text: str) -> bool:
    return len(text) <= 254 and _EMAIL.fullmatch(text) is not None


def _is_phone(text: str) -> bool:
    if not 7 <= len(text) <= 20 or _PHONE_SHAPE.fullmatch(text) is None:
        return False
    if sum(c.isdigit() for c in text) < 7 or _NOT_PHONE.fullmatch(text) is not None:
        return False
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(text, "US")))
    except phonenumbers.NumberParseException:
        return False


def _is_ssn(text: str, *, bare: bool) -> bool:
    shaped = _SSN_DASHED.fullmatch(text) or (bare and _NINE_DIGITS.fullmatch(text))
    return bool(shaped) and bool(ssn.is_valid(text))


def _is_card(text: str) -> bool:
    if _CARD.fullmatch(text) is None:
        return False
    digits = text.replace(" ", "").replace("-", "")
    if not luhn.is_valid(digits):
        return False
    return any(low <= int(digits[:size]) <= high for size, low, high in _CARD_PREFIXES)


def _is_iban(text: str) -> bool:
    return _IBAN.fullmatch(text) is not None and bool(iban.is_valid(text))


def _is_ip(text: str) -> bool:
    if len(text) > 64 or ("." not in text and ":" not in text):
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _parse_date(text: str) -> date | None:
    candidates: list[tuple[int, int, int]] = []
    if m := _DATE_YMD.fullmatch(text):
        candidates.append((int(m[1]), int(m[2]), int(m[3])))
    elif m := _DATE_DMY.fullmatch(text):
        year, first, second = int(m[3]), int(m[1]), int(m[2])
        candidates += [(year, first, second), (year, second, first)]  # US order, then day-first
    elif m := _DATE_COMPACT.fullmatch(text):
        candidates.append((int(m[1]), int(m[2]), int(m[3])))
    for year, month, day in candidates:
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return None


def _is_birth_date(value: object) -> bool:
    if isinstance(value, str):
        value = _parse_date(value)
    if isinstance(value, datetime):
        value = value.date()
    return isinstance(value, date) and date(1900, 1, 1) <= value <= date.today()


# --- masking -------------------------------------------------------------------------------


def _mask(entity: str, value: object) -> str:
    """A masked rendering of a matched value that shows the kind but not the content."""
    if isinstance(value, date):
        return f"{value.year}-**-**"
    text = str(value).strip()
    digits = "".join(c for c in text if c.isdigit())
    if entity == "EMAIL_ADDRESS":
        local, _, domain = text.rpartition("@")
        return f"{local[0]}***@{domain[0]}***.{domain.rsplit('.', 1)[1]}"
    if entity == "PHONE_NUMBER":  # every digit but the last two
        keep = [i for i, c in enumerate(text) if c.isdigit()][-2:]
        return "".join("*" if c.isdigit() and i not in keep else c for i, c in enumerate(text))
    if entity == "US_SSN":
        return f"***-**-{digits[-4:]}"
    if entity == "CREDIT_CARD":
        return _group("*" * (len(digits) - 4) + digits[-4:])
    if entity == "IBAN":
        compact = text.replace(" ", "").upper()
        return _group(compact[:2] + "*" * (len(compact) - 6) + compact[-4:])
    if entity == "IP_ADDRESS":
        address = ipaddress.ip_address(text)
        if address.version == 4:
            return text.rsplit(".", 1)[0] + ".***"
        return ":".join(address.exploded.split(":")[:3]) + ":*:*:*:*:*"
    if entity == "DATE_OF_BIRTH":
        parsed = _parse_date(text)
        return f"{parsed.year}-**-**" if parsed else "****-**-**"
    return " ".join(f"{word[0].upper()}." for word in text.replace(",", " ").split())  # initials


def _group(text: str) -> str:
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


# --- scanning ------------------------------------------------------------------------------

_NUMERIC_NAME_HINTS = frozenset({"US_SSN", "CREDIT_CARD", "PHONE_NUMBER"})


def _recognizers(kind: str, hints: frozenset[str]) -> dict[str, Callable[[object], bool]]:
    """The recognizers tried on a column of ``kind`` ("string", "integer" or "temporal")."""
    bare_ssn = "US_SSN" in hints
    if kind == "temporal":
        return {"DATE_OF_BIRTH": _is_birth_date} if "DATE_OF_BIRTH" in hints else {}
    if kind == "integer":
        found: dict[str, Callable[[object], bool]] = {"CREDIT_CARD": lambda v: _is_card(str(v))}
        if bare_ssn:
            found["US_SSN"] = lambda v: _is_ssn(str(v).zfill(9), bare=True)
        return found
    every: dict[str, Callable[[str], bool]] = {
        "EMAIL_ADDRESS": _is_email,
        "PHONE_NUMBER": _is_phone,
        "US_SSN": lambda text: _is_ssn(text, bare=bare_ssn),
        "CREDIT_CARD": _is_card,
        "IBAN": _is_iban,
        "IP_ADDRESS": _is_ip,
        "DATE_OF_BIRTH": _is_birth_date,
    }
    return {
        entity: _on_text(check)
        for entity, check in every.items()
        if entity != "DATE_OF_BIRTH" or entity in hints
    }


def _on_text(check: Callable[[str], bool]) -> Callable[[object], bool]:
    return lambda value: check(str(value).strip())


def _count(
    values: list[object], check: Callable[[object], bool], min_share: float, exhaustive: bool
) -> tuple[int, object | None]:
    """Matches of ``check`` in ``values`` and the first match; stops once ``min_share`` is
    out of reach unless ``exhaustive``."""
    total, matched, missed, first = len(values), 0, 0, None
    for value in values:
        if check(value):
            matched += 1
            first = value if first is None else first
        else:
            missed += 1
            if not exhaustive and (total - missed) / total < min_share:
                break
    return matched, first


def _column_kind(dtype: pl.DataType) -> str | None:
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        return "string"
    if dtype.is_integer():
        return "integer"
    if isinstance(dtype, pl.Date | pl.Datetime):
        return "temporal"
    return None  # Boolean, floats, decimals, nested and binary columns are not scanned


def _sample(series: pl.Series, kind: str, sample_size: int, seed: int) -> list[object]:
    series = series.drop_nulls()
    if kind == "string":
        series = series.cast(pl.String)
        series = series.filter(series.str.strip_chars() != "")
    if len(series) > sample_size:
        series = series.sample(n=sample_size, seed=seed)
    return series.to_list()


def _scan_column(
    name: str, series: pl.Series, sample_size: int, min_share: float, seed: int
) -> Iterable[PiiFinding]:
    kind = _column_kind(series.dtype)
    if kind is None:
        return []
    hints = name_hints(name)
    values = _sample(series, kind, sample_size, seed)
    if not values:
        return []
    sampled = len(values)
    results: dict[str, tuple[int, object | None]] = {
        entity: _count(values, check, min_share, exhaustive=entity in hints)
        for entity, check in _recognizers(kind, hints).items()
    }
    flagged = {e for e, (matched, _) in results.items() if matched / sampled >= min_share}
    if kind == "string":  # person names are decided per column, not per cell
        person = person_names([str(v).strip() for v in values], person_hint(name), min_share)
        results["PERSON_NAME"] = (person.matched, person.example)
        if person.flagged:
            flagged.add("PERSON_NAME")
    qualifying = [e for e in ENTITIES if e in flagged]
    best = max(qualifying, key=lambda e: results[e][0], default=None)  # first max wins ties
    findings: list[PiiFinding] = []
    for entity in ENTITIES:
        matched = results.get(entity, (0, None))[0]
        share = matched / sampled
        if entity == best:
            example = _mask(entity, results[entity][1])
            findings.append(PiiFinding(name, entity, "values", matched, sampled, share, example))
        elif entity in hints and (kind != "integer" or entity in _NUMERIC_NAME_HINTS):
            findings.append(PiiFinding(name, entity, "name", matched, sampled, share, None))
    return findings


def scan_pii(
    frame: pl.DataFrame,
    *,
    sample_size: int = 1000,
    min_share: float = 0.8,
    seed: int = 0,
    time_budget_seconds: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> PiiScan:
    """Scan ``frame`` column by column for personal data; see the module docstring for rules.

    Raises :class:`~steward.errors.InvalidInput` when ``sample_size < 1``, ``min_share`` is
    outside ``(0, 1]`` or ``time_budget_seconds`` is negative.
    """
    if sample_size < 1:
        raise InvalidInput(f"sample_size must be at least 1, not {sample_size}")
    if not 0.0 < min_share <= 1.0:
        raise InvalidInput(f"min_share must be in (0, 1], not {min_share}")
    if time_budget_seconds < 0:
        raise InvalidInput(f"time_budget_seconds must not be negative, not {time_budget_seconds}")
    start = clock()
    findings: list[PiiFinding] = []
    scanned, truncated = 0, False
    for name in frame.columns:
        if clock() - start > time_budget_seconds:
            truncated = True
            break
        findings.extend(_scan_column(name, frame.get_column(name), sample_size, min_share, seed))
        scanned += 1
    return PiiScan(
        findings=tuple(findings),
        columns_scanned=scanned,
        sample_size=sample_size,
        truncated=truncated,
        elapsed_seconds=clock() - start,
    )
