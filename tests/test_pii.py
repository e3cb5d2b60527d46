"""The offline PII scanner flags columns of personal data and stays quiet on ordinary columns."""

from __future__ import annotations

import random
import string
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from steward.data._pii import PiiScan, scan_pii
from steward.errors import InvalidInput

# --- generators of realistic values ---------------------------------------------------------


def _luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(payload)):
        digit = int(char)
        if index % 2 == 0:  # doubled once the check digit is appended
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return str((10 - total % 10) % 10)


def _luhn_ok(number: str) -> bool:
    return _luhn_check_digit(number[:-1]) == number[-1]


def _card(rng: random.Random, *, spaced: bool) -> str:
    prefix = rng.choice(["4", "51", "53", "55", "2221", "2720"])  # Visa, Mastercard
    payload = prefix + "".join(rng.choices(string.digits, k=15 - len(prefix)))
    number = payload + _luhn_check_digit(payload)
    if spaced:
        return " ".join(number[i : i + 4] for i in range(0, 16, 4))
    return number


def _not_luhn(rng: random.Random) -> int:
    """A 16-digit integer whose last digit is deliberately not the Luhn check digit."""
    payload = str(rng.randint(1, 9)) + "".join(rng.choices(string.digits, k=14))
    wrong = (int(_luhn_check_digit(payload)) + rng.randint(1, 9)) % 10
    return int(payload + str(wrong))


def _iban(rng: random.Random, country: str, layout: str) -> str:
    """An IBAN with correct check digits; ``layout`` is "a" (letter) or "n" (digit) per char."""
    bban = "".join(
        rng.choice(string.ascii_uppercase if kind == "a" else string.digits) for kind in layout
    )
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def _emails(rng: random.Random, n: int) -> list[str]:
    domains = ["example.com", "mail.example.org", "corp.example.co.uk"]
    names = ["ada", "alan", "grace", "linus", "barbara", "edsger"]
    return [f"{rng.choice(names)}.{i}@{rng.choice(domains)}" for i in range(n)]


def _scan(frame: pl.DataFrame, **options: float) -> PiiScan:
    return scan_pii(frame, **options)  # type: ignore[arg-type]


def _by_column(scan: PiiScan) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for finding in scan.findings:
        found.setdefault(finding.column, []).append((finding.entity, finding.source))
    return found


# --- the realistic mixed table --------------------------------------------------------------


@pytest.fixture
def mixed() -> pl.DataFrame:
    rng = random.Random(7)
    n = 400
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return pl.DataFrame(
        {
            "email": _emails(rng, n),
            "payment_card": [_card(rng, spaced=i % 3 == 0) for i in range(n)],
            "age": [rng.randint(18, 90) for _ in range(n)],
            "is_member": [rng.randint(0, 1) for _ in range(n)],
            "amount": [round(rng.uniform(0, 500), 2) for _ in range(n)],
            "tier": [rng.choice(["gold", "silver", "bronze"]) for _ in range(n)],
            "comment": [
                rng.choice(["great service", "write to ada@example.com please", "late again"])
                for _ in range(n)
            ],
            "created_at": [
                (start + timedelta(minutes=rng.randint(0, 10**6))).strftime("%Y-%m-%dT%H:%M:%SZ")
                for _ in range(n)
            ],
            "order_day": [
                (date(2026, 1, 1) + timedelta(days=rng.randint(0, 700))).isoformat()
                for _ in range(n)
            ],
            "reference_number": [_not_luhn(rng) for _ in range(n)],
            "zip": [f"{rng.randint(0, 99999):05d}" for _ in range(n)],
            "ratio": [f"{rng.uniform(0, 10):.2f}" for _ in range(n)],
            "sku": [
                f"{rng.choice('ABCDE')}{rng.choice('XYZ')}-{rng.randint(100, 9999)}"
                for _ in range(n)
            ],
            "version": [
                f"{rng.randint(0, 3)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}" for _ in range(n)
            ],
            "active": [rng.random() < 0.5 for _ in range(n)],
        }
    )


