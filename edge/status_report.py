"""A human-readable status of a room, read from its outbox file (the agent may be running).

``kywash edge status`` runs in its own process, so it reads what the agent stores rather
than asking the agent: the outbox's own numbers (always current: depth, last sequence,
last acknowledged, archive size, machine states, boots) and the agent's last status
snapshot (broker link, telemetry and replay counters, sensor health), shown with its
age — a snapshot much older than the agent's write interval means the agent is not running.
"""

from __future__ import annotations

import json
import time
from typing import Any

from edge.agent import OUTBOX_FILE, STATUS_EVERY_S
from edge.config import RoomConfig
from edge.desired import META_PREFIX as DESIRED_PREFIX
from edge.errors import OutboxError
from edge.outbox import Outbox
from edge.status import STATUS_KEY
from kywash.clock import to_datetime


def _when(ts: float) -> str:
    return f"{to_datetime(ts):%Y-%m-%d %H:%M:%S}Z"


def format_stored_status(config: RoomConfig, *, now: float | None = None) -> str:
    path = config.data_dir / OUTBOX_FILE
    if not path.exists():
        raise OutboxError(f"no outbox at {path}: the agent has not run with this config yet")
    with Outbox(path) as outbox:
        depth, last, states, boots = outbox.depth(), outbox.last_seq(), outbox.machine_states(), outbox.boots()
        acked, archived, raw = outbox.last_acked(), outbox.archive_size(), outbox.get_meta(STATUS_KEY)
        service = {m.id: outbox.get_meta(DESIRED_PREFIX + m.id) for m in config.machines}
    snapshot: dict[str, Any] = json.loads(raw) if raw else {}
    now = time.time() if now is None else now
    agent = _agent_lines(snapshot, now)
    sent = snapshot.get("publisher", {}).get("last_sent_seq")
    lines = [
        f"room {config.site}/{config.room}",
        *agent[:2],
        f"outbox: {depth} undelivered, last seq {last}, last sent {sent if sent is not None else '?'}, "
        f"last acknowledged {acked}",
        f"archive: {archived} acknowledged events kept for replay (up to {config.archive_events} seqs)",
        *agent[2:],
    ]
    if boots:
        boot_id, started = boots[-1]
        lines.append(f"last boot: {boot_id} at {_when(started)} ({len(boots)} recorded)")
    for machine in config.machines:
        row = states.get(machine.id)
        if row is None:
            lines.append(f"  {machine.id:<12} unknown")
            continue
        fault = f" fault={row.fault}" if row.fault else ""
        lines.append(
            f"  {machine.id:<12} {row.state:<13} since {_when(row.since)}  door {row.door:<6} "
            f"{row.current:5.2f} A  seq {row.seq}{fault}{_service(service.get(machine.id))}"
        )
    return "\n".join(lines)


def _service(raw: str | None) -> str:
    """`` OUT OF SERVICE (desired revision 3)`` when the last applied desired state says so."""
    applied = json.loads(raw) if raw else {}
    if not applied.get("out_of_service"):
        return ""
    return f"  OUT OF SERVICE (desired revision {applied.get('revision')})"


def _agent_lines(snap: dict[str, Any], now: float) -> list[str]:
    """Broker link, counters and sensor health from the agent's stored snapshot."""
    if not snap:
        return ["agent: no status stored yet (broker link and counters unknown)"]
    age = now - float(snap.get("written_at", 0.0))
    stale = " - STALE: the agent is probably not running" if age > 3 * STATUS_EVERY_S else ""
    if snap.get("running"):
        state = f"running, {'healthy' if snap.get('healthy') else 'UNHEALTHY'} ({snap.get('health', '')})"
    else:
        state = "stopped (a clean shutdown wrote this status)"
    pub, board, stats = snap.get("publisher", {}), snap.get("board", {}), snap.get("stats", {})
    replay = pub.get("replay", {})
    link = "connected" if pub.get("connected") else "DISCONNECTED"
    last_frame = board.get("last_good_frame_at")
    bad = sum((board.get("frames_bad") or {}).values())
    lines = [
        f"agent: {state}, boot {snap.get('boot_id')}, "
        f"status of {_when(float(snap.get('written_at', 0.0)))} ({age:.0f} s ago){stale}",
        f"broker: {link}, {pub.get('connects', 0)} connects, {pub.get('connect_failures', 0)} failed attempts, "
        f"{pub.get('in_flight', 0)} in flight, {pub.get('acked', 0)} acknowledged this boot",
        f"telemetry: {pub.get('telemetry_sent', 0)} sent, {pub.get('telemetry_dropped', 0)} dropped, "
        f"{pub.get('telemetry_buffered', 0)} buffered",
        f"replay: {replay.get('requests', 0)} requests, {replay.get('requeued', 0)} events requeued, "
        f"{replay.get('missing', 0)} missing, {replay.get('malformed', 0)} malformed",
        f"sensors: board {'connected' if board.get('connected') else 'DISCONNECTED'}, "
        f"{board.get('frames_ok', 0)} frames ok, {bad} bad, last frame "
        f"{_when(float(last_frame)) if last_frame else 'never'}, {stats.get('sensor_faults', 0)} sensor faults, "
        f"loop turned {float(snap.get('sensor_loop_age_s', 0.0)):.1f} s before the snapshot",
    ]
    if snap.get("unsaved_events") or stats.get("outbox_errors"):
        lines.append(
            f"outbox writes: {stats.get('outbox_errors', 0)} failed ({stats.get('outbox_full', 0)} disk full), "
            f"{snap.get('unsaved_events', 0)} events waiting in memory"
        )
    return lines
