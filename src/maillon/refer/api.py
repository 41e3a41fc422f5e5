"""Public face of the refer capability."""

from __future__ import annotations

from maillon.refer.jobs import JOBS, Job, JobContext, JobReport, run_jobs
from maillon.refer.service import (
    CONSENT,
    DEFAULT_FIELDS,
    SERVICE_TYPES,
    SHAREABLE_FIELDS,
    NrmView,
    ReferralView,
    add_provider,
    create_referral,
    due_cases,
    get_nrm_case,
    incoming_referrals,
    list_providers,
    open_nrm_case,
    outgoing_referrals,
    set_referral_status,
    transition,
)
from maillon.refer.transnational import (
    InstanceKeys,
    PackageError,
    add_partner,
    export_referral,
    import_package,
    instance_key_path,
    list_packages,
    list_partners,
    received_referral,
    status_feedback,
)
from maillon.refer.workflow import Workflow, get_workflow

__all__ = [
    "CONSENT", "DEFAULT_FIELDS", "JOBS", "SERVICE_TYPES", "SHAREABLE_FIELDS", "InstanceKeys",
    "Job", "JobContext", "JobReport", "NrmView", "PackageError", "ReferralView", "Workflow",
    "add_partner", "add_provider", "create_referral", "due_cases", "export_referral",
    "get_nrm_case", "get_workflow", "import_package", "incoming_referrals",
    "instance_key_path", "list_packages", "list_partners", "list_providers", "open_nrm_case",
    "outgoing_referrals", "received_referral", "run_jobs", "set_referral_status",
    "status_feedback", "transition",
]
