"""The perfect-foresight bound: the most a fleet could have mined on a trace without buying one
more kWh from the grid than the site buys without miners.

``backtest --oracle`` solves the trace as a linear program with HiGHS (``highspy``, the optional
``[oracle]`` extra; not needed to run the console). Per step ``t`` (``h`` hours long):

    maximise    Σ m_t · h                                   mining energy
    subject to  pv_t + i_t + d_t = load_t + m_t + c_t + e_t  every watt goes somewhere
                s_t = s_{t-1} + η c_t h − d_t h / η           the battery (η = √round-trip, as sim/battery.py)
                min_soc ≤ s_t ≤ capacity,  0 ≤ c_t ≤ max_charge,  0 ≤ d_t ≤ max_discharge
                0 ≤ m_t ≤ Σ max_w of the fleet
                Σ i_t · h ≤ the site's import without miners   no extra import
                s_n ≥ the battery at the end without miners    no borrowing from the end

It knows the future, takes any power from 0 to the fleet's maximum (no minimum power, no timers,
no standby) and moves energy through the battery at will: no policy can do better, so a policy's
captured energy as a share of it says how much is left on the table. The replay's import and end
SoC without miners come from the same trace through the same battery model (backtest/site.py).

The LP keeps the trace's own steps. Averaging them to 5 minutes would be a smaller LP but not the
same bound: within the 5 minutes a minute above the fleet's maximum or the charge limit would be
evened out against a minute below it, so the coarse bound is higher than the trace allows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .config import BacktestConfig
from .trace import Trace


# HiGHS's dual simplex: an exact vertex, and on these long banded LPs it grows about linearly
# with the trace (a week ~1.5 s, a month ~13 s CPU); the interior-point solver (IPX) was faster on
# some weeks but grew much faster than the trace (a month: over a minute). benchmarks/oracle.py
SOLVER = "simplex"


class OracleUnavailable(RuntimeError):
    pass


@dataclass
class Bound:
    mined_kwh: float           # the bound: the most mining energy without extra import
    export_kwh: float          # what it still exports (the fleet's maximum, or nowhere to put it)
    solve_s: float
    status: str
    mined_kwh_by_day: dict | None = None   # local date (YYYY-MM-DD) -> the bound's mining that day
    build_s: float = 0.0       # of solve_s: building the LP (the rest is HiGHS)

    def as_dict(self) -> dict:
        out = {"mined_kwh": round(self.mined_kwh, 3), "export_kwh": round(self.export_kwh, 3),
               "solve_s": round(self.solve_s, 3), "build_s": round(self.build_s, 3), "status": self.status}
        if self.mined_kwh_by_day is not None:
            out["mined_kwh_by_day"] = {d: round(v, 3) for d, v in self.mined_kwh_by_day.items()}
        return out


def by_local_day(ts0: float, step_s: float, kwh_per_step, tz_name: str) -> dict[str, float]:
    """Per-step kWh summed per site-local calendar day (the days the report's bars show)."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from .days import LocalDays
    days = LocalDays(ZoneInfo(tz_name))
    out: dict[str, float] = {}
    for i, v in enumerate(kwh_per_step):
        key = date.fromordinal(days.of(ts0 + i * step_s)).isoformat()
        out[key] = out.get(key, 0.0) + float(v)
    return out


def fleet_max_w(cfg: BacktestConfig) -> float:
    from .miners import SimMiner
    fleet = [SimMiner(m, 0.0, cfg.section.efficiency_j_th) for m in cfg.app.miners if m.enabled]
    return sum(m.model.max_w for m in fleet)


def _baseline(cfg: BacktestConfig, trace: Trace) -> tuple[float, float]:
    """(import Wh, end SoC Wh) of the site without miners, through the replay's battery model."""
    from ..sim.battery import Battery
    bat = Battery(cfg.battery) if cfg.battery.capacity > 0 else None
    dt = trace.step_s
    h = dt / 3600.0
    imp = 0.0
    for pv, load in zip(trace.pv_w, trace.load_w):
        net = pv - load
        ch = bat.settle(net, dt) if bat is not None else 0.0
        g = load + ch - pv
        if g > 0:
            imp += g * h
    return imp, (bat.soc_wh if bat is not None else 0.0)


def _quiet_highs(highspy):
    """A Highs instance without its banner: the C++ constructor writes it to file descriptor 1,
    which would break --json on standard output."""
    import os
    import sys
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def build(cfg: BacktestConfig, trace: Trace, highspy, np):
    """The LP as one column-wise sparse matrix, built from whole vectors (no loop over steps) and
    handed to HiGHS in a single passModel.

    Columns, ``n`` each: mining m, import i, charge c, discharge d, battery s. Rows: balance, ``n``
    (``i + d - m - c >= load - pv``: the export is its slack, not a column of its own), battery,
    ``n`` (``s_t - s_{t-1} - eta h c_t + h/eta d_t = 0``), and one row for the import budget
    (``h Σ i_t <= the import without miners``)."""
    n = len(trace)
    h = trace.step_s / 3600.0
    pv = np.asarray(trace.pv_w, dtype=float)
    load = np.asarray(trace.load_w, dtype=float)
    b = cfg.battery
    has_bat = b.capacity > 0
    eta = math.sqrt(b.round_trip_efficiency / 100.0) if has_bat else 1.0
    imp0, soc_end0 = _baseline(cfg, trace)
    mmax = fleet_max_w(cfg)
    nv = 5 * n
    M, I, C, D, S = (k * n for k in range(5))
    inf = highspy.kHighsInf
    lo = np.zeros(nv)
    hi = np.full(nv, inf)
    hi[M:M + n] = mmax
    if has_bat:
        hi[C:C + n] = b.max_charge
        hi[D:D + n] = b.max_discharge
        lo[S:S + n] = b.capacity * b.min_soc / 100.0
        hi[S:S + n] = b.capacity
        lo[S + n - 1] = max(lo[S + n - 1], min(soc_end0, b.capacity))
    else:
        hi[C:C + 2 * n] = 0.0
        hi[S:S + n] = 0.0
    cost = np.zeros(nv)
    cost[M:M + n] = -h                       # HiGHS minimises: maximise mining energy
    t = np.arange(n)
    t1 = t[1:]
    one = np.ones(n)
    # (row, column, value) of every nonzero, as whole vectors
    rows = np.concatenate([t, t, t, t,                                  # balance
                           n + t, n + t1, n + t, n + t,                 # battery
                           np.full(n, 2 * n)])                          # import budget
    cols = np.concatenate([I + t, D + t, M + t, C + t,
                           S + t, S + t1 - 1, C + t, D + t,
                           I + t])
    vals = np.concatenate([one, one, -one, -one,
                           one, -one[1:], np.full(n, -eta * h), np.full(n, h / eta),
                           np.full(n, h)])
    s0 = b.capacity * b.initial_soc / 100.0 if has_bat else 0.0
    need = load - pv
    row_lo = np.concatenate([need, np.zeros(n), [-inf]])
    row_hi = np.concatenate([np.full(n, inf), np.zeros(n), [imp0 + 1e-6]])
    row_lo[n] = row_hi[n] = s0               # s_{-1} = the initial charge, moved to the bound
    order = np.lexsort((rows, cols))
    rows, cols, vals = rows[order], cols[order], vals[order]
    lp = highspy.HighsLp()
    lp.num_col_ = nv
    lp.num_row_ = 2 * n + 1
    lp.col_cost_ = cost
    lp.col_lower_ = lo
    lp.col_upper_ = hi
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(cols, np.arange(nv + 1)).astype(np.int32)
    lp.a_matrix_.index_ = rows.astype(np.int32)
    lp.a_matrix_.value_ = vals
    return lp, (n, h, M, need)


def solve(cfg: BacktestConfig, trace: Trace) -> Bound:
    try:
        import highspy
        import numpy as np
    except ImportError:
        raise OracleUnavailable("--oracle needs HiGHS: pip install 'edgemining-tui[oracle]' "
                                "(or pip install highspy)") from None
    import time
    t0 = time.perf_counter()
    lp, (n, h, M, need) = build(cfg, trace, highspy, np)
    t1 = time.perf_counter()
    hs = _quiet_highs(highspy)
    hs.setOptionValue("output_flag", False)
    hs.setOptionValue("solver", SOLVER)
    hs.passModel(lp)
    hs.run()
    status = hs.modelStatusToString(hs.getModelStatus())
    sol = hs.getSolution()
    x = np.asarray(sol.col_value)
    t2 = time.perf_counter()
    if status != "Optimal" or x.size != lp.num_col_:
        return Bound(math.nan, math.nan, t2 - t0, status, build_s=t1 - t0)
    mined = float(x[M:M + n].sum() * h)
    export = float(np.clip(np.asarray(sol.row_value)[:n] - need, 0.0, None).sum() * h)
    per_day = by_local_day(trace.ts0, trace.step_s, x[M:M + n] * (h / 1000.0), cfg.app.site.timezone)
    return Bound(mined / 1000.0, export / 1000.0, t2 - t0, status, per_day, build_s=t1 - t0)


def shares(result, bound: Bound) -> dict:
    """A replay's captured energy and net value as shares of the bound. Net value: what mining
    captured from the surplus less what it added to the grid import and took from the battery's
    end (kWh); both are what the bound maximises with none of either."""
    d = result.to_dict()
    cap = d["captured_kwh"]
    net = cap - d["extra_import_kwh"] - max(0.0, d["battery"].get("end_deficit_kwh") or 0.0)
    b = bound.mined_kwh
    ok = b == b and b > 0
    return {"bound_kwh": round(b, 3) if b == b else None,
            "captured_pct_of_bound": round(100.0 * cap / b, 2) if ok else None,
            "net_pct_of_bound": round(100.0 * net / b, 2) if ok else None,
            "net_kwh": round(net, 3)}


def require() -> None:
    """Raise OracleUnavailable unless HiGHS can be imported (checked before anything runs)."""
    try:
        import highspy  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        raise OracleUnavailable("--oracle needs HiGHS: pip install 'edgemining-tui[oracle]' "
                                "(or pip install highspy)") from None


def attach(cfgs: list[BacktestConfig], results: list, trace: Trace) -> list[str]:
    """Solve the bound for each config (once per battery and fleet), store it on each result
    (``Result.oracle``, in --json) and return the lines the text output prints."""
    cache: dict = {}
    lines = []
    for cfg, r in zip(cfgs, results):
        key = (cfg.battery, round(fleet_max_w(cfg), 3))
        bound = cache.get(key)
        if bound is None:
            bound = cache[key] = solve(cfg, trace)
        sh = shares(r, bound)
        r.oracle = {**bound.as_dict(), **sh}
        if bound.status != "Optimal":
            lines.append(f"oracle {r.label}: no bound ({bound.status})")
            continue
        lines.append(f"oracle {r.label}: bound {bound.mined_kwh:.1f} kWh mined without extra import "
                     f"(perfect foresight; LP built in {bound.build_s:.1f} s, solved in "
                     f"{bound.solve_s - bound.build_s:.1f} s); captured "
                     f"{sh['captured_pct_of_bound']:.1f} % of it, net value {sh['net_pct_of_bound']:.1f} % "
                     f"({sh['net_kwh']:.1f} kWh: captured less extra import and battery end deficit)")
    return lines
