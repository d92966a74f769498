"""An index of run folders, queried with DuckDB: ``python -m sim.runs list|show|sql`` (see :func:`main`).

Every folder under the roots (default ``outputs/``) that holds a ``manifest.json`` is a run: a single run, or a
job of a sweep (a numbered folder of a multirun folder). :func:`index_table` reads each run's manifest and
summary into one flat row (:data:`BASE_COLUMNS`, then ``p_<outcome>`` / ``se_<outcome>`` for every probability of
the summary, ``median_<issue>``, ``utility_<actor>``); :func:`open_index` puts it into an in-memory DuckDB as the
table ``runs`` beside two views over the Parquet files themselves: ``outcomes`` (every replica of every complete
run, with its ``path``) and ``sweeps`` (every ``sweep.parquet``, with its ``sweep``). Queries are plain SQL:

    python -m sim.runs list --where "scenario='grand_bargain' and p_war > 0.05"      # newest first
    python -m sim.runs show outputs/2026-12-03/15-20-00
    python -m sim.runs sql "select r.scenario, avg(o.war::int) from outcomes o join runs r using (path) group by 1"
    python -m sim.compare --where "scenario in ('status_quo', 'grand_bargain') and n_runs = 5000"

``status`` is :func:`sim.lifecycle.run_status` (``running-and-alive`` or ``dead`` for a run still marked running).
DuckDB is imported only by this module.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.lifecycle import run_status
from sim.runs import RunFolderError, is_multirun_dir

if TYPE_CHECKING:
    import duckdb

DEFAULT_ROOT = Path("outputs")
#: The index's first columns, in order (the summary's figures follow).
BASE_COLUMNS = ("path", "started", "scenario", "status", "n_runs", "seed", "steps", "uncertainty", "executor",
                "workers", "wall_seconds", "overrides", "sweep", "job", "finished", "git_commit", "error")
#: What ``list`` shows when no ``--columns`` are given.
LIST_COLUMNS = ("path", "started", "scenario", "status", "n_runs", "seed", "p_deal_ever", "p_war", "overrides")
_SKIP = {"checkpoints", ".sim", ".hydra"}


class QueryError(RunFolderError):
    """A query that cannot run (bad SQL, unknown column); the message is one line."""


def find_runs(roots: Iterable[str | Path]) -> list[Path]:
    """Every run folder (holding ``manifest.json``) under the roots, in path order; a root may be a run."""
    found: list[Path] = []
    for root in roots:
        root = Path(root)
        if (root / "manifest.json").is_file():
            found.append(root)
            continue
        for here, dirs, files in os.walk(root):
            if "manifest.json" in files:
                found.append(Path(here))
                dirs[:] = []
                continue
            dirs[:] = sorted(d for d in dirs if d not in _SKIP and not d.startswith("."))
    return sorted(set(found))


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _figures(summary: dict[str, Any]) -> dict[str, float | None]:
    """The summary's headline figures as flat columns."""
    out: dict[str, float | None] = {}
    for name, entry in (summary.get("probabilities") or {}).items():
        if isinstance(entry, dict) and "p" in entry:
            out[f"p_{name}"], out[f"se_{name}"] = entry.get("p"), entry.get("se")
    for name, entry in (summary.get("outcomes") or {}).items():
        if isinstance(entry, dict):
            out[f"median_{name}"] = entry.get("q50")
    for name, entry in (summary.get("utilities") or {}).items():
        if isinstance(entry, dict):
            out[f"utility_{name}"] = entry.get("mean")
    return out


def index_row(run: Path) -> dict[str, Any]:
    """One run folder as a flat row of the index."""
    m, s = _read(run / "manifest.json"), _read(run / "summary.json")
    parent = run.parent
    job = int(run.name) if run.name.isdigit() and is_multirun_dir(parent) else None
    overrides = m.get("overrides")
    return {
        "path": str(run), "started": m.get("started"), "scenario": m.get("scenario"), "status": run_status(run),
        "n_runs": m.get("n_runs"), "seed": m.get("seed"), "steps": m.get("steps"),
        "uncertainty": s.get("uncertainty"), "executor": m.get("executor"), "workers": m.get("workers"),
        "wall_seconds": m.get("wall_seconds"),
        "overrides": " ".join(overrides) if isinstance(overrides, list) else None,
        "sweep": str(parent) if job is not None else None, "job": job, "finished": m.get("finished"),
        "git_commit": m.get("git_commit"), "error": m.get("error"), **_figures(s),
    }


def index_table(roots: Iterable[str | Path]) -> pd.DataFrame:
    """The index: one row per run folder under the roots (columns :data:`BASE_COLUMNS` + the figures)."""
    rows = [index_row(p) for p in find_runs(roots)]
    table = pd.DataFrame(rows, columns=list(BASE_COLUMNS) if not rows else None)
    for col in ("started", "finished"):
        table[col] = pd.to_datetime(table[col], utc=True, errors="coerce", format="ISO8601")
    for col in ("n_runs", "seed", "steps", "workers", "job"):
        table[col] = table[col].astype("Int64")
    return table


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _parquet_view(con: duckdb.DuckDBPyConnection, view: str, key: str, files: list[Path],
                  empty_columns: dict[str, str] | None = None) -> None:
    """A view ``view`` over parquet ``files`` (one folder each, named in column ``key``); empty if none."""
    if files:
        name = files[0].name
        listing = ", ".join(_quote(f) for f in files)
        con.execute(f"create view {view} as select regexp_replace(filename, '/{name}$', '') as {key}, "
                    f"* exclude (filename) from read_parquet([{listing}], filename=true, union_by_name=true)")
    else:
        extra = "".join(f", null::{typ} as {col}" for col, typ in (empty_columns or {}).items())
        con.execute(f"create view {view} as select null::varchar as {key}{extra} where false")


