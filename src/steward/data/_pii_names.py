"""Column-name hints for the PII scanner: the entities a column's name suggests.

Names are normalised (camelCase and separators split, lower case) and matched as exact
tokens, so ``user_email`` hints an e-mail address and ``emailed_count`` does not.
"""

from __future__ import annotations

import re

__all__ = ["name_hints", "person_hint"]


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
# Other languages' words for a person's name parts (German, Spanish, Italian, Dutch, French).
_PERSON_FOREIGN = _words(
    "vorname vornamen nachname familienname apellido apellidos cognome voornaam achternaam prenom"
)
# Alone, these name a person's name part in a table of people, and other things elsewhere
# ("last" value, "family" of products): a hint only when the values are known names.
_PERSON_WEAK = _words("first last given family middle fname lname")
_NUMBER_WORDS = frozenset({"number", "num", "no", "nr"})


def _tokens(column: str) -> tuple[list[str], set[str]]:
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", column)
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", spaced).lower()
    words = [w for w in re.split(r"[^a-z0-9]+", spaced) if w]
    return words, set(words) | {"".join(words)}


def person_hint(column: str) -> str | None:
    """How strongly the column name suggests person names.

    ``"qualified"``: a name part or a person's name (``first_name``, ``surname``,
    ``customer_name``, ``nachname``); ``"bare"``: ``name``/``names``/``nombre`` alone;
    ``"weak"``: a name part alone (``first``, ``last``, ``given``, ``middle``...); else None.
    ``username``, ``file_name``, ``display_name`` and other names of things are None.
    """
    words, tokens = _tokens(column)
    if tokens & (_PERSON_COMPOUNDS | _PERSON_FOREIGN) or (
        tokens & {"name", "names"} and tokens & _PERSON_QUALIFIERS
    ):
        return "qualified"
    if len(words) == 1 and words[0] in {"name", "names", "nombre", "nom"}:
        return "bare"
    if len(words) == 1 and words[0] in _PERSON_WEAK:
        return "weak"
    return None


def name_hints(column: str) -> frozenset[str]:
    """Entities that the column name suggests (exact tokens after normalisation).

    PERSON_NAME is suggested by ``qualified`` and ``bare`` :func:`person_hint` names only.
    """
    words, tokens = _tokens(column)
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
    if person_hint(column) in ("qualified", "bare"):
        hints.add("PERSON_NAME")
    return frozenset(hints)
