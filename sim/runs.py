"""Reading the run folders the engine writes (``spec.json``, ``manifest.json``, ``summary.json``, parquet tables).

A *run folder* holds one Monte Carlo experiment; a *multirun folder* (Hydra ``-m``) holds numbered job folders
``0/``, ``1/``, ... each a run folder, plus ``multirun.yaml`` and ``sweep.parquet``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

#: Files a complete run folder must hold.
REQUIRED_FILES: tuple[str, ...] = ("spec.json", "manifest.json", "summary.json", "outcomes.parquet")
#: Tables a run may lack (then read as empty tables with the contract's columns).
OPTIONAL_TABLES: dict[str, tuple[str, ...]] = {
    "trajectories.parquet": ("replica", "step", "escalation", "deal"),
    "trajectory_quantiles.parquet": ("step", "variable", "q05", "q25", "q50", "q75", "q95", "mean"),
    "events.parquet": ("replica", "step", "actor", "event", "description", "rung_before", "rung_after"),
}


#: Overrides left out of run labels: the scenario (already named) and settings that do not change results.
_LABEL_SKIP = ("scenario=", "hydra.", "workers=", "chunk_size=", "report=", "trajectory_replicas=",
               "event_replicas=")


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


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many types; the user needs one line either way
        raise RunFolderError(f"{path}: cannot read ({_one_line(err)})") from err


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
            return _read_parquet(file)
        return pd.DataFrame({c: pd.Series(dtype="object") for c in OPTIONAL_TABLES[name]})

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """One row per replica (``outcomes.parquet``), sorted by replica."""
        return _read_parquet(self.path / "outcomes.parquet").sort_values("replica").reset_index(drop=True)

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
    def label(self) -> str:
        """Scenario name plus short overrides, e.g. ``grand_bargain (us.salience.ukraine_support=0.8)``."""
        extra = self.short_overrides
        return f"{self.scenario_name} ({', '.join(extra)})" if extra else self.scenario_name


def load_run(path: str | Path) -> RunData:
    """Read a complete run folder; raise :class:`RunFolderError` (one line) if it is not one."""
    p = Path(path)
    if not is_run_dir(p):
        if is_multirun_dir(p):
            raise RunFolderError(f"{p}: is a multirun folder; pass one of its job folders (0/, 1/, ...)")
        raise _not_a_run(p)
    manifest = _read_json(p / "manifest.json")
    status = manifest.get("status")
    if status != "complete":
        raise RunFolderError(f"{p}: run is not complete (manifest status: {status!r})")
    for name in REQUIRED_FILES:
        if not (p / name).is_file():
            raise RunFolderError(f"{p}: not a complete run folder ({name} is missing)")
    return RunData(path=p, spec=_read_json(p / "spec.json"), manifest=manifest, summary=_read_json(p / "summary.json"))
