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
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from sim.errors import ConfigError, closest
from sim.knowledge import load_knowledge
from sim.run import CONF_DIR, compose_config, execute, plain, register_configs, scenario_names
from sim.spec import RunSpec, build_spec

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
        base = compose_config([])
        jobs: list[tuple[str, list[str]]] = [(" ".join(fixed) or "defaults", fixed)]
        for o in sweeps:
            key = o.get_key_element()
            for value in o.sweep_string_iterator():
                jobs.append((f"{key}={value}", fixed + [f"{key}={value}"]))
        for label, overrides in jobs:
            try:
                cfg = compose_config(overrides)
            except (HydraException, OmegaConfBaseException) as exc:
                bad = next((o for o in overrides if o.split("=")[0].lstrip("+~") in str(exc)), label)
                raise ConfigError(_explain_compose_error(exc, bad, base)) from None
            build_spec(plain(cfg), origin=label, overrides=overrides, baseline=baseline)


# --- the run -------------------------------------------------------------------------------------------------
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
    spec = build_spec(plain(cfg), origin="config", overrides=list(hc.overrides.task))
    multirun = hc.mode.name == "MULTIRUN"
    with _progress(spec.run.n_runs, multirun) as advance:
        out = execute(spec, run_dir, progress=advance)
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
