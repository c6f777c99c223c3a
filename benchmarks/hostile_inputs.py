"""Hostile inputs through the real CLI: each must exit 2 within 2 s and 100 MB (issue 16).

    .venv/bin/python benchmarks/hostile_inputs.py

Runs one process per input (``check``, a headless start or ``backtest``) and prints its exit code,
wall time and peak RSS (from wait4, the child alone). The inputs are the worst of their kind at the
limits the loaders enforce: an alias bomb, a recursive alias, 5,000 nested brackets, a config of
exactly 256 KB, /dev/zero as config, rules file, secrets file and trace, and a 24 MB trace whose
last row is bad (the most a trace may be, read to its end before it is refused), and a trace whose
header is one 20 MB line of commas.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_S = 2.0
LIMIT_MB = 100.0


def run(argv: list[str], cwd: Path, env: dict) -> tuple[int, float, float, float, str]:
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", "edgemining_tui", *argv], cwd=cwd, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    dt = time.perf_counter() - t0
    cpu = usage.ru_utime + usage.ru_stime
    return p.returncode, dt, cpu, usage.ru_maxrss / 1024.0, err.strip().splitlines()[0] if err.strip() else ""


def make_inputs(d: Path, write: bool = True) -> list[tuple[str, list[str]]]:
    bt = str(ROOT / "examples" / "backtest.yaml")
    if write:
        _write_inputs(d)
    return [
        ("alias bomb (billion laughs)", ["check", "--config", "bomb.yaml"]),
        ("alias bomb, headless start", ["--headless", "--config", "bomb.yaml"]),
        ("recursive alias", ["check", "--config", "recursive.yaml"]),
        ("5,000 nested [", ["check", "--config", "deep.yaml"]),
        ("NUL byte", ["check", "--config", "nul.yaml"]),
        ("256 KB config, 5,000 bad miners", ["check", "--config", "wide.yaml"]),
        ("256 KB scalar", ["check", "--config", "scalar.yaml"]),
        ("config /dev/zero", ["check", "--config", "/dev/zero"]),
        ("rules_file /dev/zero", ["--headless", "--config", "rules.yaml"]),
        ("secrets_file /dev/zero", ["--headless", "--config", "secrets.yaml"]),
        ("nan/inf values", ["--headless", "--config", "nan.yaml"]),
        ("--trace /dev/zero", ["backtest", "--trace", "/dev/zero", "--config", bt]),
        ("20 MB line of commas (trace)", ["backtest", "--trace", "commas.csv", "--config", bt]),
        ("24 MB trace, bad last row", ["backtest", "--trace", "big.csv", "--config", bt]),
    ]


def _write_inputs(d: Path) -> None:
    laughs = "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9) if p else ', '.join(['lol'] * 9)}]\n"
                     for p, c in zip([None, "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi"))
    (d / "bomb.yaml").write_text(laughs)
    (d / "recursive.yaml").write_text("site: &a [*a]\n")
    (d / "deep.yaml").write_text("site: " + "[" * 5000)
    (d / "nul.yaml").write_text("demo: {}\nsite:\n  name: a\x00b\n")
    big = "demo: {}\nminers:\n" + "".join(f"  - {{name: m{i}, driver: simulated, priority: x}}\n" for i in range(20000))
    (d / "wide.yaml").write_text(big[:256 * 1024 - 1])
    (d / "scalar.yaml").write_text("demo: {}\nsite: {name: '" + "x" * (256 * 1024 - 40) + "', cycle_interval: 0}\n")
    (d / "rules.yaml").write_text("demo: {}\npolicy: {rules_file: /dev/zero}\n")
    (d / "secrets.yaml").write_text("demo: {}\nsecrets_file: /dev/zero\n")
    (d / "nan.yaml").write_text("demo: {}\npolicy: {headroom: .nan, import_cap: .nan}\nsite: {stale_after: .inf}\n")
    row_s = 60
    with open(d / "big.csv", "w") as fh:
        fh.write("timestamp,pv_w,load_w\n")
        t, size, i = 1_715_551_200, 0, 0
        line = ""
        while size < 24 * 1024 * 1024 - 200:
            from datetime import datetime, timezone
            line = f"{datetime.fromtimestamp(t + i * row_s, timezone.utc).isoformat()},{i % 5000},400.5\n"
            fh.write(line)
            size += len(line)
            i += 1
        fh.write(line.split(",")[0] + ",nan,1\n")          # the last row repeats a time and is bad
    with open(d / "commas.csv", "w") as fh:
        fh.write("timestamp,pv_w,load_w")
        for _ in range(20):
            fh.write("," * (1024 * 1024))
        fh.write("\n")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        env = {**os.environ, "XDG_DATA_HOME": str(d / "xdg"), "HOME": str(d)}
        # made in another process: a fork counts its parent's memory until exec, so keep this one small
        subprocess.run([sys.executable, __file__, "--make", str(d)], check=True)
        inputs = make_inputs(d, write=False)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; the limit applies to CPU s "
              "(wall time on a shared machine is the load's)")
        print(f"{'input':34} {'exit':>4} {'wall s':>6} {'CPU s':>6} {'MB':>6}  first line of stderr")
        worst_s = worst_mb = 0.0
        ok = True
        for name, argv in inputs:
            rc, dt, cpu, mb, first = run(argv, d, env)
            worst_s, worst_mb = max(worst_s, cpu), max(worst_mb, mb)
            bad = rc != 2 or cpu > LIMIT_S or mb > LIMIT_MB or "Traceback" in first
            ok &= not bad
            print(f"{name:34} {rc:>4} {dt:6.2f} {cpu:6.2f} {mb:6.1f}  {first[:80]}{'  <-- FAIL' if bad else ''}")
        made = (d / "xdg").exists()
        print(f"worst: {worst_s:.2f} CPU s, {worst_mb:.1f} MB (limits {LIMIT_S:g} s, {LIMIT_MB:g} MB); "
              f"data dir created: {'yes' if made else 'no'}")
        return 0 if ok and not made else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--make"]:
        _write_inputs(Path(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
