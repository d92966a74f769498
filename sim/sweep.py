"""Aggregating a Hydra multirun: ``sweep.parquet`` (one row per job, completed or not) and ``sweep.html``.

Hydra runs the jobs of ``python -m sim -m ...`` but does not aggregate them; :class:`SweepAggregator` is a Hydra
callback (registered in ``conf/config.yaml``) that does, whichever launcher ran them. ``python -m sim.sweep DIR``
rebuilds both files from a multirun folder (after an interrupted sweep, say).

**A failed job does not lose the others.** In Hydra 1.3.8, ``hydra.core.utils.run_job`` runs the task function
inside ``try/except Exception``: a job that raises comes back as a ``JobReturn`` with status ``FAILED`` and the
exception as its value, and the launcher goes on with the next job (the basic launcher in this process, the joblib
launcher in its workers, where ``run_job`` and so ``on_job_end`` run too). After the batch, Hydra's basic sweeper
reads every job's ``return_value``, which re-raises the first failure: ``on_multirun_end`` never runs and
``run_and_report`` prints a traceback and exits 1. Hence :meth:`SweepAggregator.on_job_end`, called for every job
with its ``JobReturn`` in the process that ran it: for a failed job of a multirun it records the failure in the
job's folder (``manifest.json``: ``status: failed``, the one-line ``error``, ``job``, ``overrides``), prints that
line, and returns the job to Hydra as handled (status ``COMPLETED``, value ``{"run_dir", "status": "failed",
"error"}``), so the sweeper goes on and ``on_multirun_end`` runs. That aggregates every job folder, completed and
failed, and when some failed ends the command with one line and exit status 1 (``sys.exit``: an exception raised
by a callback is only a warning to Hydra). A single run (no ``-m``) is left to Hydra and :mod:`sim.cli`.

Interrupts (Ctrl-C, SIGTERM) are no ``Exception``: they stop the sweep; ``python -m sim.sweep DIR`` then aggregates
what is there.

Hydra instantiates the callback for every run and sweep, so this module imports only light things at module level;
pandas, the results writer and the report are imported when a sweep is aggregated.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

#: ``sweep.parquet``'s columns before the swept keys and the figures.
FIXED_COLUMNS: tuple[str, ...] = ("job", "run_dir", "status", "error", "overrides")
#: The status of a job whose results are in the table.
COMPLETE = "complete"


def error_line(exc: BaseException, limit: int = 300) -> str:
    """A failure in one line: ``OSError: [Errno 28] No space left on device`` (a ConfigError's own message)."""
    text = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    line = text if type(exc).__name__ == "ConfigError" and text else f"{type(exc).__name__}: {text}".rstrip(": ")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _one_line(text: Any, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def record_failure(run_dir: Path, error: str, *, job: int | None = None, overrides: Sequence[str] = ()) -> bool:
    """Record a failed job in its folder's ``manifest.json`` (``status: failed`` unless the run says
    ``interrupted``, the one-line ``error``, ``job``, ``overrides``), creating it if the job failed before its run
    wrote one. Atomic; False if the folder cannot be written (the failure is still reported)."""
    from sim.io import write_json

    file = Path(run_dir) / "manifest.json"
    manifest: dict[str, Any] = {}
    try:
        data = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
        manifest = data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        pass
    if manifest.get("status") != "interrupted":
        manifest["status"] = "failed"
    manifest["error"] = _one_line(error)
    if not isinstance(manifest.get("overrides"), list):
        manifest["overrides"] = list(overrides)
    if job is not None:
        manifest["job"] = job
    try:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        write_json(file, manifest)
    except OSError:
        return False
    return True


# --- the table -----------------------------------------------------------------------------------------------
def _job_overrides(d: Path, manifest: dict[str, Any]) -> list[str]:
    try:
        overrides = yaml.safe_load((d / ".hydra" / "overrides.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        overrides = None
    if not isinstance(overrides, list):
        overrides = manifest.get("overrides")
    return [str(o) for o in overrides] if isinstance(overrides, list) else []


def _figures(summary: dict[str, Any]) -> dict[str, Any]:
    """A completed job's headline figures from its ``summary.json``."""
    from sim.outcomes import MAX_RUNG, issue_outcome

    row: dict[str, Any] = {}
    p = summary.get("probabilities") or {}
    for name, prob in p.items():  # every probability outcome: p_<name>, p_<name>_se
        if isinstance(prob, dict) and "p" in prob:
            row[f"p_{name}"], row[f"p_{name}_se"] = prob["p"], prob.get("se")
    rungs = [r for r in p.get("max_rung") or [] if r.get("p") is not None]
    mean = sum(r["rung"] * r["p"] for r in rungs) if rungs else None
    row[f"mean_{MAX_RUNG}"] = mean
    n = summary.get("n_runs")
    if mean is not None and isinstance(n, int) and n > 1:   # se of the mean rung: √(Var(rung) / n)
        var = max(sum(r["rung"] ** 2 * r["p"] for r in rungs) - mean ** 2, 0.0)
        row[f"mean_{MAX_RUNG}_se"] = (var / n) ** 0.5
    for iid, o in (summary.get("outcomes") or {}).items():
        row[f"median_{issue_outcome(iid)}"] = o.get("q50")
        row[f"median_{issue_outcome(iid)}_se"] = o.get("q50_se")
    return row


def _job_row(d: Path, known: dict[str, Any] | None) -> dict[str, Any]:
    """One job folder as a row: number, folder, status, one-line error, overrides, swept values, figures."""
    from sim.runs import RunFolderError, _read_json, validate_summary

    manifest: dict[str, Any] = {}
    status = "missing"
    error: Any = "no manifest.json: the job failed or stopped before its run started"
    if (d / "manifest.json").is_file():
        try:
            manifest = _read_json(d / "manifest.json")
            status = str(manifest.get("status") or "missing")
            error = manifest.get("error")
        except RunFolderError as err:
            status, error = "unreadable", str(err)
    if known and status in ("missing", "unreadable", "running"):   # seen failing by this process
        status, error = str(known.get("status", "failed")), known.get("error", error)
    overrides = _job_overrides(d, manifest) or list((known or {}).get("overrides") or [])
    row: dict[str, Any] = {"job": int(d.name), "run_dir": d.name, "status": status, "error": None,
                           "overrides": " ".join(overrides)}
    for o in overrides:
        key, _, value = o.partition("=")
        row.setdefault(key.lstrip("+~"), value)
    if status == COMPLETE:
        try:
            summary = _read_json(d / "summary.json")
            validate_summary(d / "summary.json", summary)
            row.update(_figures(summary))
        except (RunFolderError, KeyError, TypeError, ValueError, AttributeError) as err:
            row["status"], row["error"] = "unreadable", _one_line(err)
    else:
        row["error"] = _one_line(error or f"the run did not finish (manifest status {status!r})")
    return row


def sweep_table(sweep_dir: Path, known: dict[int, dict[str, Any]] | None = None) -> pd.DataFrame:
    """One row per job folder (``0/``, ``1/``, ...): ``job``, ``run_dir``, ``status`` (``complete``, ``failed``,
    ``interrupted``, ``running``, ``missing`` or ``unreadable``), ``error`` (one line, None when complete),
    ``overrides``, one column per overridden key, and the summary figures of completed jobs (``p_<outcome>``,
    ``p_<outcome>_se``, ``mean_max_escalation``, ``median_<issue outcome>`` and ``_se``; empty for the others).
    ``known`` adds what this process saw of failed jobs (by job number) whose folder says less."""
    import pandas as pd

    from sim.runs import job_dirs

    rows = [_job_row(d, (known or {}).get(int(d.name))) for d in job_dirs(sweep_dir)]
    table = pd.DataFrame(rows, columns=list(FIXED_COLUMNS) if not rows else None)
    if rows:
        rest = [c for c in table.columns if c not in FIXED_COLUMNS]
        table = table[[*FIXED_COLUMNS, *rest]]
        for c in rest:
            if c.startswith(("p_", "mean_", "median_")):
                table[c] = pd.to_numeric(table[c], errors="coerce").astype(float)
    return table


def failed_jobs(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of jobs that did not complete."""
    return table[table["status"] != COMPLETE] if "status" in table else table.iloc[:0]


def failure_line(table: pd.DataFrame, sweep_dir: Path) -> str:
    """One line: how many jobs did not complete, the first one's overrides and error, where the rest is."""
    bad = failed_jobs(table)
    first = bad.iloc[0]
    jobs = ", ".join(str(j) for j in bad["job"].head(10)) + (", …" if len(bad) > 10 else "")
    return (f"{len(bad)} of {len(table)} jobs did not complete (job{'s' if len(bad) > 1 else ''} {jobs}); job "
            f"{first['job']} ({first['overrides'] or 'defaults'}): {first['error']}; the completed jobs are "
            f"aggregated in {sweep_dir / 'sweep.parquet'}")


def aggregate(sweep_dir: Path, *, report: bool = True, known: dict[int, dict[str, Any]] | None = None
              ) -> pd.DataFrame:
    """Write ``sweep.parquet`` (and ``sweep.html``) for a multirun folder; return the table."""
    from sim.io import write_parquet

    sweep_dir = Path(sweep_dir)
    table = sweep_table(sweep_dir, known)
    write_parquet(sweep_dir / "sweep.parquet", table)
    if report and len(table):
        from sim.report.sweep_report import render_sweep_report
        render_sweep_report(sweep_dir)
    return table


def _is_multirun(config: DictConfig) -> bool:
    mode = config.hydra.get("mode") if "hydra" in config else None
    return str(getattr(mode, "name", mode)) == "MULTIRUN"


class SweepAggregator(Callback):
    """Hydra callback: record each failed job of a multirun (and keep the sweep going), aggregate at its end."""

    def __init__(self) -> None:
        self.failed: dict[int, dict[str, Any]] = {}

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if job_return.status != JobStatus.FAILED or not _is_multirun(config):
            return
        exc = job_return._return_value
        error = error_line(exc) if isinstance(exc, BaseException) else _one_line(exc)
        run_dir = Path(str(config.hydra.runtime.output_dir))
        num = int(config.hydra.job.num)
        overrides = [str(o) for o in job_return.overrides or []]
        record_failure(run_dir, error, job=num, overrides=overrides)
        self.failed[num] = {"status": "failed", "error": error, "overrides": overrides}
        print(f"error: job {num} ({' '.join(overrides) or 'defaults'}): {error}", file=sys.stderr, flush=True)
        job_return.status = JobStatus.COMPLETED   # handled: the sweeper goes on, on_multirun_end aggregates
        job_return.return_value = {"run_dir": str(run_dir), "status": "failed", "error": error}

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.exists():
            return
        try:
            # sweep.html is written whatever the jobs' ``report`` says (that setting is about each job's report.html)
            table = aggregate(sweep_dir, report=True, known=self.failed)
        except Exception as err:  # noqa: BLE001 - Hydra would turn it into a warning; the user needs one line
            print(f"error: {sweep_dir}: cannot aggregate the sweep ({error_line(err)})", file=sys.stderr)
            sys.exit(1)
        _print_written(sweep_dir, table)
        if len(failed_jobs(table)):
            print(f"error: {failure_line(table, sweep_dir)}", file=sys.stderr, flush=True)
            sys.exit(1)


def _print_written(sweep_dir: Path, table: pd.DataFrame) -> None:
    done = int((table["status"] == COMPLETE).sum()) if len(table) else 0
    print(f"sweep table: {sweep_dir / 'sweep.parquet'} ({done} of {len(table)} jobs complete)")
    if (sweep_dir / "sweep.html").exists():
        print(f"sweep report: {sweep_dir / 'sweep.html'}")


# --- python -m sim.sweep DIR ---------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sim.sweep",
                                description="Rebuild sweep.parquet and sweep.html of a multirun folder from its job "
                                "folders (completed and failed jobs). Exit status 0 if every job completed, 1 if "
                                "some did not (the files are written all the same), 2 if DIR is no multirun folder.")
    p.add_argument("dir", metavar="DIR", help="a multirun folder (outputs/multirun/DATE/TIME)")
    p.add_argument("--no-report", action="store_true", help="write sweep.parquet only")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sim.sweep``; returns the exit status."""
    from sim.runs import RunFolderError, job_dirs

    args = _parser().parse_args(argv)
    root = Path(args.dir)
    if not root.is_dir():
        print(f"error: {root}: no such folder; allowed: a multirun folder (outputs/multirun/DATE/TIME)",
              file=sys.stderr)
        return 2
    if not job_dirs(root):
        print(f"error: {root}: not a multirun folder (no job folders 0/, 1/, ...); allowed: a folder written by "
              "python -m sim -m", file=sys.stderr)
        return 2
    try:
        table = aggregate(root, report=not args.no_report)
    except RunFolderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {root}: cannot write the sweep files ({error_line(err)})", file=sys.stderr)
        return 2
    _print_written(root, table)
    if len(failed_jobs(table)):
        print(f"error: {failure_line(table, root)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
