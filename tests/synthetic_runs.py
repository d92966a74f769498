"""Synthetic run folders that follow the engine's run-folder contract, for testing readers and reports.

The data are plausible, not meaningful: an escalation random walk with a deal hazard, issue outcomes drifting
from their starting points, linear utilities. All random numbers are drawn up front from ``seed``, so two runs
with the same seed and ``n`` use common random numbers (replica r of each sees the same stream) and differ only
through ``shift``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import outcomes as names

ACTORS: dict[str, str] = {
    "us": "United States",
    "russia": "Russia",
    "iran": "Iran",
    "israel": "Israel",
    "europe": "Europe (EU/E3)",
    "turkey": "Turkey",
}
ISSUES: dict[str, tuple[str, str, str, float]] = {
    "iran_nuclear": ("Iran's nuclear programme", "unconstrained enrichment", "verified rollback", 35.0),
    "ukraine_support": ("Western support for Ukraine", "aid & sanctions end", "maximal", 70.0),
    "iran_proxies": ("Iran-backed proxy activity", "network withdrawn", "maximal activity", 60.0),
    "russia_mideast_role": ("Russia's role in the Middle East", "excluded", "central broker", 35.0),
    "iran_sanctions": ("Sanctions on Iran", "full relief", "maximum pressure", 80.0),
}
#: What the synthetic deal is called (the engine takes it from ``mechanics.deal.label``).
DEAL_LABEL = "US–Iran nuclear deal"
RUNGS: list[str] = [
    "calm",
    "rhetoric",
    "proxy harassment",
    "proxy attacks on US forces or Israel",
    "limited strikes",
    "sustained strikes",
    "regional war",
]
_UP_EVENTS = [
    ("iran", "militia_attack", "Iran-backed militia attack on a US base"),
    ("israel", "retaliatory_strike", "Israeli retaliatory strike on a militia depot"),
    ("us", "retaliatory_strike", "US strike on militia positions in Iraq"),
    ("iran", "spoiler_strike", "Hardliner spoiler strike against shipping"),
]
_DOWN_EVENTS = [
    ("russia", "de_escalation", "Russian-brokered ceasefire between militias and US forces"),
    ("europe", "de_escalation", "European back-channel talks lower tensions"),
    ("turkey", "de_escalation", "Turkish mediation calms the border"),
]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _simulate(n: int, steps: int, seed: int, shift: float, deals: bool) -> dict[str, np.ndarray]:
    """Arrays indexed [step, replica] (and issue), from common random numbers."""
    rng = np.random.default_rng(seed)
    u_esc = rng.random((steps, n))
    u_deal = rng.random((steps, n))
    noise = rng.normal(size=(steps, n, len(ISSUES)))
    start_noise = rng.normal(scale=3.0, size=(n, len(ISSUES)))
    starts = np.array([meta[3] for meta in ISSUES.values()])

    esc = np.zeros((steps + 1, n), dtype=np.int8)
    esc[0] = 1
    deal = np.zeros((steps + 1, n), dtype=bool)
    x = np.zeros((steps + 1, n, len(ISSUES)))
    x[0] = np.clip(starts + start_noise, 0, 100)
    deal_push = np.array([3.0, -0.5, -2.0, 1.0, -3.0])
    esc_push = np.array([-0.5, 0.3, 1.5, 0.2, 0.8])
    p_deal = (0.035 + 0.01 * shift) if deals else 0.0
    for t in range(steps):
        in_deal = deal[t]
        p_up = np.where(in_deal, 0.08, 0.24 + 0.01 * shift)
        p_down = np.where(in_deal, 0.30, 0.18)
        cur = esc[t].astype(int)
        up = (u_esc[t] < p_up) & (cur < 6)
        down = (u_esc[t] > 1 - p_down) & (cur > 0) & (cur < 6)
        esc[t + 1] = cur + up - down
        reach = ~in_deal & (u_deal[t] < p_deal) & (cur <= 3)
        collapse = in_deal & (u_deal[t] > 0.97 - 0.02 * (cur >= 3))
        deal[t + 1] = (in_deal & ~collapse) | reach
        drift = deal[t + 1][:, None] * deal_push + (esc[t + 1][:, None] - 2) * esc_push + shift / steps
        x[t + 1] = np.clip(x[t] + drift + 1.8 * noise[t], 0, 100)
    return {"esc": esc, "deal": deal, "x": x}


def _outcomes(sim: dict[str, np.ndarray], n: int) -> pd.DataFrame:
    esc, deal, x = sim["esc"], sim["deal"], sim["x"]
    ever = deal.any(axis=0)
    first = np.where(ever, deal.argmax(axis=0), -1)
    df = pd.DataFrame(
        {
            "replica": np.arange(n, dtype=np.int64),
            names.MAX_RUNG: esc.max(axis=0).astype(np.int8),
            names.FINAL_RUNG: esc[-1].astype(np.int8),
            names.WAR: esc.max(axis=0) >= 6,
        }
    )
    final = x[-1]
    for j, issue in enumerate(ISSUES):
        df[names.issue_outcome(issue)] = final[:, j].astype(np.float64)
    df[names.DEAL] = deal[-1]
    df[names.DEAL_EVER] = ever
    df[names.DEAL_BROKEN] = (deal[:-1] & ~deal[1:]).any(axis=0)
    df[names.DEAL_STEP] = pd.array([int(s) if s >= 0 else None for s in first], dtype="Int32")
    ideals = np.random.default_rng(12345).uniform(0, 100, size=(len(ACTORS), len(ISSUES)))
    weights = np.random.default_rng(54321).dirichlet(np.ones(len(ISSUES)), size=len(ACTORS))
    for a, actor in enumerate(ACTORS):
        dist = (np.abs(final - ideals[a]) * weights[a]).sum(axis=1)
        df[names.utility_outcome(actor)] = 1.0 - 2.0 * dist / 100.0 - 0.3 * df[names.WAR].to_numpy()
    return df


def registry(issues: list[str], deal_label: str = DEAL_LABEL) -> list[dict[str, Any]]:
    """The ``outcomes`` list of ``spec.json``, in the engine's order, labels following the spec."""
    def entry(name: str, kind: str, label: str, group: str, dtype: str) -> dict[str, Any]:
        return {"name": name, "kind": kind, "label": label, "group": group, "dtype": dtype}

    return [
        entry(names.MAX_RUNG, "rung", "highest rung reached", "escalation", "int8"),
        entry(names.FINAL_RUNG, "rung", "rung at the end", "escalation", "int8"),
        entry(names.WAR, "probability", "regional war", "escalation", "bool"),
        *(entry(names.issue_outcome(i), "quantity", ISSUES[i][0], "issues", "float64") for i in issues),
        entry(names.DEAL, "probability", f"{deal_label} in force at the end", "deal", "bool"),
        entry(names.DEAL_EVER, "probability", f"{deal_label} ever signed", "deal", "bool"),
        entry(names.DEAL_BROKEN, "probability", f"{deal_label} signed, then collapsed", "deal", "bool"),
        entry(names.DEAL_STEP, "step", f"month the {deal_label} was first signed", "deal", "int32"),
        *(entry(names.utility_outcome(a), "utility", name, "utilities", "float64") for a, name in ACTORS.items()),
    ]


