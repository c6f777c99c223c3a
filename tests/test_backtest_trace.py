"""Trace CSV parsing: the sample week loads; every kind of bad trace names its file and line."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from edgemining_tui.backtest.trace import Trace, TraceError, parse_trace, write_trace
from edgemining_tui.backtest.tracegen import generate

ROOT = Path(__file__).resolve().parents[1]
WEEK = ROOT / "examples" / "week.csv"

HEADER = "timestamp,pv_w,load_w\n"


def rows(n: int, step: int = 60, start: int = 0, pv: str = "100", fmt: str = "+02:00") -> str:
    out = []
    for i in range(n):
        s = start + i * step
        out.append(f"2024-05-13T{10 + s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{fmt},{pv},300\n")
    return "".join(out)


def bad(text: str) -> TraceError:
    with pytest.raises(TraceError) as ei:
        parse_trace("t.csv", text)
    return ei.value


def test_sample_week_loads():
    tr = parse_trace(WEEK)
    assert len(tr) == 7 * 1440
    assert tr.step_s == 60.0
    assert tr.utc_offset_s == 7200
    assert tr.temp_out_c is not None and tr.price_import is not None and tr.price_export is not None
    assert max(tr.pv_w) > 3000 and min(tr.pv_w) == 0.0
    assert min(tr.load_w) > 0


def test_minimal_trace_and_z_suffix():
    tr = parse_trace("t.csv", HEADER + rows(3, fmt="Z"))
    assert len(tr) == 3 and tr.step_s == 60
    assert tr.temp_out_c is None and tr.price_import is None
    assert tr.ts0 == 1715594400.0      # 2024-05-13T10:00Z


def test_optional_columns_may_be_empty_and_extra_columns_are_ignored():
    text = ("timestamp,pv_w,note,load_w,price_import\n"
            "2024-05-13T10:00:00+00:00,1,a,2,0.3\n"
            "2024-05-13T10:01:00+00:00,1,b,2,\n")
    tr = parse_trace("t.csv", text)
    assert tr.price_import[0] == 0.3 and math.isnan(tr.price_import[1])
    assert tr.ignored_columns == ("note",)


def test_blank_lines_are_skipped():
    tr = parse_trace("t.csv", HEADER + rows(2) + "\n" + rows(1, start=120))
    assert len(tr) == 3


def test_missing_column():
    e = bad("timestamp,pv_w\n2024-05-13T10:00:00+00:00,1\n")
    assert e.line == 1 and "missing column load_w" in str(e) and str(e).startswith("t.csv:1:")


def test_empty_file():
    assert bad("").line == 1


def test_unparsable_value_names_line_and_column():
    text = HEADER + rows(3) + "2024-05-13T10:03:00+02:00,abc,300\n"
    e = bad(text)
    assert e.line == 5 and "pv_w" in str(e) and "abc" in str(e)


def test_missing_required_value():
    e = bad(HEADER + rows(1) + "2024-05-13T10:01:00+02:00,,300\n")
    assert e.line == 3 and "pv_w" in e.message


def test_negative_and_nonfinite_values():
    assert "negative" in bad(HEADER + rows(1) + "2024-05-13T10:01:00+02:00,-5,300\n").message
    assert "finite" in bad(HEADER + rows(1) + "2024-05-13T10:01:00+02:00,5,inf\n").message


def test_naive_timestamp_refused():
    e = bad(HEADER + "2024-05-13T10:00:00,1,2\n")
    assert e.line == 2 and "UTC offset" in e.message


def test_bad_timestamp():
    e = bad(HEADER + rows(1) + "yesterday,1,2\n")
    assert e.line == 3 and "ISO 8601" in e.message


def test_time_going_backwards():
    text = HEADER + rows(3) + "2024-05-13T10:01:00+02:00,1,2\n"
    e = bad(text)
    assert e.line == 5 and "backwards" in e.message


def test_duplicate_timestamp():
    e = bad(HEADER + rows(2) + "2024-05-13T10:01:00+02:00,1,2\n")
    assert e.line == 4 and "nowhere" in e.message


def test_gap_names_missing_rows():
    text = HEADER + rows(3) + rows(2, start=300)
    e = bad(text)
    assert e.line == 5 and "gap" in e.message and "2 row(s) missing" in e.message


def test_mixed_step():
    text = HEADER + rows(3) + "2024-05-13T10:02:30+02:00,1,2\n"
    e = bad(text)
    assert e.line == 5 and "mixed step" in e.message


def test_step_out_of_range():
    assert "outside" in bad(HEADER + rows(2, step=5)).message
    assert "outside" in bad(HEADER + rows(2, step=1800)).message


def test_too_few_rows():
    assert "at least two rows" in bad(HEADER + rows(1)).message


def test_wrong_number_of_values():
    e = bad(HEADER + rows(1) + "2024-05-13T10:01:00+02:00,1\n")
    assert e.line == 3 and "expected 3 values" in e.message


def test_utc_offset_change_is_not_a_gap():
    # DST ends: 03:00+02:00 is followed by 02:01+01:00, one minute later in UTC
    text = HEADER + "2024-10-27T02:59:00+02:00,0,1\n2024-10-27T02:00:00+01:00,0,1\n2024-10-27T02:01:00+01:00,0,1\n"
    tr = parse_trace("t.csv", text)
    assert len(tr) == 3 and tr.step_s == 60


def test_missing_file():
    with pytest.raises(TraceError) as ei:
        parse_trace("/nonexistent/trace.csv")
    assert "file not found" in str(ei.value)


def test_write_and_read_back(tmp_path):
    tr = generate(days=0.5, step_s=300)
    p = tmp_path / "t.csv"
    write_trace(p, tr)
    back = parse_trace(p)
    assert len(back) == len(tr) and back.step_s == 300 and back.ts0 == tr.ts0
    assert all(abs(a - b) < 0.051 for a, b in zip(back.pv_w, tr.pv_w))


def test_slice():
    tr = generate(days=1, step_s=60, prices=False)
    s = tr.slice(60, 120)
    assert isinstance(s, Trace) and len(s) == 60 and s.ts0 == tr.ts0 + 3600


def test_sample_week_is_the_generator_output(tmp_path):
    from edgemining_tui.backtest.tracegen import main as gen_main
    p = tmp_path / "week.csv"
    assert gen_main([str(p)]) == 0
    assert p.read_text() == WEEK.read_text()
