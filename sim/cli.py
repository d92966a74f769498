"""The command line: ``python -m sim scenario=NAME [key=value ...]`` and sweeps with ``-m``.

Hydra composes ``conf/config.yaml`` + the knowledge base + ``scenarios/<scenario>.yaml`` + overrides; every
scenario file in ``scenarios/`` is registered at start-up, so dropping a YAML file there adds a scenario.

The config is validated once, at the edge, and composed once per job:

* **A run** (only ``key=value`` arguments): :func:`main` creates Hydra's app as ``@hydra.main`` would (same search
  path and task name, ``hydra.mode=RUN``) and composes the job's config once; :func:`sim.run.spec_from_config`
  validates it into a RunSpec. A bad override stops there with ONE line (``error: <field>: got ...; allowed
  ...``, exit status 2) before any folder exists. Then Hydra's own ``Hydra.run`` runs the job (run folder,
  ``.hydra/``, logging, callbacks) on that very config: :class:`_App` hands it over instead of composing again,
  and :func:`job` takes the spec already validated. (``@hydra.main`` alone composes twice, once to find the mode
  and once to run; with the former pre-flight that made four compositions and three validations.)
* **A sweep** (``-m``): :func:`preflight` composes and validates every job of the sweep (Hydra's basic sweeper's
  own list: every combination of the swept values) before Hydra creates the sweep folder; then Hydra's multirun
  runs them. Jobs run in this process (the basic launcher) take the spec preflight validated; jobs run in other
  processes (joblib) validate their own config once.
* **Anything else** (``--help``, ``--cfg``, ``--info``, ``--config-name``, ...): Hydra's own ``@hydra.main``
  (:data:`hydra_main`), after :func:`preflight` when the command runs jobs.

With ``SIM_TIMINGS=<file>`` in the environment the wall-clock marks of the phases (:data:`sim.run.CLOCK`) are
written to that file as JSON at exit; ``bench/startup.py`` reads them.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from hydra._internal.hydra import Hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from sim.errors import ConfigError, closest
from sim.run import CLOCK, CONF_DIR, compose_config, execute, mark, register_configs, scenario_names, \
    spec_from_config

if TYPE_CHECKING:
    from sim.spec import RunSpec

CONFIG_NAME = "config"
#: Flags that only show something (help, config, info): no jobs, no pre-flight.
_INSPECT = ("--help", "-h", "--info", "--cfg", "-c", "--hydra-help", "--shell-completion", "-sc")
_MULTIRUN = ("-m", "--multirun")

#: Specs validated before Hydra started the jobs, by job (sorted task overrides); a job takes its own.
_VALIDATED: dict[tuple[str, ...], RunSpec] = {}


def _key(overrides: list[str]) -> tuple[str, ...]:
    return tuple(sorted(overrides))


# --- errors, in one line -------------------------------------------------------------------------------------
def _is_hydra_override(arg: str) -> bool:
    key = arg.split("=", 1)[0].lstrip("+~")
    return key == "hydra" or key.startswith(("hydra.", "hydra/"))


def _user_overrides(args: list[str]) -> list[str]:
    """The task's overrides among the arguments (not flags, not their values, not ``hydra.*``)."""
    return [a for a in args if ("=" in a or a.startswith("~")) and not a.startswith("-")
            and not _is_hydra_override(a)]


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
        node: Any = base
        parent: list[str] = []
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


def _compose_error(exc: Exception, overrides: list[str], label: str, config_name: str) -> ConfigError:
    """The one-line error for a failed composition (Hydra must be initialised: the defaults are composed here)."""
    bad = next((o for o in overrides if o.split("=")[0].lstrip("+~") in str(exc)), label)
    try:
        base: DictConfig | None = compose_config([], config_name)
    except (HydraException, OmegaConfBaseException):
        base = None
    return ConfigError(_explain_compose_error(exc, bad, base))


def _validate(cfg: DictConfig, label: str, overrides: list[str]) -> RunSpec:
    try:
        return spec_from_config(cfg, origin=label, overrides=overrides)
    except OmegaConfBaseException as exc:           # e.g. an interpolation that does not resolve
        raise ConfigError(f"{label}: {str(exc).strip().splitlines()[0]}") from None


# --- pre-flight validation of the jobs -----------------------------------------------------------------------
def preflight(args: list[str], *, config_name: str = CONFIG_NAME) -> dict[tuple[str, ...], RunSpec]:
    """Compose and validate every job the command line asks for; raise ConfigError with one line.

    The jobs are those Hydra's basic sweeper will launch (every combination of the swept values; one job without
    sweeps). Returns the validated specs by :func:`_key` of the job's overrides. Uses the Hydra app already
    initialised, else initialises one on ``conf/`` for the duration.
    """
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if not GlobalHydra.instance().is_initialized():
        from hydra import initialize_config_dir

        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return preflight(args, config_name=config_name)
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    try:
        parsed = OverridesParser.create().parse_overrides(_user_overrides(args))
    except HydraException as exc:
        raise ConfigError(f"cannot parse the overrides: {str(exc).splitlines()[0]}") from None
    fixed = [o.input_line or "" for o in parsed if not o.is_sweep_override()]
    swept = {o.get_key_element() for o in parsed if o.is_sweep_override()}
    try:
        jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    except HydraException as exc:
        raise ConfigError(f"cannot sweep: {str(exc).splitlines()[0]}") from None
    specs: dict[tuple[str, ...], RunSpec] = {}
    for overrides in jobs:
        label = " ".join(o for o in overrides if o.split("=")[0] in swept) or " ".join(fixed) or "defaults"
        try:
            cfg = compose_config(overrides, config_name)
        except (HydraException, OmegaConfBaseException) as exc:
            raise _compose_error(exc, overrides, label, config_name) from None
        specs[_key(overrides)] = _validate(cfg, label, overrides)
    return specs


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


