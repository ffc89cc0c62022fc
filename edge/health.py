"""The retained ``health`` message: the agent's own figures, for staff dashboards and the cloud.

Built from the agent's status snapshot (``edge.status``), so ``kywash edge status`` and the
dashboards show the same numbers. The agent sends one every ``health_interval_s`` and, at
once, when something ``Notable`` changes: the board's link, the outbox refusing writes,
which machines' sensors are healthy.
"""

from __future__ import annotations

import kywash
from edge.config import RoomConfig
from edge.status import AgentStatus
from kywash.clock import to_datetime
from kywash.contract import EdgeHealth, MachineState, SensorHealth, room_topic

Notable = tuple[object, ...]
"""What, when it changes, is worth a health message before the interval is up."""


def health_payload(status: AgentStatus, started_at: float, faults: dict[str, str | None]) -> EdgeHealth:
    pub, board = status.publisher, status.board
    in_flight = max(pub.in_flight, 0)
    return EdgeHealth(
        boot_id=status.boot_id,
        agent_version=kywash.__version__,
        uptime_s=max(status.written_at - started_at, 0.0),
        outbox_depth=status.outbox_depth,
        events_pending=max(status.outbox_depth - in_flight, 0) if status.outbox_depth >= 0 else -1,
        events_in_flight=in_flight,
        unsaved_events=status.unsaved_events,
        last_seq=status.last_seq,
        last_sent_seq=pub.last_sent_seq,
        last_acked_seq=status.last_acked_seq,
        board_connected=board.connected,
        serial_errors=board.port_errors + board.open_failures,
        bad_frames=board.bad_total,
        board_reconnects=max(board.opens - 1, 0),
        mqtt_connects=pub.connects,
        mqtt_reconnects=max(pub.connects - 1, 0),
        mqtt_connect_failures=pub.connect_failures,
        telemetry_dropped=pub.telemetry_dropped,
        sensor_faults=status.stats.sensor_faults,
        bad_profiles=status.stats.bad_profiles,
        sensors=tuple(
            SensorHealth(
                machine=m.id, ok=m.state is not MachineState.SENSOR_FAULT, state=m.state, fault=faults.get(m.id)
            )
            for m in status.machines
        ),
        ts=to_datetime(status.written_at),
    )


def health_message(config: RoomConfig, health: EdgeHealth) -> tuple[str, bytes]:
    return room_topic(config.site, config.room, "health"), health.to_bytes()
