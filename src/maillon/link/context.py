"""What the store knows about a person beyond names and birth: identity number, events.

:func:`store_columns` reads, for every person, the columns of
:data:`maillon.link.model.STORE_COLUMNS`:

* ``id_number``: the identity number's **blind index** (``person.identity_number_bidx``, a
  keyed HMAC that is the same in every organisation). The number is never decrypted: equal
  indexes mean equal numbers, which is all the model compares.
* ``event_country`` / ``event_city``: countries (ISO alpha-2) and ``CC|city`` (city folded like
  names) of the person's trafficking events (recruitment, transit, exploitation), plus the
  events recorded for the person's case without a person;
* ``event_month``: every month (``YYYY-MM``) covered by those events' date ranges, at most
  :data:`MAX_MONTHS` per event from its start (an open range counts its known end only).

Lists are sorted and free of repeats; a person without any value gets ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, select

from maillon.link.names import fold
from maillon.store import models as m

MAX_MONTHS = 36
"""Months of one event's range put in ``event_month`` (long exploitation periods are capped)."""


def months(start: date | None, end: date | None) -> list[str]:
    """The ``YYYY-MM`` months from ``start`` to ``end`` (either may be missing), capped."""
    if start is None and end is None:
        return []
    if start is None or end is None or end < start:
        one = start if start is not None else end
        return [] if one is None else [f"{one.year:04d}-{one.month:02d}"]
    out: list[str] = []
    y, mo = start.year, start.month
    while (y, mo) <= (end.year, end.month) and len(out) < MAX_MONTHS:
        out.append(f"{y:04d}-{mo:02d}")
        y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
    return out


def _sorted(values: Iterable[str]) -> list[str] | None:
    return sorted(set(values)) or None


def store_columns(conn: Connection, person_ids: list[str]
                  ) -> dict[str, list[str | list[str] | None]]:
    """``id_number``, ``event_city``, ``event_country``, ``event_month`` for ``person_ids``
    (in that order); see the module docstring."""
    p, ev = m.Person, m.TraffickingEvent
    bidx: dict[str, str | None] = {}
    case_of: dict[str, str | None] = {}
    for person in conn.execute(select(p.id, p.identity_number_bidx, p.case_id)):
        bidx[person[0]] = person[1]
        case_of[person[0]] = person[2]
    by_person: dict[str, list[tuple[str | None, str | None, date | None, date | None]]] = {}
    by_case: dict[str, list[tuple[str | None, str | None, date | None, date | None]]] = {}
    for pid, case_id, country, city, start, end in conn.execute(
            select(ev.person_id, ev.case_id, ev.country, ev.city, ev.date_from, ev.date_to)):
        row = (country, city, start, end)
        if pid is not None:
            by_person.setdefault(pid, []).append(row)
        else:
            by_case.setdefault(case_id, []).append(row)
    cols: dict[str, list[str | list[str] | None]] = {
        "id_number": [], "event_city": [], "event_country": [], "event_month": []}
    for pid in person_ids:
        own_case = case_of.get(pid)
        events = by_person.get(pid, []) + (by_case.get(own_case, []) if own_case else [])
        cities: list[str] = []
        countries: list[str] = []
        when: list[str] = []
        for country, city, start, end in events:
            if country:
                countries.append(country.upper())
                place = fold(city)
                if place:
                    cities.append(f"{country.upper()}|{place}")
            when += months(start, end)
        cols["id_number"].append(bidx.get(pid))
        cols["event_city"].append(_sorted(cities))
        cols["event_country"].append(_sorted(countries))
        cols["event_month"].append(_sorted(when))
    return cols
