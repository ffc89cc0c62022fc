"""What claims and waitlists do when a machine leaves or returns to service.

Called by the faults/service-state code inside its transaction.
"""

from __future__ import annotations

from cloud.tx import Tx


def machine_unavailable(tx: Tx, machine_pk: int, reason: str) -> None:
    """The machine was taken out of service: end a pending claim and any hold on it (notifying
    those students), and offer the waitlist another machine of its type if one is free."""


def machine_available(tx: Tx, machine_pk: int) -> None:
    """The machine is back in service: if it is free, offer it to the head of its waitlist."""
