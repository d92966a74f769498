"""A Sobol design evaluated by the vectorised engine against a per-design-point loop (issue 15, "Speed").

    python bench/explore_speed.py                # N = 64 (9,856 design points), loop over 300 of them (~2 min)
    python bench/explore_speed.py --quick        # N = 8, loop over 20 points (~20 s)

What is measured, on ``status_quo`` with ``uncertainty=all`` (every uncertain input: 152), one replica per design
point, default steps, one core (``workers=1``), in this one process:

(a) vectorised: the whole Saltelli design (N (D + 2) points) through :class:`sim.explore.evaluate.EngineEvaluator`
    in chunks of 1,024 replicas (the design supplies the uniforms; no loop over design points);
(b) per design point: the first P points of the same design, each evaluated alone by the same engine at R = 1
    (``chunk_size=1``: one model, one call per point, as the EMA Workbench runs a model per experiment).

Both give the same outcomes for the shared points (checked and printed). The last line is the ratio of the time
per design point, (b) / (a), measured in this run. Composition, validation and the SALib analysis are not timed.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None, help="Sobol base samples N (default 64, quick 8)")
    ap.add_argument("--points", type=int, default=None, help="points of the per-point loop (default 300, quick 20)")
    args = ap.parse_args()
    n = args.n or (8 if args.quick else 64)
    p = args.points or (20 if args.quick else 300)

    import logging

    from sim.explore.designs import SaltelliDesign
    from sim.explore.evaluate import EngineEvaluator
    from sim.explore.inputs import DesignSpace
    from sim.run import compose_spec

    logging.getLogger("MESA").setLevel(logging.WARNING)
    spec = compose_spec("uncertainty=all", "workers=1")
    space = DesignSpace.of(spec)
    design = SaltelliDesign(space.dimension, n, spec.run.seed)
    names = ("deal_ever", "war", "outcome_iran_nuclear")
    print(f"status_quo, uncertainty=all: D = {space.dimension} inputs, N = {n}: {design.size:,} design points, "
          f"{spec.run.steps} steps, load average {os.getloadavg()[0]:.1f}")

    t0, c0 = time.perf_counter(), time.process_time()
    whole = EngineEvaluator(spec, space, 1, names, chunk_size=1024, workers=1)(design)
    va, vc = time.perf_counter() - t0, time.process_time() - c0
    print(f"(a) vectorised, chunks of 1,024: {va:.2f} s wall, {vc:.2f} s CPU, {1e3 * va / design.size:.3f} ms "
          "per design point")

    class Prefix:
        size, dimension = p, design.dimension

        def block(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
            return design.block(a, b)

    t0, c0 = time.perf_counter(), time.process_time()
    loop = EngineEvaluator(spec, space, 1, names, chunk_size=1, workers=1)(Prefix())
    la, lc = time.perf_counter() - t0, time.process_time() - c0
    print(f"(b) one engine call per design point (R = 1), {p} points: {la:.2f} s wall, {lc:.2f} s CPU, "
          f"{1e3 * la / p:.2f} ms per design point")
    same = all(np.array_equal(whole[k][:p], loop[k]) for k in names)
    print(f"per-point outcomes = vectorised outcomes for the {p} shared points: {'yes' if same else 'NO'}")
    full = la / p * design.size
    print(f"the whole design by (b) would take about {full:.0f} s ({full / 60:.1f} min) on one core")
    print(f"ratio per-point/vectorised per design point: {(la / p) / (va / design.size):.1f}")


if __name__ == "__main__":
    main()
