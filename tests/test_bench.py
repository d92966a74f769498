"""The Monte Carlo benchmark (bench/mc_throughput.py) runs and checks what it claims (no timing asserted here)."""

from __future__ import annotations

import re
import subprocess
import sys

from sim import PROJECT_ROOT


def test_quick_benchmark_runs_and_matches_per_replica_outcomes():
    out = subprocess.run([sys.executable, "bench/mc_throughput.py", "--quick", "--no-memory",
                          "--per-replica", "4"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert any("per-replica outcomes = vectorised outcomes" in ln and ln.endswith("yes") for ln in lines)
    last = re.fullmatch(r"ratio per-replica/vectorised at R=(\d+): ([\d.]+)", lines[-1])
    assert last and int(last.group(1)) == 1024 and float(last.group(2)) > 1
