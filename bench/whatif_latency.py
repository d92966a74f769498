"""The what-if page's latency: 2,000 replicas per change on one core, against a budget of 1 s, in one run.

    python bench/whatif_latency.py                 # 5 changes of each kind, 2,000 replicas
    python bench/whatif_latency.py --changes 10 --replicas 2000

What a change costs on the page (:meth:`sim.whatif.WhatIf.evaluate`, the call behind every update): a **lever**
(the mediator, the links, the US ultimatum's deadline, the months) recomputes the scenario only, the status quo under
the same inputs comes from the cache; an **input** recomputes both (they share the inputs). Each change builds
and validates its spec from the scenario's composed config and simulates ``replicas`` replicas in this process
(one core). Wall time and this process's CPU time are printed per kind (median over the changes) with their
ratio to the budget; the figures (plotly) are built too, as the page builds them. Start-up (composing each
scenario once, the first simulation) is printed apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUDGET = 1.0


def main() -> int:
    from sim.app import figures
    from sim.whatif import InputSetting, Levers, WhatIf

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--changes", type=int, default=5)
    p.add_argument("--replicas", type=int, default=2000)
    a = p.parse_args()
    engine = WhatIf(a.replicas)
    print(f"{a.replicas:,} replicas per run, one core, load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    t0, c0 = time.perf_counter(), time.process_time()
    engine.evaluate("grand_bargain")
    print(f"start-up (compose status_quo and grand_bargain, first runs): wall {time.perf_counter() - t0:.2f} s, "
          f"cpu {time.process_time() - c0:.2f} s")
    kinds = {
        "lever": [Levers(deadline=1 + k % 6, steps=24) for k in range(a.changes)],
        "input": [Levers()] * a.changes,
    }
    for kind, levers in kinds.items():
        walls, cpus, computed = [], [], []
        for k, lever in enumerate(levers):
            inputs = [InputSetting("mechanics.exchange.trust_floor", 0.03 + 0.02 * k, 0.03 + 0.02 * k, False)] \
                if kind == "input" else []
            t, c = time.perf_counter(), time.process_time()
            ev = engine.evaluate("grand_bargain", inputs, lever)
            figures(ev, "grand_bargain")
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            computed.append(ev.computed)
        w, c = statistics.median(walls), statistics.median(cpus)
        print(f"  a change of {kind:5s}: {statistics.median(computed):,.0f} replicas simulated, wall {w:.2f} s, cpu "
              f"{c:.2f} s (median of {len(walls)}); per {a.replicas:,} replicas: cpu "
              f"{c * a.replicas / statistics.median(computed):.2f} s = {c * a.replicas / statistics.median(computed) / BUDGET:.2f}"
              f" of the {BUDGET:.0f} s budget")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
