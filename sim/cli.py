"""The command line: ``python -m sim scenario=NAME [key=value ...]`` and sweeps with ``-m``.

Hydra composes ``conf/config.yaml`` + the knowledge base + ``scenarios/<scenario>.yaml`` + overrides; every
scenario file in ``scenarios/`` (or ``$SIM_SCENARIO_DIR``) is registered at start-up, so dropping a YAML file there
adds a scenario; a broken one is reported (file, line, column) only when selected.

The config is validated once, at the edge, and composed once per job:

* **A run** (only ``key=value`` arguments): :func:`main` creates Hydra's app as ``@hydra.main`` would (same search
  path and task name, ``hydra.mode=RUN``) and composes the job's config once; :func:`sim.run.spec_from_config`
  validates it into a RunSpec. A bad override stops there with ONE line (``error: <field>: got ...; allowed
  ...``, exit status 2) before any folder exists. Then Hydra's own ``Hydra.run`` runs the job (run folder,
  ``.hydra/``, logging, callbacks) on that very config: the app of :func:`_make_app` hands it over instead of
  composing again,
  and :func:`job` takes the spec already validated. (``@hydra.main`` alone composes twice, once to find the mode
  and once to run; with the former pre-flight that made four compositions and three validations.)
* **A sweep** (``-m``): :func:`preflight` composes and validates every job of the sweep (Hydra's basic sweeper's
  own list: every combination of the swept values) before Hydra creates the sweep folder; then Hydra's multirun
  runs them. Jobs run in this process (the basic launcher) take the spec preflight validated; jobs run in other
  processes (joblib) validate their own config once.
* **Anything else** (``--cfg``, ``--info``, ``--hydra-help``, ``--config-name``, ...): Hydra's own
  ``@hydra.main`` (:func:`hydra_main`), after :func:`preflight` when the command runs jobs. ``--help`` / ``-h``
  prints :func:`usage` (a short summary, no composition).

Bad input ends in ONE line on stderr and exit status 2, before any folder exists: the overrides are checked first
(:func:`check_overrides`: no interpolation ``${...}``, one scenario name, ``about.name`` not overridden), then
composed and validated, then the run (or sweep) folder is checked (writable, enough free disk for the outputs) and
the run's memory (``sim.run.check_resources``). Ctrl-C during start-up prints one line and exits with 130; an I/O
error during the run (a full disk) prints one line and exits with 1, the manifest saying ``failed``.

With ``SIM_TIMINGS=<file>`` in the environment the wall-clock marks of the phases (:data:`sim.run.CLOCK`) are
written to that file as JSON at exit; ``bench/startup.py`` reads them.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ConfigError, closest, show
from sim.run import CLOCK, CONF_DIR, broken_scenarios, check_resources, compose_config, display, mark, \
    knowledge_names, register_configs, scenario_dir, scenario_names, spec_from_config
from sim.yamlio import INTERPOLATION

if TYPE_CHECKING:   # Hydra and OmegaConf are imported in main(), where Ctrl-C is told in one line
    from omegaconf import DictConfig

    from sim.spec import RunSpec

CONFIG_NAME = "config"
#: Flags that only show something (config, info, Hydra's help): no jobs, no pre-flight.
_INSPECT = ("--help", "-h", "--info", "--cfg", "-c", "--hydra-help", "--shell-completion", "-sc")
_MULTIRUN = ("-m", "--multirun")

#: Specs validated before Hydra started the jobs, by job (sorted task overrides); a job takes its own.
_VALIDATED: dict[tuple[str, ...], RunSpec] = {}


def _key(overrides: list[str]) -> tuple[str, ...]:
    return tuple(sorted(overrides))


def _config_errors() -> tuple[type[Exception], ...]:
    """Hydra's and OmegaConf's exception types (imported when needed)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return HydraException, OmegaConfBaseException


def _first_line(exc: BaseException) -> str:
    return next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)


