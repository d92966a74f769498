"""Identity check for exchange-market optimisations: same seed -> same outcome bytes.

``python bench/exchange_identity.py save`` writes /tmp/perf_ref_<case>.npz from the current code;
``python bench/exchange_identity.py check`` reruns and compares every outcome column exactly.
"""
import os
import sys
sys.path.insert(0, os.getcwd())
import numpy as np
from sim.run import compose_spec
from sim.experiment import InProcess, run_experiment

CASES = {"gb": ("scenario=grand_bargain", "n_runs=2048"),
         "gb512": ("scenario=grand_bargain", "n_runs=2048", "chunk_size=512"),
         "sq": ("scenario=status_quo", "n_runs=2048")}


def outcomes(args):
    spec = compose_spec(*args, "report=false", "workers=1")
    res = run_experiment(spec, InProcess())
    got = {k: np.concatenate([np.asarray(r.outcomes[k]) for r in res]) for k in res[0].outcomes}
    got["_hist"] = np.asarray(res[0].hist)                       # extra: the merged histograms and trajectories
    got["_traj_outcome"] = np.concatenate([r.traj_outcome for r in res], axis=-1)
    return got


if __name__ == "__main__":
    mode = sys.argv[1]
    bad = 0
    for name, args in CASES.items():
        got = outcomes(args)
        path = f"/tmp/perf_ref_{name}.npz"
        if mode == "save":
            np.savez(path, **got)
            print("saved", path, len(got), "columns")
            continue
        ref = np.load(path)
        assert set(ref.files) == set(got), (name, set(ref.files) ^ set(got))
        diff = [k for k in ref.files if ref[k].dtype != got[k].dtype or ref[k].shape != got[k].shape
                or ref[k].tobytes() != got[k].tobytes()]
        bad += len(diff)
        print(name, "IDENTICAL" if not diff else f"DIFFER: {diff}", f"({len(ref.files)} columns)")
    sys.exit(1 if bad else 0)
