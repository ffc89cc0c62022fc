"""A person's fault report, and what enough of them do to a machine.

Reports from ``fault_threshold`` *distinct students* that are still open take the machine
out of service automatically: one student reporting twice counts once, and sensor
(automatic) reports and staff reports do not count. The count is taken with the machine's
row locked by the report, so two reports at the same moment count one after the other.
"""

from __future__ import annotations

from cloud.domain.faults import reports
from cloud.domain.faults.photos import StoredPhoto
from cloud.domain.faults.reads import distinct_student_reporters, fault_by_id
from cloud.domain.faults.schemas import FaultPublic
from cloud.platform.unit_of_work import Tx
from cloud.platform.viewer import Viewer
from cloud.policy.out_of_service import take_out_of_service


def report_fault(
    tx: Tx, *, viewer: Viewer, machine_pk: int, description: str, photo: StoredPhoto | None
) -> FaultPublic:
    fault = reports.report_fault(tx, viewer=viewer, machine_pk=machine_pk, description=description, photo=photo)
    reporters = distinct_student_reporters(tx.conn, machine_pk)
    if reporters >= tx.settings.fault_threshold:
        take_out_of_service(tx, machine_pk, reason=f"{reporters} open fault reports", by=None)
        return fault_by_id(tx.conn, fault.id, viewer)
    return fault
