"""Reading the run folders the engine writes (``spec.json``, ``manifest.json``, ``summary.json``, parquet tables).

A *run folder* holds one Monte Carlo experiment; a *multirun folder* (Hydra ``-m``) holds numbered job folders
``0/``, ``1/``, ... each a run folder, plus ``multirun.yaml`` and ``sweep.parquet``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import outcomes as names

#: Files a complete run folder must hold.
REQUIRED_FILES: tuple[str, ...] = ("spec.json", "manifest.json", "summary.json", "outcomes.parquet")
#: Tables a run may lack (then read as empty tables with the contract's columns).
OPTIONAL_TABLES: dict[str, tuple[str, ...]] = {
    "trajectories.parquet": ("replica", "step", "escalation", names.DEAL),
    "trajectory_quantiles.parquet": ("step", "variable", "q05", "q25", "q50", "q75", "q95", "mean"),
    "events.parquet": ("replica", "step", "actor", "event", "description", "rung_before", "rung_after"),
}


#: Overrides left out of run labels: the scenario (already named) and settings that do not change results.
_LABEL_SKIP = ("scenario=", "hydra.", "workers=", "chunk_size=", "report=", "trajectory_replicas=",
               "event_replicas=")


#: Registry entries for run folders written before ``spec.json`` carried ``outcomes``: (kind, label, group, dtype),
#: grouped as the engine groups them (the escalation mechanism's outcomes, then the deal mechanism's).
_LEGACY: dict[str, tuple[str, str, str, str]] = {
    name: (kind, text, group, dtype)
    for group, entries in (
        ("escalation", ((names.MAX_RUNG, "rung", "highest rung reached", "int8"),
                        (names.FINAL_RUNG, "rung", "rung at the end", "int8"),
                        (names.WAR, "probability", "regional war", "bool"))),
        ("deal", ((names.DEAL, "probability", "deal in force at the end", "bool"),
                  (names.DEAL_EVER, "probability", "deal ever signed", "bool"),
                  (names.DEAL_BROKEN, "probability", "deal signed, then collapsed", "bool"),
                  (names.DEAL_STEP, "step", "month the deal was first signed", "int32"))),
    )
    for name, kind, text, dtype in entries
}


def fallback_registry(columns: Iterable[str], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """A registry document derived from outcome column names, for run folders whose ``spec.json`` has none.

    Known names get their kind (labels without the spec's wording, e.g. "deal in force at the end"); issue and
    utility columns are labelled with the issue's label and the actor's name from ``spec.json``; anything else
    is a quantity labelled with its name.
    """
    issues, actors = spec.get("issues", {}), spec.get("actors", {})
    out = []
    for col in columns:
        if col == "replica":
            continue
        if col in _LEGACY:
            kind, text, group, dtype = _LEGACY[col]
        elif col.startswith(names.ISSUE_PREFIX):
            iid = col.removeprefix(names.ISSUE_PREFIX)
            kind, group, dtype = "quantity", "issues", "float64"
            text = str(issues.get(iid, {}).get("label") or iid.replace("_", " "))
        elif col.startswith(names.UTILITY_PREFIX):
            aid = col.removeprefix(names.UTILITY_PREFIX)
            kind, group, dtype = "utility", "utilities", "float64"
            text = str(actors.get(aid, {}).get("name") or aid)
        else:
            kind, text, group, dtype = "quantity", col.replace("_", " "), "", "float64"
        out.append({"name": col, "kind": kind, "label": text, "group": group, "dtype": dtype})
    return out


def registry_for(spec: dict[str, Any], columns: Iterable[str]) -> list[dict[str, Any]]:
    """The outcome registry of a run: ``spec.json``'s ``outcomes``, else one derived from ``columns``."""
    registry = spec.get("outcomes")
    if isinstance(registry, list) and registry:
        return [dict(o) for o in registry]
    return fallback_registry(columns, spec)


def common_subject(labels: Iterable[str]) -> str | None:
    """The words several labels start with (``US–Iran nuclear deal`` for the deal's outcomes), None if fewer
    than two labels or no shared start."""
    words = [str(t).split() for t in labels]
    if len(words) < 2:
        return None
    shared: list[str] = []
    for column in zip(*words):
        if len(set(column)) != 1:
            break
        shared.append(column[0])
    return " ".join(shared) or None


class RunFolderError(Exception):
    """A folder is not a readable, complete run; the message is one line, fit for a terminal."""


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def is_run_dir(path: str | Path) -> bool:
    """True if ``path`` is a folder holding ``manifest.json`` and ``spec.json``."""
    p = Path(path)
    return p.is_dir() and (p / "manifest.json").is_file() and (p / "spec.json").is_file()


def job_dirs(path: str | Path) -> list[Path]:
    """The numbered job folders (``0/``, ``1/``, ...) of a multirun folder, in job order."""
    p = Path(path)
    if not p.is_dir():
        return []
    jobs = [d for d in p.iterdir() if d.is_dir() and d.name.isdigit()]
    return sorted(jobs, key=lambda d: int(d.name))


def is_multirun_dir(path: str | Path) -> bool:
    """True if ``path`` is a Hydra multirun folder (``multirun.yaml``/``sweep.parquet`` or numbered run folders)."""
    p = Path(path)
    if not p.is_dir() or is_run_dir(p):
        return False
    if (p / "multirun.yaml").is_file() or (p / "sweep.parquet").is_file():
        return True
    return any(is_run_dir(d) for d in job_dirs(p))


def _not_a_run(p: Path) -> RunFolderError:
    if not p.exists():
        return RunFolderError(f"{p}: no such folder")
    if not p.is_dir():
        return RunFolderError(f"{p}: is a file, not a run folder")
    missing = next(name for name in ("manifest.json", "spec.json") if not (p / name).is_file())
    return RunFolderError(f"{p}: not a run folder ({missing} is missing)")


def expand_runs(paths: Iterable[str | Path]) -> list[Path]:
    """Run folders named by ``paths``; a multirun folder expands to its job folders in job order."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if is_run_dir(p):
            out.append(p)
        elif is_multirun_dir(p):
            jobs = job_dirs(p)
            if not jobs:
                raise RunFolderError(f"{p}: multirun folder without job folders (0/, 1/, ...)")
            out.extend(jobs)
        else:
            raise _not_a_run(p)
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RunFolderError(f"{path}: cannot read ({_one_line(err)})") from err
    if not isinstance(data, dict):
        raise RunFolderError(f"{path}: expected a JSON object")
    return data


def _read_parquet(path: Path, columns: Iterable[str] = ()) -> pd.DataFrame:
    """A Parquet table; RunFolderError (one line) if it cannot be read or lacks one of ``columns``."""
    try:
        df = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many types; the user needs one line either way
        raise RunFolderError(f"{path}: cannot read as Parquet ({_one_line(err)}); allowed: the table "
                             "python -m sim writes") from err
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RunFolderError(f"{path}: column {missing[0]!r} is missing; required: {', '.join(columns)}")
    return df


# --- validating a run folder as it is read -------------------------------------------------------------------
def _show(value: Any, limit: int = 60) -> str:
    """``repr`` of a value found in a file, shortened to fit on one line."""
    if isinstance(value, np.generic):
        value = value.item()
    text = " ".join(repr(value).splitlines())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bad(file: Path, field: str, value: Any, allowed: str) -> RunFolderError:
    """The one-line report: ``<folder>/<file>: <field>: got <value>; allowed: <what is allowed>``."""
    return RunFolderError(f"{file}: {field}: got {_show(value)}; allowed: {allowed}")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _check_whole(file: Path, field: str, value: Any, low: int, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not _is_int(value) or value < low:
        raise _bad(file, field, value, f"a whole number ≥ {low}")


def _check_mapping(file: Path, field: str, value: Any, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, dict):
        raise _bad(file, field, value, "a mapping (JSON object)")


def _check_strings(file: Path, field: str, value: Any, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(file, field, value, "a list of strings")


def _check_share(file: Path, field: str, entry: Any) -> None:
    """``{"p": share in [0, 1], "se": ≥ 0 or null}``."""
    _check_mapping(file, field, entry, optional=False)
    p, se = entry.get("p"), entry.get("se")
    if p is not None and not (_is_number(p) and (math.isnan(p) or 0 <= p <= 1)):
        raise _bad(file, f"{field}.p", p, "a share from 0 to 1, or null")
    if se is not None and not (_is_number(se) and (math.isnan(se) or se >= 0)):
        raise _bad(file, f"{field}.se", se, "a standard error ≥ 0, or null")


def _check_manifest(p: Path, m: dict[str, Any]) -> None:
    file = p / "manifest.json"
    status = m.get("status")
    if status != "complete":
        raise RunFolderError(f"{p}: run is not complete: manifest.json: status: got {_show(status)}; allowed: "
                             "'complete' (a run that finished)")
    _check_whole(file, "n_runs", m.get("n_runs"), 1)
    _check_whole(file, "seed", m.get("seed"), 0)
    _check_whole(file, "steps", m.get("steps"), 1)
    _check_strings(file, "overrides", m.get("overrides"))
    for key in ("versions", "trajectories", "timings"):
        _check_mapping(file, key, m.get(key))
    for key, value in (m.get("timings") or {}).items():
        if value is not None and not _is_number(value):
            raise _bad(file, f"timings.{key}", value, "a number of seconds, or null")
    if m.get("wall_seconds") is not None and not _is_number(m["wall_seconds"]):
        raise _bad(file, "wall_seconds", m["wall_seconds"], "a number of seconds, or null")


def _check_spec(p: Path, spec: dict[str, Any], manifest: dict[str, Any]) -> None:
    file = p / "spec.json"
    scenario = spec.get("scenario")
    _check_mapping(file, "scenario", scenario)
    scenario = scenario or {}
    if scenario.get("name") is not None and not isinstance(scenario["name"], str):
        raise _bad(file, "scenario.name", scenario["name"], "text")
    changes = scenario.get("changes")
    if changes is not None and not (isinstance(changes, list) and all(isinstance(c, dict) for c in changes)):
        raise _bad(file, "scenario.changes", changes, "a list of mappings {path, value, source}")
    for i, change in enumerate(changes or []):
        _check_mapping(file, f"scenario.changes[{i}].source", change.get("source"))
    for key in ("actor_ids", "issue_ids", "rungs", "overrides"):
        _check_strings(file, key, spec.get(key))
    if spec.get("rungs") is not None and not spec["rungs"]:
        raise _bad(file, "rungs", spec["rungs"], "the names of the escalation ladder's rungs (at least one)")
    for key in ("actors", "issues"):
        _check_mapping(file, key, spec.get(key))
        for k, v in (spec.get(key) or {}).items():
            _check_mapping(file, f"{key}.{k}", v, optional=False)
    registry = spec.get("outcomes")
    if registry is not None:
        if not isinstance(registry, list) or not all(isinstance(o, dict) for o in registry):
            raise _bad(file, "outcomes", registry, "a list of outcomes {name, kind, label, group, dtype}")
        for i, o in enumerate(registry):
            if not isinstance(o.get("name"), str) or not o["name"] or o["name"] == "replica":
                raise _bad(file, f"outcomes[{i}].name", o.get("name"), "a column name of outcomes.parquet")
            if o.get("kind") not in names.KINDS:
                raise _bad(file, f"outcomes[{i}].kind", o.get("kind"), f"one of {', '.join(names.KINDS)}")
            if not isinstance(o.get("label", ""), str):
                raise _bad(file, f"outcomes[{i}].label", o.get("label"), "text")
    for key, low in (("n_runs", 1), ("seed", 0), ("steps", 1)):
        _check_whole(file, key, spec.get(key), low)
        if spec.get(key) is not None and manifest.get(key) is not None and spec[key] != manifest[key]:
            raise RunFolderError(f"{file}: {key}: got {_show(spec[key])}; allowed: the value manifest.json "
                                 f"records ({_show(manifest[key])})")


def _check_summary(file: Path, summary: dict[str, Any]) -> None:
    """``summary.json``: the structure the pages read (probabilities, rungs, outcome and utility statistics)."""
    probabilities = summary.get("probabilities")
    _check_mapping(file, "probabilities", probabilities)
    for key, entry in (probabilities or {}).items():
        if key == "max_rung":
            if not isinstance(entry, list):
                raise _bad(file, "probabilities.max_rung", entry, "a list of {rung, p, se}")
            for i, row in enumerate(entry):
                _check_share(file, f"probabilities.max_rung[{i}]", row)
                if not _is_int(row.get("rung")) or row["rung"] < 0:
                    raise _bad(file, f"probabilities.max_rung[{i}].rung", row.get("rung"), "a rung number ≥ 0")
        else:
            _check_share(file, f"probabilities.{key}", entry)
    for section in ("outcomes", "utilities", "timing"):
        _check_mapping(file, section, summary.get(section))
        for key, stats in (summary.get(section) or {}).items():
            if stats is None and section == "timing":
                continue
            _check_mapping(file, f"{section}.{key}", stats, optional=False)
            for stat, value in stats.items():
                if value is not None and not _is_number(value):
                    raise _bad(file, f"{section}.{key}.{stat}", value, "a number, or null")


def validate_summary(path: Path, summary: dict[str, Any]) -> None:
    """Raise :class:`RunFolderError` (one line) if ``summary`` (read from ``path``) is not a run's summary."""
    _check_summary(path, summary)


def _first_text(values: pd.Series) -> Any:
    """The first value of an object column that is not a number (for the message)."""
    for v in values:
        if not _is_number(v) and not isinstance(v, (bool, np.bool_)):
            return v
    return values.iloc[0]


def _check_column(file: Path, column: pd.Series, kind: str, *, n_rungs: int, steps: int | None,
                  issue: bool) -> None:
    """One outcome column against its kind: true/false, finite numbers, rungs, months."""
    name = f"column {column.name!r}"
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) and kind != "probability":
        raise _bad(file, name, bool(column.iloc[0]), f"numbers ({kind})")
    if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
        what = "true/false" if kind == "probability" else f"numbers ({kind})"
        raise _bad(file, f"{name} holds text", _first_text(column), what)
    values = column.to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(values)
    if kind == "step":
        bad = ~bad & ((values != np.round(values)) | (values < 0) | (steps is not None and values > steps))
        if bad.any():
            allowed = f"a month from 0 to {steps}" if steps is not None else "a month ≥ 0"
            raise _bad(file, f"{name} (row {int(bad.argmax())})", values[bad.argmax()], allowed + ", or null")
        return
    if kind == "probability":
        bad |= (values != 0) & (values != 1)
        allowed = "true/false"
    elif kind == "rung":
        bad |= (values != np.round(values)) | (values < 0) | (values > n_rungs - 1)
        allowed = f"a rung from 0 to {n_rungs - 1}"
    elif issue:
        bad |= (values < 0) | (values > 100)
        allowed = "a number from 0 to 100"
    else:
        bad |= ~np.isfinite(values)
        allowed = "a finite number"
    if bad.any():
        i = int(bad.argmax())
        raise _bad(file, f"{name} (row {i})", column.iloc[i], allowed)


