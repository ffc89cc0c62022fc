"""The chaos verdict itself (compare.py) catches what it must: a run with no fault is no proof otherwise."""

from __future__ import annotations

import json
from typing import Any

from firmware_sim.truth import RESTARTED, GroundTruth, TruthLog, read_truth_file
from tests.chaos.compare import RoomVerdict, judge_room

T0 = 1_800_000_000.0
BOOT = "b1"


def _event(seq: int, machine: str, kind: str, ts: float) -> dict[str, Any]:
    state = {"cycle_started": "running", "cycle_finished": "finished", "cycle_interrupted": "idle"}.get(kind, "idle")
    payload = {"seq": seq, "boot_id": BOOT, "machine": machine, "type": kind, "state": state, "door": "closed"}
    return {"seq": seq, "epoch": 0, "machine": machine, "type": kind, "ts": ts, "payload": payload}


def _judge(
    truth: list[GroundTruth], events: list[dict[str, Any]], ambiguous_s: float = 0.0, **sequence: int
) -> RoomVerdict:
    n = len(events)
    seq_row = {"epoch": 0, "seq_resets": 0, "base_seq": 0, "contiguous_seq": n, "max_seq": n, **sequence}
    sent = {e["seq"]: json.dumps(e["payload"]).encode() for e in events}
    return judge_room("r", truth, events, seq_row, sent, n, cut=T0 + 20_000, epoch=T0, ambiguous_s=ambiguous_s)


TRUTH = [
    GroundTruth(T0 + 100, "washer-1", "cycle_started", "normal"),
    GroundTruth(T0 + 2800, "washer-1", "cycle_finished", "normal"),
    GroundTruth(T0 + 5000, "washer-1", "cycle_started", "quick"),
    GroundTruth(T0 + 6800, "washer-1", "cycle_finished", "quick"),
]
GOOD = [
    _event(1, "washer-1", "cycle_started", T0 + 115),
    _event(2, "washer-1", "cycle_finished", T0 + 2840),
    _event(3, "washer-1", "cycle_started", T0 + 5012),
    _event(4, "washer-1", "cycle_finished", T0 + 6840),
]


def test_a_faithful_record_passes() -> None:
    verdict = _judge(TRUTH, GOOD)
    assert verdict.problems == []
    assert verdict.judged["finished"] == 2


def test_a_lost_finish_fails() -> None:
    events = [*GOOD[:3], _event(4, "washer-1", "door_opened", T0 + 7000)]
    assert any("quick cycle" in p for p in _judge(TRUTH, events).problems)


def test_a_cycle_shown_twice_fails() -> None:
    extra = [_event(3, "washer-1", "cycle_started", T0 + 3000), _event(4, "washer-1", "cycle_finished", T0 + 3100)]
    later = [{**e, "seq": e["seq"] + 2, "payload": {**e["payload"], "seq": e["seq"] + 2}} for e in GOOD[2:]]
    events = [*GOOD[:2], *extra, *later]
    assert any("matches no true cycle" in p for p in _judge(TRUTH, events).problems)


def test_a_door_opened_as_the_drum_stopped_may_read_interrupted_only_within_the_window() -> None:
    door_opened_20s_after = [*GOOD[:3], _event(4, "washer-1", "cycle_interrupted", T0 + 6820)]
    assert _judge(TRUTH, door_opened_20s_after, ambiguous_s=60).problems == []
    assert _judge(TRUTH, door_opened_20s_after, ambiguous_s=60).judged["finished, door opened as it stopped"] == 1
    assert any("quick cycle" in p for p in _judge(TRUTH, door_opened_20s_after, ambiguous_s=10).problems)
    opened_before_the_end = [*GOOD[:3], _event(4, "washer-1", "cycle_interrupted", T0 + 6700)]
    assert any("quick cycle" in p for p in _judge(TRUTH, opened_before_the_end, ambiguous_s=600).problems)


def test_a_hole_in_the_sequence_fails() -> None:
    events = [GOOD[0], GOOD[2], GOOD[3]]
    problems = _judge(TRUTH, events, contiguous_seq=1, max_seq=4).problems
    assert any("not 1..N" in p for p in problems)
    assert any("gap is open" in p for p in problems)


def test_a_cycle_cut_short_by_a_kill_may_end_either_way_but_must_end() -> None:
    truth = [*TRUTH[:1], GroundTruth(T0 + 1000, "*", RESTARTED)]
    ended = [GOOD[0], _event(2, "washer-1", "cycle_finished", T0 + 1600)]
    assert _judge(truth, ended).problems == []
    assert any("never ended" in p for p in _judge(truth, [GOOD[0]]).problems)


def test_the_truth_file_survives_and_marks_a_restart(tmp_path: Any) -> None:
    path = tmp_path / "truth.jsonl"
    first = TruthLog(path)
    first.record(T0, "washer-1", "cycle_started", "normal")
    # no close(): as after SIGKILL
    second = TruthLog(path)
    second.mark_restarted(T0 + 50)
    second.close()
    with path.open("a") as torn:
        torn.write('{"ts": 1')  # a write cut by a kill
    assert [(e.machine, e.what) for e in read_truth_file(path)] == [("washer-1", "cycle_started"), ("*", RESTARTED)]


def test_a_cycle_started_again_right_after_a_restart_may_merge_with_the_cut_one() -> None:
    truth = [
        *TRUTH[:1],
        GroundTruth(T0 + 1000, "*", RESTARTED),
        GroundTruth(T0 + 1100, "washer-1", "cycle_started", "quick"),
        GroundTruth(T0 + 2900, "washer-1", "cycle_finished", "quick"),
    ]
    one_cycle = [GOOD[0], _event(2, "washer-1", "cycle_finished", T0 + 2940)]
    verdict = _judge(truth, one_cycle)
    assert verdict.problems == []
    assert verdict.judged["merged with the cycle cut short before it"] == 1
