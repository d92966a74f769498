"""Out-of-sample forecasts of EU legislative outcomes (DEU III) with the engine's bargaining core.

Each DEU III issue is a Monte Carlo experiment: the recorded positions, saliences and conventional capabilities
are perturbed (input uncertainty), Bueno de Mesquita's challenge model (:func:`sim.mechanics.bargaining.simulate`,
unchanged) runs for ``rounds`` rounds on every replica, and the forecast read off each replica is a weighted
mean (or median) of the bargained positions -- in the frozen configuration the salience-weighted mean after one
round, "the compromise after one round of challenges" -- optionally shrunk toward the issue's reference point. A residual noise term, scaled on the dev split only, is
added to the replicas to form the predictive distribution. Choices, sources and the dev/test figures are in
``docs/validation.md``; the frozen configuration is :data:`FROZEN`.

Batching: all issues x replicas run in one batch per *number of actors*, the batch axis last and replicas
fastest, in chunks that keep the (A, A, A, n) temporaries of the probability step under ~50 MB. Issues are
grouped by their number of actors instead of being padded to 30 with ``active`` masks because under
``probability="all_votes"`` the normalising sum of :func:`success_probability` runs over all actor pairs,
masked or not, so padding actors would change the result (with ``pairwise`` padding and grouping agree).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from typing import Literal, cast

import numpy as np
import pandas as pd

import yaml

from sim import PROJECT_ROOT
from sim.mechanics import bargaining as bg
from sim.validation import scoring
from sim.validation.data import DEU_ACTORS, DEU_STATES, EU15, DeuIssues

# --------------------------------------------------------------------------------------------------------------
# Capability conventions
# --------------------------------------------------------------------------------------------------------------

#: Council votes under QMV for the EU-15 (Art. 205(2) TEC as in force 1995-2004, after the 1994 Act of Accession).
VOTES_EU15: dict[str, float] = {
    "de": 10, "fr": 10, "it": 10, "uk": 10, "es": 8, "be": 5, "el": 5, "nl": 5, "pt": 5, "at": 4, "se": 4,
    "dk": 3, "ie": 3, "fi": 3, "lu": 2,
}
#: Council votes under QMV from 1 Nov 2004 to 31 Oct 2014 (Treaty of Nice, Protocol on enlargement, Art. 3, as
#: amended by the 2003, 2005 and 2012 Acts of Accession for the EU-25, EU-27 and Croatia).
VOTES_NICE: dict[str, float] = {
    "de": 29, "fr": 29, "it": 29, "uk": 29, "es": 27, "pl": 27, "ro": 14, "nl": 13, "be": 12, "cz": 12, "el": 12,
    "hu": 12, "pt": 12, "at": 10, "bu": 10, "se": 10, "dk": 7, "ie": 7, "lt": 7, "sk": 7, "fi": 7, "cr": 7,
    "cy": 4, "ee": 4, "lv": 4, "lu": 4, "si": 4, "mt": 3,
}
#: Population in millions on 1 Jan 2015 (Eurostat, demo_pjan), for the double majority of Art. 16(4) TEU and
#: Art. 238(3) TFEU that applies from 1 Nov 2014 (55 % of members representing 65 % of the population).
POPULATION_2015: dict[str, float] = {
    "de": 81.2, "fr": 66.4, "uk": 64.9, "it": 60.8, "es": 46.4, "pl": 38.0, "ro": 19.9, "nl": 16.9, "be": 11.3,
    "el": 10.9, "cz": 10.5, "pt": 10.4, "hu": 9.9, "se": 9.7, "at": 8.6, "bu": 7.2, "dk": 5.7, "fi": 5.5, "sk": 5.4,
    "ie": 4.6, "cr": 4.2, "lt": 2.9, "si": 2.1, "lv": 2.0, "ee": 1.3, "cy": 0.85, "lu": 0.56, "mt": 0.43,
}


def era_members(era: str) -> list[str]:
    """Member states of an era: ``EU15``, ``EU25`` (2004-2013; Bulgaria and Romania counted from 2007), ``EU28``."""
    if era == "EU15":
        return [a for a in DEU_STATES if a in EU15]
    if era == "EU25":
        return [a for a in DEU_STATES if a != "cr"]
    return list(DEU_STATES)


def council_weights(era: str, unanimity: bool, convention: str = "votes",
                    gdp: np.ndarray | None = None) -> dict[str, float]:
    """Member-state capabilities summing to 1 over the era's members.

    ``votes``: QMV votes of the era (EU15 -> Amsterdam votes, EU25 -> Nice votes, EU28 -> the double majority,
    represented as the mean of the population share and the equal share 1/28); under unanimity every member has
    a veto, so all members get the same capability. ``equal``: always equal. ``gdp``: the third-party GDP row.
    """
    members = era_members(era)
    if unanimity or convention == "equal":
        raw = {a: 1.0 for a in members}
    elif convention == "gdp":
        if gdp is None:
            raise ValueError("gdp convention needs the GDP row")
        raw = {a: float(gdp[DEU_ACTORS.index(a)]) for a in members}
    elif era == "EU15":
        raw = {a: VOTES_EU15[a] for a in members}
    elif era == "EU25":
        raw = {a: VOTES_NICE[a] for a in members}
    else:
        pop = sum(POPULATION_2015[a] for a in members)
        raw = {a: 0.5 * POPULATION_2015[a] / pop + 0.5 / len(members) for a in members}
    tot = sum(raw.values())
    return {a: v / tot for a, v in raw.items()}


# --------------------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Deu3Config:
    """Everything that defines a DEU III forecast (tuned on ``dev``; :data:`FROZEN` is the reported one)."""

    rounds: int = 3                      #: BDM rounds before the forecast is read off
    rule: str = "smallest_move"          #: offer rule of the bargaining core
    probability: str = "all_votes"       #: success-probability normalisation of the bargaining core
    move_rate: float = 1.0               #: share of the way to an accepted offer a receiver moves in a round
    risk: str = "endogenous"             #: risk exponents: "endogenous" (Scholz et al.) or "neutral" (r = 1)
    summary: str = "mean"                #: "mean" or "median": weighted mean / median of positions after rounds
    summary_weights: str = "cs"          #: weights of the summary: "cs" capability x salience, or "s" salience
    states: str = "votes"                #: member-state capability convention: "votes", "equal", "gdp"
    com: float = 0.25                    #: Commission capability (member states sum to 1)
    ep_cod: float = 0.5                  #: Parliament capability under co-decision (COD)
    ep_cns: float = 0.1                  #: Parliament capability under consultation (CNS)
    salience_fill: str = "issue_mean"    #: salience for a position with a blank salience: "issue_mean" or "zero"
    pos_sd: float = 5.0                  #: sd of Gaussian noise on positions (0-100 scale; clipped to [0, 100])
    sal_sd: float = 0.1                  #: sd of Gaussian noise on saliences (0-1 scale; clipped to [0, 1])
    cap_sd: float = 0.2                  #: sd of log-normal (mean-one) noise on capabilities
    shrink: float = 0.0                  #: shrinkage of each replica's forecast toward the reference point rp
    resid_scale: float = 0.0             #: scale b of Laplace(0, b) residual noise added to each replica
    base_resid_scale: float = 0.0        #: the same for the baseline's predictive distribution
    point: str = "median"                #: point forecast: "median" of the engine replicas (before residual noise)
    chunk_mb: float = 50.0               #: memory budget of the (A, A, A, n) temporaries


CONFIG_FILE = PROJECT_ROOT / "conf" / "config.yaml"


def scenario_bargaining(path=CONFIG_FILE) -> dict:
    """The bargaining rules of the scenario engine (``mechanics.bargaining`` of ``conf/config.yaml``) as
    :class:`Deu3Config` fields: the one source of truth of the configuration both run (docs/validation.md §1).

    ``rule`` = ``offer_rule``, ``probability``, ``move_rate`` = the mode of ``move_rate``; ``risk`` is
    ``"neutral"`` when the scenarios take the articles' risk attitudes (``risk: knowledge``; DEU III has none,
    so every actor is risk-neutral, r = 1) and ``"endogenous"`` otherwise; ``rounds`` = the scenarios' horizon in
    rounds (``steps`` x ``rounds_per_step``): a DEU III negotiation is read off after as many rounds as a scenario
    bargains. The trust filter is the identity on DEU III (no trust data: trust 1, every offer is accepted).
    """
    with open(path, encoding="utf-8") as fh:
        conf = yaml.safe_load(fh)
    sec = conf["mechanics"]["bargaining"]
    rate = sec["move_rate"]
    return {"rule": sec["offer_rule"], "probability": sec["probability"],
            "move_rate": float(rate["mode"] if isinstance(rate, dict) else rate),
            "risk": "neutral" if sec["risk"] == "knowledge" else "endogenous",
            "rounds": int(conf["steps"]) * int(sec["rounds_per_step"])}


#: The configuration frozen after tuning on dev (see docs/validation.md, "Tuning log"). Defaults of the CLI. The
#: bargaining rules (offer rule, probability, move rate, risk, number of rounds) are read from the scenarios'
#: ``conf/config.yaml``.
FROZEN = Deu3Config(summary="mean", summary_weights="s",
                    states="votes", com=0.25, ep_cod=0.5, ep_cns=0.1, salience_fill="issue_mean", pos_sd=2.0,
                    sal_sd=0.0, cap_sd=0.2, shrink=0.0, resid_scale=22.0, base_resid_scale=21.0, point="median",
                    **scenario_bargaining())

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


# --------------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------------

@dataclass
class IssueInputs:
    """Unperturbed inputs of one issue, active actors only (``k`` of them)."""

    actors: np.ndarray        #: (k,) indices into DEU_ACTORS
    x: np.ndarray             #: (k,) positions 0-100
    s: np.ndarray             #: (k,) engine saliences 0-1 (blank filled per ``salience_fill``)
    s_base: np.ndarray        #: (k,) baseline saliences 0-1 (blank = 0, as the reference figures)
    c: np.ndarray             #: (k,) capabilities


def issue_inputs(issues: DeuIssues, cfg: Deu3Config) -> list[IssueInputs]:
    """Positions, saliences and capabilities of every issue under the conventions of ``cfg``."""
    out = []
    cache: dict[tuple[str, bool], dict[str, float]] = {}
    for i in range(len(issues)):
        m = issues.meta.iloc[i]
        act = np.flatnonzero(np.isfinite(issues.positions[i]))
        x = issues.positions[i, act]
        s_raw = issues.saliences[i, act] / 100.0
        s_base = np.nan_to_num(s_raw, nan=0.0)
        if cfg.salience_fill == "zero" or np.all(np.isnan(s_raw)):
            s = s_base.copy()
        else:
            s = np.where(np.isnan(s_raw), np.nanmean(s_raw), s_raw)
        unan = str(m["counvte"]).startswith("Unan")
        key = (str(m["era"]), unan)
        if key not in cache:
            cache[key] = council_weights(key[0], unan, cfg.states, issues.gdp)
        cw = cache[key]
        proc = str(m["proc"])
        c = np.empty(len(act))
        for n, a in enumerate(act):
            name = DEU_ACTORS[a]
            if name == "com":
                c[n] = cfg.com
            elif name == "ep":
                c[n] = cfg.ep_cod if proc == "COD" else cfg.ep_cns
            else:
                # a state that took a position outside its era's membership (none in DEU III) gets the mean weight
                c[n] = cw.get(name, 1.0 / len(cw))
        out.append(IssueInputs(actors=act, x=x, s=s, s_base=s_base, c=c))
    return out


def issue_rng(seed: int, row: int) -> np.random.Generator:
    """The generator of one issue: independent of which other issues are run, so subsets reproduce."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(int(row),)))


