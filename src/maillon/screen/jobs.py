"""The screening capability's scheduled job: re-screen every supplier against the active lists."""

from __future__ import annotations

from maillon.refer.jobs import JobContext, JobReport
from maillon.screen.api import rescreen_all
from maillon.store.crypto import FieldCipher


def supplier_rescreening(ctx: JobContext) -> JobReport:
    """Screen every registered supplier again (new or changed list entries raise alerts;
    cleared pairs stay silent while neither side changed)."""
    totals = rescreen_all(ctx.store, audit=ctx.security.audit,
                          cipher=FieldCipher(ctx.security.keys, ctx.store.engine),
                          user=ctx.actor, source="job")
    return JobReport("supplier_rescreening", counts=totals)