# --- help ----------------------------------------------------------------------------------------------------
def usage() -> str:
    """The short summary ``python -m sim --help`` prints (no Hydra, no composition)."""
    try:                        # the run settings are top-level `key: value  # comment` lines of conf/config.yaml
        text = (CONF_DIR / "config.yaml").read_text(encoding="utf-8")
    except OSError:
        text = ""
    conf = dict(re.findall(r"(?m)^([a-z_]+):[ \t]+([^#\s{\[]+)", text))
    settings = "  ".join(f"{k}={v}" for k, v in conf.items())
    names = ", ".join(sorted(p.stem for p in scenario_dir().glob("*.yaml"))) or "none"
    return f"""usage: python -m sim [-m] [scenario=NAME] [key=value ...]

Runs a scenario as a Monte Carlo experiment; writes outputs/DATE/TIME/ (a sweep, -m: outputs/multirun/DATE/TIME/).

  python -m sim scenario=grand_bargain                  one run
  python -m sim -m scenario=status_quo,grand_bargain    a sweep (every combination of the swept values)
  python -m sim.compare RUN_DIR ... [--out FILE]        runs side by side
  python -m sim.actors [--json]                         the knowledge base
  python -m sim.validate bdm1994 | deu3 | icb           validation
  python -m sim.explore method=sobol|morris|prim        which inputs drive the outcomes (docs/explore.md)

scenarios ({display(scenario_dir())}/*.yaml, or $SIM_SCENARIO_DIR): {names}
run settings (defaults): {settings}
model keys: actors.<id>.{{capability,risk_attitude,resolve}}, actors.<id>.capability_by.<military|economic|diplomatic>,
  actors.<id>.{{position,salience}}.<issue>,
  relations.{{alignment,trust}}.<a>-<b>, decisions.*, mechanics.<section>.* (a number fixes a value, .mode= moves it)
Hydra: --cfg job (the composed config), --info, --hydra-help; hydra.run.dir=DIR sets the run folder.
Bad input stops with one line (error: <field>: got <value>; allowed ...) and exit status 2.
Docs: README.md (running, outputs), docs/model.md (the model and every key), docs/reading-the-report.md."""


# --- the command line's overrides, before composing ----------------------------------------------------------
#: The config groups: one choice each, from the files.
_GROUPS = ("scenario", "knowledge")


def _group_choices(group: str) -> list[str]:
    return scenario_names() if group == "scenario" else knowledge_names()


def _check_choice(line: str, group: str, value: Any) -> None:
    names = _group_choices(group)
    allowed = f"one {group} name ({', '.join(names)})"
    if isinstance(value, (list, dict)):
        hint = f"; to run several, sweep: python -m sim -m {group}=a,b" if group == "scenario" else ""
        raise ConfigError(f"{line}: got a {type(value).__name__} {show(value)}; allowed: {allowed}{hint}")
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{line}: got {show(value)}; allowed: {allowed}")
    broken = broken_scenarios() if group == "scenario" else {}
    if value in broken:
        raise ConfigError(broken[value])
    if value not in names:
        extra = f" (or add {display(scenario_dir())}/{value}.yaml)" if group == "scenario" else ""
        raise ConfigError(f"{line}: unknown {group} {value!r}{closest(value, names)}; allowed: "
                          f"{', '.join(names)}{extra}")