def test_only_email_and_card_columns_are_flagged_in_a_mixed_table(mixed: pl.DataFrame) -> None:
    scan = scan_pii(mixed)

    assert _by_column(scan) == {
        "email": [("EMAIL_ADDRESS", "values")],
        "payment_card": [("CREDIT_CARD", "values")],
    }
    assert scan.columns() == ("email", "payment_card")
    assert scan.columns_scanned == mixed.width
    assert not scan.truncated
    for finding in scan.findings:
        assert finding.matched == finding.sampled == mixed.height
        assert finding.share == 1.0


def test_examples_are_masked_and_never_hold_a_raw_value(mixed: pl.DataFrame) -> None:
    scan = scan_pii(mixed)
    raw = set(mixed["email"].to_list()) | set(mixed["payment_card"].to_list())
    raw |= {value.replace(" ", "") for value in mixed["payment_card"].to_list()}

    for finding in scan.findings:
        rendered = repr(finding)
        assert not any(value in rendered for value in raw)
    examples = {f.entity: f.example for f in scan.findings}
    assert examples["EMAIL_ADDRESS"] is not None
    assert examples["EMAIL_ADDRESS"].count("***") == 2
    assert examples["CREDIT_CARD"] is not None
    assert examples["CREDIT_CARD"].startswith("**** **** **** ")


def test_card_numbers_in_an_integer_column_are_found_and_non_luhn_integers_are_not() -> None:
    rng = random.Random(3)
    cards = [int(_card(rng, spaced=False)) for _ in range(200)]
    randoms = [_not_luhn(rng) for _ in range(200)]
    assert not any(_luhn_ok(str(number)) for number in randoms)
    frame = pl.DataFrame({"cards": cards, "randoms": randoms}, schema_overrides={"cards": pl.Int64})

    scan = scan_pii(frame)

    assert _by_column(scan) == {"cards": [("CREDIT_CARD", "values")]}
    assert scan.findings[0].example == f"**** **** **** {str(cards[0])[-4:]}"


# --- each entity on realistic examples ------------------------------------------------------


def _entity_frames() -> dict[str, pl.DataFrame]:
    rng = random.Random(11)
    n = 120
    phones = [
        "(415) 555-2671",
        "415-555-2671",
        "415.555.2671",
        "+1 202 555 0143",
        "6502530000",
        "+44 20 7946 0958",
        "+49 30 901820",
        "+33 1 42 68 53 00",
    ]
    ssns = [
        f"{rng.choice([a for a in range(1, 900) if a != 666]):03d}-"
        f"{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        for _ in range(n)
    ]
    layouts = {"DE": "n" * 18, "GB": "aaaa" + "n" * 14, "NL": "aaaa" + "n" * 10, "FR": "n" * 23}
    ibans = [_iban(rng, c, layouts[c]) for c in rng.choices(sorted(layouts), k=n)]
    ibans = [
        " ".join(v[i : i + 4] for i in range(0, len(v), 4)) if k % 2 else v
        for k, v in enumerate(ibans)
    ]
    ips = [
        f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if k % 2
        else f"2001:db8:{rng.randint(0, 0xFFFF):x}::{rng.randint(1, 0xFFFF):x}"
        for k in range(n)
    ]
    births = [date(1940, 1, 1) + timedelta(days=rng.randint(0, 25_000)) for _ in range(n)]
    names = [
        "Ada Lovelace",
        "Jean-Luc Picard",
        "Seán O'Brien",
        "Mary Ann van Dyke",
        "Grace Hopper",
        "Linus",
        "J. R. R. Tolkien",
    ]
    return {
        "PHONE_NUMBER": pl.DataFrame({"contact": [phones[k % len(phones)] for k in range(n)]}),
        "US_SSN": pl.DataFrame({"identifier": ssns}),
        "IBAN": pl.DataFrame({"account": ibans}),
        "IP_ADDRESS": pl.DataFrame({"origin": ips}),
        "DATE_OF_BIRTH": pl.DataFrame({"date_of_birth": [d.isoformat() for d in births]}),
        "DATE_OF_BIRTH (Date column)": pl.DataFrame({"date_of_birth": births}),
        "PERSON_NAME": pl.DataFrame({"full_name": [names[k % len(names)] for k in range(n)]}),
        "EMAIL_ADDRESS": pl.DataFrame({"contact": _emails(rng, n)}),
        "CREDIT_CARD": pl.DataFrame({"pan_token": [_card(rng, spaced=True) for _ in range(n)]}),
    }


