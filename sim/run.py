"""The application layer: compose the validated spec once, execute a run, write its folder.

The command line (:mod:`sim.cli`), the validations, the benchmarks and the tests call these functions; nothing
here prints. Hydra composes ``conf/config.yaml`` + the knowledge base + ``scenarios/<scenario>.yaml`` + overrides;
every scenario file in ``scenarios/`` is registered in Hydra's ConfigStore, so dropping a YAML file there adds a
scenario.

What is done once per process (start-up is most of a small run's wall time, see ``bench/startup.py``):

* :func:`register_configs` parses the scenario files and the knowledge base with libyaml's C parser under
  OmegaConf's own rules (its float syntax, no timestamps, duplicate keys refused: :func:`_yaml_loader`), and only
  re-reads a file whose size or modification time changed since it was stored;
* :func:`baseline_knowledge` validates ``scenarios/knowledge/baseline.yaml`` (and checks its cited phrases against
  the seed files) once and keeps it, so :func:`spec_from_config` does not load it from disk for every spec.

:data:`CLOCK` holds wall-clock marks of the phases of this process's run (composition, validation, engine imports,
simulation, writing) for ``bench/startup.py``; :func:`mark` adds one.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from omegaconf import Container, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim import PROJECT_ROOT
from sim.errors import ConfigError

if TYPE_CHECKING:  # the spec module imports the mechanisms: keep it off the import path of light callers
    from sim.knowledge import KnowledgeBase
    from sim.spec import RunSpec

Progress = Callable[[int], None]

CONF_DIR = PROJECT_ROOT / "conf"
SCENARIO_DIR = PROJECT_ROOT / "scenarios"
KNOWLEDGE_FILE = SCENARIO_DIR / "knowledge" / "baseline.yaml"

#: Wall-clock marks (``time.time()``) of this process's run, by phase name; see :func:`mark`.
CLOCK: dict[str, float] = {}


def mark(name: str) -> None:
    """Note the wall-clock time at which phase ``name`` ended (or began), for ``bench/startup.py``."""
    CLOCK[name] = time.time()


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


# --- YAML ----------------------------------------------------------------------------------------------------
@functools.cache
def _yaml_loader() -> Any:
    """OmegaConf's YAML loader on libyaml's C parser (same resolvers and constructors; ~15× faster to parse).

    ``OmegaConf.load`` builds its loader on the pure-Python ``yaml.SafeLoader``; parsing the knowledge base that
    way took a tenth of a second each time. Falls back to OmegaConf's own loader without libyaml.
    """
    from omegaconf._utils import get_yaml_loader

    python_loader = get_yaml_loader()
    c_loader = getattr(yaml, "CSafeLoader", None)
    if c_loader is None:
        return python_loader

    class Loader(c_loader):  # type: ignore[misc, valid-type]
        yaml_implicit_resolvers = python_loader.yaml_implicit_resolvers
        yaml_constructors = python_loader.yaml_constructors

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
            keys = set()                              # as OmegaConf's loader: a duplicate key is an error
            for key_node, _ in node.value:
                if key_node.tag != yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG:
                    continue
                if key_node.value in keys:
                    raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                            f"found duplicate key {key_node.value}",
                                                            key_node.start_mark)
                keys.add(key_node.value)
            return super().construct_mapping(node, deep=deep)

    return Loader


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size, st.st_ino


def _load_yaml(path: Path) -> Any:
    """The file's content as OmegaConf would load it (a dict), or ConfigError with one line."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_yaml_loader())
        if data is None or isinstance(data, (dict, list)):
            return {} if data is None else data
    except Exception:  # noqa: BLE001 - told below in OmegaConf's words
        pass
    try:                                              # the slow loader, for OmegaConf's own message
        return OmegaConf.to_container(OmegaConf.load(path))
    except (OmegaConfBaseException, ValueError, OSError) as exc:
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path.relative_to(PROJECT_ROOT)}: not valid YAML: {line}") from None
    except Exception as exc:  # yaml.YAMLError and friends
        raise ConfigError(f"{path.relative_to(PROJECT_ROOT)}: not valid YAML: {str(exc).splitlines()[0]}") from None


# --- composing -----------------------------------------------------------------------------------------------
_registered: dict[tuple[str, str], tuple[int, int, int]] = {}


