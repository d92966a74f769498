"""The application layer: compose the validated spec once, execute a run, write its folder.

The command line (:mod:`sim.cli`), the validations, the benchmarks and the tests call these functions; nothing
here prints. Hydra composes ``conf/config.yaml`` + the knowledge base + ``scenarios/<scenario>.yaml`` + overrides;
every scenario file in ``scenarios/`` (or in the folder named by the environment variable ``SIM_SCENARIO_DIR``) is
registered in Hydra's ConfigStore, so dropping a YAML file there adds a scenario. A file that cannot be read, is not
valid YAML (:mod:`sim.yamlio`: the message gives its line and column), or whose ``about.name`` is not its file name
is not registered: the others still run, and selecting it gives its one-line error (:func:`broken_scenarios`).

Interpolations are never resolved in the data: ``${...}`` is refused in scenario and knowledge files (by the
loader) and in the composed config (:func:`plain`). Provenance: a value a scenario file sets keeps the file's own
source whole (:func:`spec_from_config`), and one moved on the command line (``....mode=``) is recorded as set there.

What is done once per process (start-up is most of a small run's wall time, see ``bench/startup.py``):

* :func:`register_configs` parses the scenario files and the knowledge base with the project's one loader
  (:func:`sim.yamlio.load_yaml`: libyaml's C parser under OmegaConf's rules, duplicate keys refused), and only
  re-reads a file whose size or modification time changed since it was stored;
* :func:`baseline_knowledge` validates ``scenarios/knowledge/baseline.yaml`` (and checks its cited phrases against
  the seed files) once and keeps it, so :func:`spec_from_config` does not load it from disk for every spec.

:data:`CLOCK` holds wall-clock marks of the phases of this process's run (composition, validation, engine imports,
simulation, writing) for ``bench/startup.py``; :func:`mark` adds one.
"""

from __future__ import annotations

import copy
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import PROJECT_ROOT
from sim.errors import ConfigError, show
from sim.yamlio import load_yaml

if TYPE_CHECKING:  # the spec module imports the mechanisms, OmegaConf is imported when composing: keep them off
    from omegaconf import DictConfig  # the import path of light callers (and of Ctrl-C during start-up)

    from sim.knowledge import KnowledgeBase
    from sim.spec import RunSpec

Progress = Callable[[int], None]

CONF_DIR = PROJECT_ROOT / "conf"
SCENARIO_DIR = PROJECT_ROOT / "scenarios"        # the default; SIM_SCENARIO_DIR=<folder> reads scenarios there
KNOWLEDGE_DIR = SCENARIO_DIR / "knowledge"
KNOWLEDGE_FILE = KNOWLEDGE_DIR / "baseline.yaml"
#: A scenario's name (its file's name): a value on the command line (scenario=NAME) and a Hydra config name.
SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

#: Wall-clock marks (``time.time()``) of this process's run, by phase name; see :func:`mark`.
CLOCK: dict[str, float] = {}


def mark(name: str) -> None:
    """Note the wall-clock time at which phase ``name`` ended (or began), for ``bench/startup.py``."""
    CLOCK[name] = time.time()


def scenario_dir() -> Path:
    """Where scenario files are read: ``$SIM_SCENARIO_DIR`` when set, else ``scenarios/`` of the project."""
    env = os.environ.get("SIM_SCENARIO_DIR")
    return Path(env).expanduser().resolve() if env else SCENARIO_DIR


def scenario_names() -> list[str]:
    """The scenarios that can be selected (registered, not broken)."""
    if not _registered:
        return sorted(p.stem for p in scenario_dir().glob("*.yaml"))
    return sorted(n for g, n in _registered if g == "scenario" and n not in _broken)


def knowledge_names() -> list[str]:
    """The knowledge bases that can be selected (``knowledge=NAME``): every ``scenarios/knowledge/*.yaml``."""
    return sorted(p.stem for p in KNOWLEDGE_DIR.glob("*.yaml") if SCENARIO_NAME.match(p.stem))


