"""The model's state: numpy arrays with the replica axis last, and the per-replica parameter draws that fill them.

Shapes (A actors, I issues, R replicas of a chunk):
``position``/``salience`` (A, I, R), ``capability``/``risk``/``resolve`` (A, R), ``alignment``/``trust``
(A, A, R), ``outcome`` (I, R), ``rung`` and the deal flags (R,).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.knowledge import Uncertain
from sim.mechanics.bargaining import risk_exponent
from sim.mechanics.compromise import compromise
from sim.spec import RunSpec
from sim.streams import BlockStreams

_DISTS = {"fixed": 0, "uniform": 1, "triangular": 2}


@dataclass(frozen=True)
class ParameterTable:
    """The uncertain parameters as columns: dotted path, low, mode, high and distribution code."""

    paths: tuple[str, ...]
    low: np.ndarray
    mode: np.ndarray
    high: np.ndarray
    dist: np.ndarray

    @classmethod
    def from_parameters(cls, params: list[tuple[str, Uncertain]]) -> "ParameterTable":
        return cls(paths=tuple(p for p, _ in params),
                   low=np.array([u.low for _, u in params]), mode=np.array([u.mode for _, u in params]),
                   high=np.array([u.high for _, u in params]),
                   dist=np.array([_DISTS[u.dist] for _, u in params]))

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Inverse-CDF transform of uniforms ``u`` (P, R) into parameter values (P, R)."""
        lo, mo, hi = self.low[:, None], self.mode[:, None], self.high[:, None]
        span = np.maximum(hi - lo, 1e-12)
        cut = (mo - lo) / span
        tri = np.where(u < cut, lo + np.sqrt(u * span * (mo - lo)), hi - np.sqrt((1 - u) * span * (hi - mo)))
        uni = lo + u * (hi - lo)
        d = self.dist[:, None]
        return np.where(d == 0, mo, np.where(d == 1, uni, tri))


def parameter_tables(spec: RunSpec) -> tuple[ParameterTable, ParameterTable]:
    """The scenario's parameters and the baseline's (scenario changes reverted), in the same order."""
    params = spec.knowledge.parameters()
    scenario = ParameterTable.from_parameters(params)
    reverted = {c.path: {**c.baseline, "dist": c.baseline_dist} for c in spec.changes if c.baseline}
    base_params = [(p, u.model_copy(update=reverted[p]) if p in reverted else u) for p, u in params]
    return scenario, ParameterTable.from_parameters(base_params)


@dataclass
class State:
    """Everything that changes during a run, for R replicas side by side."""

    position: np.ndarray
    salience: np.ndarray
    capability: np.ndarray
    risk: np.ndarray
    resolve: np.ndarray
    alignment: np.ndarray
    trust: np.ndarray
    scale: np.ndarray            #: (I, R) initial range of positions (distances are divided by it)
    base_position: np.ndarray    #: (A, I, R) baseline preferences, for utilities comparable across scenarios
    base_salience: np.ndarray
    outcome: np.ndarray
    start_outcome: np.ndarray
    rung: np.ndarray
    max_rung: np.ndarray
    deal: np.ndarray
    deal_step: np.ndarray
    deal_broken: np.ndarray
    spoiled: np.ndarray
    step: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def n_replicas(self) -> int:
        return self.rung.shape[0]


def _unpack(spec: RunSpec, table: ParameterTable, values: np.ndarray) -> dict[str, np.ndarray]:
    """Arrange drawn values (P, R) into the model's arrays by their dotted paths."""
    actors, issues = spec.actor_ids, spec.issue_ids
    A, I, R = len(actors), len(issues), values.shape[1]
    index = {p: n for n, p in enumerate(table.paths)}
    pos, sal = np.empty((A, I, R)), np.empty((A, I, R))
    cap, risk, res = np.empty((A, R)), np.empty((A, R)), np.empty((A, R))
    align, trust = np.ones((A, A, R)), np.ones((A, A, R))
    for a, aid in enumerate(actors):
        cap[a] = values[index[f"actors.{aid}.capability"]]
        risk[a] = values[index[f"actors.{aid}.risk_attitude"]]
        res[a] = values[index[f"actors.{aid}.resolve"]]
        for k, iid in enumerate(issues):
            pos[a, k] = values[index[f"actors.{aid}.position.{iid}"]]
            sal[a, k] = values[index[f"actors.{aid}.salience.{iid}"]]
        for b, bid in enumerate(actors):
            if a == b:
                continue
            key = f"relations.alignment.{aid}-{bid}"
            key = key if key in index else f"relations.alignment.{bid}-{aid}"
            align[a, b] = values[index[key]]
            trust[a, b] = values[index[f"relations.trust.{aid}-{bid}"]]
    return {"position": pos, "salience": sal / 100.0, "capability": cap / cap.sum(axis=0, keepdims=True),
            "risk": risk, "resolve": res, "alignment": align, "trust": trust}


def initial_state(spec: RunSpec, streams: BlockStreams) -> State:
    """Draw every uncertain parameter per replica (one uniform per parameter) and set the starting state."""
    scenario, baseline = parameter_tables(spec)
    u = streams.uniform(len(scenario.paths))
    now = _unpack(spec, scenario, scenario.draw(u))
    base = _unpack(spec, baseline, baseline.draw(u))
    pos = now["position"]
    R = pos.shape[-1]
    rexp = (risk_exponent(now["risk"]) if spec.mechanics.bargaining.risk == "knowledge" else np.ones_like(now["risk"]))
    weight = now["capability"][:, None, :] * now["salience"]
    outcome = compromise(pos, weight)
    rung0 = np.full(R, spec.mechanics.escalation.initial_rung, dtype=np.int8)
    return State(position=pos, salience=now["salience"], capability=now["capability"], risk=rexp,
                 resolve=now["resolve"], alignment=now["alignment"], trust=now["trust"],
                 scale=np.maximum(pos.max(axis=0) - pos.min(axis=0), 1.0),
                 base_position=base["position"], base_salience=base["salience"],
                 outcome=outcome, start_outcome=outcome.copy(), rung=rung0, max_rung=rung0.copy(),
                 deal=np.zeros(R, bool), deal_step=np.full(R, -1, np.int16), deal_broken=np.zeros(R, bool),
                 spoiled=np.zeros(R, bool))
