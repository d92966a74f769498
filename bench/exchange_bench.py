"""Time the exchange market inside a whole run: ``python bench/exchange_bench.py [runs] [scenario]``.

Prints the CPU time of a grand_bargain run (2,048 replicas × 24 months, one process, after a warm-up run) and
the part spent in ``Exchange.step`` (the fastest of REPEAT=3 runs). Imports ``sim`` from the current directory, so running it from two checkouts
in alternation compares them in one session (the host is noisy: compare ratios).
"""
import os
import sys
import time

sys.path.insert(0, os.getcwd())

from sim.experiment import InProcess, run_experiment  # noqa: E402
from sim.mechanics import exchange  # noqa: E402
from sim.run import compose_spec  # noqa: E402

spent = [0.0]
step = exchange.Exchange.step


def timed(self, world):
    t = time.process_time()
    step(self, world)
    spent[0] += time.process_time() - t


exchange.Exchange.step = timed
runs = sys.argv[1] if len(sys.argv) > 1 else "2048"
scenario = sys.argv[2] if len(sys.argv) > 2 else "grand_bargain"
spec = compose_spec(f"scenario={scenario}", f"n_runs={runs}", "report=false", "workers=1")
run_experiment(spec, InProcess())
best = None
for _ in range(int(os.environ.get("REPEAT", "3"))):                    # the fastest of a few runs
    spent[0] = 0.0
    t = time.process_time()
    run_experiment(spec, InProcess())
    total = time.process_time() - t
    best = min(best or (total, spent[0]), (total, spent[0]))
total, ex = best
print(f"{os.path.basename(os.getcwd())}: total {total:.3f} s cpu, Exchange.step {ex:.3f} s "
      f"({100 * ex / total:.0f} %)")