def merge_knowledge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A knowledge file written as changes to the base: mappings merged key by key (recursively), anything else
    (a value, a list, a ``{low, mode, high, source}`` triangle) replaced whole."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict) and not ({"low", "mode", "high"} & set(value)):
            out[key] = merge_knowledge(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def knowledge_data(name: str) -> dict[str, Any]:
    """The composed content of knowledge base ``name``: ``baseline.yaml`` itself, or another file merged onto it
    (:func:`merge_knowledge`); ConfigError with one line."""
    data = _parsed(KNOWLEDGE_FILE)
    if name == "baseline":
        return data
    path = KNOWLEDGE_DIR / f"{name}.yaml"
    changes = _parsed(path)
    return merge_knowledge(data, {k: v for k, v in changes.items() if k != "about"})


def broken_scenarios() -> dict[str, str]:
    """The scenario files that were not registered, by name, with their one-line error."""
    return dict(_broken)


def display(path: Path) -> str:
    """``path`` for messages: relative to the project when inside it."""
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


# --- YAML ----------------------------------------------------------------------------------------------------
def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size, st.st_ino


_parsed_files: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}


def _parsed(path: Path) -> dict[str, Any]:
    """The file's mapping (:func:`sim.yamlio.load_yaml`), parsed once per file version; ConfigError with one line."""
    try:
        stamp = _stamp(path)
    except OSError as exc:
        raise ConfigError(f"{display(path)}: cannot read the file: {exc.strerror or exc}") from None
    hit = _parsed_files.get(path)
    if hit is None or hit[0] != stamp:
        hit = (stamp, load_yaml(path, display(path)))
        _parsed_files[path] = hit
    return hit[1]


# --- composing -----------------------------------------------------------------------------------------------
_registered: dict[tuple[str, str], tuple[Path, tuple[int, int, int]]] = {}
_broken: dict[str, str] = {}


def check_scenario_file(name: str, data: dict[str, Any], origin: str) -> None:
    """What a scenario file must be before it is registered: a usable name, and ``about.name`` equal to it (one
    file per scenario, so two files cannot claim one name); ConfigError with one line."""
    if not SCENARIO_NAME.match(name):
        raise ConfigError(f"{origin}: file name: got {show(name)}; allowed: letters, digits, _ and - (it is the "
                          "scenario's name on the command line)")
    about = data.get("about")
    if not isinstance(about, dict) or "name" not in about:
        raise ConfigError(f"{origin}: about.name: missing; required: {name!r}, the file's name")
    if about["name"] != name:
        raise ConfigError(f"{origin}: about.name: got {show(about['name'])}; allowed: {name!r}, the file's name "
                          "(a scenario is named by its file, one file per name)")


def register_configs() -> None:
    """Put the knowledge base and every well-formed scenario file into Hydra's ConfigStore (unchanged files are
    kept); a broken scenario file is left out and noted in :func:`broken_scenarios`. A broken knowledge base, or a
    ``SIM_SCENARIO_DIR`` that is not a folder, raises ConfigError."""
    from hydra.core.config_store import ConfigStore
    from omegaconf.errors import OmegaConfBaseException

    cs = ConfigStore.instance()
    folder = scenario_dir()
    if not folder.is_dir():
        raise ConfigError(f"SIM_SCENARIO_DIR: got {show(str(folder))}; allowed: a folder of scenario files")
    files = [("knowledge", n, KNOWLEDGE_DIR / f"{n}.yaml") for n in knowledge_names()]
    files += [("scenario", p.stem, p) for p in sorted(folder.glob("*.yaml")) if not p.is_dir()]
    for group, name, path in files:
        try:
            stamp = _stamp(path)
        except OSError:
            stamp = (-1, -1, -1)
        if group == "knowledge" and name != "baseline":   # changes to the base: the base's version counts too
            try:
                base_stamp = _stamp(KNOWLEDGE_FILE)
            except OSError:
                base_stamp = (-1, -1, -1)
            stamp = (*stamp, *base_stamp)  # type: ignore[assignment]
        if _registered.get((group, name)) == (path, stamp) and (
                name in _broken or f"{name}.yaml" in cs.repo.get(group, {})):
            continue
        _registered[(group, name)] = (path, stamp)
        try:
            data = knowledge_data(name) if group == "knowledge" else _parsed(path)
            if group == "scenario":
                check_scenario_file(name, data, display(path))
            try:
                cs.store(group=group, name=name, node=data, package="_global_")
            except (OmegaConfBaseException, ValueError, TypeError, RecursionError) as exc:
                line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ConfigError(f"{display(path)}: cannot be used as a config: {line}") from None
        except ConfigError as exc:
            if group != "scenario":
                del _registered[(group, name)]
                raise
            _broken[name] = str(exc)
            cs.repo.get(group, {}).pop(f"{name}.yaml", None)
        else:
            _broken.pop(name, None)
    present = {(g, n) for g, n, _ in files}
    for group, name in [k for k in _registered if k not in present]:   # a scenario file was removed
        cs.repo.get(group, {}).pop(f"{name}.yaml", None)
        _broken.pop(name, None)
        del _registered[(group, name)]


