"""Aggregating a Hydra multirun: ``sweep.parquet`` (one row per job) and ``sweep.html`` in the sweep folder.

Hydra runs the jobs of ``python -m sim -m ...`` but does not aggregate them; :class:`SweepAggregator` is a Hydra
callback (registered in ``conf/config.yaml``) that does, in the launching process, whichever launcher ran them.

Hydra instantiates the callback for every run and sweep, so this module imports only light things at module level;
pandas, the results writer and the report are imported when a sweep is aggregated.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def sweep_table(sweep_dir: Path) -> pd.DataFrame:
    """One row per completed job: its overrides (one column per swept key) and summary figures."""
    import pandas as pd

    from sim.outcomes import MAX_RUNG, issue_outcome
    from sim.runs import job_dirs

    rows = []
    for d in job_dirs(sweep_dir):
        summary_file = d / "summary.json"
        if not summary_file.exists():
            continue
        summary = json.loads(summary_file.read_text())
        overrides = yaml.safe_load((d / ".hydra" / "overrides.yaml").read_text()) or []
        row: dict[str, Any] = {"job": int(d.name), "run_dir": d.name, "overrides": " ".join(overrides)}
        for o in overrides:
            key, _, value = o.partition("=")
            row[key.lstrip("+~")] = value
        p = summary["probabilities"]
        for name, prob in p.items():  # every probability outcome: p_<name>, p_<name>_se
            if isinstance(prob, dict) and "p" in prob:
                row[f"p_{name}"], row[f"p_{name}_se"] = prob["p"], prob["se"]
        row[f"mean_{MAX_RUNG}"] = sum(r["rung"] * r["p"] for r in p["max_rung"])
        for iid, o in summary["outcomes"].items():
            row[f"median_{issue_outcome(iid)}"] = o["q50"]
            row[f"median_{issue_outcome(iid)}_se"] = o["q50_se"]
        rows.append(row)
    return pd.DataFrame(rows)


def aggregate(sweep_dir: Path, *, report: bool = True) -> Path:
    """Write ``sweep.parquet`` (and ``sweep.html``) for a finished multirun folder."""
    from sim.io import write_parquet

    table = sweep_table(sweep_dir)
    out = sweep_dir / "sweep.parquet"
    write_parquet(out, table)
    if report and len(table):
        from sim.report.sweep_report import render_sweep_report
        render_sweep_report(sweep_dir)
    return out


class SweepAggregator(Callback):
    """Hydra callback: aggregate the jobs when a multirun ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if sweep_dir.exists():
            out = aggregate(sweep_dir, report=bool(config.get("report", True)))
            print(f"sweep table: {out}")
            if (sweep_dir / "sweep.html").exists():
                print(f"sweep report: {sweep_dir / 'sweep.html'}")
