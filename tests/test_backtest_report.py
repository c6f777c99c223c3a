"""``backtest --plot`` / ``--html`` and the summary: who won, and the money in one line."""
from __future__ import annotations

import re

import pytest

from edgemining_tui.backtest import report, report_chart
from edgemining_tui.backtest.cli import main
from edgemining_tui.backtest.compare import load_all
from edgemining_tui.backtest.runner import run_backtest
from edgemining_tui.backtest.trace import parse_trace

from test_backtest_cli import CFG, EX, RULES, day_trace  # noqa: F401  (the two-day trace fixture)


@pytest.fixture(scope="module")
def runs(day_trace):
    """Both sample policies on the two days, with their steps recorded."""
    trace = parse_trace(day_trace)
    out = []
    for c in load_all([CFG, RULES]):
        rec = report.StepRecorder()
        out.append((run_backtest(c, trace, steps_out=rec), rec))
    return out


def test_plot_draws_every_series_with_axes(day_trace, capsys):
    assert main(["--trace", day_trace, "--config", CFG, "--plot"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out                   # not a terminal: no colour codes
    chart = out[out.index("allocator: 2880 steps"):]
    for word in ("PV kW", "house kW", "mining kW", "grid (+import) kW", "battery SoC % (right)",
                 "SoC %", "kW", "Mon 13", "Tue 14", "12:00"):
        assert word in chart, word
    body = [ln for ln in chart.splitlines() if "│" in ln or "┤" in ln]
    assert len(body) >= 15                      # a real chart, not a one-row sparkline
    drawn = "".join(body)
    for mark in "Phmgs":                        # each series leaves its letter on the chart
        assert mark in drawn, mark


def test_plot_with_json_keeps_stdout_json(day_trace, capsys):
    import json
    assert main(["--trace", day_trace, "--config", CFG, "--json", "--plot"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["label"] == "allocator"
    assert "mining kW" in cap.err


def test_html_report_is_self_contained(day_trace, tmp_path, capsys):
    out = tmp_path / "r" / "report.html"
    assert main(["--trace", day_trace, "--compare", CFG, RULES, "--html", str(out)]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    # nothing is fetched when it is opened: no script, stylesheet link, image or font from elsewhere
    assert "<script" not in page and "<link" not in page and "<img" not in page and "@import" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "url(" not in page
    for text in ("allocator", "rules (on/off)", "winner:", "value mined", "lost feed-in", "Per day",
                 "Side by side", "captured"):
        assert text in page, text
    # per-day bars: 2 days × 2 policies in each of the three charts
    assert len(re.findall(r"<rect ", page)) == 3 * 2 * 2
    assert page.count("<polyline") >= 2 * 5     # five series per policy
    assert not list(out.parent.glob(".report.html-*"))
    assert out.stat().st_mode & 0o044           # readable like any new file, not 0600
    assert "report written to" in capsys.readouterr().err


def test_html_into_a_folder_fails_before_running(day_trace, tmp_path, capsys):
    steps = tmp_path / "steps.csv"
    rc = main(["--trace", day_trace, "--config", CFG, "--html", str(tmp_path), "--steps-out", str(steps)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--html" in err and "folder" in err
    assert not steps.exists()                   # nothing ran, nothing written


def test_steps_file_unchanged_by_the_pictures(day_trace, tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["--trace", day_trace, "--config", CFG, "--steps-out", str(a)]) == 0
    assert main(["--trace", day_trace, "--config", CFG, "--steps-out", str(b), "--plot",
                 "--html", str(tmp_path / "r.html")]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_days_add_up_to_the_totals(runs):
    for r, rec in runs:
        days = report.per_day(rec, r.step_s)
        assert [d.date for d in days] == ["2024-05-13", "2024-05-14"]
        t = r.totals
        # the steps CSV rounds to 0.1 W: the sums agree to well under 0.1 %
        assert sum(d.mined_kwh for d in days) == pytest.approx(t.mined_wh / 1000, rel=1e-3, abs=1e-3)
        assert sum(d.import_kwh for d in days) == pytest.approx(t.import_wh / 1000, rel=1e-3, abs=1e-3)
        assert sum(d.export_kwh for d in days) == pytest.approx(t.export_wh / 1000, rel=1e-3, abs=1e-3)
        assert sum(d.pv_kwh for d in days) == pytest.approx(t.pv_wh / 1000, rel=1e-3)


def test_winner_is_the_best_net_and_the_money_adds_up(runs):
    results = [r for r, _ in runs]
    line = report.winner_line(results)
    best = max(results, key=lambda r: r.economics["net"])
    assert line.startswith(f"winner: {best.label}, net {best.economics['net']:+.2f} EUR")
    most = max(results, key=lambda r: r.totals.mined_wh)
    if most is not best:                        # the sample week: mining more nets less, and why
        assert f"{most.label} mined" in line and "nets less" in line
    for r in results:
        m = re.search(r"value mined ([\d.]+) − import cost ([\d.]+) − lost feed-in ([\d.]+) = net ([+-][\d.]+)",
                      report.money_line(r))
        assert m, report.money_line(r)
        value, cost, lost, net = (float(x) for x in m.groups())
        assert value - cost - lost == pytest.approx(net, abs=0.011)


def test_without_prices_the_winner_is_by_sats(runs, tmp_path):
    # the same results as if the trace had no price columns
    import copy
    results = []
    for r, _ in runs:
        r2 = copy.copy(r)
        r2.economics = None
        results.append(r2)
    line = report.winner_line(results)
    best = max(results, key=lambda r: r.sats)
    assert line.startswith(f"winner: {best.label}") and "no prices" in line
    assert "no prices" in report.money_line(results[0])


def test_buckets_keep_the_mean():
    vals = [float(i) for i in range(100)]
    b = report.buckets(vals, 10)
    assert len(b) == 10 and b[0] == pytest.approx(4.5) and b[-1] == pytest.approx(94.5)
    assert report.buckets(vals[:3], 10) == [0.0, 1.0, 2.0]       # fewer points than columns
    assert report.buckets([], 5) == []


def test_html_with_the_oracle_shows_the_bound_side_by_side(tmp_path, capsys):
    pytest.importorskip("highspy", reason="--oracle needs the [oracle] extra (highspy)")
    lines = (EX / "week.csv").read_text().splitlines(keepends=True)
    trace = tmp_path / "noon.csv"                       # six hours around noon keep the solve short
    trace.write_text(lines[0] + "".join(lines[1 + 9 * 60: 1 + 15 * 60]))
    out = tmp_path / "r.html"
    assert main(["--trace", str(trace), "--compare", CFG, RULES, "--oracle", "--html", str(out)]) == 0
    page = out.read_text()
    row = re.search(r"<tr><th>oracle bound</th>(.*?)</tr>", page)
    assert row and row.group(1).count("kWh mined without extra import") == 2     # one cell per policy
    assert re.search(r"<tr><th>captured of bound</th><td>[\d.]+ %</td><td>[\d.]+ %</td></tr>", page)
    assert "of the perfect-foresight bound" in page
    assert page.count("<title>bound 2024-05-13:") == 2          # a dashed bound over each policy's bar
    # the per-day bound adds up to the whole bound (in --json too)
    import json
    capsys.readouterr()
    assert main(["--trace", str(trace), "--config", CFG, "--oracle", "--json"]) == 0
    o = json.loads(capsys.readouterr().out)["oracle"]
    assert sum(o["mined_kwh_by_day"].values()) == pytest.approx(o["mined_kwh"], abs=0.01)


def test_plot_in_colour_keys_each_line_by_its_colour(runs):
    r, rec = runs[0]
    text = report_chart.plot_text([r], [rec], width=100, colour=True)
    assert "\x1b[" in text                                  # a terminal gets colour
    key = text.splitlines()[-1]
    for k in ("PV", "house", "mining", "grid (+import)", "battery SoC"):
        assert k in report.strip_ansi(key)
    plain = report_chart.plot_text([r], [rec], width=100, colour=False)
    assert "\x1b[" not in plain and len(plain.splitlines()) == len(report.strip_ansi(text).splitlines())