def scenario_data(name: str) -> dict[str, Any] | None:
    """The content of the well-formed scenario file ``name`` (None if there is none): what the file itself sets."""
    path = scenario_dir() / f"{name}.yaml"
    if not SCENARIO_NAME.match(name) or name in _broken or not path.is_file():
        return None
    try:
        return _parsed(path)
    except ConfigError:
        return None


def compose_config(overrides: list[str], config_name: str = "config") -> DictConfig:
    """Hydra's composition of ``config_name`` + overrides (Hydra must be initialised, see :func:`compose_spec`)."""
    from hydra import compose

    return compose(config_name=config_name, overrides=overrides)


def _raw(node: Any, key: Any) -> Any:
    """The value of ``node[key]`` as written (an interpolation unresolved)."""
    from omegaconf import Node

    child = node._get_node(key)
    return child._value() if isinstance(child, Node) else None


def _no_interpolation(node: Any, path: str) -> None:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    refused = "allowed: a plain value (interpolations ${...} are not resolved in scenarios, knowledge or overrides)"
    if isinstance(node, DictConfig):
        for key in node.keys():
            sub = f"{path}.{key!s}" if path else str(key)
            if OmegaConf.is_interpolation(node, str(key)):
                raise ConfigError(f"{sub}: got {show(_raw(node, key))}; {refused}")
            _no_interpolation(node._get_node(key), sub)
    elif isinstance(node, ListConfig):
        for i in range(len(node)):
            if OmegaConf.is_interpolation(node, i):
                raise ConfigError(f"{path}.{i}: got {show(_raw(node, i))}; {refused}")
            _no_interpolation(node._get_node(i), f"{path}.{i}")


def plain(cfg: DictConfig) -> dict[str, Any]:
    """The composed config as plain data, without Hydra's own ``hydra`` node; ConfigError for an interpolation.

    The ``hydra`` node is left out: it holds values Hydra only sets once the job runs (and may interpolate them).
    Everything else is data: an interpolation there (which only a Python caller could still bring in; the files
    and the command line are checked before) is refused, never resolved.
    """
    from omegaconf import Container, OmegaConf

    data: dict[str, Any] = {}
    for key in cfg.keys():
        name = str(key)
        if name == "hydra":
            continue
        if OmegaConf.is_interpolation(cfg, name):
            raise ConfigError(f"{name}: got {show(_raw(cfg, key))}; allowed: a plain value")
        if OmegaConf.is_missing(cfg, name):
            raise ConfigError(f"{name}: got '???' (Hydra's missing value); allowed: a value")
        value = cfg[key]
        if isinstance(value, Container):
            _no_interpolation(value, name)
            data[name] = OmegaConf.to_container(value, resolve=False)
        else:
            data[name] = value
    return data


_baseline: list[Any] = []      # [stamp, KnowledgeBase] once loaded


def baseline_knowledge() -> KnowledgeBase:
    """The validated baseline knowledge base, loaded (and its sources checked) once per process and file version."""
    from sim.knowledge import display_path, load_knowledge

    data = _parsed(KNOWLEDGE_FILE)                    # the loader of the scenario files and of load_knowledge
    if _baseline and _baseline[0] is data:
        return _baseline[1]
    kb = load_knowledge(data=data, origin=display_path(KNOWLEDGE_FILE))
    _baseline[:] = [data, kb]
    return kb