def check_overrides(lines: list[str], *, multirun: bool) -> None:
    """Refuse, in one line, what composition would misread or resolve: an interpolation ``${...}`` (never
    resolved: ``${oc.env:...}`` would read the environment), several scenarios merged into one run
    (``scenario=[a,b]``), a deleted or empty choice, an unknown or broken scenario, a new ``about.name``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for line in lines:
        value_text = line.split("=", 1)[1] if "=" in line else ""
        if INTERPOLATION in value_text:
            raise ConfigError(f"{line}: got {show(value_text)}; allowed: a plain value (interpolations ${{...}} "
                              "are not resolved in overrides)")
        try:
            [o] = parser.parse_overrides([line])
        except _config_errors()[0] as exc:
            raise ConfigError(f"{line}: cannot parse ({_first_line(exc).split(':')[0]}); allowed: key=value in "
                              "Hydra's override syntax, keys of ASCII letters, digits and _ (quote a value with "
                              "spaces or special characters: key='a b')") from None
        key = o.key_or_group
        if key in _GROUPS:
            if o.is_delete():
                raise ConfigError(f"{line}: got a deletion; allowed: one {key} name "
                                  f"({', '.join(_group_choices(key))})")
            if o.is_sweep_override():
                if not multirun:
                    raise ConfigError(f"{line}: got several {key}s; allowed: one {key} name, or a sweep: "
                                      f"python -m sim -m {line}")
                for v in o.sweep_iterator():
                    _check_choice(line, key, v)
            else:
                _check_choice(line, key, o.value())
        elif key == "about" or key.startswith("about.name"):
            raise ConfigError(f"{line}: got an override of the scenario's name; allowed: no override (a scenario "
                              "is named by its file: choose one with scenario=NAME)")


# --- errors, in one line -------------------------------------------------------------------------------------
def _is_hydra_override(arg: str) -> bool:
    key = arg.split("=", 1)[0].lstrip("+~")
    return key == "hydra" or key.startswith(("hydra.", "hydra/"))


def _user_overrides(args: list[str]) -> list[str]:
    """The task's overrides among the arguments (not flags, not their values, not ``hydra.*``)."""
    return [a for a in args if ("=" in a or a.startswith("~")) and not a.startswith("-")
            and not _is_hydra_override(a)]


def _explain_compose_error(exc: Exception, override: str, base: DictConfig | None) -> str:
    from omegaconf import DictConfig

    text = str(exc)
    m = re.search(r"Could not find '([^']+)/([^']+)'", text)
    if m and m.group(1) == "scenario" and m.group(2) in broken_scenarios():
        return broken_scenarios()[m.group(2)]
    if m and m.group(1) == "scenario":
        names = scenario_names()
        return (f"{override}: unknown scenario {m.group(2)!r}{closest(m.group(2), names)}; "
                f"allowed: {', '.join(names)} (or add scenarios/{m.group(2)}.yaml)")
    cause = str(exc.__cause__ or "")
    m = (re.search(r"full_key: (\S+)", cause) if "not in struct" in cause else None) or re.search(
        r"Could not override '([^']+)'|Key '([^']+)' is not in struct", text)
    if m:
        key = next(g for g in m.groups() if g)
        parts = key.split(".")
        node: Any = base
        parent: list[str] = []
        for part in parts:                          # walk down to the first segment that does not exist
            if not isinstance(node, DictConfig) or part not in node:
                break
            node, parent = node[part], parent + [part]
        if len(parent) < len(parts):
            bad = parts[len(parent)]
            allowed = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
            where = ".".join(parent)
            return (f"{override}: unknown key {'.'.join(parent + [bad])!r}{closest(bad, allowed)}"
                    + (f"; allowed keys{' under ' + where if where else ''}: {', '.join(sorted(allowed))}"
                       if allowed else ""))
    why = f" ({_first_line(exc.__cause__)})" if exc.__cause__ is not None and cause.strip() else ""
    return f"{override}: {_first_line(exc)}{why}"


def _compose_error(exc: Exception, overrides: list[str], label: str, config_name: str) -> ConfigError:
    """The one-line error for a failed composition (Hydra must be initialised: the defaults are composed here)."""
    bad = next((o for o in overrides if o.split("=")[0].lstrip("+~") in str(exc)), label)
    try:
        base: DictConfig | None = compose_config([], config_name)
    except _config_errors():
        base = None
    return ConfigError(_explain_compose_error(exc, bad, base))


def _validate(cfg: DictConfig, label: str, overrides: list[str]) -> RunSpec:
    try:
        spec = spec_from_config(cfg, origin=label, overrides=overrides)
    except _config_errors() as exc:
        raise ConfigError(f"{label}: {_first_line(exc)}") from None
    if not spec.citations_checked and not _WARNED:
        from sim.knowledge import citations_note

        _WARNED.append(True)
        print(citations_note() or "warning: the cited phrases were not checked", file=sys.stderr)
    return spec


#: Whether the missing seed articles were told already (once per process).
_WARNED: list[bool] = []


