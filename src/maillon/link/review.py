"""The review queue: uncertain pairs, each side shown as the caller's role may see it.

A caller with ``link_review:read`` sees the pending pairs where at least one person is within
their ``link_review`` scope (``own``: persons they recorded; ``organisation``: persons of their
organisation; ``all``). Each side is shown with the role's ``link_review`` field visibility
(``full``: names and birth date; ``pseudonymised``: a stable pseudonym and birth year), and a
person outside the caller's scope (another organisation's record) is always pseudonymised.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import asdict, dataclass
from hashlib import sha256
from typing import Any

from sqlalchemy import Connection, or_, select
from sqlalchemy.orm import aliased

from maillon.auth import api as auth
from maillon.link.models import LinkReview
from maillon.store import models as m
from maillon.store.crypto import FieldCipher

SHOWN_FIELDS = {
    "full": ("person.given_name", "person.family_name", "person.birth_date"),
    "pseudonymised": ("person.birth_year",),
    "none": (),
}


@dataclass
class Side:
    person_id: str
    organisation: str
    name: str | None
    birth: str | None
    sex: str | None
    citizenship: list[str]
    pseudonymised: bool


@dataclass
class ReviewItem:
    id: str
    match_probability: float
    match_weight: float
    waterfall: list[dict[str, Any]]
    status: str
    left: Side
    right: Side

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pseudonym(secret: bytes, value: str) -> str:
    return "P-" + hmac.new(secret, value.encode(), sha256).hexdigest()[:10]


def list_review(conn: Connection, principal: auth.Principal, *, cipher: FieldCipher,
                pseudonym_key: bytes, limit: int = 100, status: str = "pending"
                ) -> tuple[list[ReviewItem], str]:
    """Pending items the caller may see, most uncertain first; and the visibility used."""
    auth.require(principal, "link_review", "read")
    visibility = auth.field_visibility(principal, "link_review")
    pl, pr = aliased(m.Person), aliased(m.Person)

    def in_scope(p: Any) -> Any:
        return auth.scope_filter(principal, "link_review", "read", owner_column=p.created_by,
                                 organisation_column=p.organisation_id)

    rows = conn.execute(
        select(LinkReview.id, LinkReview.match_probability, LinkReview.match_weight,
               LinkReview.waterfall, LinkReview.status, LinkReview.person_id_l,
               LinkReview.person_id_r)
        .join(pl, pl.id == LinkReview.person_id_l).join(pr, pr.id == LinkReview.person_id_r)
        .where(LinkReview.status == status, or_(in_scope(pl), in_scope(pr)))
        .order_by((LinkReview.match_probability - 0.75) * (LinkReview.match_probability - 0.75),
                  LinkReview.id)
        .limit(limit)
    ).all()
    pids = {r.person_id_l for r in rows} | {r.person_id_r for r in rows}
    visible = set(conn.execute(select(m.Person.id).where(m.Person.id.in_(pids),
                                                         in_scope(m.Person))).scalars())
    people = {p.id: p for p in conn.execute(
        select(m.Person.id, m.Person.organisation_id, m.Person.given_name, m.Person.family_name,
               m.Person.birth_date, m.Person.birth_year, m.Person.gender, m.Organisation.name)
        .join(m.Organisation, m.Organisation.id == m.Person.organisation_id)
        .where(m.Person.id.in_(pids)))}
    cits: dict[str, list[str]] = {}
    for pid, code in conn.execute(select(m.PersonCode.person_id, m.PersonCode.code).where(
            m.PersonCode.person_id.in_(pids), m.PersonCode.vocabulary == "citizenship")):
        cits.setdefault(pid, []).append(code)

    def side(pid: str) -> Side:
        p = people[pid]
        full = visibility == "full" and pid in visible
        if full:
            def clear(token: str | None, f: str) -> str | None:
                return cipher.decrypt(token, organisation_id=p.organisation_id, record_id=pid,
                                      field=f)
            name: str | None = " ".join(x for x in (clear(p.given_name, "person.given_name"),
                                        clear(p.family_name, "person.family_name")) if x)
            birth = clear(p.birth_date, "person.birth_date")
        else:
            name = _pseudonym(pseudonym_key, pid) if visibility != "none" else None
            birth = str(p.birth_year) if p.birth_year and visibility != "none" else None
        return Side(pid, p.name, name or None, birth, p.gender, sorted(cits.get(pid, [])),
                    not full)

    items = [ReviewItem(r.id, r.match_probability, r.match_weight, json.loads(r.waterfall),
                        r.status, side(r.person_id_l), side(r.person_id_r)) for r in rows]
    return items, visibility


def may_decide(conn: Connection, principal: auth.Principal, review_id: str) -> bool:
    """Whether the caller may accept/reject this item (``link_review:review`` on a side)."""
    if auth.allowed(principal, "link_review", "review") is None:
        return False
    pl, pr = aliased(m.Person), aliased(m.Person)

    def in_scope(p: Any) -> Any:
        return auth.scope_filter(principal, "link_review", "review",
                                 owner_column=p.created_by, organisation_column=p.organisation_id)

    return conn.execute(
        select(LinkReview.id).join(pl, pl.id == LinkReview.person_id_l)
        .join(pr, pr.id == LinkReview.person_id_r)
        .where(LinkReview.id == review_id, or_(in_scope(pl), in_scope(pr)))
    ).first() is not None