def register_configs() -> None:
    """Put the knowledge base and every scenario file into Hydra's ConfigStore (files unchanged since are kept)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    files = [("knowledge", "baseline", KNOWLEDGE_FILE)]
    files += [("scenario", p.stem, p) for p in sorted(SCENARIO_DIR.glob("*.yaml"))]
    for group, name, path in files:
        stamp = _stamp(path)
        if _registered.get((group, name)) == stamp and f"{name}.yaml" in cs.repo.get(group, {}):
            continue
        cs.store(group=group, name=name, node=_load_yaml(path), package="_global_")
        _registered[(group, name)] = stamp
    present = {(g, n) for g, n, _ in files}
    for group, name in [k for k in _registered if k not in present]:   # a scenario file was removed
        cs.repo.get(group, {}).pop(f"{name}.yaml", None)
        del _registered[(group, name)]


def compose_config(overrides: list[str], config_name: str = "config") -> DictConfig:
    """Hydra's composition of ``config_name`` + overrides (Hydra must be initialised, see :func:`compose_spec`)."""
    from hydra import compose

    return compose(config_name=config_name, overrides=overrides)


def plain(cfg: DictConfig) -> dict[str, Any]:
    """The composed config as plain data, interpolations resolved, without Hydra's own ``hydra`` node.

    The ``hydra`` node is left out before resolving: it holds values Hydra only sets once the job runs.
    """
    data: dict[str, Any] = {}
    for key in cfg.keys():
        if key == "hydra":
            continue
        value = cfg[key]
        data[str(key)] = OmegaConf.to_container(value, resolve=True) if isinstance(value, Container) else value
    return data


_baseline: list[Any] = []      # [stamp, KnowledgeBase] once loaded


def baseline_knowledge() -> KnowledgeBase:
    """The validated baseline knowledge base, loaded (and its sources checked) once per process and file version."""
    from sim.knowledge import display_path, load_knowledge

    stamp = _stamp(KNOWLEDGE_FILE)
    if _baseline and _baseline[0] == stamp:
        return _baseline[1]
    try:
        data = yaml.load(KNOWLEDGE_FILE.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader",
                                                                                      yaml.SafeLoader))
    except Exception:  # noqa: BLE001 - unreadable or not YAML: load_knowledge tells it in one line
        kb = load_knowledge(KNOWLEDGE_FILE)
    else:                                             # yaml.safe_load's rules, libyaml's speed
        kb = load_knowledge(data=data, origin=display_path(KNOWLEDGE_FILE))
    _baseline[:] = [stamp, kb]
    return kb


def spec_from_config(cfg: DictConfig | dict[str, Any], *, origin: str = "config",
                     overrides: list[str] | None = None) -> RunSpec:
    """Validate a composed config (Hydra's, or its plain dict) into a RunSpec; ConfigError with one line."""
    from sim.spec import build_spec

    data = plain(cfg) if isinstance(cfg, DictConfig) else cfg
    return build_spec(data, origin=origin, overrides=list(overrides or []), baseline=baseline_knowledge())


def compose_spec(*overrides: str) -> RunSpec:
    """The validated spec for these overrides, composed exactly as ``python -m sim`` composes it (code, tests)."""
    from hydra import initialize_config_dir

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose_config(list(overrides))
    return spec_from_config(cfg, origin=" ".join(overrides) or "defaults", overrides=list(overrides))


# --- executing -----------------------------------------------------------------------------------------------
def execute(spec: RunSpec, run_dir: Path, *, progress: Progress | None = None) -> dict[str, Any]:
    """Run the experiment and write the run folder; the manifest says how it ended."""
    from sim.experiment import chunk_plan, choose_executor, run_experiment
    from sim.results import ParametersWriter, git_commit, package_versions, spec_document, write_json, write_results

    mark("engine_imported")
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
    mark("simulate_start")
    t0 = time.perf_counter()
    parameters = ParametersWriter(run_dir / "parameters.parquet")
    try:
        results = run_experiment(spec, executor, on_chunk=progress, sink=parameters)
        t1 = time.perf_counter()
        mark("simulated")
        parameters.close()
        summary = write_results(run_dir, spec, results)
        t2 = time.perf_counter()
        manifest["status"] = "complete"           # the results are whole; the report reads them as a run
        manifest["timings"] = {"simulate": t1 - t0, "write": t2 - t1}
        _stamp_finished(manifest, started)        # for the report; stamped again once the report is written
        write_json(run_dir / "manifest.json", manifest)
        mark("written")
        report = None
        if spec.run.report:
            from sim.report.run_report import render_run_report
            report = render_run_report(run_dir)
        t3 = time.perf_counter()
        manifest["timings"]["report"] = t3 - t2
        mark("reported")
        return {"summary": summary, "report": report, "run_dir": run_dir}
    except KeyboardInterrupt:
        parameters.abort()
        manifest["status"] = "interrupted"
        raise
    except BaseException as exc:
        parameters.abort()
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