# --- the folders and the resources, before Hydra makes a folder ----------------------------------------------
def disk_needed(spec: RunSpec) -> int:
    """A generous estimate of a run folder's size in bytes (measured: ~1.4 kB per replica of outcomes and drawn
    parameters, ~30 B per stored replica and month of trajectories, the report ≤ 10 MB)."""
    n, run = spec.run.n_runs, spec.run
    stored = min(run.trajectory_replicas, n) * (run.steps + 1) * (len(spec.issue_ids) + 3) * 8
    return 2**20 + n * 2048 + stored + (10 * 2**20 if run.report else 0)


def check_folder(path: Path, key: str, need: int) -> None:
    """Refuse (ConfigError) a run or sweep folder that cannot be made or written, or a disk without ``need``
    bytes free; creates nothing."""
    target = path if path.is_absolute() else Path.cwd() / path
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    shown = show(str(path))
    if not existing.is_dir():
        raise ConfigError(f"{key}: got {shown}; allowed: a folder path ({existing} is a file)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}: got {shown}; allowed: a folder that can be written ({existing} is read-only)")
    free = shutil.disk_usage(existing).free
    if free < need:
        raise ConfigError(f"{key}: got {shown}; allowed: a folder on a disk with at least {need / 2**20:.1f} MB "
                          f"free for this run's outputs ({free / 2**20:.1f} MB free on {existing})")


def _folder(cfg: DictConfig, key: str) -> Path:
    """The folder ``hydra.<key>`` of ``cfg`` names, resolved as Hydra resolves it (ConfigError with one line)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    raw: Any = OmegaConf.to_container(cfg.hydra, resolve=False)
    for part in key.split("."):
        raw = raw.get(part) if isinstance(raw, dict) else None
    errors: tuple[type[BaseException], ...] = (*_config_errors(), ValueError, KeyError)
    try:
        HydraConfig.instance().set_config(cfg)        # as Hydra does before resolving it (${hydra:...})
        value = OmegaConf.select(cfg, f"hydra.{key}", throw_on_missing=True)
    except errors as exc:
        raise ConfigError(f"hydra.{key}: got {show(raw)}; allowed: a folder path ({_first_line(exc)})") from None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"hydra.{key}: got {show(value)}; allowed: a folder path")
    return Path(value)


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
    from hydra import compose
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    hydra_exc = _config_errors()[0]
    user = _user_overrides(args)
    check_overrides(user, multirun=True)
    try:
        parsed = OverridesParser.create().parse_overrides(user)
    except hydra_exc as exc:
        raise ConfigError(f"cannot parse the overrides: {_first_line(exc)}") from None
    fixed = [o.input_line or "" for o in parsed if not o.is_sweep_override()]
    swept = {o.get_key_element() for o in parsed if o.is_sweep_override()}
    try:
        jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    except hydra_exc as exc:
        raise ConfigError(f"cannot sweep: {_first_line(exc)}") from None
    specs: dict[tuple[str, ...], RunSpec] = {}
    for overrides in jobs:
        label = " ".join(o for o in overrides if o.split("=")[0] in swept) or " ".join(fixed) or "defaults"
        check_overrides(overrides, multirun=False)
        try:
            cfg = compose_config(overrides, config_name)
        except _config_errors() as exc:
            raise _compose_error(exc, overrides, label, config_name) from None
        spec = _validate(cfg, label, overrides)
        check_resources(spec)
        specs[_key(overrides)] = spec
    own = [a for a in args if "=" in a and not a.startswith("-") and _is_hydra_override(a)]
    try:
        full = compose(config_name=config_name, overrides=[*own, *(jobs[0] if jobs else [])],
                       return_hydra_config=True)
    except _config_errors() as exc:
        raise ConfigError(f"{' '.join(own) or 'hydra'}: {_first_line(exc)}") from None
    check_folder(_folder(full, "sweep.dir"), "hydra.sweep.dir", sum(disk_needed(s) for s in specs.values()))
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
    for key, label in (("deal_ever", "P(deal signed within the horizon)"), ("deal", "P(deal in force at the end)"),
                       ("war", "P(regional war)")):                  # the pages' labels (sim.report.headline)
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


#: The run folder of the job under way (for the line printed on Ctrl-C or an I/O error).
_RUNNING: list[Path] = []
#: The run folder checked before Hydra makes it, and whether it existed then: [(path, existed)].
_PLANNED: list[tuple[Path, bool]] = []


def job(cfg: DictConfig) -> dict[str, Any]:
    """One Hydra job: validate (unless validated before the jobs started), run, write, report."""
    from hydra.core.hydra_config import HydraConfig

    from sim.experiment import ChunksFailed
    from sim.run import execute

    mark("job_start")
    _import_engine()
    logging.getLogger("MESA").setLevel(logging.WARNING)     # Mesa logs every step at INFO; Hydra shows INFO
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    _RUNNING[:] = [run_dir]
    overrides = list(hc.overrides.task)
    spec = _VALIDATED.pop(_key(overrides), None)
    if spec is None:
        spec = spec_from_config(cfg, origin="config", overrides=overrides)
    elif spec.overrides != overrides:
        spec = spec.model_copy(update={"overrides": overrides})
    multirun = hc.mode is not None and hc.mode.name == "MULTIRUN"
    try:
        with _progress(spec.run.n_runs, multirun) as advance:
            out = execute(spec, run_dir, progress=advance)
    except (ConfigError, OSError, ChunksFailed) as exc:
        if multirun:            # the sweep records the failed job
            raise
        # one line and the exit status here: raised out of the job, Hydra would add a line of its own
        print(_io_error(exc) if isinstance(exc, OSError) else f"error: {exc}", file=sys.stderr)
        raise SystemExit(2 if isinstance(exc, ConfigError) else 1) from None
    print_summary(spec, out["summary"], run_dir, out["report"])
    return {"run_dir": str(run_dir)}


def _io_error(exc: OSError) -> str:
    """The line for an I/O error while Hydra or the run writes (a full disk, a folder removed under the run)."""
    where = f"{exc.filename}: " if exc.filename else ""
    folder = f"; the run folder {_RUNNING[0]} records status failed" if _RUNNING else ""
    return f"error: {where}{exc.strerror or exc}{folder}"


def hydra_main() -> None:
    """Hydra's own entry point for the job (``--cfg``, ``--info``, ``--hydra-help``, other config names, ...)."""
    import hydra

    hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=CONFIG_NAME)(job)()


