"""The verdict of a chaos run: the cloud's record of each room against the simulator's truth.

Truth (``firmware_sim.truth`` files, one per room) gives, per machine, the cycles that
really ran: started at S, then finished or interrupted at E — or *cut short* at a
``restarted`` line (the edge process, and with it the simulated machines, was killed
with SIGKILL; the new simulator starts every machine idle), or still running at the end.

The cloud's record is the room's ``edge_events`` rows (read from its database), turned
into cycles the same way: ``cycle_started`` opens one, ``cycle_finished`` or
``cycle_interrupted`` closes it.

The rule, per machine, for truth cycles that started before the judging cut-off ``cut``
(the simulated time up to which every consequence must have reached the cloud):

- *finished* (before ``cut``): exactly one cloud cycle, its start within the truth cycle,
  ending ``cycle_finished`` between ``FINISH_EARLY_S`` before and ``FINISH_LATE_S`` after
  the true end (the detector needs a quiet stretch to be sure);
- *interrupted* (a dryer opened mid-cycle): one cloud cycle ending ``cycle_interrupted``
  near the moment the door opened;
- a *finished* cycle whose door a waiting student opened within ``ambiguous_s`` simulated
  seconds of the drum stopping may be shown ``cycle_interrupted`` at that door opening. The
  door's GPIO edge reaches the agent at once, the board's serial frames through a pty
  the agent may read late: sped up 600x, a 0.3 s backlog on two busy cores is three
  simulated minutes, and the door overtakes the frames saying the drum stopped. The test
  passes ``ambiguous_s`` as 0.5 real seconds of simulated time and reports how many cycles
  needed it. At real speed the same lag is a fraction of one 1-second frame, and the
  detector ends a cycle whose door opens on a quiet machine as finished (tests/edge,
  tests/bench/detection.py);
- *cut short* by a SIGKILL: the cloud shows it started (unless it began less than
  ``START_LATE_S`` before the kill, too soon for the detector), and that cycle is ended —
  ``cycle_finished`` (the restarted agent restores "running" and then hears a quiet machine)
  or ``cycle_interrupted``; either is right, since the truth is "stopped by the test";
- still running at ``cut``: the cloud may or may not have its start yet.

One merge is allowed: if a student of the restarted simulator starts a machine whose cycle
was cut short before the agent has called that cycle over, the agent (which restored the
machine "running") sees the current come back and takes it for the same cycle; that one
cloud cycle then stands for both truth cycles, and its end is judged against the second.

Every cloud cycle that started before ``cut`` must belong to one truth cycle: a cycle shown
twice, or one that never ran, is a failure. Per room the event sequence must be 1..N with
no hole, the cloud's contiguous seq equal to its highest, no open gap, no sequence reset,
and every event the edge wrote (up to the seq read at convergence) stored in the cloud
with the same boot id, machine, type and state.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from firmware_sim.truth import RESTARTED, GroundTruth

FINISH_EARLY_S = 180.0
FINISH_LATE_S = 40 * 60.0
INTERRUPT_LATE_S = 10 * 60.0
START_EARLY_S = 60.0
START_LATE_S = 10 * 60.0
ENDS = ("cycle_finished", "cycle_interrupted")


@dataclass
class TruthCycle:
    machine: str
    start: float
    end: float | None = None
    how: str = "running"
    """finished, interrupted, cut (edge killed), running."""
    detail: str | None = None


@dataclass
class CloudCycle:
    machine: str
    start: float
    start_seq: int
    end: float | None = None
    end_seq: int | None = None
    how: str | None = None
    matched: bool = False


@dataclass
class RoomVerdict:
    room: str
    problems: list[str] = field(default_factory=list)
    truth_cycles: int = 0
    judged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    events: int = 0
    restarts: int = 0

    def summary(self) -> str:
        judged = ", ".join(f"{k} {v}" for k, v in sorted(self.judged.items()))
        return (
            f"{self.room}: {self.events} events, {self.truth_cycles} true cycles ({judged}), "
            f"{self.restarts} simulator restarts, {len(self.problems)} problems"
        )


def truth_cycles(entries: list[GroundTruth]) -> dict[str, list[TruthCycle]]:
    """Per machine, in time order; a ``restarted`` line cuts every open cycle short."""
    ordered = sorted(enumerate(entries), key=lambda pair: (pair[1].ts, pair[0]))
    open_: dict[str, TruthCycle] = {}
    out: dict[str, list[TruthCycle]] = defaultdict(list)
    for _, e in ordered:
        if e.what == RESTARTED:
            for cycle in open_.values():
                cycle.end, cycle.how = e.ts, "cut"
            open_.clear()
        elif e.what == "cycle_started":
            cycle = TruthCycle(e.machine, e.ts, detail=e.detail)
            open_[e.machine] = cycle
            out[e.machine].append(cycle)
        elif e.what in ENDS and e.machine in open_:
            cycle = open_.pop(e.machine)
            cycle.end, cycle.how = e.ts, e.what.removeprefix("cycle_")
    return out


def cloud_cycles(events: list[dict[str, Any]], problems: list[str]) -> dict[str, list[CloudCycle]]:
    """Per machine from the room's events (seq order); a start while one is open is a problem."""
    open_: dict[str, CloudCycle] = {}
    out: dict[str, list[CloudCycle]] = defaultdict(list)
    for e in events:
        machine, kind, ts, seq = e["machine"], e["type"], e["ts"], e["seq"]
        if kind == "cycle_started":
            if machine in open_:
                problems.append(f"{machine}: cycle_started seq {seq} while seq {open_[machine].start_seq} is open")
            cycle = CloudCycle(machine, ts, seq)
            open_[machine] = cycle
            out[machine].append(cycle)
        elif kind in ENDS:
            cycle_ = open_.pop(machine, None)
            if cycle_ is None:
                problems.append(f"{machine}: {kind} seq {seq} with no cycle open")
                continue
            cycle_.end, cycle_.end_seq, cycle_.how = ts, seq, kind.removeprefix("cycle_")
    return out