@pytest.mark.parametrize("case", sorted(_entity_frames()))
def test_each_entity_is_detected_from_realistic_values(case: str) -> None:
    frame = _entity_frames()[case]
    entity = case.split(" ")[0]

    scan = scan_pii(frame)

    values = [f for f in scan.findings if f.source == "values"]
    assert [f.entity for f in values] == [entity]
    assert values[0].share >= 0.8
    assert values[0].example is not None


def test_invalid_ssn_areas_are_not_ssns() -> None:
    invalid = ["000-12-3456", "666-12-3456", "900-12-3456", "987-65-4321", "123-00-4567"]
    frame = pl.DataFrame({"identifier": invalid * 20})

    assert scan_pii(frame).findings == ()


def test_bare_nine_digits_count_as_ssn_only_under_an_ssn_column_name() -> None:
    rng = random.Random(5)
    numbers = [rng.randint(100_000_000, 665_999_999) for _ in range(100)]
    frame = pl.DataFrame(
        {"ssn": numbers, "customer_ssn": [str(v) for v in numbers], "account_id": numbers}
    )

    assert _by_column(scan_pii(frame)) == {
        "ssn": [("US_SSN", "values")],
        "customer_ssn": [("US_SSN", "values")],
    }


def test_iso_dates_and_timestamps_are_never_phone_numbers() -> None:
    frame = pl.DataFrame(
        {
            "when": ["2026-11-30", "2026-11-30T01:02:03Z", "2026-01-15 09:30:00", "20261130"] * 25,
            "reading": ["3.14", "1234567.89", "-2.5", "10.20.30.40"] * 25,
        }
    )

    assert scan_pii(frame).findings == ()


def test_dates_of_birth_need_a_birth_column_name_and_a_plausible_range() -> None:
    past = [date(1970, 1, 1) + timedelta(days=30 * k) for k in range(50)]
    future = [date.today() + timedelta(days=30 + k) for k in range(50)]
    frame = pl.DataFrame({"signup_date": past, "dob": future, "birthDate": past})

    assert _by_column(scan_pii(frame)) == {
        "dob": [("DATE_OF_BIRTH", "name")],
        "birthDate": [("DATE_OF_BIRTH", "values")],
    }


# --- thresholds and column-name hints -------------------------------------------------------


def test_share_below_min_share_gives_no_values_finding() -> None:
    rng = random.Random(2)
    values = _emails(rng, 70) + ["no e-mail given"] * 30
    frame = pl.DataFrame({"contact": values})

    assert scan_pii(frame, min_share=0.8).findings == ()
    (finding,) = scan_pii(frame, min_share=0.6).findings
    assert (finding.entity, finding.source, finding.matched, finding.sampled) == (
        "EMAIL_ADDRESS",
        "values",
        70,
        100,
    )
    assert finding.share == pytest.approx(0.7)


def test_email_column_names_without_email_values_get_a_name_finding() -> None:
    junk = ["see CRM", "n/a", "ask Bob"] * 10
    frame = pl.DataFrame(
        {
            "email": junk,
            "user_email": junk,
            "eMailAddress": junk,
            "emailed_count": list(range(30)),
            "emailed_by": junk,
        }
    )

    scan = scan_pii(frame)

    assert _by_column(scan) == {
        "email": [("EMAIL_ADDRESS", "name")],
        "user_email": [("EMAIL_ADDRESS", "name")],
        "eMailAddress": [("EMAIL_ADDRESS", "name")],
    }
    for finding in scan.findings:
        assert (finding.matched, finding.sampled, finding.share, finding.example) == (
            0,
            30,
            0.0,
            None,
        )


