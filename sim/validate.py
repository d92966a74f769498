"""Validation against real data: ``python -m sim.validate {deu3,bdm1994,icb,backtest}`` (see docs/validation.md).

- ``deu3 --split dev|test``: forecasts of the DEU III EU legislative outcomes with the bargaining core, scored
  against the salience-weighted mean on the same issues (MAE, median AE, interval coverage, CRPS, proposal
  bootstrap 95 % CIs), then the frozen split-conformal intervals (``sim.validation.conformal``: on dev their
  grouped cross-validated coverage, on test their coverage calibrated on all of dev); ``--out`` writes one row
  per issue; ``--split dev --conformal`` compares the interval methods by cross-validation within dev.
- ``bdm1994``: the emission-standards replication of Bueno de Mesquita (1994) / Scholz et al. (2011).
- ``icb``: International Crisis Behavior base rates of war, serious clashes and compromise.
- ``backtest``: the dated cases of ``scenarios/cases`` forecast by the engine, by ICB climatology and by
  persistence, scored with Brier, log and CRPS (``--json`` for machines; a reliability diagram in ``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from sim.validation import bdm1994, deu3, icb
from sim.validation.data import default_data_dir, load_deu3


def _fmt_metrics(df: pd.DataFrame) -> str:
    lines = [f"{'model':<24}{'metric':<14}{'estimate':>10}   95 % CI (proposal bootstrap)"]
    for _, r in df.iterrows():
        lines.append(f"{r['model']:<24}{r['metric']:<14}{r['estimate']:>10.3f}   [{r['lo']:.3f}, {r['hi']:.3f}]")
    return "\n".join(lines)


def cmd_deu3(args: argparse.Namespace) -> int:
    issues = load_deu3(args.data).split(args.split)
    if args.limit:
        issues = issues.subset(np.arange(min(args.limit, len(issues))))
    cfg = deu3.FROZEN
    if args.calibrate:
        if args.split != "dev":
            print("--calibrate is for the dev split only", file=sys.stderr)
            return 2
        traj = deu3.run_trajectories(issues, cfg, args.n_runs, args.seed)
        tab = deu3.calibrate_residual(issues, traj, cfg)
        print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        for model in ("engine", "baseline"):
            sub = tab[tab["model"] == model]
            best = sub.loc[sub["miss"].idxmin()]
            print(f"{model}: best residual scale {best['scale']:.0f} (coverage {best['coverage50']:.3f} / "
                  f"{best['coverage90']:.3f}, CRPS {best['crps']:.3f})")
        return 0
    if args.conformal:
        if args.split != "dev":
            print("--conformal is for the dev split only (the test split is looked at once, without it)",
                  file=sys.stderr)
            return 2
        from sim.validation import conformal

        tab = conformal.compare_on_dev(issues, cfg, n_runs=args.n_runs, seed=args.seed, n_boot=args.n_boot)
        print(f"DEU III dev: {len(issues)} issues; 10-fold cross-validation within dev, folds keep proposals "
              f"together; 95 % CIs resample proposals; int. score = mean of the 50 % and 90 % interval scores")
        print(conformal.format_rows(tab))
        print(f"frozen: {conformal.FROZEN_CONFORMAL.name}")
        return 0
    t0 = time.perf_counter()
    fc = deu3.forecast(issues, cfg, n_runs=args.n_runs, seed=args.seed)
    elapsed = time.perf_counter() - t0
    table = fc.table()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
    metrics = deu3.evaluate(fc, n_boot=args.n_boot, seed=args.seed)
    print(f"DEU III, split {args.split}: {len(issues)} issues, {len(np.unique(fc.prnr))} proposals, "
          f"{args.n_runs} replicas, seed {args.seed} ({elapsed:.1f} s)")
    print("configuration: " + ", ".join(f"{k}={v}" for k, v in asdict(cfg).items()))
    print("engine: the bargaining core (sim.mechanics.bargaining.simulate); baseline: salience-weighted mean")
    print(_fmt_metrics(metrics))
    _conformal_lines(args, cfg, issues, fc)
    if args.out:
        print(f"wrote {args.out}")
    return 0


def _conformal_lines(args: argparse.Namespace, cfg: deu3.Deu3Config, issues, fc: deu3.Forecasts) -> None:
    """The frozen split-conformal intervals (sim.validation.conformal): on test calibrated on all of dev; on dev
    cross-validated within dev (folds keep proposals together)."""
    from sim.validation import conformal

    method = conformal.FROZEN_CONFORMAL
    if args.split == "test":
        dev = load_deu3(args.data).split("dev")
        dev_fc = deu3.forecast(dev, cfg, n_runs=args.n_runs, seed=args.seed)
        calib, row = conformal.holdout(dev_fc, fc, method, n_boot=args.n_boot, seed=args.seed)
        print(f"\nsplit-conformal intervals ({method.name}), calibrated on all {calib.n_issues} dev issues "
              f"({calib.n_groups} proposals), Q = " + ", ".join(f"{v:.3f} at {k:.0%}" for k, v in calib.q.items())
              + f"; coverage on the {len(issues)} {args.split} issues:")
    else:
        res = conformal.cross_validate(conformal.inputs_from(fc), method, k=10, seed=0)
        row = conformal.summarise(method.name, res, fc.prnr, n_boot=args.n_boot, seed=args.seed)
        print(f"\nsplit-conformal intervals ({method.name}), 10-fold cross-validation within {args.split} "
              "(folds keep proposals together):")
    print(conformal.format_rows(pd.DataFrame([row])))


def cmd_bdm1994(args: argparse.Namespace) -> int:
    """The kept configuration's medians by round (default) or the given rules, beside the transcription of
    Scholz et al.'s code (``scholz_code`` + ``all_votes``, full moves), which must reproduce their figures."""
    if args.rule is None and args.probability is None:
        res = bdm1994.kept(args.data, rounds=args.rounds)
        label = "kept configuration (conf/config.yaml mechanics.bargaining)"
    else:
        res = bdm1994.replicate(args.data, rule=args.rule or "scholz_code", probability=args.probability or "all_votes",
                                rounds=args.rounds)
        label = "as given"
    ref = bdm1994.replicate(args.data)
    keys = ("median_by_round", "final", "scholz", "rule", "probability", "move_rate", "risk")
    if args.json:
        print(json.dumps({**{k: res[k] for k in keys}, "transcription": ref["median_by_round"]}))
        return 0
    tab = bdm1994.replication_table(res)
    tab.insert(2, "transcription", ref["median_by_round"] + [np.nan] * (len(tab) - len(ref["median_by_round"])))
    print(f"Emission standards (Bueno de Mesquita 1994), {label}: rule={res['rule']}, "
          f"probability={res['probability']}, move_rate={res['move_rate']:g}, risk={res['risk']}")
    print("transcription = Scholz et al.'s code (scholz_code, all_votes, full moves); difference = engine - scholz")
    print(f"initial weighted median {res['initial']:.2f}")
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"final {res['final']:.2f} vs actual outcome {res['actual']:.2f} "
          f"(difference {res['final'] - res['actual']:+.2f})")
    return 0