def open_index(roots: Iterable[str | Path]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the table ``runs`` and the views ``outcomes`` and ``sweeps`` (module doc)."""
    import duckdb

    roots = list(roots)
    con = duckdb.connect()
    table = index_table(roots)
    con.register("_index", table)
    con.execute("create table runs as select * from _index")
    con.unregister("_index")
    files = [Path(p) / "outcomes.parquet" for p, st in zip(table["path"], table["status"])
             if st == "complete" and (Path(p) / "outcomes.parquet").is_file()]
    _parquet_view(con, "outcomes", "path", files, {"replica": "bigint"})
    sweeps = sorted({Path(p) / "sweep.parquet" for p in table["sweep"].dropna()
                     if (Path(p) / "sweep.parquet").is_file()})
    _parquet_view(con, "sweeps", "sweep", sweeps)
    return con


def _one_line(exc: BaseException) -> str:
    return next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)


def query(con: duckdb.DuckDBPyConnection, sql: str, what: str) -> pd.DataFrame:
    """Run ``sql``; a DuckDB error becomes :class:`QueryError` with one line naming ``what`` and the columns."""
    import duckdb

    try:
        return con.execute(sql).df()
    except duckdb.Error as exc:
        columns = [r[0] for r in con.execute("describe runs").fetchall()]
        raise QueryError(f"{what}: {_one_line(exc)}; allowed: SQL over the table runs (columns: "
                          f"{', '.join(columns)}) and the views outcomes, sweeps") from None


def select_runs(roots: Iterable[str | Path], where: str | None = None, *, limit: int | None = None,
                columns: Sequence[str] | None = None, what: str | None = None) -> pd.DataFrame:
    """The runs matching the SQL condition ``where``, newest first."""
    con = open_index(roots)
    cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    sql = f"select {cols} from runs"
    if where:
        sql += f" where {where}"
    sql += " order by started desc nulls last, path desc"
    if limit:
        sql += f" limit {int(limit)}"
    return query(con, sql, what or (f"--where {where!r}" if where else "--columns"))


def selected_paths(roots: Iterable[str | Path], where: str) -> list[Path]:
    """The folders of the complete runs matching ``where``, newest first (for :mod:`sim.compare`)."""
    table = select_runs(roots, f"({where}) and status = 'complete'", columns=["path"], what=f"--where {where!r}")
    return [Path(p) for p in table["path"]]


# --- the command line ------------------------------------------------------------------------------------------
def _format(table: pd.DataFrame) -> str:
    shown = table.copy()
    for col in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[col]):
            shown[col] = shown[col].dt.strftime("%Y-%m-%d %H:%M:%S")
        elif pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:.4g}")
    shown = shown.astype(object).where(shown.notna(), "")
    return shown.to_string(index=False)


def _show_run(con: duckdb.DuckDBPyConnection, target: str) -> str:
    path = str(Path(target))
    table = query(con, f"select * from runs where path = {_quote(Path(path))} or path like "
                       f"{_quote(Path('%' + path.rstrip('/')))}", "show")
    if table.empty:
        raise QueryError(f"show {target}: no run folder of the index matches; allowed: a run folder under the "
                          "roots (see python -m sim.runs list)")
    row = table.iloc[0]
    width = max(len(c) for c in table.columns)
    lines = [f"{c.ljust(width)}  {'' if pd.isna(row[c]) else row[c]}" for c in table.columns]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sim.runs", description="An index of the run folders under "
                                "outputs/ (runs and sweep jobs: manifest and summary), queried with DuckDB.")
    p.add_argument("--root", action="append", metavar="DIR",
                   help="folder to index (repeatable; default: outputs)")
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="the runs, newest first")
    ls.add_argument("--where", metavar="SQL", help="a SQL condition, e.g. \"scenario='grand_bargain' and "
                    "p_war > 0.05\"")
    ls.add_argument("--columns", metavar="A,B", help="columns to show (default: a short set; 'all': every one)")
    ls.add_argument("--limit", type=int, metavar="N", help="at most N runs")
    ls.add_argument("--paths", action="store_true", help="print only the folders, one a line")
    ls.add_argument("--json", action="store_true", help="print the rows as JSON")
    show = sub.add_parser("show", help="every column of one run")
    show.add_argument("run", metavar="RUN_DIR")
    sql = sub.add_parser("sql", help="any SQL over runs, outcomes, sweeps")
    sql.add_argument("statement", metavar="SQL")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sim.runs``; bad input: one line on stderr, exit status 2."""
    args = _parser().parse_args(argv)
    roots = [Path(r) for r in (args.root or [DEFAULT_ROOT])]
    try:
        missing = next((r for r in roots if not r.is_dir()), None)
        if missing is not None:
            raise QueryError(f"--root {missing}: no such folder; allowed: a folder of run folders (default: "
                              "outputs, where python -m sim writes)")
        if args.command == "list":
            columns = None if args.columns == "all" else (
                [c.strip() for c in args.columns.split(",")] if args.columns else None)
            table = select_runs(roots, args.where, limit=args.limit, columns=columns)
            if columns is None and args.columns != "all" and not args.paths and not args.json:
                table = table[[c for c in LIST_COLUMNS if c in table.columns]]
            if args.paths:
                text = "\n".join(table["path"])
            elif args.json:
                text = table.to_json(orient="records", date_format="iso", indent=1)
            else:
                text = _format(table) if len(table) else "no runs match"
        elif args.command == "show":
            text = _show_run(open_index(roots), args.run)
        else:
            text = _format(query(open_index(roots), args.statement, "sql"))
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if text:
        try:
            print(text)
        except BrokenPipeError:               # `... | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
