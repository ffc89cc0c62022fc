"""Fault reports (being written)."""

from __future__ import annotations

from cloud.tx import Tx


def report_automatic(
    tx: Tx, *, room_id: int, machine_pk: int, reason: str, description: str, edge_seq: int | None
) -> int | None:
    """A fault the edge detected from its sensors; None if this edge event was already recorded."""
    return None