# --------------------------------------------------------------------------------------------------------------
# Monte Carlo
# --------------------------------------------------------------------------------------------------------------

@dataclass
class Trajectories:
    """Per-round summaries of every replica: arrays ``(rounds + 1, I, R)`` keyed by summary name.

    Keys: ``mean_cs``, ``median_cs``, ``mean_s``, ``median_s`` (weighted mean / median of the bargained
    positions with capability x salience or salience weights); ``base`` ``(I, R)`` is the baseline (salience-weighted
    mean of the perturbed inputs with the baseline's saliences); ``resid`` ``(I, R)`` standard Laplace draws.
    """

    stats: dict[str, np.ndarray]
    base: np.ndarray
    resid: np.ndarray
    rp: np.ndarray = field(default_factory=lambda: np.zeros(0))


def run_trajectories(issues: DeuIssues, cfg: Deu3Config, n_runs: int, seed: int,
                     rounds: int | None = None) -> Trajectories:
    """Run the bargaining core on every issue x replica; summaries for each round 0..``rounds``."""
    rounds = cfg.rounds if rounds is None else rounds
    inputs = issue_inputs(issues, cfg)
    n_iss, R = len(inputs), n_runs
    names = ("mean_cs", "median_cs", "mean_s", "median_s")
    stats = {k: np.empty((rounds + 1, n_iss, R)) for k in names}
    base = np.empty((n_iss, R))
    resid = np.empty((n_iss, R))
    # Perturbed inputs, per issue, from the issue's own stream.
    pert = []
    for i, inp in enumerate(inputs):
        rng = issue_rng(seed, int(issues.meta["row"].iloc[i]))
        k = len(inp.x)
        z = rng.standard_normal((3, k, R))
        resid[i] = rng.laplace(0.0, 1.0, R)
        x = np.clip(inp.x[:, None] + cfg.pos_sd * z[0], 0.0, 100.0)
        s = np.clip(inp.s[:, None] + cfg.sal_sd * z[1], 0.0, 1.0)
        sb = np.clip(inp.s_base[:, None] + cfg.sal_sd * z[1], 0.0, 1.0)
        c = inp.c[:, None] * np.exp(cfg.cap_sd * z[2] - 0.5 * cfg.cap_sd ** 2)
        base[i] = bg.weighted_mean(x, sb)
        pert.append((x, s, c))
    # Group by number of actors; batch = issues x replicas, replicas fastest.
    sizes = np.array([len(inp.x) for inp in inputs])
    for k in np.unique(sizes):
        members = np.flatnonzero(sizes == k)
        X = np.concatenate([pert[i][0] for i in members], axis=1)      # (k, n_g * R)
        S = np.concatenate([pert[i][1] for i in members], axis=1)
        C = np.concatenate([pert[i][2] for i in members], axis=1)
        chunk = max(1, int(cfg.chunk_mb * 1e6 / (2.5 * 8 * k ** 3)))
        res = {nm: np.empty((rounds + 1, X.shape[1])) for nm in names}
        for lo in range(0, X.shape[1], chunk):
            sl = slice(lo, lo + chunk)
            risk: Literal["endogenous"] | np.ndarray = ("endogenous" if cfg.risk == "endogenous"
                                                        else np.ones_like(X[:, sl]))
            traj = bg.simulate(X[:, sl], C[:, sl], S[:, sl], rounds, risk=risk, rule=cast(bg.OfferRule, cfg.rule),
                               probability=cast(bg.ProbabilityRule, cfg.probability), move_rate=cfg.move_rate)
            wcs, ws = C[:, sl] * S[:, sl], S[:, sl]
            for t in range(rounds + 1):
                res["mean_cs"][t, sl] = bg.weighted_mean(traj[t], wcs)
                res["median_cs"][t, sl] = bg.weighted_median(traj[t], wcs)
                res["mean_s"][t, sl] = bg.weighted_mean(traj[t], ws)
                res["median_s"][t, sl] = bg.weighted_median(traj[t], ws)
        for nm in names:
            stats[nm][:, members, :] = res[nm].reshape(rounds + 1, len(members), R)
    return Trajectories(stats=stats, base=base, resid=resid, rp=issues.rp.copy())


