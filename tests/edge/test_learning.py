"""What a detector learns about its machine: the rules as tables, the wire form round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.learning import KEEP_CYCLES, CycleFacts, Learned
from kywash.contract import MAX_PAYLOAD_BYTES, MachineKind, MachineProfile, decode

T0 = 1_767_225_600.0


def facts(
    duration: float = 3600.0,
    *,
    pause: float = 0.0,
    tail: float = 0.03,
    low: bool = False,
    signature: bool = True,
    category: str | None = None,
) -> CycleFacts:
    return CycleFacts(duration, duration * 1.5, pause, tail, low, signature, category, T0 + duration)


WARM = Learned.of_cycles([facts(3000), facts(3600), facts(4200)], standby=0.03)


@pytest.mark.parametrize(
    ("learned", "ran", "category", "extra", "expected"),
    [
        (Learned.empty(), 5000, None, 0, "cold"),
        (Learned.of_cycles([facts(3000)]), 100, None, 0, "cold"),  # one cycle is not a habit yet
        (WARM, 0.5 * 3000, None, 0, "before"),
        (WARM, 0.8 * 3000, None, 0, "mid"),
        (WARM, 0.95 * 3000, None, 0, "near"),
        (WARM, 0.95 * 3000, None, 30, "before"),  # 30 extra minutes: the end is further away
        (
            Learned.of_cycles([facts(1200, category="quick"), facts(1300, category="quick"), facts(6000)]),
            1150,
            "quick",
            0,
            "near",
        ),
        (
            Learned.of_cycles([facts(1200, category="quick"), facts(1300, category="quick"), facts(6000)]),
            1150,
            "normal",
            0,
            "near",  # too few normal cycles: all of them count, and the shortest is 1200
        ),
    ],
)
def test_timing(learned: Learned, ran: float, category: str | None, extra: int, expected: str) -> None:
    assert learned.timing(ran, category, extra) == expected


def test_expected_duration_is_the_median_of_the_matching_cycles_plus_the_extra_minutes() -> None:
    assert Learned.empty().expected_duration() is None
    assert WARM.expected_duration() == 3600
    assert WARM.expected_duration(None, 10) == 4200
    by_category = Learned.of_cycles([facts(2700, category="extra_10"), facts(2900, category="extra_10"), facts(2000)])
    assert by_category.expected_duration("extra_10", 10) == 2800  # its own cycles already include the extra


@pytest.mark.parametrize(
    ("cycles", "low", "level", "signature", "alike"),
    [
        ([facts(), facts()], False, 0.03, True, True),
        ([facts(), facts()], True, 0.12, True, False),
        ([facts(tail=0.12, low=True, signature=False)] * 3, True, 0.125, False, True),
        ([facts(tail=0.12, low=True, signature=False)] * 3, True, 0.3, False, False),  # another level
        ([facts(tail=0.12, low=True, signature=False)] * 3, False, 0.03, True, False),
        ([facts(), facts(tail=0.0)], False, 0.03, True, False),  # a door-ended cycle's tail was never seen
    ],
)
def test_end_like(cycles: list[CycleFacts], low: bool, level: float, signature: bool, alike: bool) -> None:
    assert Learned.of_cycles(cycles).end_like(low, level, signature) is alike


def test_the_pause_limit_never_drops_below_the_cold_one_and_grows_past_pauses_seen() -> None:
    assert Learned.empty().pause_limit(1500) == 1500
    assert Learned.of_cycles([facts(pause=600)]).pause_limit(1500) == 1500
    assert Learned.of_cycles([facts(pause=2000)]).pause_limit(1500) == pytest.approx(1.3 * 2000 + 60)


def test_standby_follows_quiet_minutes_but_never_a_lamp() -> None:
    learned, moved = Learned.empty().with_standby(0.04)
    assert (learned.standby, moved) == (0.04, True)
    learned, moved = learned.with_standby(0.041)
    assert not moved and learned.standby == pytest.approx(0.04, abs=1e-4)
    learned, moved = learned.with_standby(0.075)  # a lamp: followed only slowly
    assert not moved and learned.standby == pytest.approx(0.0418, abs=1e-4)
    for _ in range(5):
        learned, _moved = learned.with_standby(0.075)
    assert 0.045 < (learned.standby or 0) < 0.06
    learned, moved = learned.with_standby(0.02)  # down again at once
    assert moved and (learned.standby or 0) < 0.04
    assert learned.with_standby(0.09) == (learned, False)


def test_a_continued_cycle_is_forgotten_and_learned_counts_never_go_back() -> None:
    learned = WARM.without_last_cycle()
    assert len(learned.cycles) == 2 and learned.learned == WARM.learned


def test_the_profile_keeps_the_most_recent_cycles_and_fits_one_message() -> None:
    learned = Learned.of_cycles([facts(1000 + i, category="extra_15") for i in range(KEEP_CYCLES + 10)], 0.021)
    assert len(learned.cycles) == KEEP_CYCLES and learned.learned == KEEP_CYCLES + 10
    assert learned.cycles[0].duration_s == 1010
    wire = learned.to_payload("dryer-2", MachineKind.DRYER, T0).to_bytes()
    assert len(wire) < MAX_PAYLOAD_BYTES / 2


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.builds(
            CycleFacts,
            st.floats(60, 20000),
            st.floats(0, 1e6),
            st.floats(0, 5000),
            st.floats(0, 1),
            st.booleans(),
            st.booleans(),
            st.sampled_from([None, "normal", "extra_5"]),
            st.floats(T0, T0 + 1e7).map(round),
        ),
        max_size=KEEP_CYCLES,
    ),
    st.one_of(st.none(), st.floats(0, 0.1)),
)
def test_the_profile_round_trips_through_its_retained_message(cycles: list[CycleFacts], standby: float | None) -> None:
    learned = Learned.of_cycles(cycles, standby)
    back = Learned.from_payload(
        decode(MachineProfile, learned.to_payload("washer-1", MachineKind.WASHER, T0).to_bytes())
    )
    assert back.learned == learned.learned and back.standby == learned.standby
    assert len(back.cycles) == len(learned.cycles)
    for a, b in zip(back.cycles, learned.cycles, strict=True):
        assert a.duration_s == pytest.approx(max(b.duration_s, 1.0))
        assert (a.tail_low, a.end_signature, a.category) == (b.tail_low, b.end_signature, b.category)
        assert a.ended_at == pytest.approx(b.ended_at, abs=1e-3)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"schema":1,"machine":"washer-1","kind":"washer","learned":-1,"ts":"2026-01-01T00:00:00Z"}',
        b'{"schema":1,"machine":"washer-1","kind":"toaster","learned":1,"ts":"2026-01-01T00:00:00Z"}',
        b'{"schema":1,"machine":"washer-1","kind":"washer","learned":1,"standby_a":7,"ts":"2026-01-01T00:00:00Z"}',
        b'{"schema":1,"machine":"washer-1","kind":"washer","learned":1,"ts":"2026-01-01T00:00:00Z",'
        b'"cycles":[{"duration_s":-5,"energy_as":0,"ended_at":"2026-01-01T00:00:00Z"}]}',
        b'{"schema":9,"machine":"washer-1","kind":"washer","learned":1,"ts":"2026-01-01T00:00:00Z"}',
    ],
)
def test_a_bad_profile_is_refused_by_the_contract(payload: bytes) -> None:
    from kywash.contract import ContractError

    with pytest.raises(ContractError):
        decode(MachineProfile, payload)
