"""Start-up: the wall time of a small run through the command line, and where its fixed overhead goes.

    python bench/startup.py              # the command 3 times, median wall time, breakdown of the median run
    python bench/startup.py --reps 5     # more repetitions
    python bench/startup.py --imports    # also one run under ``python -X importtime``: the slowest packages
    python bench/startup.py --check      # exit status 1 when the median misses the target
    python bench/startup.py --root DIR   # measure another checkout of the project (e.g. an older commit)

The command is the issue's: ``python -m sim scenario=status_quo n_runs=256 report=false`` (target: ≤ 2 s of wall
time on the 2-core development machine). Each repetition runs it in a fresh interpreter, in a fresh temporary
folder (its run folder lands in ``outputs/`` there), with this checkout first on ``PYTHONPATH``. Wall time is
measured here, from just before the child is spawned until it has exited.

The breakdown comes from one run (the median one): the child is given ``SIM_TIMINGS=<file>`` and writes there the
wall-clock marks of its phases (``sim.run.CLOCK``: ``sim/__main__.py`` starting, ``sim.cli.main`` entered, scenario
files registered, config composed, spec modules imported, spec validated, job started by Hydra, engine imported,
simulation started and finished, results written, the end of ``main``). Phases:

* interpreter + imports: Python's own start, the CLI's imports (Hydra, OmegaConf, pydantic), the spec's (numpy,
  pydantic models, mechanisms) and the engine's (Mesa and the scipy it pulls in, pandas, pyarrow);
* config composition: the scenario files and the knowledge base into Hydra's ConfigStore, Hydra's app, one
  composition of the job's config;
* validation: the composed config into a RunSpec (pydantic; the baseline knowledge base once);
* Hydra job set-up: run folder, ``.hydra/{config,hydra,overrides}.yaml``, logging;
* simulate; write (manifest and spec.json with package versions and the git commit, then the parquet tables and
  summary.json); the closing table and interpreter exit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ["-m", "sim", "scenario=status_quo", "n_runs=256", "report=false"]
TARGET = 2.0

#: (label, group, first mark, last mark): consecutive phases, from the child's marks (t_spawn = "spawn").
PHASES = [
    ("interpreter start", "interpreter + imports", "spawn", "start"),
    ("imports: CLI (Hydra, OmegaConf, pydantic)", "interpreter + imports", "start", "main"),
    ("scenario files into Hydra's ConfigStore", "config composition", "main", "registered"),
    ("Hydra app + one composition", "config composition", "registered", "composed"),
    ("imports: spec (numpy, pydantic models, mechanisms)", "interpreter + imports", "composed", "spec_imported"),
    ("validation (build_spec)", "validation", "spec_imported", "validated"),
    ("Hydra job set-up (run folder, .hydra/, logging)", "Hydra job set-up", "validated", "job_start"),
    ("imports: engine (Mesa + scipy, pandas, pyarrow)", "interpreter + imports", "job_start", "engine_imported"),
    ("manifest + spec.json (versions, git commit)", "write", "engine_imported", "simulate_start"),
    ("simulate", "simulate", "simulate_start", "simulated"),
    ("write results (parquet, summary.json)", "write", "simulated", "written"),
    ("closing table", "other", "written", "end"),
    ("interpreter exit", "other", "end", "exit"),
]


def run_once(root: Path = ROOT, python_flags: tuple[str, ...] = ()) -> dict:
    """One run of the command in a fresh temporary folder: wall time, the child's marks, its stderr."""
    with tempfile.TemporaryDirectory(prefix="sim-startup-") as tmp:
        timings = Path(tmp) / "timings.json"
        env = {**os.environ, "SIM_TIMINGS": str(timings),
               "PYTHONPATH": os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.time()
        proc = subprocess.run([sys.executable, *python_flags, *COMMAND], cwd=tmp, env=env, capture_output=True,
                              text=True, timeout=600)
        t1 = time.time()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"the command failed (exit {proc.returncode}):\n{proc.stderr}")
        marks = json.loads(timings.read_text()) if timings.exists() else {}
        runs = list(Path(tmp, "outputs").glob("*/*/manifest.json"))
        status = json.loads(runs[0].read_text())["status"] if runs else "no run folder"
    marks.pop("pid", None)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": t1 - t0, "cpu": cpu, "marks": {"spawn": t0, **marks, "exit": t1}, "stderr": proc.stderr,
            "status": status}


def breakdown(marks: dict[str, float]) -> list[tuple[str, str, float | None]]:
    out = []
    for label, group, a, b in PHASES:
        out.append((label, group, marks[b] - marks[a] if a in marks and b in marks else None))
    return out


def top_imports(stderr: str, n: int = 10) -> list[tuple[str, float]]:
    """Self time of imports summed by top-level package, from ``-X importtime`` output (seconds)."""
    total: Counter[str] = Counter()                   # microseconds
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if m:
            total[m.group(2).split(".")[0]] += int(m.group(1))
    return [(package, us / 1e6) for package, us in total.most_common(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="repetitions of the command (default 3)")
    ap.add_argument("--imports", action="store_true", help="one more run under -X importtime: slowest packages")
    ap.add_argument("--check", action="store_true", help=f"exit 1 if the median wall time is over {TARGET:g} s")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    args = ap.parse_args()
    root = args.root.resolve()

    load = os.getloadavg()
    print(f"command: python {' '.join(COMMAND)}" + (f"  (checkout {root})" if root != ROOT else ""))
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"Python {sys.version.split()[0]}")
    runs = []
    for i in range(args.reps):
        r = run_once(root)
        runs.append(r)
        print(f"run {i + 1}: wall {r['wall']:.2f} s, CPU {r['cpu']:.2f} s ({r['status']})")
    walls = [r["wall"] for r in runs]
    median = statistics.median(walls)
    chosen = min(runs, key=lambda r: abs(r["wall"] - median))

    print(f"\nbreakdown of the median run (wall {chosen['wall']:.2f} s, CPU {chosen['cpu']:.2f} s):")
    rows = breakdown(chosen["marks"])
    groups: dict[str, float] = {}
    for label, group, seconds in rows:
        print(f"  {label:<52s} {'n/a' if seconds is None else f'{seconds:6.3f} s'}")
        if seconds is not None:
            groups[group] = groups.get(group, 0.0) + seconds
    print("by kind:")
    for group in dict.fromkeys(g for _, g, _ in rows):
        if group in groups:
            print(f"  {group:<52s} {groups[group]:6.3f} s  {100 * groups[group] / chosen['wall']:4.0f} %")
    fixed = chosen["wall"] - groups.get("simulate", 0.0)
    print(f"  {'fixed overhead (all but simulate)':<52s} {fixed:6.3f} s  {100 * fixed / chosen['wall']:4.0f} %")

    if args.imports:
        r = run_once(root, python_flags=("-X", "importtime"))
        print(f"\nimports by package, self time under -X importtime (one more run, wall {r['wall']:.2f} s):")
        for package, seconds in top_imports(r["stderr"]):
            print(f"  {package:<24s} {seconds:6.3f} s")

    met = median <= TARGET
    cpu = statistics.median(r["cpu"] for r in runs)
    print(f"\nwall time, median of {len(walls)}: {median:.2f} s (min {min(walls):.2f}, max {max(walls):.2f}; "
          f"CPU median {cpu:.2f} s); target <= {TARGET:g} s: {'met' if met else 'NOT met'}")
    if args.check and not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
