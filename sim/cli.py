"""The command line: ``python -m sim scenario=NAME [key=value ...]`` and sweeps with ``-m``.

Hydra composes ``conf/config.yaml`` + the knowledge base + ``scenarios/<scenario>.yaml`` + overrides; every
scenario file in ``scenarios/`` is registered at start-up, so dropping a YAML file there adds a scenario.
Before Hydra creates any output folder, :func:`preflight` composes and validates every job of the command (each
value of a sweep) and stops a bad one with ONE line naming the field, the value and what is allowed (exit 2).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim import PROJECT_ROOT
from sim.knowledge import ConfigError, closest, load_knowledge
from sim.spec import RunSpec, build_spec

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


# --- pre-flight validation -----------------------------------------------------------------------------------
def _user_overrides(args: list[str]) -> list[str]:
    return [a for a in args if "=" in a and not a.startswith("-") and not a.lstrip("+~").startswith("hydra")]


def _explain_compose_error(exc: Exception, override: str, base: DictConfig | None) -> str:
    text = str(exc)
    m = re.search(r"Could not find '([^']+)/([^']+)'", text)
    if m and m.group(1) == "scenario":
        names = scenario_names()
        return (f"{override}: unknown scenario {m.group(2)!r}{closest(m.group(2), names)}; "
                f"allowed: {', '.join(names)} (or add scenarios/{m.group(2)}.yaml)")
    m = re.search(r"Could not override '([^']+)'|Key '([^']+)' is not in struct", text)
    if m:
        key = m.group(1) or m.group(2)
        node, parent = base, []
        for part in key.split("."):                 # walk down to the first segment that does not exist
            if not isinstance(node, DictConfig) or part not in node:
                break
            node, parent = node[part], parent + [part]
        bad = key.split(".")[len(parent)]
        allowed = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
        where = ".".join(parent)
        return (f"{override}: unknown key {'.'.join(parent + [bad])!r}{closest(bad, allowed)}"
                + (f"; allowed keys{' under ' + where if where else ''}: {', '.join(sorted(allowed))}"
                   if allowed else ""))
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return f"{override}: {first}"


def _compose(overrides: list[str]) -> DictConfig:
    from hydra import compose

    return compose(config_name="config", overrides=overrides)


def preflight(args: list[str]) -> None:
    """Compose and validate every job the command line asks for; raise ConfigError with one line."""
    from hydra import initialize_config_dir

    parser = OverridesParser.create()
    user = _user_overrides(args)
    try:
        parsed = parser.parse_overrides(user)
    except HydraException as exc:
        raise ConfigError(f"cannot parse the overrides: {str(exc).splitlines()[0]}") from None
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    sweeps = [o for o in parsed if o.is_sweep_override()]
    baseline = load_knowledge()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        base = _compose([])
        jobs: list[tuple[str, list[str]]] = [(" ".join(fixed) or "defaults", fixed)]
        for o in sweeps:
            key = o.get_key_element()
            for value in o.sweep_string_iterator():
                jobs.append((f"{key}={value}", fixed + [f"{key}={value}"]))
        for label, overrides in jobs:
            try:
                cfg = _compose(overrides)
            except (HydraException, OmegaConfBaseException) as exc:
                bad = next((o for o in overrides if o.split("=")[0].lstrip("+~") in str(exc)), label)
                raise ConfigError(_explain_compose_error(exc, bad, base)) from None
            build_spec(_plain(cfg), origin=label, overrides=overrides, baseline=baseline)


def compose_spec(*overrides: str) -> RunSpec:
    """The validated spec for these overrides, composed exactly as ``python -m sim`` composes it (for code and tests)."""
    from hydra import initialize_config_dir

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = _compose(list(overrides))
    return build_spec(_plain(cfg), origin=" ".join(overrides) or "defaults", overrides=list(overrides))


def _plain(cfg: DictConfig) -> dict[str, Any]:
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    return data


# --- the run -------------------------------------------------------------------------------------------------
def execute(spec: RunSpec, run_dir: Path, *, quiet: bool = False) -> dict[str, Any]:
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
        with _progress(spec.run.n_runs, quiet) as advance:
            results = run_experiment(spec, executor, on_chunk=advance)
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


class _progress:
    """A rich progress bar over replicas (silent when quiet or not a terminal-like stream)."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet = total, quiet

    def __enter__(self):
        if self.quiet:
            return lambda n: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), transient=True)
        self.bar.__enter__()
        task = self.bar.add_task("replicas", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc):
        if not self.quiet:
            self.bar.__exit__(*exc)
        return False


def print_summary(spec: RunSpec, summary: dict[str, Any], run_dir: Path, report: Path | None) -> None:
    """The closing table: P(deal), P(war), median outcome per issue, each with its Monte Carlo error."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{spec.about.name}: {spec.run.n_runs} replicas × {spec.run.steps} months, seed {spec.run.seed}")
    t.add_column("quantity")
    t.add_column("estimate", justify="right")
    t.add_column("± MC s.e.", justify="right")
    p = summary["probabilities"]
    for key, label in (("deal", "P(deal in force at the end)"), ("deal_ever", "P(deal ever signed)"),
                       ("war", "P(regional war)")):
        t.add_row(label, f"{p[key]['p']:.3f}", f"{p[key]['se']:.3f}")
    for iid in spec.issue_ids:
        o = summary["outcomes"][iid]
        t.add_row(f"median {iid} (start {o['start']:.1f})", f"{o['q50']:.1f}", f"{o['q50_se']:.1f}")
    console = Console(stderr=False)
    console.print(t)
    console.print(f"run folder: {run_dir}")
    if report:
        console.print(f"report:     {report}")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def hydra_main(cfg: DictConfig) -> dict[str, Any]:
    """One Hydra job: validate, run, write, report."""
    logging.getLogger("MESA").setLevel(logging.WARNING)     # Mesa logs every step at INFO; Hydra shows INFO
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    spec = build_spec(_plain(cfg), origin="config", overrides=list(hc.overrides.task))
    multirun = hc.mode.name == "MULTIRUN"
    out = execute(spec, run_dir, quiet=multirun)
    print_summary(spec, out["summary"], run_dir, out["report"])
    return {"run_dir": str(run_dir)}


def main() -> None:
    """Entry point of ``python -m sim``."""
    try:
        register_configs()
        if not any(a in ("--help", "-h", "--info", "--cfg", "-c", "--hydra-help") or a.startswith("--info")
                   for a in sys.argv[1:]):
            preflight(sys.argv[1:])
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    hydra_main()
