"""Column-name hints for the PII scanner: the entities a column's name suggests.

Names are normalised (camelCase and separators split, lower case) and matched as exact
tokens, so ``user_email`` hints an e-mail address and ``emailed_count`` does not.
"""

from __future__ import annotations

import re

__all__ = ["name_hints"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PERSON_QUALIFIERS = _words(
    "first last full given family middle maiden sur birth legal person customer client "
    "patient employee contact holder cardholder owner member student parent mother father spouse"
)
_PERSON_COMPOUNDS = _words(
    "firstname lastname surname surnames fullname givenname givennames forename forenames "
    "middlename familyname maidenname birthname"
)
_NUMBER_WORDS = frozenset({"number", "num", "no", "nr"})


def name_hints(column: str) -> frozenset[str]:
    """Entities that the column name suggests (exact tokens after normalisation)."""
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", column)
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", spaced).lower()
    words = [w for w in re.split(r"[^a-z0-9]+", spaced) if w]
    tokens = set(words) | {"".join(words)}
    hints: set[str] = set()
    if tokens & {"email", "emails", "mail", "emailaddress", "mailaddress"}:
        hints.add("EMAIL_ADDRESS")
    phone_words = {"phone", "phones", "telephone", "tel", "fax", "msisdn", "phonenumber"}
    if tokens & (phone_words | {"cellphone", "mobilephone", "mobilenumber", "cellnumber"}) or (
        tokens & {"mobile", "cell"} and (len(words) == 1 or tokens & _NUMBER_WORDS)
    ):
        hints.add("PHONE_NUMBER")
    if "ssn" in tokens or {"social", "security"} <= tokens or "socialsecurity" in "".join(words):
        hints.add("US_SSN")
    if (
        tokens & {"pan", "ccn", "creditcard", "cardnumber", "ccnumber", "creditcardnumber"}
        or {"credit", "card"} <= tokens
        or (tokens & {"card", "cc"} and tokens & _NUMBER_WORDS)
    ):
        hints.add("CREDIT_CARD")
    if tokens & {"iban", "ibans"}:
        hints.add("IBAN")
    if tokens & {"ip", "ips", "ipaddress", "ipaddr", "ipv4", "ipv6"}:
        hints.add("IP_ADDRESS")
    if tokens & {"dob", "birthday", "birthdate", "dateofbirth", "bday", "born"} or (
        "birth" in tokens and not tokens & {"place", "city", "country", "town", "name"}
    ):
        hints.add("DATE_OF_BIRTH")
    if tokens & _PERSON_COMPOUNDS or (
        tokens & {"name", "names"} and (len(words) == 1 or tokens & _PERSON_QUALIFIERS)
    ):
        hints.add("PERSON_NAME")
    return frozenset(hints)