def _fmt(ts: float | None, epoch: float) -> str:
    return "-" if ts is None else f"t+{ts - epoch:.0f}s"


def judge_room(
    room: str,
    truth: list[GroundTruth],
    cloud_events: list[dict[str, Any]],
    sequence: dict[str, Any],
    edge_events: dict[int, bytes],
    edge_last_seq: int,
    cut: float,
    epoch: float,
    ambiguous_s: float = 0.0,
) -> RoomVerdict:
    """Everything above for one room; ``verdict.problems`` empty means it passed."""
    v = RoomVerdict(room, events=len(cloud_events), restarts=sum(e.what == RESTARTED for e in truth))
    _judge_sequence(v, cloud_events, sequence, edge_events, edge_last_seq)
    truths = truth_cycles(truth)
    clouds = cloud_cycles(cloud_events, v.problems)
    for machine in sorted(set(truths) | set(clouds)):
        _judge_machine(v, machine, truths.get(machine, []), clouds.get(machine, []), cut, epoch, ambiguous_s)
    return v


def _judge_sequence(
    v: RoomVerdict,
    events: list[dict[str, Any]],
    sequence: dict[str, Any],
    edge_events: dict[int, bytes],
    edge_last_seq: int,
) -> None:
    seqs = [e["seq"] for e in events]
    if seqs != list(range(1, len(seqs) + 1)):
        missing = sorted(set(range(1, max(seqs, default=0) + 1)) - set(seqs))
        v.problems.append(f"cloud seqs not 1..N: missing {missing[:20]}, duplicates {len(seqs) - len(set(seqs))}")
    if len(seqs) < edge_last_seq:
        v.problems.append(f"the edge wrote up to seq {edge_last_seq}, the cloud has only {len(seqs)}")
    for key, want in (("epoch", 0), ("seq_resets", 0), ("base_seq", 0)):
        if sequence.get(key) != want:
            v.problems.append(f"room sequence {key} = {sequence.get(key)}, expected {want}")
    if sequence.get("contiguous_seq") != sequence.get("max_seq") or sequence.get("contiguous_seq") != len(seqs):
        v.problems.append(
            f"room sequence contiguous {sequence.get('contiguous_seq')}, max {sequence.get('max_seq')}, "
            f"events stored {len(seqs)}: a gap is open"
        )
    by_seq = {e["seq"]: e for e in events}
    for seq in range(1, edge_last_seq + 1):
        raw = edge_events.get(seq)
        if raw is None:
            v.problems.append(f"seq {seq} is in neither the edge's outbox nor its archive")
            continue
        sent = json.loads(raw)
        got = by_seq.get(seq)
        if got is None:
            v.problems.append(f"seq {seq} ({sent.get('machine')} {sent.get('type')}) never reached the cloud")
            continue
        for key in ("boot_id", "machine", "type", "state", "door"):
            if sent.get(key) != got["payload"].get(key):
                stored = got["payload"].get(key)
                v.problems.append(f"seq {seq}: {key} is {stored!r} in the cloud, {sent.get(key)!r} sent")


