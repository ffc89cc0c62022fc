"""An accelerated day of three rooms under faults; the cloud's record must equal the ground truth.

Real processes (see harness.py): Mosquitto with persistence, ``kywash cloud`` on PostgreSQL
(SQLite where PostgreSQL is absent), and per room ``kywash edge --simulate`` with students
who come and go, through a cuttable TCP proxy. While the rooms run, in this order:

1. room-c is cut off from the broker (connections dropped, new ones refused) for
   ``cutoff_s`` real seconds (a minute by default) — it overlaps all of what follows;
2. Mosquitto is stopped and started again (persistence on: sessions and retained
   messages survive);
3. the cloud is killed with SIGKILL and started again (its persistent session kept the
   events sent meanwhile), and killed once more 50 ms after it reconnects, while it drains
   that backlog (events received but not yet committed are lost: the cloud must notice the
   gaps and have the edges replay them);
4. room-b's edge is killed with SIGKILL while one of its machines runs, and started again
   (on the same simulated timeline; its simulator starts with every machine idle).

Then, once the cloud has applied every event the edges had written by the end, the
comparison of compare.py (read it for the exact rule) must find nothing wrong.

Size: by default a whole simulated day, midnight to midnight UTC, at 600x (144 real seconds).
``KYWASH_CHAOS_SPEED``, ``KYWASH_CHAOS_SPAN_S`` (real seconds), ``KYWASH_CHAOS_ROOMS``,
``KYWASH_CHAOS_STUDENT_RATE``, ``KYWASH_CHAOS_SEED``, ``KYWASH_CHAOS_CUTOFF_S`` and
``KYWASH_CHAOS_START_HOUR`` (the simulated UTC hour the run starts at: students come by the
hour of day) change it; ``KYWASH_CHAOS_SPEED=150 KYWASH_CHAOS_SPAN_S=576`` is the same day
with finer board frames (about 10 real minutes).
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cloud.platform.storage.engine import make_engine
from cloud.platform.storage.tables import edge_events, room_sequences, rooms
from firmware_sim.truth import read_truth_file
from tests.chaos.compare import FINISH_LATE_S, judge_room, truth_cycles
from tests.chaos.harness import SITE, ChaosParams, ChaosStack, kywash_argv, wait_until

# The run's own length plus setup, convergence and judging (default: 144 + 300 s).
pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(int(ChaosParams.from_env().span_s) + 300)]

CUT_ROOM, KILL_ROOM = "room-c", "room-b"
AMBIGUOUS_REAL_S = 0.5
"""A door opened this soon (real time) after the drum stopped may read as an interruption (compare.py):
on two busy cores the agent can read the board's serial frames this far behind its door pins."""
STAFF_USER, STAFF_PASSWORD = "chaosaudit", "chaos-audit-password-1"


def _at(stack: ChaosStack, real_s: float) -> None:
    """Sleep until ``real_s`` real seconds after the stack started."""
    time.sleep(max(0.0, stack.epoch + real_s - time.time()))


def _running_cycle(stack: ChaosStack, room: str, min_age_s: float) -> str | None:
    """A machine of ``room`` whose cycle has run at least ``min_age_s`` simulated seconds."""
    now = stack.sim_now()
    for machine, cycles in truth_cycles(read_truth_file(stack.rooms[room].truth_path)).items():
        last = cycles[-1]
        if last.how == "running" and now - last.start >= min_age_s:
            return machine
    return None


