"""The Mesa model: R Monte Carlo replicas advancing in lockstep.

A month is a declared schedule (docs/model.md, "Process overview and scheduling"):

1. the actors decide (Mesa AgentSet, in knowledge-base order; each reads the world as the last month left it,
   so the order changes nothing): their propensities (:data:`sim.decisions.DECISION_FIELDS`;
   :mod:`sim.agents`);
2. the mechanisms step in the run spec's ``schedule`` order (default: escalation, spoilers, mediation, exchange,
   bargaining, compromise, deal, nuclear, policy, hormuz), each a plug-in (:mod:`sim.mechanics.base`) drawing from
   its own substreams;
3. the recorder records.

State lives in numpy arrays with the replica axis last (:class:`sim.world.World`); per-replica branches are masks,
and there is no Python loop over replicas.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from sim.agents import AGENT_TYPES, DECISION_FIELDS, Actor, ActorParameters, DecisionRules
from sim.events import EventLog
from sim.mechanics.bargaining import risk_exponent
from sim.mechanics.base import Constants, Draws, Mechanism, load_all
from sim.mechanics.compromise import compromise
from sim.recorder import Recorder
from sim.spec import RunSpec
from sim.registry import build_index, declared_outcomes, declared_streams
from sim.streams import BlockStreams
from sim.uncertainty import draw_inputs, input_tables
from sim.world import Index, World


def _world(spec: RunSpec, values: dict[str, np.ndarray], base: dict[str, np.ndarray]) -> World:
    """The starting world from the drawn inputs (values (R,) by override key)."""
    actors, issues = spec.actor_ids, spec.issue_ids

    def per_actor(field: str, v: dict[str, np.ndarray]) -> np.ndarray:
        return np.stack([v[f"actors.{a}.{field}"] for a in actors])

    def per_issue(field: str, v: dict[str, np.ndarray]) -> np.ndarray:
        return np.stack([np.stack([v[f"actors.{a}.{field}.{i}"] for i in issues]) for a in actors])

    def relation(kind: str, symmetric: bool) -> np.ndarray:
        R = next(iter(values.values())).shape[-1]
        out = np.ones((len(actors), len(actors), R))
        for a, aid in enumerate(actors):
            for b, bid in enumerate(actors):
                if a != b:
                    key = f"relations.{kind}.{aid}-{bid}"
                    if symmetric and key not in values:
                        key = f"relations.{kind}.{bid}-{aid}"
                    out[a, b] = values[key]
        return out

    pos, sal = per_issue("position", values), per_issue("salience", values) / 100.0
    cap = per_actor("capability", values)
    cap = cap / cap.sum(axis=0, keepdims=True)
    # per-issue capability: the kind the issue declares (military, economic, diplomatic) or the overall one, as
    # shares summing to 1 over actors on every issue
    paths = spec.knowledge.capability_paths()
    fmt = np.stack([np.stack([values[paths[a][k]] for k in range(len(issues))]) for a in range(len(actors))])
    fmt = fmt / np.maximum(fmt.sum(axis=0, keepdims=True), 1e-12)
    outcome = compromise(pos, fmt * sal)
    initial = {k: v for k, v in values.items() if k.startswith("world.")}
    return World(position=pos, salience=sal, capability=cap, format_capability=fmt, in_force=outcome.copy(),
                 initial=initial,
                 risk_exponent=risk_exponent(per_actor("risk_attitude", values)), resolve=per_actor("resolve", values),
                 alignment=relation("alignment", True), trust=relation("trust", False),
                 scale=np.maximum(pos.max(axis=0) - pos.min(axis=0), 1.0),
                 base_position=per_issue("position", base), base_salience=per_issue("salience", base) / 100.0,
                 outcome=outcome, start_outcome=outcome.copy())


class GeoModel(mesa.Model):
    """Many replicas of the six-actor bargaining-and-escalation model, advanced together."""

    def __init__(self, spec: RunSpec, streams: BlockStreams, *, replica_ids: np.ndarray, n_logged: int = 0,
                 n_stored: int = 0):
        super().__init__()
        self.spec = spec
        self.index = build_index(spec)
        table, base = input_tables(spec)
        uniforms = np.full((len(table.paths), streams.width), 0.5)
        # a uniform for every input that is drawn in the scenario or in the baseline (a value fixed on the command
        # line keeps its baseline draw, so utilities are judged with the same baseline preferences as elsewhere)
        live = np.flatnonzero(table.drawn & (((table.dist > 0) & table.varies) | ((base.dist > 0) & base.varies)))
        uniforms[live] = streams.input_uniforms([table.paths[k] for k in live])
        self.inputs = draw_inputs(spec, uniforms)
        values = self.inputs.as_dict()
        self.world = _world(spec, values, self.inputs.baseline_dict())
        self.log = EventLog(replica_ids[:n_logged])
        self.mechanisms = self._bind(values, streams)
        self._add_actor_fields(values)
        self.actors = self._actors(values)
        for mech in self.mechanisms:
            mech.init(self.world)
        self._check_reads()
        w = self.world
        w.outcome = compromise(w.position, w.weight)
        w.in_force = w.outcome.copy()
        for mech in self.mechanisms:
            mech.prepare(self.world)
        w.start_outcome = w.outcome.copy()
        self.start_in_force = w.in_force.copy()
        self.outcomes = declared_outcomes(spec, self.index)
        self.recorder = Recorder(spec, self.world, n_stored, n_live=len(replica_ids))

    # --- construction -----------------------------------------------------------------------------------------
    def _bind(self, values: dict[str, np.ndarray], streams: BlockStreams) -> list[Mechanism[Any]]:
        registry = load_all()
        declared = declared_streams(self.spec, self.index)
        out = []
        for name in self.spec.schedule:
            section = self.spec.section(name)
            drawn = {f: values[f"mechanics.{name}.{f}"] for f, _ in section.uncertain()}
            out.append(registry[name](section, self.index, Constants(section, drawn),
                                      Draws(streams, declared[name]), self.log))
        return out

    def _actors(self, values: dict[str, np.ndarray]) -> mesa.AgentSet:
        """One Mesa agent per actor (its type's class, :data:`sim.agents.AGENT_TYPES`), built with its parameters
        and the decision rules' constants."""
        w, ix, spec = self.world, self.index, self.spec
        d = {name: values[f"decisions.{name}"] for name, _ in spec.decisions.uncertain()}
        # the mechanism constants the rules also use, passed explicitly
        d["snapback_deadline"] = np.asarray(float(spec.section("policy").snapback_deadline))
        d["sustained_cost_weight"] = values["mechanics.escalation.cost_sustained"]
        rules = DecisionRules(values=d, index=ix, disabled=frozenset(spec.decisions.disabled))
        spoilers = set(ix.actor_role("spoilers")) if spec.section("spoilers").enabled else set()
        for a, aid in enumerate(ix.actors):
            cls = AGENT_TYPES.get(aid, Actor)
            cls(self, ActorParameters(index=a, actor_id=aid, name=ix.actor_names[aid], resolve=w.resolve[a],
                                      risk_exponent=w.risk_exponent[a], war_cost=w["war_cost_rate"][a],
                                      base_position=w.base_position[a], base_salience=w.base_salience[a],
                                      spoiler=a in spoilers), rules)
        return self.agents          # in creation (knowledge-base) order

    def _add_actor_fields(self, values: dict[str, np.ndarray]) -> None:
        """The fields the actors own: their propensities (written each month), costs of war, the months of
        conflict they expect a strike to bring."""
        A, R = len(self.index.actors), self.world.n_replicas
        for name in DECISION_FIELDS:
            self.world.add(name, np.zeros((A, R)))
        self.world.add("p_strike_before", np.zeros((A, R)))
        self.world.add("war_cost_rate", np.stack([values[f"actors.{a}.war_cost"] for a in self.index.actors]))
        self.world.add("conflict_months", np.broadcast_to(values["decisions.conflict_months"], (R,)).copy())

    def _check_reads(self) -> None:
        for mech in self.mechanisms:
            for field in mech.reads:
                if field not in self.world:
                    raise RuntimeError(f"mechanism {mech.name!r} reads world field {field!r}, which no mechanism adds")

    @property
    def actors_by_id(self) -> dict[str, Actor]:
        return {a.actor_id: a for a in self.actors}

    # --- dynamics ---------------------------------------------------------------------------------------------
    def step(self) -> None:
        """One month: the actors decide, the enabled mechanisms step in schedule order, the recorder records."""
        self.world.step += 1
        self.world["p_strike_before"][:] = self.world["p_strike"]     # what others see: last month's choices
        self.actors.do("decide", self.world)
        for mech in self.mechanisms:
            if mech.enabled:
                mech.step(self.world)
        self.recorder.record(self.world)

    def run(self, steps: int) -> None:
        """Record the start, then advance ``steps`` months."""
        self.recorder.record(self.world)
        for _ in range(steps):
            self.step()

    def outcome_columns(self) -> dict[str, np.ndarray]:
        """The registry's per-replica outcomes (copies), in registry order."""
        return {o.name: np.asarray(o.compute(self.world)).astype(o.dtype) for o in self.outcomes}
