"""``python -m sim.explore [key=value ...]``: composed by Hydra like ``python -m sim``, validated the same way.

Hydra composes ``conf/explore.yaml`` (``conf/config.yaml`` + the knowledge base + the scenario, then the
exploration's keys) with the overrides; the overrides are checked first (:func:`sim.cli.check_overrides`), the
composition's errors explained by :func:`sim.cli` 's own messages, the run part validated by
:func:`sim.run.spec_from_config` and the exploration's keys by :class:`sim.explore.settings.ExploreSettings`;
outcome and scenario names are checked against the registry and the scenario files. Bad input ends in ONE line
(``error: <field>: got ...; allowed ...``) and exit status 2 before any folder exists; then the folder
(``hydra.run.dir``, default ``outputs/explore/DATE/TIME``) is checked writable with room on its disk.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ConfigError, closest, show

if TYPE_CHECKING:
    from sim.explore.settings import ExploreSettings
    from sim.spec import RunSpec

CONFIG_NAME = "explore"


def usage() -> str:
    return """usage: python -m sim.explore [scenario=NAME] [method=sobol|morris|prim|robustness|all] [key=value ...]

Which inputs drive the outcomes (Sobol, Morris), under which conditions an outcome happens (PRIM), and in what
share of the input space each scenario beats this one (robustness); writes outputs/explore/DATE/TIME/.

  python -m sim.explore method=sobol n=1024                         Sobol indices over every uncertain input
  python -m sim.explore method=morris n=32                           Morris screening
  python -m sim.explore method=[prim,robustness] points=8192         PRIM boxes; scenarios vs this one
  python -m sim.explore function=ishigami method=sobol n=4096        the harness on a known answer

