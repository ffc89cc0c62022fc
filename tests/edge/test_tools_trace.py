"""``edge.tools.trace``: recordings read from our CSV and from other loggers, bad ones refused by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.tools.trace import MAINS_VOLTS, Trace, TraceError, load_trace, write_trace


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("when,level\n0,1\n", "first line must be a header naming the time and the current, 't_s,amps'"),
        ("", "first line must be a header"),
        ("t_s,amps\n0,1\n1,x\n", ":3: expected a time and a number"),
        ("t_s,amps\n0,1\n1\n", ":3: expected a time and a number"),
        ("timestamp,watts\n2026-11-26T12:00:00,5\nnoon,5\n", ":3: expected a time and a number"),
        ("t_s,amps\n0,1\n1,-2\n", ":3: .* is not a time and a non-negative current"),
        ("t_s,amps\n0,1\n0,2\n", "times must increase strictly"),
        ("t_s,amps\n", "at least one sample"),
    ],
)
def test_bad_trace_files_are_refused_with_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(TraceError, match=message):
        load_trace(path)


def test_written_traces_load_back(tmp_path: Path) -> None:
    write_trace(tmp_path / "t.csv", [(0.0, 0.04), (0.5, 12.25)])
    assert load_trace(tmp_path / "t.csv") == Trace((0.0, 0.5), (0.04, 12.25))


@pytest.mark.parametrize(
    ("header", "rows", "amps"),
    [
        ("t,amps", ["0,1.5", "1,2.5"], (1.5, 2.5)),
        ("Time,Current", ["0,1.5", "1,2.5"], (1.5, 2.5)),
        ("timestamp,watts", ["2026-11-26T12:00:00Z,230", "2026-11-26T12:00:01Z,460"], (1.0, 2.0)),
        ("\ufefftimestamp,power,voltage", ["1764158400,115,231", "1764158401.5,0,231"], (0.5, 0.0)),
    ],
)
def test_traces_from_elsewhere_are_read(tmp_path: Path, header: str, rows: list[str], amps: tuple[float, ...]) -> None:
    path = tmp_path / "plug.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    trace = load_trace(path)
    assert trace.amps == pytest.approx(amps) and trace.times[1] > trace.times[0]
    assert MAINS_VOLTS == 230.0
