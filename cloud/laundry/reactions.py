"""How policy reacts to what the sensors report (filled in by the claims/waitlist work)."""

from __future__ import annotations

from cloud.ingest.apply import Applied
from cloud.tx import Tx


def react(tx: Tx, applied: Applied) -> None:
    """Move claims, holds and faults after ``applied`` changed machines' sensor states."""
