"""The canonical import fields: what a mapping profile can map a source column onto.

A field key reads ``<entity>.<attribute>`` (``person.birth_date``, ``victim.methods_of_control``,
``event.exploitation.country``). Its :class:`FieldSpec` says how a text cell is checked and
converted: the kind, the vocabulary for coded fields, and bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal[
    "text", "date", "partial_date", "int", "bool", "code", "codes", "country", "countries"
]


@dataclass(frozen=True)
class FieldSpec:
    """How one canonical field is validated. ``vocabulary`` is set for ``code``/``codes``."""

    key: str
    kind: Kind
    label: str
    vocabulary: str | None = None
    max_length: int = 200
    minimum: int | None = None
    maximum: int | None = None
    personal: bool = False


def _f(key: str, kind: Kind, label: str, **kw: object) -> FieldSpec:
    return FieldSpec(key, kind, label, **kw)  # type: ignore[arg-type]


_EVENT_FIELDS: list[FieldSpec] = []
for _stage in ("recruitment", "transit", "exploitation"):
    _EVENT_FIELDS += [
        _f(f"event.{_stage}.country", "country", f"{_stage.title()} country"),
        _f(f"event.{_stage}.admin_area", "text", f"{_stage.title()} state / admin area"),
        _f(f"event.{_stage}.city", "text", f"{_stage.title()} city"),
        _f(f"event.{_stage}.place", "text", f"{_stage.title()} place", max_length=300),
        _f(f"event.{_stage}.date_from", "partial_date", f"{_stage.title()} date (from)"),
        _f(f"event.{_stage}.date_to", "partial_date", f"{_stage.title()} date (to)"),
    ]

_REFERRAL_FIELDS: list[FieldSpec] = []
for _direction in ("incoming", "outgoing"):
    _REFERRAL_FIELDS += [
        _f(f"referral.{_direction}.organisation", "text", f"{_direction.title()} referral org"),
        _f(f"referral.{_direction}.date", "date", f"{_direction.title()} referral date"),
        _f(
            f"referral.{_direction}.reason",
            "code",
            f"{_direction.title()} referral reason",
            vocabulary="referral_reason",
        ),
        _f(f"referral.{_direction}.details", "text", f"{_direction.title()} referral details",
           max_length=4000),
        _f(f"referral.{_direction}.case_worker", "text", f"{_direction.title()} case worker"),
    ]

FIELDS: dict[str, FieldSpec] = {
    spec.key: spec
    for spec in [
        _f("record_id", "text", "Source record id", max_length=200),
        _f("case_id", "text", "Source case id", max_length=200),
        _f("organisation", "text", "Recording organisation", max_length=300),
        _f("role", "code", "Role in the case", vocabulary="person_role"),
        _f("person.given_name", "text", "Given name", personal=True),
        _f("person.middle_name", "text", "Middle name", personal=True),
        _f("person.family_name", "text", "Family name", personal=True),
        _f("person.birth_date", "partial_date", "Birth date", personal=True),
        _f("person.age_band", "code", "Age band", vocabulary="ctdc_age_band"),
        _f("person.gender", "code", "Gender", vocabulary="gender"),
        _f("person.citizenship", "countries", "Citizenship"),
        _f("person.identity_number", "text", "Identity number", max_length=100, personal=True),
        _f("person.email", "text", "Email", personal=True),
        _f("person.phone", "text", "Phone", max_length=40, personal=True),
        _f("person.marital_status", "code", "Marital status", vocabulary="marital_status"),
        _f("person.primary_language", "text", "Primary language", max_length=10),
        _f("person.deceased", "bool", "Deceased"),
        _f("victim.trafficking_status", "code", "Trafficking status",
           vocabulary="trafficking_status"),
        _f("victim.status_decided_by", "code", "Status decided by",
           vocabulary="trafficking_status_decision_org"),
        _f("victim.relationship_to_trafficker", "code", "Relationship to trafficker",
           vocabulary="relationship_to_trafficker"),
        _f("victim.age_when_trafficked", "int", "Age when trafficked", minimum=0, maximum=120),
        _f("victim.recruitment_method", "codes", "Methods of recruitment",
           vocabulary="recruitment_method"),
        _f("victim.recruitment_website", "codes", "Recruitment websites and apps",
           vocabulary="recruitment_website"),
        _f("victim.methods_of_control", "codes", "Methods of control",
           vocabulary="methods_of_control"),
        _f("victim.exploitation_type", "codes", "Types of exploitation",
           vocabulary="exploitation_type"),
        _f("victim.labour_industry", "codes", "Forced labour industry",
           vocabulary="labour_industry"),
        _f("victim.sexual_exploitation_type", "codes", "Types of sexual exploitation",
           vocabulary="sexual_exploitation_type"),
        _f("perpetrator.role", "codes", "Perpetrator roles", vocabulary="perpetrator_role"),
        _f("perpetrator.entity_type", "code", "Individual or business",
           vocabulary="perpetrator_entity_type"),
        _f("perpetrator.age_at_offence", "int", "Age at offence", minimum=0, maximum=120),
        _f("perpetrator.role_details", "text", "Role details", max_length=4000),
        _f("case.status", "code", "Case status", vocabulary="case_status"),
        _f("case.registration_date", "partial_date", "Registration date"),
        _f("case.closure_reason", "text", "Reason for case closure", max_length=4000),
        _f("case.owner", "text", "Case owner"),
        *_EVENT_FIELDS,
        *_REFERRAL_FIELDS,
        _f("support_plan.types", "codes", "Support plan types", vocabulary="support_plan_type"),
        _f("consent.given", "bool", "Consent to data processing"),
        _f("consent.date", "date", "Consent date"),
    ]
}

CODE_FIELDS: dict[str, str] = {
    "person.citizenship": "citizenship",
    "victim.recruitment_method": "recruitment_method",
    "victim.recruitment_website": "recruitment_website",
    "victim.methods_of_control": "methods_of_control",
    "victim.exploitation_type": "exploitation_type",
    "victim.labour_industry": "labour_industry",
    "victim.sexual_exploitation_type": "sexual_exploitation_type",
    "perpetrator.role": "perpetrator_role",
}
"""Multi-valued fields stored as :class:`~maillon.store.models.PersonCode` rows, by vocabulary."""

EVENT_STAGES = {"recruitment": "Recruitment", "transit": "Transit", "exploitation": "Exploitation"}
