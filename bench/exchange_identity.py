"""Identity check for exchange-market optimisations: same seed -> same outcome bytes.

``python bench/exchange_identity.py save`` writes /tmp/perf_ref_<case>.npz from the current code;
``python bench/exchange_identity.py check`` reruns and compares every outcome column exactly, with the merged
histograms, the per-chunk sums and counts, every stored trajectory (outcome, rung, deal) and the event log.
The cases cover the four scenarios, a chunked run, and ``mechanics.bargaining.precision=float64``.
"""
import os
import sys
sys.path.insert(0, os.getcwd())
import numpy as np
from sim.run import compose_spec
from sim.experiment import InProcess, run_experiment

CASES = {"gb": ("scenario=grand_bargain", "n_runs=2048"),
         "gb512": ("scenario=grand_bargain", "n_runs=2048", "chunk_size=512"),
         "sq": ("scenario=status_quo", "n_runs=2048"),
         "rm": ("scenario=russian_mediation", "n_runs=2048"),
         "pe": ("scenario=proxy_escalation", "n_runs=2048"),
         "gb64": ("scenario=grand_bargain", "n_runs=2048", "mechanics.bargaining.precision=float64"),
         "sq64": ("scenario=status_quo", "n_runs=2048", "mechanics.bargaining.precision=float64"),
         "rm64": ("scenario=russian_mediation", "n_runs=1024", "mechanics.bargaining.precision=float64"),
         "pe64": ("scenario=proxy_escalation", "n_runs=1024", "mechanics.bargaining.precision=float64")}


def outcomes(args):
    spec = compose_spec(*args, "report=false", "workers=1")
    res = run_experiment(spec, InProcess())
    got = {k: np.concatenate([np.asarray(r.outcomes[k]) for r in res]) for k in res[0].outcomes}
    got["_hist"] = np.asarray(res[0].hist)                       # extra: the merged histograms and trajectories
    got["_traj_outcome"] = np.concatenate([r.traj_outcome for r in res], axis=-1)
    got["_traj_rung"] = np.concatenate([r.traj_rung for r in res], axis=-1)
    got["_traj_deal"] = np.concatenate([r.traj_deal for r in res], axis=-1)
    for field in ("sums", "counts"):
        for i, r in enumerate(res):
            val = getattr(r, field)
            if isinstance(val, dict):
                for k, v in val.items():
                    got[f"_{field}{i}_{k}"] = np.asarray(v)
            elif val is not None:
                got[f"_{field}{i}"] = np.asarray(val)
    got["_events"] = np.frombuffer(repr([r.events for r in res]).encode(), np.uint8)
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
