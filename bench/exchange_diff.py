"""Differential check of :func:`sim.mechanics.exchange.market` against another version of the module, on random
markets (brokers, concessions, hazards, ties and zero saliences included): identical trades and positions.

``python bench/exchange_diff.py OLD_EXCHANGE_PY [n_markets]`` (e.g. the file as of the commit before a change,
``git show REV:sim/mechanics/exchange.py > /tmp/old_exchange.py``).
"""
import os
import sys
import types

import numpy as np

sys.path.insert(0, os.getcwd())
from sim.mechanics import exchange as new  # noqa: E402

old = types.ModuleType("old_exchange")                 # the other version, without registering its mechanism
sys.modules["old_exchange"] = old
exec(compile(open(sys.argv[1]).read().replace("@register\n", ""), sys.argv[1], "exec"), old.__dict__)
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
rng = np.random.default_rng(1)
bad = 0
for m in range(n):
    A, I, R = int(rng.integers(3, 7)), int(rng.integers(2, 6)), int(rng.integers(1, 300))
    grid = rng.integers(0, 2)                                  # coarse positions and saliences: ties, equal sides
    x = rng.integers(0, 5, (A, I, R)) / 4.0 if grid else rng.random((A, I, R))
    s = rng.integers(0, 4, (A, I, R)) / 3.0 if grid else rng.random((A, I, R))
    w = s * rng.random((A, 1, R))
    brokers = [(0, 1, [int(rng.integers(0, I))])] if rng.random() < 0.5 else []
    hazard = None if rng.random() < 0.2 else rng.random((A, A, R)) * rng.choice([0.0, 0.05, 0.5])
    concede = (rng.random((A, I)) < 0.2) if rng.random() < 0.5 else None
    blocked = rng.random((A, I, R)) < 0.1
    kw = dict(rate=rng.random(R), leverage=rng.random(R), hazard=hazard, horizon=float(rng.integers(1, 7)),
              blocked=blocked, concede=concede)
    outs = []
    for mod in (old, new):
        y = x.copy()
        log = []
        cand = mod.candidates(A, I, brokers)
        tr = mod.market(y, s, w, cand, on_trade=lambda *a: log.append([np.copy(v) for v in a[1:]]), **kw)
        outs.append([y.tobytes()] + [v.tobytes() for v in tr.chosen + tr.gains]
                    + [v.tobytes() for e in log for v in e])
    if outs[0] != outs[1]:
        bad += 1
        print("DIFFER in market", m, (A, I, R))
print(f"{n - bad}/{n} random markets identical")
sys.exit(1 if bad else 0)
