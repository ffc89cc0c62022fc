#!/usr/bin/env python3
"""Benchmark: how long ``GET /rooms/{room}/busy-hours`` takes to compute from a busy room's history.

Seeds one room of 6 washers and 6 dryers with ``--cycles`` cycles a day per machine for
``--days`` days (four events a cycle: started, finished, door opened, door closed — the
door events are stored but not read), then times ``cloud.domain.rooms.history.busy_hours`` (the
queries plus the table) for 8 and 52 weeks, beside the baseline of the same run: the pure
table alone on the same cycles, with no database. On SQLite in a temporary file, and on
PostgreSQL when ``--postgres URL`` names an empty database. Usage::

    .venv/bin/python tests/bench/busy_hours.py [--days 56] [--cycles 10] [--postgres postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from cloud.domain.rooms import history  # noqa: E402
from cloud.domain.rooms.busy_hours import BusyInterval, busy_intervals, busy_table  # noqa: E402
from cloud.domain.rooms.history import _cycle_marks  # noqa: E402
from cloud.platform.storage import repository as repo  # noqa: E402
from cloud.platform.storage.engine import make_engine  # noqa: E402
from cloud.platform.storage.migrate import upgrade_database  # noqa: E402
from cloud.platform.storage.tables import edge_events, machines, rooms  # noqa: E402

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
ZONE = "Europe/London"
MACHINES = [(f"washer-{n}", "washer", n) for n in range(1, 7)] + [(f"dryer-{n}", "dryer", n) for n in range(1, 7)]


def seed(url: str, days: int, cycles_per_day: int) -> int:
    upgrade_database(url)
    engine = make_engine(url)
    rng = random.Random(7)
    start = NOW - timedelta(days=days)
    with engine.begin() as conn:
        room_id: int = conn.execute(
            insert(rooms).values(site="bench", room="r1", registered_at=start).returning(rooms.c.id)
        ).scalar_one()
        conn.execute(
            insert(machines),
            [{"room_id": room_id, "machine_id": m, "kind": k, "number": n} for m, k, n in MACHINES],
        )
        rows, seq = [], 0
        for machine, kind, _ in MACHINES:
            length = timedelta(minutes=45 if kind == "washer" else 70)
            gap = timedelta(days=1) / cycles_per_day - length
            at = start
            while at < NOW:
                at += gap * rng.uniform(0.2, 1.8)
                for offset, type_ in ((0, "cycle_started"), (1, "cycle_finished"), (1.1, "door_opened")):
                    seq += 1
                    rows.append(_event(room_id, seq, machine, type_, at + length * offset))
                seq += 1
                rows.append(_event(room_id, seq, machine, "door_closed", at + length * 1.2))
                at += length * 1.2
        for chunk in range(0, len(rows), 5000):
            conn.execute(insert(edge_events), rows[chunk : chunk + 5000])
    engine.dispose()
    print(f"  seeded {len(rows):,} events ({len(MACHINES)} machines, {days} days, {cycles_per_day} cycles/day)")
    return room_id


def _event(room_id: int, seq: int, machine: str, type_: str, ts: datetime) -> dict[str, object]:
    return {
        "room_id": room_id,
        "seq": seq,
        "boot_id": "bench",
        "machine_id": machine,
        "type": type_,
        "ts": ts,
        "payload": {},
        "received_at": ts,
    }


def timed(work: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def bench(name: str, url: str, days: int, cycles_per_day: int) -> None:
    print(f"{name}:")
    room_id = seed(url, days, cycles_per_day)
    engine = make_engine(url)
    with engine.connect() as conn:
        room = repo.get_room(conn, room_id)
        assert room is not None
        kinds = {m: k for m, k, _ in MACHINES}
        counts = {"washer": 6, "dryer": 6}
        for weeks in (8, 52):
            since = NOW - timedelta(weeks=weeks)
            marks = _cycle_marks(conn, room_id, list(kinds), since, NOW)
            intervals = busy_intervals(marks, kinds, NOW)

            def pure(intervals: list[BusyInterval] = intervals, since: datetime = since) -> object:
                return busy_table(intervals, counts, ZoneInfo(ZONE), max(since, NOW - timedelta(days=days)), NOW)

            def full(weeks: int = weeks) -> object:
                return history.busy_hours(conn, room, weeks=weeks, tz_name=ZONE, now=NOW)

            answer = history.busy_hours(conn, room, weeks=weeks, tz_name=ZONE, now=NOW)
            print(
                f"  weeks={weeks:2d}: {answer.cycles:,} cycles; endpoint work {timed(full):7.1f} ms "
                f"(baseline, the table alone without the database: {timed(pure):6.1f} ms)"
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--cycles", type=int, default=10, help="cycles a day per machine")
    parser.add_argument("--postgres", help="an empty PostgreSQL database (postgresql+psycopg://...)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench("SQLite", f"sqlite:///{tmp}/bench.db", args.days, args.cycles)
    if args.postgres:
        bench("PostgreSQL", args.postgres, args.days, args.cycles)


if __name__ == "__main__":
    main()
