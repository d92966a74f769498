"""The application layer: compose the validated spec once, execute a run, write its folder.

The command line (:mod:`sim.cli`), the validations, the benchmarks and the tests call these functions; nothing
here prints. Hydra composes ``conf/config.yaml`` + the knowledge base + ``scenarios/<scenario>.yaml`` + overrides;
every scenario file in ``scenarios/`` is registered in Hydra's ConfigStore, so dropping a YAML file there adds a
scenario.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim import PROJECT_ROOT
from sim.errors import ConfigError
from sim.spec import RunSpec, build_spec

Progress = Callable[[int], None]

CONF_DIR = PROJECT_ROOT / "conf"
SCENARIO_DIR = PROJECT_ROOT / "scenarios"
KNOWLEDGE_FILE = SCENARIO_DIR / "knowledge" / "baseline.yaml"


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def _load_yaml(path: Path) -> DictConfig:
    try:
        return OmegaConf.load(path)
    except (OmegaConfBaseException, ValueError, OSError) as exc:
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path.relative_to(PROJECT_ROOT)}: not valid YAML: {line}") from None
    except Exception as exc:  # yaml.YAMLError and friends
        raise ConfigError(f"{path.relative_to(PROJECT_ROOT)}: not valid YAML: {str(exc).splitlines()[0]}") from None


def register_configs() -> None:
    """Put the knowledge base and every scenario file into Hydra's ConfigStore."""
    cs = ConfigStore.instance()
    cs.store(group="knowledge", name="baseline", node=_load_yaml(KNOWLEDGE_FILE), package="_global_")
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        cs.store(group="scenario", name=path.stem, node=_load_yaml(path), package="_global_")


def compose_config(overrides: list[str]) -> DictConfig:
    from hydra import compose

    return compose(config_name="config", overrides=overrides)


def compose_spec(*overrides: str) -> RunSpec:
    """The validated spec for these overrides, composed exactly as ``python -m sim`` composes it (for code and tests)."""
    from hydra import initialize_config_dir

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose_config(list(overrides))
    return build_spec(plain(cfg), origin=" ".join(overrides) or "defaults", overrides=list(overrides))


def plain(cfg: DictConfig) -> dict[str, Any]:
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    return data


def execute(spec: RunSpec, run_dir: Path, *, progress: Progress | None = None) -> dict[str, Any]:
    """Run the experiment and write the run folder; the manifest says how it ended."""
    from sim.experiment import chunk_plan, choose_executor, run_experiment
    from sim.results import git_commit, package_versions, spec_document, write_json, write_results

    run_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc)
    chunks = chunk_plan(spec.run.n_runs, spec.run.chunk_size)
    executor = choose_executor(spec, len(chunks))
    manifest: dict[str, Any] = {
        "status": "running", "scenario": spec.about.name, "seed": spec.run.seed, "n_runs": spec.run.n_runs,
        "steps": spec.run.steps, "chunk_size": spec.run.chunk_size, "block_size": 256,
        "workers": getattr(executor, "workers", 1), "overrides": spec.overrides,
        "started": started.isoformat(), "finished": None, "wall_seconds": None, "timings": {},
        "versions": package_versions(), "git_commit": git_commit(),
        "trajectories": {"stored_replicas": min(spec.run.trajectory_replicas, spec.run.n_runs),
                         "note": (f"per-replica trajectories stored for the first "
                                  f"{min(spec.run.trajectory_replicas, spec.run.n_runs)} replicas; per-step "
                                  "quantiles (trajectory_quantiles.parquet) use all replicas")},
        "event_replicas": min(spec.run.event_replicas, spec.run.n_runs),
        "command": " ".join(["python -m sim", *sys.argv[1:]]),
    }
    write_json(run_dir / "manifest.json", manifest)
    write_json(run_dir / "spec.json", spec_document(spec))
    t0 = time.perf_counter()
    try:
        results = run_experiment(spec, executor, on_chunk=progress)
        t1 = time.perf_counter()
        summary = write_results(run_dir, spec, results)
        t2 = time.perf_counter()
        manifest["status"] = "complete"           # the results are whole; the report reads them as a run
        manifest["timings"] = {"simulate": t1 - t0, "write": t2 - t1}
        _stamp_finished(manifest, started)        # for the report; stamped again once the report is written
        write_json(run_dir / "manifest.json", manifest)
        report = None
        if spec.run.report:
            from sim.report.run_report import render_run_report
            report = render_run_report(run_dir)
        t3 = time.perf_counter()
        manifest["timings"]["report"] = t3 - t2
        return {"summary": summary, "report": report, "run_dir": run_dir}
    except KeyboardInterrupt:
        manifest["status"] = "interrupted"
        raise
    except BaseException as exc:
        manifest["status"] = "failed"
        manifest["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        _stamp_finished(manifest, started)
        write_json(run_dir / "manifest.json", manifest)


def _stamp_finished(manifest: dict[str, Any], started: datetime) -> None:
    finished = datetime.now(timezone.utc)
    manifest["finished"] = finished.isoformat()
    manifest["wall_seconds"] = (finished - started).total_seconds()