def _judge_machine(  # noqa: PLR0912 - one branch per rule of the module doc
    v: RoomVerdict,
    machine: str,
    truths: list[TruthCycle],
    clouds: list[CloudCycle],
    cut: float,
    epoch: float,
    ambiguous_s: float,
) -> None:
    previous: tuple[TruthCycle, CloudCycle | None] | None = None
    for t in truths:
        if t.start >= cut:
            continue
        v.truth_cycles += 1
        upper = t.end if t.end is not None else cut
        candidates = [c for c in clouds if not c.matched and t.start - START_EARLY_S <= c.start <= upper]
        label = f"{machine} {t.detail} cycle {_fmt(t.start, epoch)}..{_fmt(t.end, epoch)} ({t.how})"
        if t.how == "running" or (t.how in ("finished", "interrupted") and t.end is not None and t.end >= cut):
            v.judged["still running"] += 1
            if candidates:
                candidates[0].matched = True
            continue
        if not candidates and previous is not None and previous[0].how == "cut" and previous[1] is not None:
            merged = previous[1]
            if merged.end is None or merged.end > t.start:
                v.judged["merged with the cycle cut short before it"] += 1
                candidates = [merged]
        if not candidates:
            if t.how == "cut" and t.end is not None and t.end - t.start < START_LATE_S:
                v.judged["cut short before detection"] += 1
                previous = (t, None)
                continue
            v.problems.append(f"{label}: the cloud has no cycle_started for it")
            continue
        c = candidates[0]
        c.matched = True
        previous = (t, c)
        shown = f"cloud cycle seq {c.start_seq}..{c.end_seq} {_fmt(c.start, epoch)}..{_fmt(c.end, epoch)} ({c.how})"
        if t.how == "cut":
            v.judged[f"cut short by SIGKILL, cloud: {c.how or 'still open'}"] += 1
            if c.how is None:
                v.problems.append(f"{label}: {shown} never ended")
            continue
        assert t.end is not None
        if (
            t.how == "finished"
            and c.how == "interrupted"
            and c.end is not None
            and t.end <= c.end <= t.end + ambiguous_s
        ):
            v.judged["finished, door opened as it stopped"] += 1
            continue
        if t.how == "finished":
            v.judged["finished"] += 1
            ok = c.how == "finished" and c.end is not None and t.end - FINISH_EARLY_S <= c.end <= t.end + FINISH_LATE_S
        else:
            v.judged["interrupted"] += 1
            ok = c.how == "interrupted" and c.end is not None and t.end - 60 <= c.end <= t.end + INTERRUPT_LATE_S
        if not ok:
            v.problems.append(f"{label}: {shown}")
    for c in clouds:
        if not c.matched and c.start < cut:
            v.problems.append(
                f"{machine}: cloud cycle seq {c.start_seq}..{c.end_seq} {_fmt(c.start, epoch)} matches no true cycle"
            )
