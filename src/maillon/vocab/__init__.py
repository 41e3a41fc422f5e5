"""Code lists (vocabularies) as data files, with a small typed loader.

See ``docs/vocab.md`` for the lists, their sources and how to extend them.
"""

from maillon.vocab.api import (
    Code,
    Vocabulary,
    codes,
    countries,
    country,
    country_alpha3,
    country_name,
    get,
    names,
    normalise,
)

__all__ = [
    "Code",
    "Vocabulary",
    "codes",
    "countries",
    "country",
    "country_alpha3",
    "country_name",
    "get",
    "names",
    "normalise",
]
