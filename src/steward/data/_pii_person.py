"""Person names in any case: the column-level PERSON_NAME recogniser of the PII scanner.

A single cell cannot tell a name from a word ("Rose", "Austin", "King"), so the decision is
made per column, from three signals:

* **Shape.** A cell is name-shaped when it is 1-4 words of letters (inner ``'``, ``’``, ``.``
  and ``-`` allowed, e.g. ``O'Brien``, ``Jean-Luc``, ``J.``), at most 100 characters, with at
  most one comma after the first word (``Hernandez, Miguel``). Digits, ``/``, ``&``, ``@``,
  parentheses and longer phrases are not names. A column needs ``min_share`` of its sampled
  cells name-shaped; those cells are its ``matched`` count.
* **The name list.** A cell is *known* when one of its words (or a part of a hyphenated one),
  case-folded and without accents, is a first or last name of Faker's person providers (every
  locale, about 30,000 first and 28,000 last names; see decision 0019). Name particles and
  titles (``van``, ``de``, ``mr``...) and a few category words found in the lists (``unknown``,
  ``male``, ``true``...) are never evidence. A cell is a *full name* when it has two or more
  words, its first word is a known first name and its last word a known last name (or the
  reverse around a comma). The list is read on first use only, and only for a column that is
  already name-shaped and varied: most tables never load it.
* **The column name** (:func:`steward.data._pii_names.person_hint`):

  - ``qualified`` (``first_name``, ``surname``, ``customer_name``...): flagged when at least
    ``min_share`` of the cells are capitalised as names are (the rule without a list), or at
    least ``HINTED_KNOWN`` of them are known;
  - ``bare`` (``name`` alone, which also names products and places) and ``weak`` (``first``,
    ``last``, ``given``, ``middle``... alone): flagged when at least ``HINTED_KNOWN`` of the
    cells are known and the column is not a category list (at least ``HINTED_MIN_DISTINCT``
    distinct values, and ``MIN_DISTINCT_SHARE`` of the sampled cells distinct);
  - none: flagged when the column is not a category list (at least ``UNHINTED_MIN_DISTINCT``
    distinct values, and ``MIN_DISTINCT_SHARE`` of the cells distinct) and either most cells
    have several words, ``min_share`` of the cells are known and ``FULL_NAMES`` of them full
    names, or ``UNHINTED_SINGLE_FIRST`` of the cells are single known first names.

  Under any hint, when most cells have several words, ``FULL_NAMES`` of the cells must be
  full names too: "Main Street" and "Wells Fargo" are two known words, not a given name
  followed by a family name.

Each distinct value is examined once, so a category column costs what its levels cost. Cities,
colours, months, products and similar categories are largely words of the list ("Austin",
"Rose", "June", "Echo"), which is why the category-list test and the full-name structure
matter; the thresholds are measured in decision 0019 and ``tests/test_pii_names.py``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

__all__ = ["NameList", "PersonNames", "name_list", "person_names"]

HINTED_KNOWN = 0.6
MIN_DISTINCT_SHARE = 0.2
HINTED_MIN_DISTINCT = 5
UNHINTED_MIN_DISTINCT = 20
FULL_NAMES = 0.3
UNHINTED_SINGLE_FIRST = 0.7


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PARTICLES = _set(
    "van von der den de del della di da das dos du la le les st ste bin ibn al el mc mac ter ten zu"
)
_TITLES = _set("mr mrs ms miss mx dr prof sir dame rev")
# Words that Faker's lists hold as given names (from birth registers) but that fill category
# columns far more often than they name a person.
_NOT_NAMES = _set(
    "unknown male female man woman true false none null other yes no less more not any all "
    "new old low high medium"
)
_FIRST_ATTRIBUTES = (
    "first_names",
    "first_names_male",
    "first_names_female",
    "first_names_nonbinary",
)
_LAST_ATTRIBUTES = ("last_names", "last_names_male", "last_names_female")


@dataclass(frozen=True, slots=True)
class NameList:
    """Case-folded, accent-free first and last names."""

    first: frozenset[str]
    last: frozenset[str]


@dataclass(frozen=True, slots=True)
class PersonNames:
    """What :func:`person_names` concluded about one column's sampled cells."""

    matched: int  # name-shaped cells
    example: str | None  # the first name-shaped cell, raw (the caller masks it)
    flagged: bool


# Letters that NFKD does not split into a base letter and an accent.
_UNSPLIT = str.maketrans(
    {"’": "'", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "þ": "th", "ı": "i"}
)


_LATIN = re.compile(r"[\u0000-\u024f]")


def _fold(text: str) -> str:
    """Case-folded, without accents; text of other scripts only case-folded."""
    text = text.casefold()
    if text.isascii() or not _LATIN.match(text):
        return text
    plain = unicodedata.normalize("NFKD", text.translate(_UNSPLIT))
    return plain.encode("ascii", "ignore").decode("ascii") or text