def _check_outcomes(p: Path, df: pd.DataFrame, registry: list[dict[str, Any]], spec: dict[str, Any],
                    n_runs: int | None, steps: int | None, n_rungs: int) -> None:
    """``outcomes.parquet``: one row per replica 0 … n_runs − 1, one column per registry outcome, right kinds."""
    file = p / "outcomes.parquet"
    needed = ["replica", *(o["name"] for o in registry)]
    if not spec.get("outcomes"):          # an old run folder: the registry comes from the columns
        needed += [n for n in _LEGACY if n not in needed and n != names.DEAL_EVER]
    for column in needed:
        if column not in df.columns:
            raise RunFolderError(f"{file}: column {column!r} is missing; required: one column per outcome of "
                                 f"the run ({', '.join(needed)})")
    where = f"one row per replica ({n_runs}, manifest.json n_runs)" if n_runs else "one row per replica"
    if len(df) == 0 or (n_runs is not None and len(df) != n_runs):
        raise RunFolderError(f"{file}: got {len(df)} rows; allowed: {where}")
    replica = df["replica"]
    if not pd.api.types.is_integer_dtype(replica.dtype):
        raise _bad(file, "column 'replica'", _first_text(replica) if replica.dtype == object else replica.iloc[0],
                   "whole numbers (replica ids)")
    ids = replica.to_numpy(dtype=np.int64)
    n = len(df)
    out_of_range = (ids < 0) | (ids >= n)
    if out_of_range.any():
        raise _bad(file, "column 'replica'", int(ids[out_of_range.argmax()]), f"replica ids 0 to {n - 1}")
    counts = np.bincount(ids, minlength=n)
    if (counts > 1).any():
        r = int(counts.argmax())
        raise RunFolderError(f"{file}: column 'replica': got replica {r} {int(counts[r])} times; allowed: each "
                             f"replica once (0 to {n - 1})")
    issues = {names.issue_outcome(i) for i in spec.get("issue_ids") or spec.get("issues") or {}}
    for o in registry:
        _check_column(file, df[o["name"]], str(o["kind"]), n_rungs=n_rungs, steps=steps, issue=o["name"] in issues)