def test_account_and_thing_names_are_not_person_names() -> None:
    frame = pl.DataFrame(
        {
            "username": ["Alice", "Bob", "Carol"] * 10,
            "file_name": ["Report", "Summary", "Draft"] * 10,
            "hostname": ["Alpha", "Beta", "Gamma"] * 10,
            "display_name": ["Ace", "Bo", "Cy"] * 10,
            "first_name": ["Alice", "Bob", "Carol"] * 10,
            "customerName": ["n/a", "-", "?"] * 10,
        }
    )

    assert _by_column(scan_pii(frame)) == {
        "first_name": [("PERSON_NAME", "values")],
        "customerName": [("PERSON_NAME", "name")],
    }


def test_numeric_columns_get_name_findings_only_for_ssn_card_and_phone_hints() -> None:
    frame = pl.DataFrame(
        {
            "phone": list(range(1000, 1030)),
            "card_number": list(range(30)),
            "email": list(range(30)),
            "ip": list(range(30)),
            "ssn_score": [0.5] * 30,
        }
    )

    assert _by_column(scan_pii(frame)) == {
        "phone": [("PHONE_NUMBER", "name")],
        "card_number": [("CREDIT_CARD", "name")],
    }


# --- determinism, bounds and edge cases -----------------------------------------------------


def test_same_frame_and_seed_give_identical_results() -> None:
    rng = random.Random(9)
    values = _emails(rng, 4000) + ["nothing here"] * 1000
    rng.shuffle(values)
    frame = pl.DataFrame({"contact": values, "n": list(range(5000))})

    first = scan_pii(frame, sample_size=200, min_share=0.7, seed=42, clock=lambda: 0.0)
    second = scan_pii(frame, sample_size=200, min_share=0.7, seed=42, clock=lambda: 0.0)

    assert first == second
    assert first.findings[0].sampled == 200
    assert 0.7 <= first.findings[0].share < 1.0


def test_time_budget_stops_scanning_and_marks_the_scan_truncated() -> None:
    rng = random.Random(4)
    frame = pl.DataFrame({f"c{k}": _emails(rng, 20) for k in range(10)})
    ticks = iter(range(1000))

    scan = scan_pii(frame, time_budget_seconds=2.5, clock=lambda: float(next(ticks)))

    assert scan.truncated
    assert scan.columns_scanned == 2
    assert scan.columns() == ("c0", "c1")


def test_a_million_row_table_is_scanned_from_a_bounded_sample() -> None:
    rows = 1_000_000
    frame = pl.select(
        ("user" + pl.int_range(0, rows).cast(pl.String) + "@example.com").alias("email"),
        pl.int_range(0, rows).alias("n"),
    )

    scan = scan_pii(frame, sample_size=1000)

    assert scan.columns() == ("email",)
    assert all(f.sampled <= scan.sample_size == 1000 for f in scan.findings)


def test_empty_frames_and_all_null_columns_give_no_findings() -> None:
    assert scan_pii(pl.DataFrame()).findings == ()
    assert scan_pii(pl.DataFrame(schema={"email": pl.String, "card": pl.Int64})).findings == ()
    nulls = pl.DataFrame(
        {
            "email": pl.Series([None] * 10, dtype=pl.String),
            "ssn": pl.Series([None] * 10, dtype=pl.Int64),
            "dob": pl.Series([None] * 10, dtype=pl.Date),
            "nothing": [None] * 10,
            "blank": ["  "] * 10,
        }
    )

    scan = scan_pii(nulls)

    assert scan.findings == ()
    assert scan.columns_scanned == nulls.width


@pytest.mark.parametrize(
    "options",
    [{"sample_size": 0}, {"min_share": 0.0}, {"min_share": 1.5}, {"time_budget_seconds": -1}],
)
def test_nonsensical_options_are_rejected(options: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        _scan(pl.DataFrame({"a": [1]}), **options)