settings (conf/explore.yaml): method, function, n, points, replicates, outcomes, discover, compare, levels,
  resamples, conf_level, convergence, peel_alpha, mass_min, min_coverage, boxes; every key of python -m sim too
  (uncertainty=all by default here). Docs: docs/explore.md."""


def _scenario_override(overrides: list[str], name: str) -> list[str]:
    """The overrides with the scenario replaced by ``name``."""
    return [o for o in overrides if o.split("=", 1)[0] != "scenario"] + [f"scenario={name}"]


def _compose(overrides: list[str], label: str) -> tuple[RunSpec, ExploreSettings, Any]:
    """Compose (Hydra must be initialised) and validate: the run spec, the settings and the full config."""
    from hydra import compose

    from sim.cli import _compose_error, _config_errors, _validate
    from sim.explore.settings import EXPLORE_KEYS, parse_settings, split_config
    from sim.run import compose_config, plain

    try:
        cfg = compose_config(overrides, CONFIG_NAME)
    except _config_errors() as exc:
        raise _compose_error(exc, overrides, label, CONFIG_NAME) from None
    run_part, explore_part = split_config(plain(cfg))
    settings = parse_settings(explore_part, label)
    spec_overrides = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in EXPLORE_KEYS]
    spec = _validate(run_part, label, spec_overrides)  # type: ignore[arg-type]
    full = compose(config_name=CONFIG_NAME, overrides=overrides, return_hydra_config=True)
    return spec, settings, full


def check_names(spec: RunSpec, settings: ExploreSettings, label: str) -> None:
    """Outcome names against the registry, methods against the function; ConfigError with one line."""
    from sim.explore.evaluate import analysed_outcomes

    analysed = analysed_outcomes(spec)
    names = [o for o, _, _ in analysed]
    probabilities = [o for o, kind, _ in analysed if kind == "probability"]
    if settings.function != "model":
        bad = [m for m in settings.method if m in ("prim", "robustness")]
        if bad:
            raise ConfigError(f"{label}: method: got {show(bad[0])} with function={settings.function}; allowed: "
                              "sobol or morris (prim and robustness need the model's outcomes and scenarios)")
        return
    if settings.outcomes != "all":
        for o in settings.outcomes:
            if o not in names:
                raise ConfigError(f"{label}: outcomes: got {show(o)}{closest(o, names)}; allowed: all, or a list of "
                                  f"the registry's outcomes ({', '.join(names)})")
    for o in settings.discover:
        if o not in probabilities:
            raise ConfigError(f"{label}: discover: got {show(o)}{closest(o, probabilities)}; allowed: the "
                              f"registry's binary outcomes ({', '.join(probabilities)})")


def compared_specs(spec: RunSpec, settings: ExploreSettings, overrides: list[str], label: str) -> dict[str, RunSpec]:
    """The scenarios compared with the explored one (robustness), composed with the same overrides."""
    from sim.run import scenario_names

    if "robustness" not in settings.method:
        return {}
    names = scenario_names()
    chosen = [n for n in names if n != spec.about.name] if settings.compare == "all" else settings.compare
    out = {}
    for name in chosen:
        if name not in names or name == spec.about.name:
            allowed = ", ".join(n for n in names if n != spec.about.name)
            raise ConfigError(f"{label}: compare: got {show(name)}{closest(name, names)}; allowed: all, or a list "
                              f"of other scenarios ({allowed})")
        other, _, _ = _compose(_scenario_override(overrides, name), f"{label} (compare {name})")
        out[name] = other
    return out


def prepare(args: list[str]) -> tuple[RunSpec, ExploreSettings, dict[str, RunSpec], Path]:
    """Everything checked before anything is written: spec, settings, compared specs, output folder."""
    from hydra import initialize_config_dir

    from sim.cli import _folder, _user_overrides, check_folder, check_overrides
    from sim.run import CONF_DIR, check_resources, register_configs

    flags = [a for a in args if a.startswith("-")]
    if flags:
        raise ConfigError(f"{flags[0]}: unknown flag; allowed: key=value overrides (python -m sim.explore --help)")
    register_configs()
    user = _user_overrides(args)
    label = " ".join(user) or "defaults"
    check_overrides(user, multirun=False)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        spec, settings, full = _compose(args, label)
        check_names(spec, settings, label)
        compared = compared_specs(spec, settings, args, label)
        check_resources(spec)
        folder = _folder(full, "run.dir")
    check_folder(folder, "hydra.run.dir", 64 * 2**20)
    return spec, settings, compared, folder


def main() -> None:
    """Entry point: one line and exit status 2 for bad input, 130 for Ctrl-C."""
    import time

    args = sys.argv[1:]
    if any(a in ("--help", "-h") for a in args):
        print(usage())
        return
    try:
        spec, settings, compared, folder = prepare(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C) before the exploration started; nothing was written", file=sys.stderr)
        sys.exit(130)
    try:
        t0 = time.time()
        ex, written = execute(spec, settings, compared, folder, args)
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C); files already complete in the folder are whole, others absent",
              file=sys.stderr)
        sys.exit(130)
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        sys.exit(1)
    print_summary(ex, folder, time.time() - t0)


def execute(spec: RunSpec, settings: ExploreSettings, compared: dict[str, RunSpec], folder: Path,
            args: list[str]) -> tuple[Any, list[Path]]:
    """Run the exploration with a progress bar, then write its folder."""
    import logging

    from sim.cli import _import_engine, _progress
    from sim.explore.run import design_evaluations, explore, write_outputs
    from sim.registry import declared_outcomes
    from sim.results import git_commit, package_versions

    _import_engine()
    logging.getLogger("MESA").setLevel(logging.WARNING)
    total = design_evaluations(spec, settings, len(compared))
    with _progress(total, quiet=total == 0 or not sys.stderr.isatty()) as advance:
        ex = explore(spec, settings, compared, progress=advance)
    labels = {o.name: o.label for o in declared_outcomes(spec)}
    document = {"command": " ".join(["python -m sim.explore", *args]), "scenario": spec.about.name,
                "seed": spec.run.seed, "steps": spec.run.steps, "uncertainty": spec.run.uncertainty,
                "settings": settings.model_dump(), "overrides": args, "versions": package_versions(),
                "git_commit": git_commit()}
    return ex, write_outputs(ex, folder, document, labels)


def print_summary(ex: Any, folder: Path, seconds: float) -> None:
    """The five leading inputs of each key outcome, the folder and the page."""
    from sim.explore.report import key_outcomes

    sens = ex.sensitivity
    if not sens.empty:
        for method, col in (("sobol", "ST"), ("morris", "mu_star")):
            rows = sens[sens["method"] == method]
            for o in key_outcomes(rows) if not rows.empty else []:
                top = rows[rows["outcome"] == o].sort_values(col, ascending=False).head(5)
                print(f"{method} {o}: " + ", ".join(f"{p} {col}={v:.3f}" for p, v in zip(top["parameter"], top[col])))
    from sim.explore.report import SIGNIFICANT, _bound

    for item in ex.discovery.get("prim", []):
        for b, box in enumerate(item["boxes"][:1]):
            strong = " and ".join(_bound(lim) for lim in box["limits"] if lim["qp"] < SIGNIFICANT) or "none"
            print(f"prim {item['outcome']}: base rate {item['base_rate']:.3f}; box {b + 1} density {box['density']:.3f}"
                  f", coverage {box['coverage']:.2f}, mass {box['mass']:.2f}: {strong}")
    rob = ex.discovery.get("robustness")
    for comp in rob["comparisons"] if rob else []:
        deal = comp["outcomes"].get("deal_ever")
        if deal:
            print(f"robustness {comp['scenario']} vs {rob['baseline']}: P(deal ever) higher in {deal['higher']:.2f} "
                  f"of the input space, lower in {deal['lower']:.2f}")
    print(f"explored in {seconds:.1f} s; folder: {folder}")
    print(f"page:   {folder / 'explore.html'}")
