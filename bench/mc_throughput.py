"""Monte Carlo throughput: the vectorised engine against per-replica Mesa models (issue "Performance").

    python bench/mc_throughput.py            # R = 1,000 / 10,000 / 100,000 and 300 per-replica runs (~2-3 min)
    python bench/mc_throughput.py --quick    # smoke run: small R, a few per-replica runs (~20 s)
    python bench/mc_throughput.py --million  # also the n_runs=1,000,000 memory check through the CLI (~2-4 min more)

What is measured, on scenario ``grand_bargain`` with full mechanics and the default steps and chunk size:

(a) vectorised: ``sim.experiment.run_experiment(spec)`` with ``workers=1`` (in-process, one core), for each R;
(a') the same at the reference R with ``mechanics.bargaining.precision=float64`` (the kernels in double
    precision; the default is float32), to show what float32 buys;
(b) per-replica: ``sim.experiment.iter_replicas_one_by_one(spec, range(P))``, one Mesa model per replica (R = 1),
    same dynamics and random numbers (each model reads only its own replica's numbers of the block stream); its
    time is divided by P.

Both are timed in this one process, alternating repetitions of (a) and (b) so that a noisy neighbour slows both;
the figures are medians over the repetitions (wall-clock; CPU time of this process is shown alongside). The time
excludes composing and validating the spec and merging the results into tables.

Peak memory: every measurement is also run once in a fresh child process, which reports its peak resident set
size during the run (the kernel's high-water mark VmHWM = ``ru_maxrss``, reset to the current RSS just before the
run through ``/proc/self/clear_refs``) and its RSS just before the run (interpreter, numpy, Mesa, Hydra, spec), so
the difference is what the run itself adds.

``--million`` runs ``python -m sim scenario=grand_bargain n_runs=1000000 report=false`` (default workers: all
cores; the parent merges every chunk and writes the run folder, in a temporary directory) and samples the memory
of the whole process tree every 0.2 s: summed PSS (shared pages split between the processes: the real footprint)
and summed RSS (shared pages counted once per process); it also reports the largest single-process peak (the
``ru_maxrss`` of ``wait4``).

The last line printed is the ratio of per-replica to vectorised time per replica at R = 10,000 (with --quick: at
the largest quick R).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "grand_bargain"


def make_spec(n_runs: int, workers: int = 1, *overrides: str):
    """The spec the CLI would build for ``scenario=grand_bargain n_runs=... workers=... [overrides]``."""
    from sim.run import compose_spec

    return compose_spec(f"scenario={SCENARIO}", f"n_runs={n_runs}", f"workers={workers}", *overrides)


def run_vectorised(spec):
    from sim.experiment import run_experiment

    return run_experiment(spec)


def run_per_replica(spec, n: int):
    from sim.experiment import iter_replicas_one_by_one

    return list(iter_replicas_one_by_one(spec, range(n)))


def timed(fn, *args):
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w, time.process_time() - c


# --- memory: one measurement in a fresh child process -----------------------------------------------------------
def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def child_main(kind: str, n: int) -> None:
    """(in the child) Build the spec, reset the peak-RSS mark, run once, print RSS before and peak as JSON.

    The peak is the kernel's high-water mark (VmHWM, = ru_maxrss), reset to the current RSS just before the run
    (``/proc/self/clear_refs``, Linux >= 4.0) so that a transient peak while importing does not hide the run's.
    """
    warnings.simplefilter("ignore", RuntimeWarning)
    spec = make_spec(max(n, 256))
    import sim.experiment  # noqa: F401  (imports done before the baseline)

    reset = False
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        pass
    before = _status_kb("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if kind == "vectorised":
        run_vectorised(spec)
    else:
        run_per_replica(spec, n)
    peak = _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_mb": before / 1024, "peak_mb": peak / 1024, "hwm_reset": reset}))


def child_memory(kind: str, n: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(n)], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the million-replica memory check ----------------------------------------------------------------------
def _tree_memory_mb(root: int) -> tuple[float, float]:
    """Summed RSS and PSS (MB) of ``root`` and its descendants (Linux /proc).

    RSS counts pages shared between the parent and its forked workers (libraries, copy-on-write data) once per
    process; PSS splits them between the processes that share them, so the PSS sum is the tree's real footprint.
    """
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    rss = pss = 0
    todo = [root]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def million(n_runs: int = 1_000_000) -> dict:
    with tempfile.TemporaryDirectory(prefix="mc_million_") as tmp:
        cmd = [sys.executable, "-m", "sim", f"scenario={SCENARIO}", f"n_runs={n_runs}", "report=false",
               f"hydra.run.dir={tmp}/run"]
        log = Path(tmp) / "output.txt"
        t0 = time.perf_counter()
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
            peak_rss = peak_pss = 0.0
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                rss, pss = _tree_memory_mb(proc.pid)
                peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
                time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        output = log.read_text()
        mpath = Path(tmp) / "run" / "manifest.json"
        manifest = json.loads(mpath.read_text()) if mpath.exists() else {}
    # wait4's ru_maxrss covers the child and its reaped descendants: the largest single process
    return {"n_runs": n_runs, "returncode": proc.returncode, "wall_s": wall, "peak_tree_rss_mb": peak_rss,
            "peak_tree_pss_mb": peak_pss,
            "peak_single_mb": usage.ru_maxrss / 1024, "workers": manifest.get("workers"),
            "status": manifest.get("status"), "timings": manifest.get("timings", {}),
            "tail": output.strip().splitlines()[-3:] if output else []}


# --- the benchmark -----------------------------------------------------------------------------------------------
def machine() -> str:
    import mesa
    import numpy as np

    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM; Python {platform.python_version()}, "
            f"numpy {np.__version__}, mesa {mesa.__version__}; load average {os.getloadavg()[0]:.2f}")


def compare_outcomes(vec_chunks, per_replica, n: int) -> bool:
    """The per-replica outcomes equal the vectorised ones for replicas 0..n-1 (rtol 1e-9, integers exactly)."""
    import numpy as np

    vec = {k: np.concatenate([c.outcomes[k] for c in vec_chunks]) for k in vec_chunks[0].outcomes}
    ids = np.concatenate([c.replica for c in vec_chunks])
    order = np.argsort(ids, kind="stable")
    for r, one in enumerate(per_replica[:n]):
        for k, v in vec.items():
            a, b = v[order][r:r + 1], np.asarray(one.outcomes[k])
            ok = (np.array_equal(a, b) if a.dtype.kind in "biu"
                  else np.allclose(a, b, rtol=1e-9, atol=0, equal_nan=True))
            if not ok:
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Monte Carlo throughput: vectorised engine vs per-replica Mesa.")
    ap.add_argument("--quick", action="store_true", help="smoke run: small R, few per-replica runs, 1 repetition")
    ap.add_argument("--million", action="store_true", help="also the n_runs=1,000,000 memory check (CLI)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 3; --quick 1)")
    ap.add_argument("--per-replica", type=int, default=None, help="replicas run one by one (default 300)")
    ap.add_argument("--no-memory", action="store_true", help="skip the child-process memory measurements")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child_main(args.child[0], int(args.child[1]))
        return 0
    warnings.simplefilter("ignore", RuntimeWarning)

    sizes = [256, 1024] if args.quick else [1_000, 10_000, 100_000]
    ref_r = sizes[-1] if args.quick else 10_000
    reps = args.reps or (1 if args.quick else 3)
    n_one = args.per_replica or (8 if args.quick else 300)
    specs = {r: make_spec(r) for r in sizes}
    one_spec = specs[sizes[0]] if n_one <= sizes[0] else make_spec(max(n_one, 256))
    steps = one_spec.run.steps

    print(f"machine: {machine()}")
    print(f"scenario {SCENARIO}, {steps} steps, chunk_size {one_spec.run.chunk_size}, workers=1 (one core); "
          f"medians of {reps} repetition(s), (a) and (b) alternating")
    run_vectorised(make_spec(256))                       # warm-up: imports, caches, scratch buffers
    vec_t: dict[int, list[tuple[float, float]]] = {r: [] for r in sizes}
    f64_spec, f64_t = make_spec(ref_r, 1, "mechanics.bargaining.precision=float64"), []
    one_t: list[tuple[float, float]] = []
    first_chunks = per_replica = None
    for rep in range(reps):
        for r in sizes:
            chunks, w, c = timed(run_vectorised, specs[r])
            vec_t[r].append((w, c))
            if r == sizes[0] and first_chunks is None:
                first_chunks = chunks
            del chunks
        _, w, c = timed(run_vectorised, f64_spec)
        f64_t.append((w, c))
        per_replica, w, c = timed(run_per_replica, one_spec, n_one)
        one_t.append((w, c))

    med = {r: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for r, v in vec_t.items()}
    one_w, one_c = statistics.median(w for w, _ in one_t), statistics.median(c for _, c in one_t)
    mem = {}
    if not args.no_memory:
        for r in sizes:
            mem[r] = child_memory("vectorised", r)
        mem["one"] = child_memory("per_replica", n_one)

    def mem_cols(key) -> str:
        if key not in mem:
            return ""
        m = mem[key]
        return f"{m['peak_mb']:9.0f} {m['peak_mb'] - m['before_mb']:9.0f}"

    print("\n(a) vectorised engine, run_experiment, workers=1")
    print(f"{'R':>9} {'wall s':>8} {'cpu s':>8} {'replicas/s':>11} {'us/replica':>11} {'vs R0':>6}"
          f"{'  peak RSS MB  +run MB' if mem else ''}")
    base = med[sizes[0]][0] / sizes[0]
    for r in sizes:
        w, c = med[r]
        print(f"{r:9d} {w:8.2f} {c:8.2f} {r / w:11.0f} {w / r * 1e6:11.1f} {w / r / base:6.2f}  {mem_cols(r)}")
    f64_w, f64_c = statistics.median(w for w, _ in f64_t), statistics.median(c for _, c in f64_t)
    print(f"(a') the same in float64 (mechanics.bargaining.precision=float64); default float32 is "
          f"{f64_w / med[ref_r][0]:.2f}x faster")
    print(f"{ref_r:9d} {f64_w:8.2f} {f64_c:8.2f} {ref_r / f64_w:11.0f} {f64_w / ref_r * 1e6:11.1f}")
    print(f"(b) per-replica Mesa, iter_replicas_one_by_one, {n_one} replicas")
    print(f"{n_one:9d} {one_w:8.2f} {one_c:8.2f} {n_one / one_w:11.0f} {one_w / n_one * 1e6:11.1f} {'':>6}"
          f"  {mem_cols('one')}")
    print(f"cost growth with R (time per replica relative to R={sizes[0]}): "
          + ", ".join(f"R={r}: {med[r][0] / r / base:.2f}" for r in sizes))
    same = compare_outcomes(first_chunks, per_replica, min(n_one, sizes[0]))
    print(f"per-replica outcomes = vectorised outcomes for the {min(n_one, sizes[0])} replicas run both ways "
          f"(rtol 1e-9): {'yes' if same else 'NO'}")
    if mem:
        print("peak RSS: high-water mark (VmHWM = ru_maxrss) of a fresh child process running that one measurement, "
              "reset just before the run; '+run' = that peak minus the RSS before the run (interpreter, numpy, "
              "Mesa, Hydra, spec)")
    ratio_cpu = (one_c / n_one) / (med[ref_r][1] / ref_r)
    print(f"ratio per-replica/vectorised at R={ref_r}, CPU time: {ratio_cpu:.1f}")
    if args.million:
        m = million()
        print(f"\nn_runs=1,000,000 through the CLI (workers={m['workers']}, status {m['status']}, exit "
              f"{m['returncode']}): wall {m['wall_s']:.0f} s (simulate {m['timings'].get('simulate', float('nan')):.0f}"
              f" s, write {m['timings'].get('write', float('nan')):.0f} s); peak memory of the process tree "
              f"(parent + workers, sampled every 0.2 s): PSS {m['peak_tree_pss_mb']:.0f} MB, RSS "
              f"{m['peak_tree_rss_mb']:.0f} MB; largest single process (ru_maxrss) {m['peak_single_mb']:.0f} MB "
              f"(target < 4096 MB)")
        if m["returncode"]:
            print("\n".join(m["tail"]))
    ratio = (one_w / n_one) / (med[ref_r][0] / ref_r)
    print(f"ratio per-replica/vectorised at R={ref_r}: {ratio:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
