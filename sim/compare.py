"""Compare runs: ``python -m sim.compare RUN_DIR [RUN_DIR ...] [--where SQL [--root DIR]] [--baseline RUN_DIR]
[--out FILE]``.

``--where`` selects the complete runs of the index of runs (:mod:`sim.run_index`, the folders under ``outputs/``
or ``--root``) matching a SQL condition, e.g. ``--where "scenario in ('status_quo', 'grand_bargain')"``.

Writes one HTML page overlaying the runs' distributions, with differences against a baseline run. Runs sharing
the baseline's seed and number of replicas used common random numbers (replica r of each saw the same random
stream), so their differences are taken replica by replica (paired), which removes most Monte Carlo noise.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.report.labels import Z95
from sim.runs import RunData, RunFolderError, expand_runs, load_run


@dataclass(frozen=True)
class Difference:
    """``other − baseline`` of a mean (or a probability, as the mean of a 0/1 indicator) with its uncertainty."""

    estimate: float
    se: float
    low: float
    high: float
    n: int
    paired: bool


def difference(baseline: Sequence[float] | np.ndarray, other: Sequence[float] | np.ndarray, paired: bool,
               z: float = Z95) -> Difference:
    """Difference of means ``mean(other) − mean(baseline)`` with standard error and a ``z`` interval.

    Paired: the arrays are aligned replica by replica; se = sd(other − baseline) / √n.
    Unpaired: se = √(var(baseline)/n_b + var(other)/n_o). Variances use ddof=1; with fewer than two values
    the se is NaN.
    """
    a = np.asarray(baseline, dtype=float)
    b = np.asarray(other, dtype=float)
    if paired:
        if a.shape != b.shape:
            raise ValueError(f"paired difference needs equal lengths, got {a.size} and {b.size}")
        d = b - a
        n = d.size
        est = float(d.mean()) if n else math.nan
        se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    else:
        n = min(a.size, b.size)
        est = float(b.mean() - a.mean()) if a.size and b.size else math.nan
        se = float(math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)) if n > 1 else math.nan
    return Difference(est, se, est - z * se, est + z * se, int(n), paired)


def can_pair(a: RunData, b: RunData) -> bool:
    """Common random numbers: same seed and same number of replicas with the same replica ids."""
    if a.seed is None or a.seed != b.seed or a.n_runs != b.n_runs:
        return False
    ra, rb = a.outcomes["replica"].to_numpy(), b.outcomes["replica"].to_numpy()
    return ra.shape == rb.shape and bool((ra == rb).all())


def check_compatible(runs: Sequence[RunData]) -> None:
    """Raise :class:`RunFolderError` (one line) if the runs do not share the escalation ladder (the one thing every
    comparison needs); different actor or issue sets are compared on what they share (:func:`not_comparable`)."""
    first = runs[0]
    for run in runs[1:]:
        if list(run.rungs) != list(first.rungs):
            raise RunFolderError(
                f"incompatible runs: {first.path} has escalation rungs {list(first.rungs)} but {run.path} has "
                f"{list(run.rungs)}; allowed: runs of one escalation ladder")


def shared_outcomes(runs: Sequence[RunData]) -> list[str]:
    """The outcomes (registry names) every run has, in the first run's registry order."""
    have = [set(o["name"] for o in r.registry) for r in runs]
    return [str(o["name"]) for o in runs[0].registry if all(str(o["name"]) in h for h in have)]


def not_comparable(runs: Sequence[RunData], labels: Sequence[str]) -> list[str]:
    """Sentences on what the runs do not share: actors, issues and outcomes only some of them have (and which)."""
    lines: list[str] = []
    for what, get, name in (("actors", lambda r: r.actor_ids, lambda r, x: r.actor_name(x)),
                            ("issues", lambda r: r.issue_ids, lambda r, x: r.issue(x)["label"])):
        every = set.intersection(*(set(get(r)) for r in runs))
        for i, run in enumerate(runs):
            extra = [x for x in get(run) if x not in every]
            if extra:
                lines.append(f"{labels[i]} has {what} the others lack: "
                             + ", ".join(f"{name(run, x)} ({x})" for x in extra) + ".")
    shared = set(shared_outcomes(runs))
    only: dict[str, list[int]] = {}
    for i, run in enumerate(runs):
        for o in run.registry:
            if o["name"] not in shared:
                only.setdefault(str(o["name"]), []).append(i)
    if only:
        parts = []
        for key, where in only.items():
            run = runs[where[0]]
            parts.append(f"{run.label(key)} (only in {', '.join(labels[i] for i in where)})")
        lines.append("Not comparable, so left out of the differences and figures: " + "; ".join(parts) + ".")
    return lines