def _make_app() -> Any:
    """The app ``@hydra.main`` would make for :func:`job` (search path, task name), as Hydra's GlobalHydra.

    Its next ``compose_config`` returns the config set in its ``composed`` attribute: ``Hydra.run`` composes the
    config, runs the callbacks' ``on_run_start`` and then ``run_job`` (run folder, ``.hydra/``, logging, the job);
    handing it the config composed and validated beforehand lets Hydra's own code do all of that without
    composing a second time.
    """
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import (create_automatic_config_search_path,
                                       detect_calling_file_or_module_from_task_function, detect_task_name)

    class _App(Hydra):
        composed: DictConfig | None = None

        def compose_config(self, *args: Any, **kwargs: Any) -> DictConfig:
            cfg, self.composed = self.composed, None
            return cfg if cfg is not None else super().compose_config(*args, **kwargs)

    calling_file, calling_module = detect_calling_file_or_module_from_task_function(job)
    search_path = create_automatic_config_search_path(calling_file, calling_module, str(CONF_DIR))
    app = _App.create_main_hydra2(task_name=detect_task_name(calling_file, calling_module),
                                  config_search_path=search_path)
    assert isinstance(app, _App)
    return app


def _launch(func: Any) -> None:
    """Run Hydra's run or multirun: a ConfigError stays one line; an I/O error (a full disk, a folder removed
    under the run) becomes one; anything else is a bug and gets Hydra's traceback (exit status 1)."""
    from hydra._internal.utils import run_and_report

    try:
        func()
    except ConfigError:
        raise
    except OSError as exc:
        print(_io_error(exc), file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - told by Hydra, as before
        def again() -> None:
            raise exc
        run_and_report(again)


def _run_jobs(args: list[str], multirun: bool) -> None:
    """A run or a sweep given by overrides only: compose and validate once per job, then let Hydra run them."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    app = _make_app()
    try:
        if multirun:
            _VALIDATED.update(preflight(args))
            mark("composed")
            mark("validated")
            overrides = [*args, "hydra.mode=MULTIRUN"]        # as @hydra.main adds when the config sets no mode
            _launch(lambda: app.multirun(config_name=CONFIG_NAME, task_function=job, overrides=overrides))
            return
        overrides = [*args, "hydra.mode=RUN"]
        user = _user_overrides(args)
        label = " ".join(user) or "defaults"
        check_overrides(user, multirun=False)
        try:
            cfg = app.compose_config(CONFIG_NAME, overrides, run_mode=RunMode.RUN, with_log_configuration=True)
        except _config_errors() as exc:
            raise _compose_error(exc, user, label, CONFIG_NAME) from None
        mark("composed")
        import sim.spec  # noqa: F401  (pydantic's models, the mechanisms: imports, timed apart)

        mark("spec_imported")
        task = list(cfg.hydra.overrides.task)
        spec = _validate(cfg, label, task)
        check_resources(spec)
        run_dir = _folder(cfg, "run.dir")
        check_folder(run_dir, "hydra.run.dir", disk_needed(spec))
        _PLANNED[:] = [(run_dir, run_dir.exists())]
        _VALIDATED[_key(task)] = spec
        mark("validated")
        app.composed = cfg
        _launch(lambda: app.run(config_name=CONFIG_NAME, task_function=job, overrides=overrides))
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


def _interrupted() -> str:
    """The line for Ctrl-C outside the run itself (the run tells its own); a folder Hydra had only just made for
    the run (nothing in it but Hydra's files) is removed."""
    if _RUNNING and (_RUNNING[0] / "manifest.json").exists():
        return f"error: interrupted (Ctrl-C); the run folder {_RUNNING[0]} records status interrupted"
    for path, existed in _PLANNED:
        if not existed and path.is_dir() and not (path / "manifest.json").exists():
            shutil.rmtree(path, ignore_errors=True)
    return "error: interrupted (Ctrl-C) before the run started; no results were written"


#: Set by :func:`_ctrl_c` when SIGINT arrives outside the run (whose own handler tells it).
_CTRL_C: list[int] = []


def _ctrl_c(signum: int, frame: Any) -> None:
    """SIGINT before or between runs: remembered, then raised as KeyboardInterrupt. A library interrupted in the
    middle of its work may turn the KeyboardInterrupt into an error of its own (OmegaConf, interrupted while it
    stores a config, raises an AttributeError that then reads as a broken scenario file); :func:`main` tells the
    interruption whatever exception surfaces."""
    _CTRL_C.append(signum)
    raise KeyboardInterrupt


def main() -> None:
    """Entry point of ``python -m sim``: every user mistake ends in one line and exit status 2."""
    args = sys.argv[1:]
    _RUNNING.clear()
    _PLANNED.clear()
    _CTRL_C.clear()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _ctrl_c)
    try:
        if any(a in ("--help", "-h") for a in args):
            print(usage())
            return
        import hydra  # noqa: F401  (Hydra, OmegaConf: imported here, where Ctrl-C is one line)

        CLOCK.setdefault("main", time.time())
        flags = [a for a in args if a.startswith("-")]
        fast = all(f in _MULTIRUN for f in flags) and not any(
            a.startswith(("hydra.mode", "hydra.sweeper", "hydra/sweeper")) for a in args)
        if flags or not fast:
            gc.enable()         # sweeps compose many configs: the collector stays on (see _import_engine)
        try:
            register_configs()
            if _CTRL_C:                 # a Ctrl-C that a library swallowed while the files were registered
                raise KeyboardInterrupt
            mark("registered")
            if fast:
                _run_jobs([a for a in args if a not in _MULTIRUN], multirun=bool(flags))
                return
            if not any(a in _INSPECT or a.startswith("--info") for a in args):
                preflight(args, config_name=_config_name(args))
        except _config_errors() as exc:       # what the checks above did not foresee, still in one line
            raise ConfigError(f"{' '.join(_user_overrides(args)) or 'command line'}: {_first_line(exc)}") from None
        hydra_main()
    except KeyboardInterrupt:
        print(_interrupted(), file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        if _CTRL_C:                         # what the interrupted library made of Ctrl-C
            print(_interrupted(), file=sys.stderr)
            sys.exit(130)
        if isinstance(exc, ConfigError):
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        raise
    finally:
        _write_timings()