def _import_engine() -> None:
    """Import the engine (Mesa, the kernels, pandas, pyarrow); then turn the garbage collector back on.

    ``python -m sim`` starts with the collector off (sim/__main__.py): start-up builds ~10^6 long-lived objects
    (modules, Hydra's and OmegaConf's nodes, pydantic's validators), and collecting them over and over took a
    tenth of a second or more. They are frozen (never scanned again) and the collector is on before simulating.
    """
    import sim.experiment  # noqa: F401
    import sim.results  # noqa: F401

    mark("engine_imported")
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def job(cfg: DictConfig) -> dict[str, Any]:
    """One Hydra job: validate (unless validated before the jobs started), run, write, report."""
    mark("job_start")
    _import_engine()
    logging.getLogger("MESA").setLevel(logging.WARNING)     # Mesa logs every step at INFO; Hydra shows INFO
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    overrides = list(hc.overrides.task)
    spec = _VALIDATED.pop(_key(overrides), None)
    if spec is None:
        spec = spec_from_config(cfg, origin="config", overrides=overrides)
    elif spec.overrides != overrides:
        spec = spec.model_copy(update={"overrides": overrides})
    multirun = hc.mode is not None and hc.mode.name == "MULTIRUN"
    with _progress(spec.run.n_runs, multirun) as advance:
        out = execute(spec, run_dir, progress=advance)
    print_summary(spec, out["summary"], run_dir, out["report"])
    return {"run_dir": str(run_dir)}


#: Hydra's own entry point for the job (help, ``--cfg``, other config names, ...).
hydra_main = hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=CONFIG_NAME)(job)


class _App(Hydra):
    """Hydra's application object, whose next ``compose_config`` returns the config set in :attr:`composed`.

    ``Hydra.run`` composes the config, runs the callbacks' ``on_run_start`` and then ``run_job`` (run folder,
    ``.hydra/``, logging, the job). Setting :attr:`composed` to the config composed and validated beforehand lets
    Hydra's own code do all of that without composing a second time.
    """

    composed: DictConfig | None = None

    def compose_config(self, *args: Any, **kwargs: Any) -> DictConfig:
        cfg, self.composed = self.composed, None
        return cfg if cfg is not None else super().compose_config(*args, **kwargs)


def _make_app() -> _App:
    """The app ``@hydra.main`` would make for :func:`job` (search path, task name), as Hydra's GlobalHydra."""
    from hydra._internal.utils import (create_automatic_config_search_path,
                                       detect_calling_file_or_module_from_task_function, detect_task_name)

    calling_file, calling_module = detect_calling_file_or_module_from_task_function(job)
    search_path = create_automatic_config_search_path(calling_file, calling_module, str(CONF_DIR))
    app = _App.create_main_hydra2(task_name=detect_task_name(calling_file, calling_module),
                                  config_search_path=search_path)
    assert isinstance(app, _App)
    return app


def _run_jobs(args: list[str], multirun: bool) -> None:
    """A run or a sweep given by overrides only: compose and validate once per job, then let Hydra run them."""
    from hydra._internal.utils import run_and_report
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    app = _make_app()
    try:
        if multirun:
            _VALIDATED.update(preflight(args))
            mark("composed")
            mark("validated")
            overrides = [*args, "hydra.mode=MULTIRUN"]        # as @hydra.main adds when the config sets no mode
            run_and_report(lambda: app.multirun(config_name=CONFIG_NAME, task_function=job, overrides=overrides))
            return
        overrides = [*args, "hydra.mode=RUN"]
        user = _user_overrides(args)
        label = " ".join(user) or "defaults"
        try:
            cfg = app.compose_config(CONFIG_NAME, overrides, run_mode=RunMode.RUN, with_log_configuration=True)
        except (HydraException, OmegaConfBaseException) as exc:
            raise _compose_error(exc, user, label, CONFIG_NAME) from None
        mark("composed")
        import sim.spec  # noqa: F401  (pydantic's models, the mechanisms: imports, timed apart)

        mark("spec_imported")
        task = list(cfg.hydra.overrides.task)
        _VALIDATED[_key(task)] = _validate(cfg, label, task)
        mark("validated")
        app.composed = cfg
        run_and_report(lambda: app.run(config_name=CONFIG_NAME, task_function=job, overrides=overrides))
    finally:
        _VALIDATED.clear()          # jobs run elsewhere (joblib) validated their own
        GlobalHydra.instance().clear()


def _config_name(args: list[str]) -> str:
    for i, a in enumerate(args):
        if a in ("--config-name", "-cn") and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--config-name="):
            return a.split("=", 1)[1]
    return CONFIG_NAME


def _write_timings() -> None:
    path = os.environ.get("SIM_TIMINGS")
    if path:
        mark("end")
        Path(path).write_text(json.dumps({"pid": os.getpid(), **CLOCK}, indent=1))


def main() -> None:
    """Entry point of ``python -m sim``."""
    CLOCK.setdefault("main", time.time())
    args = sys.argv[1:]
    flags = [a for a in args if a.startswith("-")]
    fast = all(f in _MULTIRUN for f in flags) and not any(
        a.startswith(("hydra.mode", "hydra.sweeper", "hydra/sweeper")) for a in args)
    if flags or not fast:
        gc.enable()             # sweeps compose many configs: the collector stays on (see _import_engine)
    try:
        try:
            register_configs()
            mark("registered")
            if fast:
                _run_jobs([a for a in args if a not in _MULTIRUN], multirun=bool(flags))
                return
            if not any(a in _INSPECT or a.startswith("--info") for a in args):
                preflight(args, config_name=_config_name(args))
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        hydra_main()
    finally:
        _write_timings()
