"""The what-if engine behind ``python -m sim.app``: a scenario, its inputs and levers in, outcomes out, fast.

Each scenario's config is composed by Hydra once (:meth:`WhatIf.config`, as ``python -m sim scenario=NAME``
composes it, with the page's run settings: ``replicas`` replicas in one chunk, one core, nothing stored but
the outcomes); a change is applied to a copy of that plain config and validated with
:func:`sim.run.spec_from_config` (~40 ms), exactly as the same overrides on the command line would be
(:meth:`WhatIf.overrides` gives them). So a page's numbers are those of
``python -m sim scenario=NAME n_runs=2000 <overrides>``.

What the page moves:

* **inputs** (:class:`InputSetting`) hold for the scenario *and* for the status quo it is compared with: a
  knowledge-base value (drawn per replica) is drawn within the range set (both ends together fix it); a mechanism
  or decision constant (held at its mode) is held at the value set;
* **levers** (:class:`Levers`) change the scenario only: the mediator (or none), which brokered exchanges are
  available (``mechanics.exchange.brokers``), the US ultimatum's deadline (months before talks count as stalled), the horizon in months.

Both runs share the seed, so replica r sees the same random numbers in both (common random numbers) and the
differences are paired (:func:`sim.compare.difference`). Results are cached by their overrides: moving a lever
recomputes the scenario only.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import outcomes as names

if TYPE_CHECKING:
    from sim.drivers import Ranking
    from sim.spec import RunSpec

BASELINE = "status_quo"
STRIKES_RUNG = 4                  #: "strikes": the highest rung reached is limited strikes or worse
#: The key probabilities the page shows: (name, label); ``strikes`` is derived from the highest rung.
#: The deal's two labels are the pages' (sim.report.headline): the headline first, the secondary after it.
KEY_PROBABILITIES = (("deal_ever", "P(deal signed within the horizon)"), ("deal", "P(deal in force at the end)"),
                     ("war", "P(regional war)"), ("strikes", f"P(strikes: rung ≥ {STRIKES_RUNG})"))


@dataclass(frozen=True)
class InputSetting:
    """An input as the page sets it: a range ``[low, high]`` for a drawn value (equal ends fix it), or ``value``
    for a constant held at its mode."""

    path: str
    low: float
    high: float
    drawn: bool


@dataclass(frozen=True)
class Levers:
    """The scenario's levers; None keeps the scenario's own setting."""

    mediator: str | None = None            #: an actor id, "neutral" (a third party with no stake), or "none" (off)
    links: tuple[str, ...] | None = None   #: keys of the exchange's brokers kept available (:func:`link_key`)
    deadline: int | None = None            #: mechanics.deal.deadline: months of the US ultimatum
    steps: int | None = None               #: months simulated: the deadline for a deal


@dataclass
class Outcomes:
    """One run's per-replica outcome columns and what it took."""

    columns: dict[str, np.ndarray]
    seconds: float
    replicas: int
    overrides: tuple[str, ...] = ()

    def indicator(self, name: str) -> np.ndarray:
        if name == "strikes":
            return (self.columns[names.MAX_RUNG] >= STRIKES_RUNG).astype(float)
        return self.columns[name].astype(float)


@dataclass
class Evaluation:
    """The scenario and the status quo under the same inputs, and how long the change took."""

    scenario: Outcomes
    baseline: Outcomes
    seconds: float                   #: wall time of this evaluation (cached runs cost nothing)
    computed: int                    #: replicas simulated for it
    rows: list[dict[str, Any]] = field(default_factory=list)


def link_key(link: dict[str, Any]) -> str:
    """A broker's key (``mechanics.exchange.brokers``): ``patron>client:issue,issue``."""
    return f"{link['patron']}>{link['client']}:{','.join(link['issues'])}"


def _render(value: Any) -> str:
    """A plain value as Hydra override syntax (lists in brackets, dicts in braces, no quotes)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_render(v)}" for k, v in value.items() if k != "note" and v is not None) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_render(v) for v in value) + "]"
    return str(value)


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at the dotted ``path`` of a plain config (a relation's pair in either order)."""
    parts = path.split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[part]
    last = parts[-1]
    if last not in node and "-" in last:
        a, _, b = last.partition("-")
        last = f"{b}-{a}" if f"{b}-{a}" in node else last
    node[last] = value


