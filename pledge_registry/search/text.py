"""The searchable text of a shop and of a query, and the grams the index keeps: pure, no Flask.

Chinese has no spaces between words, and a shopper types one to four characters of a name
("物业", "店"). Every unigram and bigram of each searchable field is indexed, so any query of
one character is a unigram look-up, and a longer one is the intersection of its bigrams,
confirmed as a real substring of the normalised text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

MAX_QUERY = 50  # characters of a normalised query that count (the search box allows 50)
FIELD_SEPARATOR = "\n"  # white space: never in a normalised query, so no match spans two fields


def normalise(text: str) -> str:
    """NFKC (full-width forms folded), lower case, no white space and no control characters."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if not ch.isspace() and unicodedata.category(ch) != "Cc")


def document(fields: Iterable[str | None]) -> str:
    """The normalised fields of one shop, as one text a query is confirmed against."""
    return FIELD_SEPARATOR.join(normalise(f or "") for f in fields)


def grams_of(fields: Iterable[str | None]) -> set[str]:
    """Every unigram and bigram of each field (none across two fields)."""
    grams: set[str] = set()
    for field in fields:
        text = normalise(field or "")
        grams.update(text)
        grams.update(text[i:i + 2] for i in range(len(text) - 1))
    return grams


def query_grams(query: str) -> list[str]:
    """The grams a normalised query must all have: itself if one character, else its bigrams."""
    if len(query) <= 1:
        return [query] if query else []
    return list(dict.fromkeys(query[i:i + 2] for i in range(len(query) - 1)))
