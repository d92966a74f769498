"""executor=ray against executor=local: wall time, memory and identical outputs, measured in one run.

    python bench/ray_vs_local.py                    # 1,000,000 replicas of grand_bargain, workers=2, report=false
    python bench/ray_vs_local.py --n-runs 100000    # smaller
    python bench/ray_vs_local.py --scenario status_quo --workers 2

Each executor runs the same command in a fresh interpreter (``python -m sim scenario=... n_runs=... workers=...
report=false executor=local|ray hydra.run.dir=<tmp>``): Ray starts its local cluster inside the run (127.0.0.1,
``workers`` CPUs), so its start-up is part of the wall time, as a user would see it. Memory is the summed PSS of
the command's whole process tree (the run, its pool workers or Ray's gcs_server, raylet and workers; Ray's object
store is shared memory, counted in PSS) sampled every 0.2 s; its peak is printed with the largest single process.
The result files (outcomes, parameters, trajectories, quantiles, events, summary) are compared byte for byte.
The two runs are interleaved local, ray, so drifting machine load hits both.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT_FILES = ("outcomes.parquet", "parameters.parquet", "trajectories.parquet", "trajectory_quantiles.parquet",
                "events.parquet", "summary.json")


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c for c, pp in parent.items() if pp == p]
    return out


def pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(args: list[str], run_dir: Path) -> dict[str, float]:
    """Run ``python -m sim args`` and sample its process tree's memory; wall time, peak PSS, largest process."""
    cmd = [sys.executable, "-m", "sim", *args, f"hydra.run.dir={run_dir}"]
    peak = {"tree": 0.0, "largest": 0.0, "processes": 0.0}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def sample() -> None:
        while proc.poll() is None:
            sizes = [pss_mb(p) for p in tree(proc.pid)]
            peak["tree"] = max(peak["tree"], sum(sizes))
            peak["largest"] = max(peak["largest"], max(sizes, default=0.0))
            peak["processes"] = max(peak["processes"], float(len(sizes)))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip().splitlines()[-1:]}")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return {"wall": wall, "simulate": manifest["timings"]["simulate"], **peak}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-runs", type=int, default=1_000_000)
    p.add_argument("--scenario", default="grand_bargain")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    common = [f"scenario={a.scenario}", f"n_runs={a.n_runs}", f"workers={a.workers}", "report=false"]
    print(f"{a.n_runs:,} replicas of {a.scenario}, workers={a.workers}, load average {os.getloadavg()[0]:.1f} "
          f"at the start, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        out = {}
        for name in ("local", "ray"):
            out[name] = measure([*common, f"executor={name}"], Path(tmp) / name)
            m = out[name]
            print(f"  executor={name:5s}  wall {m['wall']:7.1f} s  (simulate {m['simulate']:6.1f} s)  peak PSS of the "
                  f"process tree {m['tree']:6.0f} MB over up to {m['processes']:.0f} processes, largest process "
                  f"{m['largest']:5.0f} MB")
        same = [f for f in RESULT_FILES if filecmp.cmp(Path(tmp) / "local" / f, Path(tmp) / "ray" / f, shallow=False)]
    lo, ra = out["local"], out["ray"]
    print(f"ratio ray/local: wall {ra['wall'] / lo['wall']:.2f}, simulate {ra['simulate'] / lo['simulate']:.2f}, "
          f"peak memory of the tree {ra['tree'] / lo['tree']:.2f}")
    print(f"identical result files: {len(same)} of {len(RESULT_FILES)}"
          + ("" if len(same) == len(RESULT_FILES) else f" (differ: {sorted(set(RESULT_FILES) - set(same))})"))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0 if len(same) == len(RESULT_FILES) else 1


if __name__ == "__main__":
    sys.exit(main())