def baseline_point(issues: DeuIssues) -> np.ndarray:
    """The salience-weighted mean of the recorded positions (blank salience = 0): the reference baseline."""
    pos = issues.positions
    w = np.where(np.isfinite(pos), np.nan_to_num(issues.saliences), 0.0)
    x = np.nan_to_num(pos)
    tot = w.sum(axis=1)
    return np.where(tot > 0, (w * x).sum(axis=1) / np.where(tot > 0, tot, 1.0), np.nanmean(pos, axis=1))


@dataclass
class Forecasts:
    """Engine and baseline forecasts of a set of issues."""

    isnr: np.ndarray
    prnr: np.ndarray
    outcome: np.ndarray
    point: np.ndarray          #: engine point forecast (I,)
    samples: np.ndarray        #: engine predictive samples (I, R)
    base_point: np.ndarray     #: baseline point forecast (I,)
    base_samples: np.ndarray   #: baseline predictive samples (I, R)
    input_samples: np.ndarray | None = None  #: engine replicas before the residual term (input uncertainty only)

    def table(self) -> pd.DataFrame:
        q = np.quantile(self.samples, QUANTILES, axis=1)
        df = pd.DataFrame({"isnr": self.isnr, "forecast": self.point})
        for p, row in zip(QUANTILES, q):
            df[f"q{round(p * 100):02d}"] = row
        df["baseline"] = self.base_point
        df["outcome"] = self.outcome
        return df


