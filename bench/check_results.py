"""Guard for performance work: do the engine's results stay the same?

``python bench/check_results.py save REF.npz``  — snapshot the current code's results;
``python bench/check_results.py check REF.npz`` — compare the current code with a snapshot, and run the checks that
need no snapshot:

1. the Scholz et al. replication (emission standards, ``rule="scholz_code"``, ``probability="all_votes"``): weighted
   medians by round 8.42, 9.61, 9.96, 9.96, 9.96, 7.47, 8.82, 9.67;
2. vectorised = one-by-one: ``run_chunk(spec, [0])`` column r equals ``iter_replicas_one_by_one(spec, [r])``
   (``np.allclose(rtol=1e-9)``) for a few replicas, in several scenarios;
3. chunk-size independence: blocks 0..3 run as one chunk of 1024 equal the four blocks run one by one;
4. (with a snapshot) every outcome column of blocks 0..3 in several scenarios and mechanics variants, and the
   public functions of ``sim.mechanics.bargaining`` on random inputs (every ``rule`` / ``probability``, inactive
   actors, tied positions), against the snapshot (``rtol=1e-9``; integer and boolean columns exactly).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from sim.mechanics import bargaining as bg

ROOT = Path(__file__).resolve().parents[1]
SCHOLZ_MEDIANS = (8.42, 9.61, 9.96, 9.96, 9.96, 7.47, 8.82, 9.67)
#: (label, overrides) of the engine runs compared; the variants exercise every branch of the bargaining phase.
VARIANTS = [
    ("grand_bargain", ["scenario=grand_bargain"]),
    ("status_quo", ["scenario=status_quo"]),
    ("gb_endogenous_pairwise", ["scenario=grand_bargain", "mechanics.bargaining.risk=endogenous",
                                "mechanics.bargaining.probability=pairwise"]),
    ("gb_priority_2rounds", ["scenario=grand_bargain", "mechanics.bargaining.offer_rule=scholz_priority",
                             "mechanics.bargaining.rounds_per_step=2"]),
    ("gb_scholz_code", ["scenario=grand_bargain", "mechanics.bargaining.offer_rule=scholz_code"]),
]


def make_spec(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from sim.cli import CONF_DIR, _plain, register_configs
    from sim.spec import build_spec

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[*overrides, "n_runs=10000", "workers=1"])
    return build_spec(_plain(cfg))


def scholz_medians() -> list[float]:
    import pandas as pd

    df = pd.read_csv("/work/shared/data/bdm1994/emission_standards.csv")
    x = df["Position"].to_numpy(float)[:, None]
    c = df["Capability"].to_numpy(float)[:, None]
    s = df["Salience"].to_numpy(float)[:, None] / 100.0
    traj = bg.simulate(x, c, s, 8, rule="scholz_code", probability="all_votes")
    return [round(float(bg.weighted_median(traj[t], c * s)[0]), 2) for t in range(1, 9)]


def engine_outcomes(spec, blocks=(0, 1, 2, 3)) -> dict[str, np.ndarray]:
    from sim.experiment import run_chunk

    res = run_chunk(spec, list(blocks))
    out = {f"o:{k}": np.asarray(v) for k, v in res.outcomes.items()}
    out["hist"] = res.hist
    out["traj_outcome"] = res.traj_outcome
    out["n_events"] = np.array([len(v) for v in res.events.values()])
    return out


def function_outputs() -> dict[str, np.ndarray]:
    """The public bargaining functions on random inputs, every option."""
    rng = np.random.default_rng(7)
    out: dict[str, np.ndarray] = {}
    for A, N in ((6, 40), (10, 7), (3, 11)):
        x = rng.uniform(0, 100, (A, N))
        x[1, ::3] = x[0, ::3]                      # ties
        x[:, 5] = 50.0                             # everyone at the same position
        c = rng.uniform(0.01, 1, (A, N))
        s = rng.uniform(0, 1, (A, N))
        active = rng.random((A, N)) > 0.15
        active[:, 0] = True
        hi = np.where(active, x, -np.inf).max(axis=0)
        lo = np.where(active, x, np.inf).min(axis=0)
        scale = np.maximum(hi - lo, 1e-9)
        r = bg.risk_exponent(rng.uniform(-1, 1, (A, N)))
        accept = rng.random((A, A, N)) < 0.7
        conc = rng.uniform(0.5, 1, (A, A, N))
        key = f"{A}x{N}"
        out[f"wm:{key}"] = bg.weighted_median(x, c * s)
        for prob in ("all_votes", "pairwise"):
            out[f"p:{key}:{prob}"] = bg.success_probability(x, c, s, r, scale, active, prob)
            eu_ij, eu_ji = bg.expected_utilities(x, c, s, r, scale, active, prob)
            out[f"eu_ij:{key}:{prob}"], out[f"eu_ji:{key}:{prob}"] = eu_ij, eu_ji
            out[f"risk:{key}:{prob}"] = bg.endogenous_risk(x, c, s, scale, active, prob)
            for rule in ("smallest_move", "scholz_priority", "scholz_code"):
                for acc, cc in ((None, None), (accept, conc)):
                    tag = f"{key}:{prob}:{rule}:{acc is not None}"
                    new_x, chosen, offers = bg.bargaining_round(x, c, s, r, scale, active, acc, rule, prob, cc)
                    out[f"br_x:{tag}"], out[f"br_ch:{tag}"] = new_x, chosen
                    out[f"br_kind:{tag}"], out[f"br_target:{tag}"] = offers.kind, np.asarray(offers.target)
                out[f"sim:{key}:{prob}:{rule}"] = bg.simulate(x, c, s, 5, active=active, rule=rule,
                                                              probability=prob)
                out[f"simr:{key}:{prob}:{rule}"] = bg.simulate(x, c, s, 3, risk=r, rule=rule, probability=prob)
    return out


def snapshot() -> dict[str, np.ndarray]:
    out = {f"f:{k}": v for k, v in function_outputs().items()}
    for label, ov in VARIANTS:
        spec = make_spec(ov)
        out.update({f"e:{label}:{k}": v for k, v in engine_outcomes(spec).items()})
    return out


def compare(a: np.ndarray, b: np.ndarray, rtol: float = 1e-9) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        return bool(np.array_equal(a, b))
    return bool(np.allclose(a, b, rtol=rtol, atol=1e-12, equal_nan=True))


def check_one_by_one(replicas=(0, 1, 5, 77, 200, 255)) -> list[str]:
    from sim.experiment import iter_replicas_one_by_one, run_chunk

    bad = []
    for label, ov in VARIANTS[:3]:
        spec = make_spec(ov)
        vec = run_chunk(spec, [0])
        for r, one in zip(replicas, iter_replicas_one_by_one(spec, replicas)):
            for k, v in vec.outcomes.items():
                if not compare(np.asarray(v)[r:r + 1], one.outcomes[k]):
                    bad.append(f"one-by-one {label} replica {r} {k}: {v[r]} vs {one.outcomes[k]}")
    return bad


def check_chunk_size() -> list[str]:
    from sim.experiment import run_chunk

    bad = []
    for label, ov in VARIANTS[:3]:
        spec = make_spec(ov)
        whole = run_chunk(spec, [0, 1, 2, 3])
        parts = [run_chunk(spec, [b]) for b in range(4)]
        for k, v in whole.outcomes.items():
            if not np.array_equal(np.asarray(v), np.concatenate([p.outcomes[k] for p in parts])):
                bad.append(f"chunk size {label} {k}: differs (bitwise)")
        if not np.array_equal(whole.hist, sum(p.hist for p in parts)):
            bad.append(f"chunk size {label} hist differs")
    return bad


def main() -> int:
    mode, path = sys.argv[1], Path(sys.argv[2])
    if mode == "save":
        np.savez_compressed(path, **snapshot())
        print(f"saved {path}")
        return 0
    bad = []
    med = scholz_medians()
    print("Scholz medians:", med)
    if tuple(med) != SCHOLZ_MEDIANS:
        bad.append(f"Scholz medians {med} != {SCHOLZ_MEDIANS}")
    ref = np.load(path)
    now = snapshot()
    worst = 0.0
    for k in ref.files:
        if k not in now or not compare(ref[k], now[k]):
            bad.append(f"snapshot differs: {k}")
        elif ref[k].dtype.kind == "f" and ref[k].size:
            d = np.abs(ref[k] - now[k])
            worst = max(worst, float(np.nanmax(d / np.maximum(np.abs(ref[k]), 1e-12))))
    print(f"snapshot: {len(ref.files)} arrays compared, worst relative difference {worst:.2e}")
    bad += check_one_by_one()
    bad += check_chunk_size()
    for b in bad[:40]:
        print("FAIL", b)
    print("OK" if not bad else f"{len(bad)} failures")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