def choose_baseline(runs: Sequence[RunData]) -> int:
    """Index of the run whose scenario is ``status_quo``, else 0."""
    return next((i for i, r in enumerate(runs) if r.scenario_name == "status_quo"), 0)


#: Kinds of outcome compared as differences of means, in the order the page shows them.
COMPARED_KINDS: tuple[str, ...] = ("probability", "quantity", "utility")


def _quantities(run: RunData) -> list[tuple[str, str, float]]:
    """(kind, outcome name, scale): the registry's probabilities, quantities and utilities, grouped by kind in
    registry order; probabilities are shown in percentage points."""
    return [(kind, name, 100.0 if kind == "probability" else 1.0)
            for kind in COMPARED_KINDS for name in run.of_kind(kind)]


def difference_table(runs: Sequence[RunData], baseline: int) -> pd.DataFrame:
    """One row per (run other than the baseline, outcome of the baseline's registry that the run also has):
    ``kind`` and ``key`` (the outcome's kind and name), baseline mean, run mean, difference and interval."""
    base = runs[baseline]
    rows = []
    for i, run in enumerate(runs):
        if i == baseline:
            continue
        paired = can_pair(base, run)
        for kind, key, scale in _quantities(base):
            if key not in run.outcomes or run.kind(key) != kind:
                continue
            a = base.outcomes[key].to_numpy(dtype=float)
            b = run.outcomes[key].to_numpy(dtype=float)
            d = difference(a, b, paired)
            rows.append({"run": i, "kind": kind, "key": key, "baseline_mean": scale * a.mean(),
                         "run_mean": scale * b.mean(), "estimate": scale * d.estimate, "se": scale * d.se,
                         "low": scale * d.low, "high": scale * d.high, "n": d.n, "paired": d.paired})
    return pd.DataFrame(rows)


def unique_labels(runs: Sequence[RunData]) -> list[str]:
    """Run labels: scenario + the short overrides not shared by every run, made unique with the folder name."""
    shared = set.intersection(*(set(r.short_overrides) for r in runs)) if len(runs) > 1 else set()
    base = []
    for r in runs:
        extra = [o for o in r.short_overrides if o not in shared]
        base.append(f"{r.scenario_name} ({', '.join(extra)})" if extra else r.scenario_name)
    labels = [f"{lab} [{r.path.name}]" if base.count(lab) > 1 else lab for lab, r in zip(base, runs)]
    return [f"{lab} #{i + 1}" if labels.count(lab) > 1 else lab for i, lab in enumerate(labels)]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sim.compare",
                                description="Compare runs side by side (distributions, probabilities, differences "
                                "against a baseline) and write one self-contained HTML page.")
    p.add_argument("runs", nargs="*", metavar="RUN_DIR", help="run folders or multirun folders (expand to jobs)")
    p.add_argument("--where", metavar="SQL", help="also the complete runs of the index matching this SQL condition "
                   "(python -m sim.runs list --where ...), newest first")
    p.add_argument("--root", action="append", metavar="DIR", help="folders the index reads (default: outputs)")
    p.add_argument("--baseline", metavar="RUN_DIR", help="run to compare against (default: status_quo, else first)")
    p.add_argument("--out", metavar="FILE", default=str(Path("outputs") / "comparison.html"),
                   help="output HTML (default: %(default)s, under the folder the command runs in)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (2 on unusable input, with one line on stderr)."""
    args = _parser().parse_args(argv)
    from sim.report.compare_report import render_comparison

    try:
        paths = expand_runs(args.runs)
        if args.where:
            from sim.run_index import DEFAULT_ROOT, selected_paths

            roots = [Path(r) for r in (args.root or [DEFAULT_ROOT])]
            chosen = selected_paths(roots, args.where)
            if not chosen:
                raise RunFolderError(f"--where {args.where!r}: no complete run under {', '.join(map(str, roots))} "
                                     "matches; allowed: a condition some run meets (python -m sim.runs list)")
            paths += [p for p in chosen if p.resolve() not in {q.resolve() for q in paths}]
        if not paths:
            raise RunFolderError("no runs given; allowed: RUN_DIR ... and/or --where SQL")
        runs = [load_run(p) for p in paths]
        if args.baseline:
            base_run = load_run(args.baseline)
            resolved = [p.resolve() for p in paths]
            if base_run.path.resolve() in resolved:
                baseline = resolved.index(base_run.path.resolve())
            else:
                runs.insert(0, base_run)
                baseline = 0
        else:
            baseline = choose_baseline(runs)
        check_compatible(runs)
    except RunFolderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        out = render_comparison(runs, baseline, difference_table(runs, baseline), unique_labels(runs), args.out)
    except RunFolderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: --out {args.out}: cannot write ({err.strerror or err}); allowed: a file in a writable "
              "folder", file=sys.stderr)
        return 2
    print(out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