def forecasts_from(issues: DeuIssues, traj: Trajectories, cfg: Deu3Config) -> Forecasts:
    """Read the forecasts of ``cfg`` off precomputed trajectories (cheap: used for tuning over read-off choices)."""
    key = f"{cfg.summary}_{cfg.summary_weights}"
    eng = traj.stats[key][cfg.rounds].copy()                           # (I, R)
    if cfg.shrink:
        rp = traj.rp[:, None]
        eng = np.where(np.isfinite(rp), (1.0 - cfg.shrink) * eng + cfg.shrink * np.nan_to_num(rp), eng)
    point = np.median(eng, axis=1) if cfg.point == "median" else eng.mean(axis=1)
    samples = np.clip(eng + cfg.resid_scale * traj.resid, 0.0, 100.0)
    bpoint = baseline_point(issues)
    bsamples = np.clip(traj.base + cfg.base_resid_scale * traj.resid, 0.0, 100.0)
    return Forecasts(isnr=issues.meta["isnr"].to_numpy(), prnr=issues.meta["prnr"].to_numpy(),
                     outcome=issues.out.copy(), point=point, samples=samples, base_point=bpoint,
                     base_samples=bsamples, input_samples=eng)


def forecast(issues: DeuIssues, cfg: Deu3Config = FROZEN, n_runs: int = 200, seed: int = 0) -> Forecasts:
    """Run the Monte Carlo experiment of ``cfg`` on ``issues``."""
    return forecasts_from(issues, run_trajectories(issues, cfg, n_runs, seed), cfg)