def spec_from_config(cfg: DictConfig | dict[str, Any], *, origin: str = "config",
                     overrides: list[str] | None = None) -> RunSpec:
    """Validate a composed config (Hydra's, or its plain dict) into a RunSpec; ConfigError with one line.

    Provenance is made exact first: a value the scenario file sets carries the file's source whole (Hydra's merge
    would mix it with the baseline's: a new ``why`` under the baseline's ``seed``), a value moved by an override
    such as ``actors.us.capability.mode=0.3`` is recorded as set on the command line, and the file's own values
    are checked to carry a source (:func:`sim.spec.check_file_provenance`).
    """
    from sim.spec import build_spec, check_file_provenance

    data = cfg if isinstance(cfg, dict) else plain(cfg)
    overrides = list(overrides or [])
    about = data.get("about")
    name = about.get("name") if isinstance(about, dict) else None
    scenario = scenario_data(name) if isinstance(name, str) else None
    if scenario is not None or overrides:
        data = copy.deepcopy(data)
    if scenario is not None:
        _own_sources(data, scenario, overrides)
    _command_line_sources(data, overrides)
    spec = build_spec(data, origin=origin, overrides=overrides, baseline=baseline_knowledge())
    if scenario is not None:
        check_file_provenance(spec, scenario, origin=display(scenario_dir() / f"{name}.yaml"))
    return spec


_FIELDS = ("low", "mode", "high", "dist")


def _override_keys(overrides: list[str]) -> list[tuple[str, str]]:
    """(key, line) of the task's overrides that set a value (not deletions, not Hydra's own)."""
    out = []
    for line in overrides:
        key = line.split("=", 1)[0].lstrip("+")
        if "=" in line and not line.startswith("~") and not key.startswith(("hydra.", "hydra/")):
            out.append((key, line))
    return out