def _stat(values: np.ndarray) -> dict[str, float]:
    n = len(values)
    sd = float(np.std(values, ddof=1)) if n > 1 else 0.0
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "mean": float(values.mean()),
        "se": sd / np.sqrt(n),
        "q05": float(q[0]),
        "q25": float(q[1]),
        "q50": float(q[2]),
        "q75": float(q[3]),
        "q95": float(q[4]),
        "q50_se": 1.2533 * sd / np.sqrt(n),
    }


def summary_of(out: pd.DataFrame, starts: np.ndarray, rungs: list[str]) -> dict[str, Any]:
    """The ``summary.json`` the engine would write for these outcomes."""
    n = len(out)

    def prob(mask: np.ndarray) -> dict[str, float]:
        p = float(np.mean(mask))
        return {"p": p, "se": float(np.sqrt(p * (1 - p) / n))}

    steps = out[names.DEAL_STEP].dropna().to_numpy(dtype=float)
    deal_step = {
        "median": float(np.median(steps)) if len(steps) else None,
        "q25": float(np.quantile(steps, 0.25)) if len(steps) else None,
        "q75": float(np.quantile(steps, 0.75)) if len(steps) else None,
    }
    return {
        "n_runs": n,
        "uncertainty": "knowledge",
        "probabilities": {
            **{name: prob(out[name].to_numpy()) for name in (names.WAR, names.DEAL, names.DEAL_EVER,
                                                             names.DEAL_BROKEN)},
            "max_rung": [
                {"rung": k, "name": name, **prob(out[names.MAX_RUNG].to_numpy() == k)} for k, name in enumerate(rungs)
            ],
        },
        "outcomes": {
            issue: {**_stat(out[names.issue_outcome(issue)].to_numpy()), "start": float(starts[j])}
            for j, issue in enumerate(ISSUES)
        },
        "utilities": {
            actor: {k: v for k, v in _stat(out[names.utility_outcome(actor)].to_numpy()).items()
                    if k in ("mean", "se", "q05", "q50", "q95")}
            for actor in ACTORS
        },
        "timing": {names.DEAL_STEP: deal_step},
        "deal_step": deal_step,
    }