def _get_path(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        if part not in node and "-" in part:
            a, _, b = part.partition("-")
            part = f"{b}-{a}"
        node = node.get(part)
    return node


def _num(x: float) -> str:
    return f"{x:.6g}"


class WhatIf:
    """Scenarios evaluated under the page's inputs and levers (see the module doc)."""

    def __init__(self, replicas: int = 2000, seed: int | None = None, uncertainty: str = "knowledge"):
        self.replicas, self.seed, self.uncertainty = replicas, seed, uncertainty
        self._configs: dict[str, dict[str, Any]] = {}
        self._cache: dict[tuple[str, ...], Outcomes] = {}

    # --- composing ---------------------------------------------------------------------------------------------
    def settings(self) -> list[str]:
        """The run settings of every evaluation (one chunk of all replicas, one core, outcomes only)."""
        chunk = -(-self.replicas // 256) * 256
        out = [f"n_runs={self.replicas}", f"chunk_size={chunk}", "workers=1", "trajectory_replicas=0",
               "event_replicas=0", "report=false", f"uncertainty={self.uncertainty}"]
        return out + ([f"seed={self.seed}"] if self.seed is not None else [])

    def config(self, scenario: str) -> dict[str, Any]:
        """The scenario's composed config (a plain dict), composed once."""
        if scenario not in self._configs:
            from hydra import initialize_config_dir
            from hydra.core.global_hydra import GlobalHydra

            from sim.run import CONF_DIR, compose_config, plain, register_configs

            register_configs()
            GlobalHydra.instance().clear()
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
                self._configs[scenario] = plain(compose_config([f"scenario={scenario}", *self.settings()]))
        return self._configs[scenario]

    def overrides(self, scenario: str, inputs: Iterable[InputSetting] = (), levers: Levers | None = None
                  ) -> list[str]:
        """The command line's overrides for this evaluation (after ``scenario=`` and :meth:`settings`)."""
        cfg = self.config(scenario)
        out: list[str] = []
        for s in inputs:
            node = _get_path(cfg, s.path)
            if not s.drawn or s.low == s.high or not isinstance(node, dict):
                out.append(f"{s.path}={_num(s.low if s.drawn else s.high)}")
                continue
            mode = min(max(float(node.get("mode", s.low)), s.low), s.high)
            out += [f"{s.path}.low={_num(s.low)}", f"{s.path}.mode={_num(mode)}", f"{s.path}.high={_num(s.high)}"]
        if levers is not None:
            mech = cfg.get("mechanics", {})
            if levers.mediator is not None and "mediation" in mech:
                if levers.mediator == "none":
                    out.append("mechanics.mediation.enabled=false")
                else:
                    out += ["mechanics.mediation.enabled=true", f"mechanics.mediation.mediator={levers.mediator}"]
            if levers.links is not None and "exchange" in mech:
                kept = [link for link in mech["exchange"].get("brokers", []) if link_key(link) in levers.links]
                if len(kept) != len(mech["exchange"].get("brokers", [])):
                    out.append("mechanics.exchange.brokers=" + _render(kept))
            if levers.deadline is not None and "deal" in mech:
                out.append(f"mechanics.deal.deadline={int(levers.deadline)}")
            if levers.steps is not None:
                out.append(f"steps={int(levers.steps)}")
        return out

    def spec(self, scenario: str, inputs: Iterable[InputSetting] = (), levers: Levers | None = None) -> RunSpec:
        """The validated spec (ConfigError with one line, as on the command line)."""
        from sim.run import spec_from_config

        inputs = list(inputs)
        lines = self.overrides(scenario, inputs, levers)
        data = copy.deepcopy(self.config(scenario))
        for line in lines:
            key, _, _ = line.partition("=")
            _set_path(data, key, self._value(scenario, line, inputs, levers))
        return spec_from_config(data, origin=" ".join(lines) or scenario,
                                overrides=[f"scenario={scenario}", *self.settings(), *lines])

    def _value(self, scenario: str, line: str, inputs: list[InputSetting], levers: Levers | None) -> Any:
        """The plain value an override line sets (parsed here: the lines are ours, not the user's)."""
        key, _, text = line.partition("=")
        if key == "mechanics.exchange.brokers":
            assert levers is not None and levers.links is not None
            return [copy.deepcopy(link) for link in self.config(scenario)["mechanics"]["exchange"]["brokers"]
                    if link_key(link) in levers.links]
        if text in ("true", "false"):
            return text == "true"
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if key == "steps" else number

    # --- running -----------------------------------------------------------------------------------------------
    def run(self, scenario: str, inputs: Iterable[InputSetting] = (), levers: Levers | None = None) -> Outcomes:
        """The scenario's outcomes (cached by its overrides)."""
        inputs = list(inputs)
        key = (scenario, *self.overrides(scenario, inputs, levers))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        from sim.experiment import InProcess, run_experiment

        t0 = time.perf_counter()
        spec = self.spec(scenario, inputs, levers)
        chunks = run_experiment(spec, InProcess())
        columns = {k: np.concatenate([c.outcomes[k] for c in chunks]) for k in chunks[0].outcomes}
        out = Outcomes(columns, time.perf_counter() - t0, spec.run.n_runs, key[1:])
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[key] = out
        return out

    def evaluate(self, scenario: str, inputs: Iterable[InputSetting] = (), levers: Levers | None = None
                 ) -> Evaluation:
        """The scenario (with the levers) and the status quo (without), both under the inputs; paired rows."""
        inputs = list(inputs)
        t0 = time.perf_counter()
        before = set(self._cache)
        base = self.run(BASELINE, inputs)
        scen = self.run(scenario, inputs, levers)
        computed = sum(o.replicas for k, o in self._cache.items() if k not in before)
        ev = Evaluation(scen, base, time.perf_counter() - t0, computed)
        ev.rows = difference_rows(scen, base)
        return ev


def difference_rows(scen: Outcomes, base: Outcomes) -> list[dict[str, Any]]:
    """Scenario and status quo side by side with the paired difference (95 % interval): the key probabilities
    (in percentage points) and the mean issue outcomes (points on 0–100)."""
    from sim.compare import difference

    rows = []
    paired = len(scen.columns[names.WAR]) == len(base.columns[names.WAR])
    items = [(n, lab, 100.0) for n, lab in KEY_PROBABILITIES if n == "strikes" or n in scen.columns]
    items += [(c, c.removeprefix(names.ISSUE_PREFIX).replace("_", " "), 1.0)
              for c in scen.columns if c.startswith(names.ISSUE_PREFIX)]
    for name, label, scale in items:
        a, b = base.indicator(name), scen.indicator(name)
        d = difference(a, b, paired)
        kind = "probability" if scale == 100.0 else "issue"
        se_b = math.sqrt(b.var(ddof=1) / b.size) if b.size > 1 else math.nan
        rows.append({"name": name, "label": label, "kind": kind, "scenario": scale * float(b.mean()),
                     "scenario_se": scale * se_b, "status_quo": scale * float(a.mean()),
                     "difference": scale * d.estimate, "low": scale * d.low, "high": scale * d.high,
                     "paired": d.paired})
    return rows


def pilot_ranking(top: int = 6, replicas: int = 2000, seed: int | None = None) -> Ranking:
    """The fallback ranking from a pilot computed here: the status quo with every constant drawn too
    (``uncertainty=all``), its drawn inputs ranked by |Spearman ρ| with the key outcomes (:mod:`sim.drivers`)."""
    import pandas as pd

    from sim.drivers import rank_by_correlation
    from sim.experiment import InProcess, run_experiment

    engine = WhatIf(replicas, seed, uncertainty="all")
    chunks = run_experiment(engine.spec(BASELINE), InProcess())
    paths = list(chunks[0].parameter_paths)
    params = pd.DataFrame(np.concatenate([c.parameters for c in chunks if c.parameters is not None], axis=1).T,
                          columns=paths)
    outs = pd.DataFrame({k: np.concatenate([c.outcomes[k] for c in chunks]) for k in chunks[0].outcomes})
    return rank_by_correlation(params, outs, top, f"a pilot of {BASELINE} computed at start-up (uncertainty=all)")