def cmd_icb(args: argparse.Namespace) -> int:
    rates = icb.icb_base_rates(args.data)
    if args.engine:
        engine = json.loads(args.engine)
    elif args.scenario != "none":
        engine = icb.engine_rates(args.scenario, args.n_runs)
    else:
        engine = None
    if args.json:
        out = {"base_rates": rates.to_dict(orient="records")}
        if engine:
            out["comparison"] = icb.compare_with_engine(rates, engine).to_dict(orient="records")
        print(json.dumps(out))
        return 0
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        cols = ["group", "n_records", "n_crises", "p_war", "se_war", "p_serious", "se_serious", "p_compromise",
                "se_compromise"]
        print("ICB v16 actor-level base rates (binomial SEs; records of a crisis are not independent)")
        print(rates[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if engine:
            print(f"\nengine ({args.engine and 'given' or args.scenario + f', {args.n_runs} replicas × default steps'})"
                  " vs base rates: war = rung 6, serious clashes or worse = max rung >= 4, compromise = deal signed")
            cmp = icb.compare_with_engine(rates, engine)
            cmp = cmp[cmp["group"].isin(icb.KEY_GROUPS)]
            print(cmp.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    from sim.cases import check_inherited, load_cases
    from sim.errors import ConfigError
    from sim.validation import backtest

    try:
        check_inherited(args.inherited, "--inherited")
        cases = load_cases(args.cases)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    calibrate = None
    if args.calibrate:
        key, _, grid = args.calibrate.partition("=")
        try:
            calibrate = (key, tuple(float(v) for v in grid.split(",")))
        except ValueError:
            print(f"error: --calibrate {args.calibrate}: allowed: KEY=v1,v2,... (numbers)", file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    say = None if args.json else (lambda line: print(line, file=sys.stderr))
    doc = backtest.evaluate(cases, n_runs=args.n_runs, seed=args.seed, n_boot=args.n_boot, data_dir=args.data,
                            progress=say, calibrate=calibrate, climatology_group=args.climatology,
                            inherited=args.inherited)
    doc["settings"]["seconds"] = time.perf_counter() - t0
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "backtest.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        backtest.reliability_figure(doc, out / "reliability.html")
        if args.reports:
            for path in backtest.write_case_reports(cases, out / "cases", n_runs=args.n_runs, seed=args.seed,
                                                    data_dir=args.data, climatology_group=args.climatology,
                                                    inherited=args.inherited):
                if say:
                    say(f"wrote {path / 'report.html'}")
    if args.json:
        print(json.dumps(doc))
        return 0
    print(f"Backtest: {len(cases)} cases, {sum(len(c.questions) for c in cases)} questions, {args.n_runs} replicas "
          f"per case, seed {args.seed} ({doc['settings']['seconds']:.1f} s); climatology: ICB "
          f"{doc['settings']['climatology_group']}" + _inherited_note(args.inherited))
    print(backtest.format_table(doc))
    if args.out:
        print(f"wrote {Path(args.out) / 'backtest.json'} and {Path(args.out) / 'reliability.html'}")
    return 0


def _inherited_note(inherited: str) -> str:
    """The header's clause for a non-default ``--inherited`` (none for ``base``: today's output unchanged)."""
    if inherited == "base":
        return ""
    return (f"; inherited values: {inherited} (the values a case does not set span their scales: "
            "the look-ahead sensitivity, docs/validation.md §5)")


def backtest_default() -> tuple[str, tuple[float, ...]]:
    """The constant the backtest calibrates by default (sim.validation.backtest.CALIBRATE)."""
    from sim.validation.backtest import CALIBRATE

    return CALIBRATE


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sim.validate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("deu3", help="DEU III forecasts vs outcomes")
    d.add_argument("--split", choices=("dev", "test"), required=True)
    d.add_argument("--out", help="CSV with isnr, forecast, q05, q25, q50, q75, q95 (+ baseline, outcome)")
    d.add_argument("--data", type=Path, default=default_data_dir(), help="reference data directory")
    d.add_argument("--n-runs", type=int, default=200, help="Monte Carlo replicas per issue")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--limit", type=int, default=0, help="only the first N issues of the split (quick checks)")
    d.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples of proposals")
    d.add_argument("--calibrate", action="store_true",
                   help="dev only: scan the residual noise scale for 50 %% / 90 %% coverage, print, exit")
    d.add_argument("--conformal", action="store_true",
                   help="dev only: compare split-conformal interval methods by grouped cross-validation, print, exit")
    d.set_defaults(func=cmd_deu3)
    b = sub.add_parser("bdm1994", help="emission-standards replication")
    b.add_argument("--json", action="store_true")
    b.add_argument("--data", type=Path, default=default_data_dir())
    b.add_argument("--rule", default=None, choices=("scholz_code", "scholz_priority", "smallest_move"),
                   help="offer rule (default: the kept configuration's, with its move rate and risk)")
    b.add_argument("--probability", default=None, choices=("all_votes", "pairwise"))
    b.add_argument("--rounds", type=int, default=8)
    b.set_defaults(func=cmd_bdm1994)
    i = sub.add_parser("icb", help="ICB base rates")
    i.add_argument("--json", action="store_true")
    i.add_argument("--data", type=Path, default=default_data_dir())
    i.add_argument("--scenario", default="status_quo",
                   help="scenario whose ladder rates are set beside ICB's ('none' to skip the engine run)")
    i.add_argument("--n-runs", type=int, default=5000, help="replicas of the engine run")
    i.add_argument("--engine", help='engine rates as JSON, e.g. \'{"p_war": 0.12, "p_compromise": 0.3}\'')
    i.set_defaults(func=cmd_icb)
    t = sub.add_parser("backtest", help="dated cases forecast and scored against climatology and persistence")
    t.add_argument("--json", action="store_true")
    t.add_argument("--data", type=Path, default=default_data_dir(), help="reference data directory (ICB)")
    t.add_argument("--cases", type=Path, default=None, help="folder of case files (default scenarios/cases)")
    t.add_argument("--n-runs", type=int, default=4096, help="Monte Carlo replicas per case")
    t.add_argument("--seed", type=int, default=20250311)
    t.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples of cases")
    t.add_argument("--calibrate", default="{}={}".format(backtest_default()[0], ",".join(f"{v:g}" for v in backtest_default()[1])),
                   help="constant fitted leave-one-case-out and its grid, KEY=v1,v2,... ('' : none)")
    t.add_argument("--climatology", default="crises_IRN",
                   help="ICB group of the climatology baseline (a group of `python -m sim.validate icb`)")
    t.add_argument("--inherited", default="base",
                   help="the knowledge-base values a case does not set: 'base' (the shared base's March-2025 "
                        "numbers) or 'wide' (uniform over their scales' whole range: the look-ahead sensitivity)")
    t.add_argument("--reports", action="store_true", help="also write a run folder with report.html per case "
                   "(OUT/cases/<case>/)")
    t.add_argument("--out", default="outputs/backtest", help="folder for backtest.json and reliability.html ('' : none)")
    t.set_defaults(func=cmd_backtest)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
