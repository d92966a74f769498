"""The benchmarks (bench/mc_throughput.py, bench/startup.py) run and check what they claim (no timing asserted here)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from sim import PROJECT_ROOT


@pytest.mark.slow
def test_quick_benchmark_runs_and_matches_per_replica_outcomes():
    out = subprocess.run([sys.executable, "bench/mc_throughput.py", "--quick", "--no-memory",
                          "--per-replica", "4"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert any("per-replica outcomes = vectorised outcomes" in ln and ln.endswith("yes") for ln in lines)
    last = re.fullmatch(r"ratio per-replica/vectorised at R=(\d+): ([\d.]+)", lines[-1])
    assert last and int(last.group(1)) == 1024 and float(last.group(2)) > 1


def test_startup_benchmark_runs_and_prints_the_breakdown():
    """bench/startup.py runs the issue's command and breaks its wall time down (no timing asserted: bench/)."""
    out = subprocess.run([sys.executable, "bench/startup.py", "--reps", "1"], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "python -m sim scenario=status_quo n_runs=256 report=false" in text
    assert re.search(r"run 1: wall [\d.]+ s, CPU [\d.]+ s \(complete\)", text)
    for phase in ("interpreter start", "Hydra app + one composition", "validation (build_spec)", "simulate",
                  "write results", "interpreter exit"):
        line = next((ln for ln in text.splitlines() if ln.strip().startswith(phase)), "")
        assert re.search(r"[\d.]+ s$", line), (phase, text)     # measured, not "n/a"
    for kind in ("interpreter + imports", "config composition", "validation", "simulate", "write"):
        assert re.search(rf"^  {re.escape(kind)}\s+[\d.]+ s\s+\d+ %$", text, re.M), (kind, text)
    assert re.search(r"^wall time, median of 1: [\d.]+ s .*target <= 2 s: (met|NOT met)$", text.splitlines()[-1])