@dataclass
class RunData:
    """One run folder: the JSON files eagerly, the parquet tables on first use."""

    path: Path
    spec: dict[str, Any]
    manifest: dict[str, Any]
    summary: dict[str, Any]

    def _table(self, name: str) -> pd.DataFrame:
        file = self.path / name
        if file.is_file():
            return _read_parquet(file, OPTIONAL_TABLES[name])
        return pd.DataFrame({c: pd.Series(dtype="object") for c in OPTIONAL_TABLES[name]})

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """One row per replica (``outcomes.parquet``), sorted by replica; a run written before the
        ``deal_ever`` column existed gets it from the month of the first deal."""
        return _read_outcomes(self.path / "outcomes.parquet")

    @cached_property
    def trajectories(self) -> pd.DataFrame:
        """Per-step paths of the stored replicas (empty if not written)."""
        return self._table("trajectories.parquet")

    @cached_property
    def quantiles(self) -> pd.DataFrame:
        """Per-step quantiles over all replicas (empty if not written)."""
        return self._table("trajectory_quantiles.parquet")

    @cached_property
    def events(self) -> pd.DataFrame:
        """Event log of a sample of replicas (empty if not written)."""
        return self._table("events.parquet")

    # --- the outcome registry ---------------------------------------------------------------------------------
    @cached_property
    def registry(self) -> list[dict[str, Any]]:
        """The run's outcomes ``{name, kind, label, group, dtype}`` in registry order (``spec.json``; for older
        run folders derived from the columns of ``outcomes.parquet``), only those with a column."""
        columns = list(self.outcomes.columns)
        return [o for o in registry_for(self.spec, columns) if o["name"] in columns]

    def label(self, name: str) -> str:
        """An outcome's label (``US–Iran nuclear deal ever signed``); its name if the registry lacks it."""
        return names.label(self.registry, name)

    def kind(self, name: str) -> str | None:
        """An outcome's kind, None if the run has no such outcome."""
        return next((str(o["kind"]) for o in self.registry if o["name"] == name), None)

    def has(self, name: str) -> bool:
        """True if the run has the outcome ``name``."""
        return any(o["name"] == name for o in self.registry)

    def of_kind(self, kind: str) -> list[str]:
        """Names of the run's outcomes of one kind, in registry order."""
        return [str(o["name"]) for o in names.by_kind(self.registry, kind)]

    def issue_of(self, name: str) -> str | None:
        """The issue whose final outcome the column ``name`` is, None if it is no issue's."""
        return {names.issue_outcome(i): i for i in self.issue_ids}.get(name)

    def actor_of(self, name: str) -> str | None:
        """The actor whose utility the column ``name`` is, None if it is no actor's."""
        return {names.utility_outcome(a): a for a in self.actor_ids}.get(name)

    @property
    def deal_name(self) -> str:
        """What the deal is called (the words its outcomes' labels start with, ``US–Iran nuclear deal``)."""
        labels = [self.label(n) for n in (names.DEAL, names.DEAL_EVER, names.DEAL_BROKEN) if self.has(n)]
        return common_subject(labels) or "deal"

    def probability(self, name: str) -> dict[str, float]:
        """``{"p", "se"}`` of a probability outcome: from ``summary.json``, else from its column."""
        entry = self.summary.get("probabilities", {}).get(name)
        if isinstance(entry, dict) and "p" in entry:
            return {"p": float(entry["p"]), "se": float(entry.get("se", math.nan))}
        if name not in self.outcomes:
            return {}
        x = self.outcomes[name].astype(bool).to_numpy()
        n = max(len(x), 1)
        p = float(x.mean()) if len(x) else math.nan
        return {"p": p, "se": math.sqrt(p * (1 - p) / n)}

    def timing(self, name: str) -> dict[str, float | None]:
        """``{"median", "q25", "q75"}`` of a step outcome among replicas where it happened (``summary.json``'s
        ``timing``, else computed from its column)."""
        entry = (self.summary.get("timing") or {}).get(name)
        if entry is None and name == names.DEAL_STEP:
            entry = self.summary.get(names.DEAL_STEP)  # run folders from before ``timing``
        if isinstance(entry, dict):
            return {k: entry.get(k) for k in ("median", "q25", "q75")}
        if name not in self.outcomes:
            return {"median": None, "q25": None, "q75": None}
        steps = self.outcomes[name].dropna().to_numpy(dtype=float)
        if not len(steps):
            return {"median": None, "q25": None, "q75": None}
        q25, median, q75 = np.quantile(steps, [0.25, 0.5, 0.75])
        return {"median": float(median), "q25": float(q25), "q75": float(q75)}

    # --- convenience accessors -------------------------------------------------------------------------------
    @property
    def scenario_name(self) -> str:
        return str(self.spec.get("scenario", {}).get("name") or self.manifest.get("scenario") or self.path.name)

    @property
    def actor_ids(self) -> list[str]:
        return list(self.spec.get("actor_ids") or self.spec.get("actors", {}).keys())

    @property
    def issue_ids(self) -> list[str]:
        return list(self.spec.get("issue_ids") or self.spec.get("issues", {}).keys())

    @property
    def rungs(self) -> list[str]:
        return [str(r) for r in self.spec.get("rungs", [])] or [f"rung {k}" for k in range(7)]

    @property
    def n_runs(self) -> int:
        return int(self.manifest.get("n_runs") or self.spec.get("n_runs") or len(self.outcomes))

    @property
    def seed(self) -> int | None:
        seed = self.manifest.get("seed", self.spec.get("seed"))
        return None if seed is None else int(seed)

    @property
    def steps(self) -> int:
        return int(self.manifest.get("steps") or self.spec.get("steps") or 0)

    def actor_name(self, actor: str) -> str:
        return str(self.spec.get("actors", {}).get(actor, {}).get("name") or actor)

    def issue(self, issue: str) -> dict[str, str]:
        """``{"label", "scale_0", "scale_100"}`` for an issue, falling back to its id."""
        meta = self.spec.get("issues", {}).get(issue, {})
        return {
            "label": str(meta.get("label") or issue.replace("_", " ")),
            "scale_0": str(meta.get("scale_0") or "0"),
            "scale_100": str(meta.get("scale_100") or "100"),
        }

    @property
    def short_overrides(self) -> list[str]:
        """Command-line overrides minus the scenario and result-neutral settings, ``actors.`` dropped from keys."""
        out = []
        for item in self.manifest.get("overrides") or []:
            text = str(item)
            if text.lstrip("+~").startswith(_LABEL_SKIP):
                continue
            out.append(text.removeprefix("actors.").removeprefix("+"))
        return out

    @property
    def title(self) -> str:
        """Scenario name plus short overrides, e.g. ``grand_bargain (us.salience.ukraine_support=0.8)``."""
        extra = self.short_overrides
        return f"{self.scenario_name} ({', '.join(extra)})" if extra else self.scenario_name


