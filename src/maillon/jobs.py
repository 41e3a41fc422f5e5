"""Every scheduled job ``maillon jobs run`` runs, gathered from the capabilities, in order.

Meant for cron or a systemd timer (e.g. daily); each job owns its transactions and is safe to
run twice a day. See :mod:`maillon.refer.jobs` for the job interface.
"""

from __future__ import annotations

from maillon.refer.jobs import JOBS as REFER_JOBS
from maillon.refer.jobs import Job
from maillon.screen.jobs import supplier_rescreening

JOBS: tuple[Job, ...] = (*REFER_JOBS, supplier_rescreening)
