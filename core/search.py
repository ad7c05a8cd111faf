"""What a console search box is given, read once: the words to match by name, the
digits of a phone number, the forms of an exact code. Apps build their matches from a
``SearchTerm`` with the expressions below, which their search indexes are built on.

Matching by name is accent- and case-insensitive: the column is folded in the database
(``Fold``) and the term in Python (``fold``) the same way. On PostgreSQL ``Fold`` is the
immutable function ``FOLD_FUNCTION`` (``lower(unaccent(...))``, created by the
customers' search migration), so a trigram index on ``Fold(column)`` serves a
``LIKE '%word%'``. SQLite (the demo) folds the case of unaccented letters only: an
accented name is found there by its accented spelling (``name_words``).

Phone numbers are compared by their digits: a phone typed as ``303-555-0189``,
``(303) 555 0189`` or ``+1 303 555 0189`` has the national number ``3035550189``, and a
stored number matches when its digits end with it, whatever its format. The digits are
compared reversed (``PhoneKey``): "ends with" becomes "starts with", which a b-tree
index serves as a range of a few entries.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import connection
from django.db.models import CharField, Func
from django.db.models.functions import Reverse

# Created by ``customers/migrations/0008_search_indexes`` (text in ``customers.sql``).
FOLD_FUNCTION = "oms_search_fold"

# Shorter words match too many rows, and a trigram index cannot serve them.
MIN_PARTIAL_LENGTH = 3
# Fewer digits than this is not a phone number (and would match too much).
MIN_PHONE_DIGITS = 7

_PHONE_TEXT = re.compile(r"^\+?[\d\s().\-/]+$")
_NOT_DIGIT = re.compile(r"\D")


def fold(text: str) -> str:
    """``text`` without accents, in lower case: what ``Fold`` makes of a column."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


class Fold(Func):
    """A column without accents and in lower case (see the module's docstring)."""

    function = FOLD_FUNCTION
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(compiler, connection, function="LOWER", **extra_context)


class Digits(Func):
    """The digits of a column, for phone numbers stored in any format."""

    output_field = CharField()
    # Constants in the text, not parameters: the index is on this very expression.
    template = "regexp_replace(%(expressions)s, '[^0-9]+', '', 'g')"

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # SQLite has no regexp_replace; these are the separators people type.
        template = "%(expressions)s"
        for separator in (" ", "-", "(", ")", ".", "+", "/"):
            template = f"REPLACE({template}, '{separator}', '')"
        return super().as_sql(compiler, connection, template=template, **extra_context)


def phone_key(column: str) -> Reverse:
    """The digits of a phone column, reversed: the expression the phone indexes are on."""
    return Reverse(Digits(column))


def phone_national_digits(text: str) -> str:
    """The national number of ``text`` when it reads as a phone number, else "".

    ``+1 303 555 0189`` and ``303-555-0189`` both give ``3035550189``. A number that
    ``phonenumbers`` cannot read keeps its digits, so a stored number written the same
    way is still found.
    """
    text = text.strip()
    if not _PHONE_TEXT.match(text):
        return ""
    digits = _NOT_DIGIT.sub("", text)
    if len(digits) < MIN_PHONE_DIGITS:
        return ""
    candidate = "+" + text[2:] if text.startswith("00") else text
    try:
        parsed = phonenumbers.parse(candidate, settings.OMS_DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return digits
    national = str(parsed.national_number or "")
    return national if len(national) >= MIN_PHONE_DIGITS else digits


def name_words(term: SearchTerm) -> tuple[str, ...]:
    """The words a ``Fold``-ed name must contain: folded, or on SQLite (which has no
    unaccent) in lower case as typed."""
    return term.words if connection.vendor == "postgresql" else term.typed_words


@dataclass(frozen=True)
class SearchTerm:
    """One search box's input, read once for every source that matches it."""

    raw: str
    # Codes (order, SKU, RMA, invoice numbers) are stored in upper case.
    upper: str
    # The folded words a name must all contain; empty when the term is too short.
    words: tuple[str, ...]
    # The same words in lower case, accents kept.
    typed_words: tuple[str, ...]
    # The lower-case text an e-mail address must contain; "" when too short.
    email_part: str
    # The national number when the term reads as a phone number, else "".
    phone: str

    @classmethod
    def parse(cls, text: str) -> SearchTerm:
        raw = " ".join(text.split())
        words = tuple(w for w in fold(raw).split() if len(w) >= MIN_PARTIAL_LENGTH)
        typed_words = tuple(w for w in raw.lower().split() if len(w) >= MIN_PARTIAL_LENGTH)
        lowered = raw.lower()
        email_part = lowered if len(lowered) >= MIN_PARTIAL_LENGTH and " " not in raw else ""
        return cls(
            raw=raw,
            upper=raw.upper(),
            words=words,
            typed_words=typed_words,
            email_part=email_part,
            phone=phone_national_digits(raw),
        )

    def __bool__(self) -> bool:
        return bool(self.raw)

    @property
    def phone_key_prefix(self) -> str:
        """What a ``phone_key`` starts with when its number ends with this phone."""
        return self.phone[::-1]