def _read_outcomes(file: Path) -> pd.DataFrame:
    """``outcomes.parquet`` in replica order; a run written before ``deal_ever`` existed gets it from the month
    of the first deal."""
    out = _read_parquet(file)
    if "replica" in out and not out["replica"].is_monotonic_increasing:
        out = out.sort_values("replica", kind="stable").reset_index(drop=True)
    if names.DEAL_EVER not in out and names.DEAL_STEP in out:
        at = list(out.columns).index(names.DEAL_STEP)
        out.insert(at, names.DEAL_EVER, out[names.DEAL_STEP].notna().to_numpy(dtype=bool))
    return out


def load_run(path: str | Path) -> RunData:
    """Read and validate a complete run folder; raise :class:`RunFolderError` (one line naming the folder, the
    file and field, the value found and what is allowed) if it is not one.

    Checked: the manifest says ``complete`` and holds whole numbers ``n_runs ≥ 1``, ``seed``, ``steps`` and a list of
    ``overrides``; ``spec.json`` has the types the pages read and agrees with the manifest; ``summary.json`` holds
    shares in [0, 1] and numbers; ``outcomes.parquet`` is readable, has one row per replica (ids 0 … n_runs − 1,
    each once) and one column per outcome of the registry with values of its kind (true/false, finite numbers,
    issue outcomes on 0–100, rungs of the ladder, months of the run). The optional tables are checked for their
    columns when first read.
    """
    p = Path(path)
    if not is_run_dir(p):
        if is_multirun_dir(p):
            raise RunFolderError(f"{p}: is a multirun folder; pass one of its job folders (0/, 1/, ...)")
        raise _not_a_run(p)
    manifest = _read_json(p / "manifest.json")
    _check_manifest(p, manifest)
    for name in REQUIRED_FILES:
        if not (p / name).is_file():
            raise RunFolderError(f"{p}: not a complete run folder ({name} is missing)")
    spec = _read_json(p / "spec.json")
    _check_spec(p, spec, manifest)
    summary = _read_json(p / "summary.json")
    _check_summary(p / "summary.json", summary)
    run = RunData(path=p, spec=spec, manifest=manifest, summary=summary)
    outcomes = _read_outcomes(p / "outcomes.parquet")
    run.__dict__["outcomes"] = outcomes              # the cached property, read once
    n_runs = manifest.get("n_runs", spec.get("n_runs"))
    steps = manifest.get("steps", spec.get("steps"))
    registry = registry_for(spec, [c for c in outcomes.columns if c != "replica"])
    _check_outcomes(p, outcomes, registry, spec, n_runs, steps, len(run.rungs))
    return run


if __name__ == "__main__":         # python -m sim.runs list|show|sql: the index of runs (sim.run_index)
    import sys

    from sim.run_index import main

    sys.exit(main())