def _trajectories(sim: dict[str, np.ndarray], stored: int) -> pd.DataFrame:
    esc, deal, x = sim["esc"], sim["deal"], sim["x"]
    steps = esc.shape[0]
    reps, ts = np.meshgrid(np.arange(stored), np.arange(steps), indexing="ij")
    df = pd.DataFrame(
        {
            "replica": reps.ravel().astype(np.int64),
            "step": ts.ravel().astype(np.int16),
            "escalation": esc[:, :stored].T.ravel().astype(np.int8),
            names.DEAL: deal[:, :stored].T.ravel(),
        }
    )
    for j, issue in enumerate(ISSUES):
        df[names.issue_outcome(issue)] = x[:, :stored, j].T.ravel().astype(np.float32)
    return df


def _quantiles(sim: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = []
    series = {"escalation": sim["esc"].astype(float)}
    for j, issue in enumerate(ISSUES):
        series[names.issue_outcome(issue)] = sim["x"][:, :, j]
    for var, arr in series.items():
        q = np.quantile(arr, [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
        for t in range(arr.shape[0]):
            rows.append({"step": t, "variable": var, "q05": q[0, t], "q25": q[1, t], "q50": q[2, t],
                         "q75": q[3, t], "q95": q[4, t], "mean": float(arr[t].mean())})
    df = pd.DataFrame(rows)
    df["step"] = df["step"].astype(np.int16)
    return df


def _events(sim: dict[str, np.ndarray], replicas: int, seed: int, deal_label: str = DEAL_LABEL) -> pd.DataFrame:
    esc, deal = sim["esc"], sim["deal"]
    rng = np.random.default_rng(seed + 99)
    rows = []
    for r in range(replicas):
        for t in range(1, esc.shape[0]):
            before, after = int(esc[t - 1, r]), int(esc[t, r])
            if after > before:
                actor, code, text = _UP_EVENTS[rng.integers(len(_UP_EVENTS))]
            elif after < before:
                actor, code, text = _DOWN_EVENTS[rng.integers(len(_DOWN_EVENTS))]
            else:
                actor = code = text = None
            if code:
                rows.append((r, t, actor, code, text, before, after))
            if deal[t, r] and not deal[t - 1, r]:
                rows.append((r, t, "russia", "offer_accepted", "Iran accepts a Russian-mediated offer", after, after))
                rows.append((r, t, "us", "deal_reached", f"US and Iran sign the deal ({deal_label})", after, after))
            if deal[t - 1, r] and not deal[t, r]:
                rows.append((r, t, "iran", "deal_collapse", f"The {deal_label} collapses", after, after))
            if not code and rng.random() < 0.08:
                rows.append((r, t, "europe", "exchange", "Europe and Russia exchange proposals on sanctions",
                             after, after))
    df = pd.DataFrame(rows, columns=["replica", "step", "actor", "event", "description", "rung_before", "rung_after"])
    return df.astype({"replica": np.int64, "step": np.int16, "rung_before": np.int8, "rung_after": np.int8})


def make_run(
    dir: str | Path,
    scenario: str = "status_quo",
    n: int = 500,
    seed: int = 1,
    shift: float = 0.0,
    steps: int = 24,
    stored_replicas: int = 20,
    deals: bool = True,
    events: bool = True,
    status: str = "complete",
    overrides: list[str] | None = None,
    issues: list[str] | None = None,
    deal_label: str = DEAL_LABEL,
    legacy: bool = False,
) -> Path:
    """Write a complete synthetic run folder at ``dir`` and return its path.

    ``deals=False`` gives a run without any deal; ``events=False`` an empty event log; ``issues`` restricts the
    issue set (for incompatible-shape tests); ``deal_label`` names the deal in the registry's labels;
    ``legacy=True`` writes a folder as the engine did before the outcome registry (no ``outcomes`` or ``inputs``
    in spec.json, no ``deal_ever`` column, no ``timing``, ``deal_ever`` or ``uncertainty`` in summary.json).
    """
    path = Path(dir)
    path.mkdir(parents=True, exist_ok=True)
    sim = _simulate(n, steps, seed, shift, deals)
    out = _outcomes(sim, n)
    keep = list(issues) if issues is not None else list(ISSUES)
    drop = [names.issue_outcome(i) for i in ISSUES if i not in keep]
    out = out.drop(columns=drop)
    stored = min(stored_replicas, n)
    traj = _trajectories(sim, stored).drop(columns=drop)
    quant = _quantiles(sim)
    quant = quant[~quant["variable"].isin(drop)].reset_index(drop=True)
    ev = _events(sim, stored if events else 0, seed, deal_label)
    starts = sim["x"][0].mean(axis=0)

    summary = summary_of(out.assign(**{c: 0.0 for c in drop}), starts, RUNGS)
    summary["outcomes"] = {k: v for k, v in summary["outcomes"].items() if k in keep}
    spec = {
        "scenario": {
            "name": scenario,
            "description": f"Synthetic scenario '{scenario}' for tests: what if the US eases pressure on Iran "
            "while Russia mediates?",
            "changes": [
                {
                    "path": "actors.us.position.ukraine_support",
                    "value": {"low": 40, "mode": 55, "high": 65},
                    "source": {"seed": "knowledge/us_positions.md", "where": "section 2",
                               "why": "Administration signals willingness to trade Ukraine aid for an Iran deal"},
                },
                {
                    "path": "actors.russia.salience.russia_mideast_role",
                    "value": 0.8,
                    "source": {"seed": "assumption", "where": None, "why": "Moscow wants a broker role"},
                },
            ],
            "mechanics": {"bargaining": "expected_utility", "escalation": {"base_hazard": 0.2}},
        },
        "actor_ids": list(ACTORS),
        "actors": {a: {"name": name} for a, name in ACTORS.items()},
        "issue_ids": keep,
        "issues": {i: {"label": ISSUES[i][0], "scale_0": ISSUES[i][1], "scale_100": ISSUES[i][2]} for i in keep},
        "outcomes": registry(keep, deal_label),
        "inputs": [
            {"path": "actors.us.position.ukraine_support", "low": 40, "mode": 55, "high": 65, "dist": "triangular",
             "drawn": True, "source": {"seed": "knowledge/us_positions.md", "where": "section 2", "cite": None,
                                       "why": "Administration signals willingness to trade Ukraine aid"}},
        ],
        "rungs": RUNGS,
        "n_runs": n,
        "seed": seed,
        "steps": steps,
    }
    manifest = {
        "status": status,
        "seed": seed,
        "n_runs": n,
        "steps": steps,
        "scenario": scenario,
        "started": "2025-01-01T12:00:00",
        "finished": "2025-01-01T12:00:07",
        "wall_seconds": 7.2,
        "timings": {"simulate": 6.1, "write": 1.1},
        "versions": {"python": "3.11.9", "numpy": np.__version__, "mesa": "3.3.0", "pandas": pd.__version__},
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "trajectories": {"stored_replicas": stored, "note": f"first {stored} replicas stored"},
        "overrides": list(overrides or [f"scenario={scenario}"]),
    }
    if legacy:
        del spec["outcomes"], spec["inputs"]
        out = out.drop(columns=[names.DEAL_EVER])
        for key in ("timing", "uncertainty"):
            summary.pop(key)
        summary["probabilities"].pop(names.DEAL_EVER)
    _write_json(path / "spec.json", spec)
    _write_json(path / "manifest.json", manifest)
    _write_json(path / "summary.json", summary)
    out.to_parquet(path / "outcomes.parquet", index=False)
    traj.to_parquet(path / "trajectories.parquet", index=False)
    quant.to_parquet(path / "trajectory_quantiles.parquet", index=False)
    ev.to_parquet(path / "events.parquet", index=False)
    return path


def make_multirun(
    dir: str | Path,
    key: str = "actors.us.salience.ukraine_support",
    values: tuple[float, ...] = (0.2, 0.5, 0.8),
    scenario: str = "grand_bargain",
    n: int = 300,
    seed: int = 1,
) -> Path:
    """Write a multirun folder: job folders ``0/``, ``1/``, ..., ``multirun.yaml`` and ``sweep.parquet``."""
    path = Path(dir)
    path.mkdir(parents=True, exist_ok=True)
    rows = []
    for job, value in enumerate(values):
        overrides = [f"scenario={scenario}", f"{key}={value}"]
        run = make_run(path / str(job), scenario=scenario, n=n, seed=seed, shift=10 * (value - 0.5),
                       overrides=overrides)
        summary = json.loads((run / "summary.json").read_text())
        probs = summary["probabilities"]
        max_esc = pd.read_parquet(run / "outcomes.parquet")[names.MAX_RUNG].mean()
        row: dict[str, Any] = {"job": job, "run_dir": str(job), "overrides": " ".join(overrides),
                               "scenario": scenario, key: str(value)}
        for name, p in probs.items():  # as sim.sweep.sweep_table writes them
            if name != "max_rung":
                row[f"p_{name}"], row[f"p_{name}_se"] = p["p"], p["se"]
        row[f"mean_{names.MAX_RUNG}"] = float(max_esc)
        for issue, stats in summary["outcomes"].items():
            row[f"median_{names.issue_outcome(issue)}"] = stats["q50"]
            row[f"median_{names.issue_outcome(issue)}_se"] = stats["q50_se"]
        rows.append(row)
    pd.DataFrame(rows).to_parquet(path / "sweep.parquet", index=False)
    (path / "multirun.yaml").write_text(
        f"hydra:\n  mode: MULTIRUN\n  sweeper:\n    params:\n      {key}: {','.join(map(str, values))}\n"
    )
    return path


def make_large_run(dir: str | Path, n: int, seed: int = 1, base: int = 2000, **kwargs: Any) -> Path:
    """A run folder of ``n`` replicas, cheap to make: a ``base``-replica synthetic run whose outcomes are resampled
    (with jitter on the issue outcomes and utilities) to ``n`` rows, the summary recomputed from them.

    Stories, trajectories and quantiles stay those of the small run (they are bounded in a real run too).
    """
    path = make_run(dir, n=base, seed=seed, **kwargs)
    small = pd.read_parquet(path / "outcomes.parquet")
    rng = np.random.default_rng(seed + 7)
    rows = np.concatenate([np.arange(min(base, n)), rng.integers(0, base, max(n - base, 0))])
    big = small.iloc[rows].reset_index(drop=True)      # the first rows (the stories' replicas) as they were
    big["replica"] = np.arange(n, dtype=np.int64)
    jitter = np.arange(n) >= base
    for col in big.columns:
        if col.startswith(names.ISSUE_PREFIX):
            big[col] = np.clip(big[col].to_numpy(dtype=float) + jitter * rng.normal(0, 1.0, n), 0, 100)
        elif col.startswith(names.UTILITY_PREFIX):
            big[col] = big[col].to_numpy(dtype=float) + jitter * rng.normal(0, 0.01, n)
    big.to_parquet(path / "outcomes.parquet", index=False)
    spec = json.loads((path / "spec.json").read_text())
    starts = np.array([json.loads((path / "summary.json").read_text())["outcomes"][i]["start"]
                       for i in spec["issue_ids"]])
    summary = summary_of(big, starts, RUNGS)
    _write_json(path / "summary.json", summary)
    for name in ("spec.json", "manifest.json"):
        doc = json.loads((path / name).read_text())
        doc["n_runs"] = n
        _write_json(path / name, doc)
    return path