def _node(data: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _own_sources(data: dict[str, Any], scenario: dict[str, Any], overrides: list[str]) -> None:
    """Give every value the scenario file sets with a ``source`` exactly that source (in place)."""
    keys = [k for k, _ in _override_keys(overrides)]

    def walk(raw: dict[str, Any], parts: list[str]) -> None:
        for key, value in raw.items():
            if not isinstance(value, dict):
                continue
            here = [*parts, str(key)]
            target = _node(data, here)
            if isinstance(value.get("source"), dict) and isinstance(target, dict):
                dotted = ".".join(here)
                if not any(k == dotted or k.startswith(f"{dotted}.source") for k in keys):
                    target["source"] = copy.deepcopy(value["source"])
            walk(value, here)

    for section in ("actors", "relations", "decisions", "mechanics"):
        if isinstance(scenario.get(section), dict):
            walk(scenario[section], [section])


def _command_line_sources(data: dict[str, Any], overrides: list[str]) -> None:
    """A value whose low, mode, high or dist an override sets (``….mode=0.3``, or ``…={low: …, mode: …}`` without a
    source) is recorded as set on the command line, not under the source of the value it replaced (in place)."""
    keys = _override_keys(overrides)
    moved: dict[str, list[str]] = {}
    for key, line in keys:
        parent, _, field = key.rpartition(".")
        if field in _FIELDS and parent:
            moved.setdefault(parent, []).append(line)
        elif "source" not in line.split("=", 1)[1]:
            moved.setdefault(key, []).append(line)
    for parent, lines in moved.items():
        target = _node(data, parent.split("."))
        if not isinstance(target, dict) or "source" not in target:
            continue
        if any(k.startswith(f"{parent}.source") for k, _ in keys):
            continue                                  # the command line gives its own source
        target["source"] = {"seed": "assumption", "why": f"set on the command line ({' '.join(lines)})"}


def compose_spec(*overrides: str) -> RunSpec:
    """The validated spec for these overrides, composed exactly as ``python -m sim`` composes it (code, tests)."""
    from hydra import initialize_config_dir

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose_config(list(overrides))
    return spec_from_config(cfg, origin=" ".join(overrides) or "defaults", overrides=list(overrides))


# --- executing -----------------------------------------------------------------------------------------------
def execute(spec: RunSpec, run_dir: Path, *, progress: Progress | None = None,
            executor: Any = None) -> dict[str, Any]:
    """Run the experiment and write the run folder; the manifest says how it ended.

    ``executor`` (default: :func:`sim.experiment.choose_executor`, from ``executor=`` and ``workers``) runs the
    chunks. Chunks that fail on every attempt (``executor=ray`` retries them) end the run ``failed`` with
    ``failed_chunks`` in the manifest and :class:`sim.experiment.ChunksFailed`; the others are checkpointed, so
    ``resume=true`` computes only the failed ones.

    The run's lifecycle (:mod:`sim.lifecycle`): :func:`check_resources` first (ConfigError if it cannot fit in
    memory); then the folder's lock (another live run there: one line on stderr, :class:`RunFolderBusy`, exit
    status 1); what an earlier run left is removed (its checkpoints kept with ``resume=true``, after checking that
    the folder's spec is this one: else :class:`ResumeMismatch`, exit status 2). The manifest records pid, host
    and a heartbeat; every chunk is checkpointed; SIGINT / SIGTERM end the run with status ``interrupted``, one
    line on stderr and :class:`RunInterrupted` (a ``SystemExit``, status 130 / 143). These ends are
    ``SystemExit``s so that the command line exits with one line and its status; their line is written here.
    """
    from sim.lifecycle import FolderLock, RunEnded, interruptible

    check_resources(spec)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        with FolderLock(run_dir), interruptible():
            return _execute_locked(spec, run_dir, progress, executor)
    except RunEnded as exc:
        print(exc.line, file=sys.stderr, flush=True)
        raise


def _execute_locked(spec: RunSpec, run_dir: Path, progress: Progress | None, executor: Any) -> dict[str, Any]:
    """:func:`execute` with the folder's lock held and the signals caught."""
    from sim.experiment import ChunksFailed, chunk_plan, choose_executor, run_experiment
    from sim.lifecycle import Checkpoints, Manifest, RunInterrupted, check_interrupted, own_hydra_files, \
        prepare_folder, recorded_spec
    from sim.results import ParametersWriter, git_commit, package_versions, spec_document, write_json, write_results

    mark("engine_imported")
    previous = prepare_folder(run_dir, spec)
    record = recorded_spec(spec)                  # resume=true is how it was started, not what it computed
    started = datetime.now(timezone.utc)
    chunks = chunk_plan(spec.run.n_runs, spec.run.chunk_size)
    checkpoints = Checkpoints(run_dir, spec)
    saved = checkpoints.available(chunks) if spec.run.resume else set()
    executor = executor or choose_executor(spec, max(len(chunks) - len(saved), 1))
    start = getattr(executor, "start", None)
    if start is not None and len(saved) < len(chunks):
        start()                                   # Ray: connect first, so the manifest has the cluster's CPUs
    progress_state = {"chunks": len(chunks), "chunks_done": 0, "replicas_done": 0}
    manifest = Manifest(run_dir / "manifest.json", {
        "status": "running", "scenario": spec.about.name, "seed": spec.run.seed, "n_runs": spec.run.n_runs,
        "steps": spec.run.steps, "chunk_size": spec.run.chunk_size, "block_size": 256,
        "workers": getattr(executor, "workers", 1), "executor": _executor_name(executor),
        "overrides": record.overrides,
        "started": started.isoformat(), "finished": None, "wall_seconds": None, "timings": {},
        "versions": package_versions(), "git_commit": git_commit(),
        "trajectories": {"stored_replicas": min(spec.run.trajectory_replicas, spec.run.n_runs),
                         "note": (f"per-replica trajectories stored for the first "
                                  f"{min(spec.run.trajectory_replicas, spec.run.n_runs)} replicas; per-step "
                                  "quantiles (trajectory_quantiles.parquet) use all replicas")},
        "event_replicas": min(spec.run.event_replicas, spec.run.n_runs),
        "command": " ".join(["python -m sim", *sys.argv[1:]]),
        "progress": dict(progress_state),
        "resumed": ({"previous_status": previous, "checkpointed_chunks": len(saved), "chunks": len(chunks)}
                    if spec.run.resume else None),
    })
    manifest.update()
    write_json(run_dir / "spec.json", spec_document(record))
    manifest.start_heartbeat()

    def chunk_done(n: int) -> None:
        progress_state["chunks_done"] += 1
        progress_state["replicas_done"] += n
        manifest.update(progress=dict(progress_state))
        if progress:
            progress(n)
        check_interrupted()                       # a signal whose exception was lost ends the run here

    mark("simulate_start")
    t0 = time.perf_counter()
    parameters = ParametersWriter(run_dir / "parameters.parquet")
    timings: dict[str, float] = {}
    try:
        results = run_experiment(spec, executor, on_chunk=chunk_done, sink=parameters, checkpoints=checkpoints)
        t1 = time.perf_counter()
        mark("simulated")
        parameters.close()
        summary = write_results(run_dir, spec, results)
        del results                               # the report reads the files; free the chunks first
        t2 = time.perf_counter()
        timings = {"simulate": t1 - t0, "write": t2 - t1}
        _stamp_finished(manifest, started)        # for the report; stamped again once the report is written
        manifest.update(status="complete", timings=dict(timings))   # the results are whole: the report reads them
        mark("written")
        report = None
        if spec.run.report:
            from sim.report.run_report import render_run_report
            report = render_run_report(run_dir)
        t3 = time.perf_counter()
        timings["report"] = t3 - t2
        checkpoints.remove()
        mark("reported")
        return {"summary": summary, "report": report, "run_dir": run_dir}
    except RunInterrupted as exc:
        parameters.abort()
        done = progress_state["chunks_done"]
        exc.line = (f"interrupted by {exc.signame}: {run_dir} (status interrupted, {done} of {len(chunks)} chunks "
                    f"done and checkpointed); finish it with resume=true hydra.run.dir={run_dir}")
        manifest.set(status="interrupted", error=f"interrupted by {exc.signame}")
        raise
    except KeyboardInterrupt:
        parameters.abort()
        manifest.set(status="interrupted", error="interrupted (KeyboardInterrupt)")
        raise
    except ChunksFailed as exc:
        parameters.abort()
        done = progress_state["chunks_done"]
        manifest.set(status="failed", error=f"ChunksFailed: {exc}",
                     failed_chunks=[f.document(spec.run.n_runs) for f in exc.failures])
        exc.args = (f"{exc}; the run {run_dir} records status failed ({done} of {len(chunks)} chunks done and "
                    f"checkpointed): compute the failed ones with resume=true hydra.run.dir={run_dir}",)
        raise
    except BaseException as exc:
        parameters.abort()
        manifest.set(status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        manifest.stop_heartbeat()
        _stamp_finished(manifest, started)
        manifest.update(timings=dict(timings))
        own_hydra_files(run_dir)                  # a command that lost the race for the folder wrote .hydra/


def _executor_name(executor: Any) -> str:
    """The manifest's ``executor``: ray, pool (local processes) or in-process."""
    name = type(executor).__name__
    return {"RayExecutor": "ray", "LocalPool": "pool", "InProcess": "in-process"}.get(name, name)


def _stamp_finished(manifest: Any, started: datetime) -> None:
    finished = datetime.now(timezone.utc)
    manifest.set(finished=finished.isoformat(), wall_seconds=(finished - started).total_seconds())


# --- memory ----------------------------------------------------------------------------------------------------
#: Constants of :func:`estimate_memory`, in bytes (calibration in its docstring).
MEM_BASE = 195 * 2**20             # interpreter + numpy, Mesa, pandas, pyarrow, Hydra, the spec; writers, histograms
MEM_PER_REPLICA_OUTCOME = 42       # per replica and outcome column (+ replica): chunks kept, frames, Parquet
MEM_PER_STORED_STEP_ISSUE = 24     # per stored trajectory, step and (issue + 1): chunk arrays + long frame
MEM_PER_LOGGED_STEP = 200          # per logged replica (event_replicas) and step: the event log's Python rows
MEM_CHUNK_PAIR_ISSUE = 110         # per replica in a chunk and actor pair × issue: the kernels' working arrays
MEM_CHUNK_INPUT = 24               # per replica in a chunk and uncertain input: drawn values and their copies
MEM_PER_WORKER = 40 * 2**20        # a pool worker's private pages (copy-on-write of the forked parent)


def _memory_terms(spec: RunSpec) -> dict[str, int]:
    """The estimate's terms, by the setting that drives each."""
    import os

    from sim.registry import declared_outcomes
    from sim.uncertainty import spec_inputs

    run = spec.run
    steps = run.steps + 1
    n_chunks = -(-run.n_runs // run.chunk_size)
    lanes = min(run.workers or os.cpu_count() or 1, n_chunks)
    pool = lanes > 1
    actors, issues = len(spec.actor_ids), len(spec.issue_ids)
    per_chunk_replica = MEM_CHUNK_PAIR_ISSUE * actors * actors * issues + MEM_CHUNK_INPUT * len(spec_inputs(spec))
    return {
        "base": MEM_BASE,
        "n_runs": run.n_runs * MEM_PER_REPLICA_OUTCOME * (len(declared_outcomes(spec)) + 1),
        "trajectory_replicas": min(run.trajectory_replicas, run.n_runs) * steps * MEM_PER_STORED_STEP_ISSUE
        * (issues + 1),
        "event_replicas": min(run.event_replicas, run.n_runs) * steps * MEM_PER_LOGGED_STEP,
        "chunk_size": max(lanes, 1) * (min(run.chunk_size, run.n_runs) * per_chunk_replica
                                       + (MEM_PER_WORKER if pool else 0)),
    }


def estimate_memory(spec: RunSpec) -> int:
    """Peak memory (bytes, all processes of the run: parent + pool workers) of :func:`execute` for this spec.

    ``base + n_runs × 42 B × (outcomes + 1) + stored trajectories × (steps + 1) × 24 B × (issues + 1) +
    logged replicas × (steps + 1) × 200 B + lanes × (chunk_size × (110 B × actors² × issues + 24 B × inputs) +
    40 MB per pool worker)``, where lanes is the number of chunks computed at once (``workers``, 0 = all cores,
    at most the number of chunks; one lane in-process).

    Calibrated on ``grand_bargain`` (6 actors, 5 issues, 152 inputs, 18 outcomes) on a 2-core machine, each run in
    a fresh process: ``compose_spec(...)`` then ``execute(spec, dir)`` with ``report=false``, its peak read from
    ``VmHWM`` in ``/proc/self/status`` (``workers=1``: one process, exact); with ``workers=2`` the summed PSS of the
    process tree of ``python -m sim ...`` sampled every 0.1 s. Measured MB [estimate], ``trajectory_replicas=0``
    unless given: 2,048 replicas 197 [220]; 50,000: 258 [256]; 200,000: 378 [370]; 400,000: 506 [523]; 50,000
    with 50,000 trajectories 411 [428]; 100,000 with 100,000: 577 [638]; ``chunk_size`` 8,192: 354 [416], 16,384:
    567 [600]; ``steps=48`` changes the chunk term by 2 %; ``event_replicas=5000``: 277 [280]; ``workers=2`` with
    ``chunk_size`` 8,192: 679 [680]; 1,000,000 replicas, defaults, 2 workers: largest process 948 (bench/README.md)
    [1,151]: from 2 % low to 21 % high (it adds the simulation's peak to the writing's). It leaves out the report
    (rendered from the files once the results are freed).
    """
    return int(sum(_memory_terms(spec).values()))


def _mem_available() -> int | None:
    """``MemAvailable`` of /proc/meminfo in bytes (None where there is none)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _check_ray_installed() -> None:
    """ConfigError (one line) when ``executor=ray`` but Ray is not installed (looked up, not imported)."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise ConfigError("executor=ray: Ray is not installed; allowed: executor=local, or install Ray first: "
                          "pip install -e \".[ray]\"")


def check_resources(spec: RunSpec) -> None:
    """Raise ConfigError (one line: the setting that weighs most, the estimate, the available memory) when the
    run's :func:`estimate_memory` exceeds ``MemAvailable`` (no check where /proc/meminfo is missing), or when
    ``executor=ray`` and Ray is not installed."""
    if spec.run.executor == "ray":
        _check_ray_installed()
    available = _mem_available()
    if available is None:
        return
    terms = _memory_terms(spec)
    need = sum(terms.values())
    if need <= available:
        return
    field = max((k for k in terms if k != "base"), key=lambda k: terms[k])
    value = getattr(spec.run, field)
    room = available - (need - terms[field])
    fits = int(value * room / terms[field]) if room > 0 and terms[field] else 0
    hint = (f"{field} up to about {fits:,} with the other settings as they are" if fits > 0 else
            "a run that fits: lower n_runs, trajectory_replicas, chunk_size or workers")
    raise ConfigError(f"{field}={value}: the run needs about {need / 2**30:.1f} GB of memory (estimate; "
                      f"{field} accounts for {terms[field] / 2**30:.1f} GB), more than the {available / 2**30:.1f} "
                      f"GB available (MemAvailable); allowed: {hint}")