def _cloud_record(stack: ChaosStack) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Per room: its stored events (seq order) and its sequence row, straight from the database."""
    engine = make_engine(stack.database_url)
    events: dict[str, list[dict[str, Any]]] = {name: [] for name in stack.rooms}
    sequences: dict[str, dict[str, Any]] = {}
    try:
        with engine.connect() as conn:
            # The sequence rows first: events that arrive meanwhile only add to what follows.
            query = select(rooms.c.room, room_sequences).join(rooms, rooms.c.id == room_sequences.c.room_id)
            for row in conn.execute(query.where(rooms.c.site == SITE)).mappings():
                sequences[row["room"]] = dict(row)
            query = (
                select(rooms.c.room, edge_events)
                .join(rooms, rooms.c.id == edge_events.c.room_id)
                .where(rooms.c.site == SITE)
                .order_by(rooms.c.room, edge_events.c.epoch, edge_events.c.seq)
            )
            for row in conn.execute(query).mappings():
                events.setdefault(row["room"], []).append(
                    {
                        "seq": row["seq"],
                        "epoch": row["epoch"],
                        "machine": row["machine_id"],
                        "type": row["type"],
                        "ts": row["ts"].timestamp(),
                        "payload": row["payload"],
                    }
                )
    finally:
        engine.dispose()
    return events, sequences


def test_a_day_of_faults_loses_and_doubles_nothing(chaos_stack: ChaosStack) -> None:
    stack = chaos_stack
    try:
        _run_faults(stack)
        _judge(stack)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n\n{stack.diagnostics()}") from None


def _run_faults(stack: ChaosStack) -> None:
    params = stack.params
    cut_room = stack.rooms[CUT_ROOM].proxy if CUT_ROOM in stack.rooms else None

    _at(stack, 10)
    if cut_room is not None:
        cut_room.pause()
        stack.note(f"{CUT_ROOM} cut off from the broker for {params.cutoff_s:.0f} s")
    cut_until = time.time() + params.cutoff_s

    _at(stack, 20)
    stack.broker.stop()
    stack.note("Mosquitto stopped")
    time.sleep(5)
    stack.broker.start()
    stack.note("Mosquitto started again")

    _at(stack, 35)
    stack.cloud.kill()
    stack.note("cloud killed (SIGKILL)")
    time.sleep(5)
    connects = stack.cloud_connects()
    stack.cloud.start()
    # Kill it again just as it drains what the broker kept for it: messages it has received
    # (and paho has acknowledged) but not yet committed are lost, so the room's sequence
    # shows gaps that only the replay from the edges' archives can fill.
    wait_until(
        lambda: stack.cloud_connects() > connects,
        60,
        lambda: f"the cloud never connected:\n{stack.cloud.tail()}",
        0.005,
    )
    time.sleep(0.05)
    stack.cloud.kill()
    stack.note("cloud killed (SIGKILL) again while draining its backlog")
    time.sleep(1)
    stack.cloud.start()
    stack.wait_cloud_healthy()
    stack.note("cloud started again")

    _at(stack, 50)
    if KILL_ROOM in stack.rooms:
        edge = stack.rooms[KILL_ROOM].edge
        deadline = time.monotonic() + 40
        machine = None
        while machine is None and time.monotonic() < deadline:
            machine = _running_cycle(stack, KILL_ROOM, min_age_s=180)
            if machine is None:
                time.sleep(0.2)
        edge.kill()
        stack.note(f"{KILL_ROOM} edge killed (SIGKILL) while {machine or 'no machine (none ran in 40 s)'} ran")
        assert machine is not None, f"no machine of {KILL_ROOM} ran a cycle in 40 s: the kill proved nothing"
        time.sleep(3)
        edge.start()
        stack.note(f"{KILL_ROOM} edge started again")

    if cut_room is not None:
        time.sleep(max(0.0, cut_until - time.time()))
        cut_room.resume()
        stack.note(f"{CUT_ROOM}'s link to the broker restored")

    _at(stack, params.span_s)
    for room in stack.rooms.values():
        assert room.edge.running, f"{room.name}'s edge died:\n{room.edge.tail()}"
    assert stack.cloud.running, f"the cloud died:\n{stack.cloud.tail()}"


def _judge(stack: ChaosStack) -> None:
    # Everything true before ``cut`` has had FINISH_LATE_S simulated seconds to be detected.
    cut = stack.sim_now() - FINISH_LATE_S
    last = {name: room.last_seq() for name, room in stack.rooms.items()}
    stack.note(f"judging; edges' last seqs {last}; waiting for the cloud to apply them all")

    record: list[tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]] = []

    def converged() -> bool:
        """Every room caught up with no gap open, in one reading (kept to be judged)."""
        record[:] = [_cloud_record(stack)]
        for name, seq in last.items():
            s = record[0][1].get(name)
            if s is None or s["contiguous_seq"] < seq or s["max_seq"] != s["contiguous_seq"]:
                return False
        return True

    def behind() -> str:
        _, sequences = _cloud_record(stack)
        shown = {n: (s["contiguous_seq"], s["max_seq"]) for n, s in sequences.items()}
        return f"the cloud never caught up: edges {last}, cloud (contiguous, max) {shown}"

    wait_until(converged, 120, behind, every=1.0)
    stack.note("the cloud has every event the edges wrote")
    events, sequences = record[0]
    contiguous = {name: sequences.get(name, {}).get("contiguous_seq", 0) for name in stack.rooms}
    verdicts = []
    for name, room in stack.rooms.items():
        verdicts.append(
            judge_room(
                name,
                read_truth_file(room.truth_path),
                # One consistent view: the events up to the contiguous seq read before them.
                [e for e in events.get(name, []) if e["epoch"] == 0 and e["seq"] <= contiguous[name]],
                sequences.get(name, {}),
                room.outbox_events(),
                last[name],
                cut,
                stack.sim_start,
                ambiguous_s=AMBIGUOUS_REAL_S * stack.params.speed,
            )
        )
    for verdict in verdicts:
        asked = sequences.get(verdict.room, {}).get("replay_requests")
        stack.note(f"{verdict.summary()}; the cloud asked for {asked} replays")
    problems = [f"{v.room}: {p}" for v in verdicts for p in v.problems]
    for name, seen in _audit_through_api(stack).items():
        stored = [e["seq"] for e in events.get(name, []) if e["epoch"] == 0 and e["seq"] <= contiguous[name]]
        if seen["gaps"] or seen["seqs"][: len(stored)] != stored or seen["contiguous_seq"] < len(stored):
            problems.append(f"{name}: the events API shows {seen['contiguous_seq']=} {seen['gaps']=}")
    stack.note("the staff events API agrees: no gaps")
    assert not problems, "the cloud's record differs from the truth:\n" + "\n".join(problems[:60])
    finished = sum(v.judged.get("finished", 0) for v in verdicts)
    assert finished >= 3 * len(verdicts), f"too few finished cycles to judge: {[dict(v.judged) for v in verdicts]}"
    if KILL_ROOM in stack.rooms:
        assert next(v for v in verdicts if v.room == KILL_ROOM).restarts == 1


def _audit_through_api(stack: ChaosStack) -> dict[str, dict[str, Any]]:
    """What a technician sees: per room, the events API's contiguous seq, gaps and seqs listed."""
    made = subprocess.run(
        kywash_argv("cloud", "create-staff", "--username", STAFF_USER, "--password-stdin"),
        input=f"{STAFF_PASSWORD}\n", capture_output=True, text=True, env=stack.cloud.env, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, f"create-staff failed: {made.stdout}{made.stderr}"
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        login = client.post("/api/v1/auth/staff/login", json={"username": STAFF_USER, "password": STAFF_PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        out: dict[str, dict[str, Any]] = {}
        for name in stack.rooms:
            seqs: list[int] = []
            after: int | None = 0
            body: dict[str, Any] = {}
            while after is not None:
                page = client.get(
                    f"/api/v1/rooms/{name}/events",
                    params={"site": SITE, "after": after, "limit": 1000},
                    headers=headers,
                )
                assert page.status_code == 200, page.text
                body = page.json()
                seqs += [item["seq"] for item in body["items"]]
                after = body["next_after"]
            out[name] = {"contiguous_seq": body["contiguous_seq"], "gaps": body["gaps"], "seqs": seqs}
    return out