@functools.cache
def name_list() -> NameList:
    """Faker's first and last names of every locale, read once per process on first use.

    Faker is imported here and nowhere else, so ``import steward`` and scans of tables
    without name-shaped columns never pay for it (0.25-0.5 s on two cores).
    """
    import importlib
    import inspect
    import pkgutil

    from faker.providers import person

    raw: tuple[set[str], set[str]] = (set(), set())
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attributes, target in zip((_FIRST_ATTRIBUTES, _LAST_ATTRIBUTES), raw, strict=True):
            for attribute in attributes:
                names = inspect.getattr_static(provider, attribute, ())
                if isinstance(names, tuple | list | dict | set | frozenset):
                    target.update(name for name in names if isinstance(name, str))
    first, last = (_index(names) for names in raw)
    return NameList(first, last)


def _index(names: set[str]) -> frozenset[str]:
    folded = {_fold(name) for name in names}
    # "de la cruz", "mary ann": each word counts too
    words = {word for name in folded if " " in name for word in name.split()}
    every = (folded | words) - _PARTICLES - _TITLES - _NOT_NAMES
    return frozenset(name for name in every if len(name) > 1)


_NAME_WORD = r"[^\W\d_]+(?:['’.-][^\W\d_]*)*"
_CELL = re.compile(rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}")
_REVERSED = re.compile(rf"({_NAME_WORD})\s*,\s*({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})")


def _words(text: str) -> tuple[tuple[str, ...], bool] | None:
    """The case-folded words of a name-shaped cell and whether a comma reversed them."""
    if len(text) > 100:
        return None
    if _CELL.fullmatch(text):
        words, reversed_ = _fold(text).split(), False
    elif "," in text and (match := _REVERSED.fullmatch(text)):
        words, reversed_ = _fold(f"{match[1]} {match[2]}").split(), True
    else:
        return None
    if "." in text:  # initials and titles: "J.", "Dr."
        words = [bare for word in words if (bare := word.strip("."))]
    named = [word for word in words if word not in _TITLES]
    return tuple(named or words), reversed_


def _capitalised(text: str) -> bool:
    words = text.replace(",", " ").split()
    return 2 * sum(word[0].isupper() for word in words) >= len(words)


def _known(words: tuple[str, ...], names: NameList) -> bool:
    first, last = names.first, names.last
    if any(word in first or word in last for word in words):
        return True
    return any(
        part in first or part in last for word in words if "-" in word for part in word.split("-")
    )


def _evidence(words: tuple[str, ...], reversed_: bool, names: NameList) -> tuple[bool, bool]:
    """(known, full name) for the words of one name-shaped cell."""
    known = _known(words, names)
    if len(words) < 2 or not known:
        return known, False
    given, family = (words[1], words[0]) if reversed_ else (words[0], words[-1])
    return known, given in names.first and family in names.last


def person_names(values: list[str], hint: str | None, min_share: float) -> PersonNames:
    """Decide whether ``values`` (stripped, non-blank sampled cells) are person names.

    ``hint`` is :func:`~steward.data._pii_names.person_hint` of the column name. Each distinct
    value is examined once, so a category column costs what its levels cost.
    """
    total = len(values)
    if not total:
        return PersonNames(0, None, False)
    counts = Counter(values)
    shaped: list[tuple[str, int, tuple[str, ...], bool]] = []
    matched = missed = 0
    for value, count in counts.items():
        parsed = _words(value)
        if parsed is None:
            missed += count
            if (total - missed) / total < min_share:
                return PersonNames(matched, shaped[0][0] if shaped else None, False)
        else:
            shaped.append((value, count, *parsed))
            matched += count
    example = shaped[0][0] if shaped else None
    if matched / total < min_share:
        return PersonNames(matched, example, False)
    if hint == "qualified":
        capitalised = sum(count for value, count, _, _ in shaped if _capitalised(value))
        if capitalised / total >= min_share:
            return PersonNames(matched, example, True)
    # A column of few distinct values is a category list, whatever its words are.
    distinct = len({words for _, _, words, _ in shaped})
    floor = UNHINTED_MIN_DISTINCT if hint is None else HINTED_MIN_DISTINCT
    if hint != "qualified" and (distinct < floor or distinct / total < MIN_DISTINCT_SHARE):
        return PersonNames(matched, example, False)
    names = name_list()
    known = full = multi = single_first = 0
    for _, count, words, reversed_ in shaped:
        is_known, is_full = _evidence(words, reversed_, names)
        known += count * is_known
        full += count * is_full
        multi += count * (len(words) > 1)
        single_first += count * (len(words) == 1 and words[0] in names.first)
    # Cells of several words must be full names often enough ("main street" is two known
    # words but no given name followed by a family name).
    structured = multi < total / 2 or full / total >= FULL_NAMES
    if hint is not None:
        return PersonNames(matched, example, structured and known / total >= HINTED_KNOWN)
    flagged = (multi >= total / 2 and structured and known / total >= min_share) or (
        single_first / total >= UNHINTED_SINGLE_FIRST
    )
    return PersonNames(matched, example, flagged)