# --------------------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------------------

def evaluate(fc: Forecasts, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Scores of the engine and of the baseline on the same issues, with proposal-cluster bootstrap 95 % CIs.

    Rows: MAE, median AE, coverage of the central 50 % and 90 % intervals, CRPS, for ``engine`` and
    ``baseline``, plus the paired MAE and CRPS differences engine - baseline, and the coverage and CRPS of the
    engine's replicas *before* the residual term (``engine, inputs only``: what input uncertainty alone gives).
    """
    y = fc.outcome
    cl = fc.prnr
    rows = []

    def add(model: str, metric: str, values, stat=None):
        est, lo, hi = scoring.cluster_bootstrap(values, cl, stat=stat, n_boot=n_boot, seed=seed)
        rows.append({"model": model, "metric": metric, "estimate": est, "lo": lo, "hi": hi})

    per = {}
    for model, point, samp in (("engine", fc.point, fc.samples), ("baseline", fc.base_point, fc.base_samples)):
        ae = np.abs(point - y)
        q = np.quantile(samp, [0.05, 0.25, 0.75, 0.95], axis=1)
        cr = scoring.crps_samples(samp, y)
        per[model] = (ae, cr)
        add(model, "MAE", ae)
        add(model, "median AE", ae, stat=lambda v: float(np.median(v)))
        add(model, "coverage 50%", ((y >= q[1]) & (y <= q[2])).astype(float))
        add(model, "coverage 90%", ((y >= q[0]) & (y <= q[3])).astype(float))
        add(model, "CRPS", cr)
    add("engine - baseline", "MAE", per["engine"][0] - per["baseline"][0])
    add("engine - baseline", "CRPS", per["engine"][1] - per["baseline"][1])
    if fc.input_samples is not None:
        q = np.quantile(fc.input_samples, [0.05, 0.25, 0.75, 0.95], axis=1)
        add("engine, inputs only", "coverage 50%", ((y >= q[1]) & (y <= q[2])).astype(float))
        add("engine, inputs only", "coverage 90%", ((y >= q[0]) & (y <= q[3])).astype(float))
        add("engine, inputs only", "CRPS", scoring.crps_samples(fc.input_samples, y))
    return pd.DataFrame(rows)


def coverage_pair(samples: np.ndarray, outcome: np.ndarray) -> tuple[float, float]:
    """Coverage of the central 50 % and 90 % intervals of ``(I, R)`` samples."""
    q = np.quantile(samples, [0.05, 0.25, 0.75, 0.95], axis=1)
    return (scoring.interval_coverage(q[1], q[2], outcome), scoring.interval_coverage(q[0], q[3], outcome))


def calibrate_residual(issues: DeuIssues, traj: Trajectories, cfg: Deu3Config,
                       grid: tuple[float, ...] = tuple(range(10, 36))) -> pd.DataFrame:
    """Scan the Laplace residual scale for the engine and the baseline (**dev only**).

    For every scale b: coverage of the 50 % and 90 % intervals, their miss ``|cov50 - 0.5| + |cov90 - 0.9|``
    and CRPS. The frozen scales are the b with the smallest miss (rounded to whole points).
    """
    rows = []
    for b in grid:
        fc = forecasts_from(issues, traj, replace(cfg, resid_scale=float(b), base_resid_scale=float(b)))
        for model, samp in (("engine", fc.samples), ("baseline", fc.base_samples)):
            c50, c90 = coverage_pair(samp, fc.outcome)
            rows.append({"model": model, "scale": float(b), "coverage50": c50, "coverage90": c90,
                         "miss": abs(c50 - 0.5) + abs(c90 - 0.9), "crps": scoring.crps(samp, fc.outcome)})
    return pd.DataFrame(rows)


def config_dict(cfg: Deu3Config) -> dict:
    return asdict(cfg)


__all__ = [
    "FROZEN",
    "Deu3Config",
    "Forecasts",
    "Trajectories",
    "baseline_point",
    "calibrate_residual",
    "council_weights",
    "coverage_pair",
    "evaluate",
    "forecast",
    "forecasts_from",
    "issue_inputs",
    "run_trajectories",
]
