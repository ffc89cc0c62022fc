"""The one place that hears of every change to a fault report, for integrations to hook.

Webhooks (built separately) attach here: ``fault_updated`` is called inside the
transaction of every report (``status`` ``open``) and every later step, after the report
is stored, so whatever it queues (``tx.changes`` / ``tx.once``) commits or rolls back with
the change itself. It does nothing yet.
"""

from __future__ import annotations

from cloud.domain.faults.lifecycle import FaultStatus
from cloud.platform.unit_of_work import Tx


def fault_updated(tx: Tx, fault_id: int, status: FaultStatus) -> None:
    """A report was made (``open``) or took a step; read it with ``reads.fault_by_id``."""
    del tx, fault_id, status  # the seam for webhooks: nothing listens yet
