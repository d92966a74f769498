"""The world state: numpy arrays with the replica axis last, shared by the agents and the mechanisms.

Shapes (A actors, I issues, R replicas of a chunk): ``position``/``salience``/``weight`` (A, I, R),
``capability``/``risk_exponent``/``resolve`` (A, R), ``alignment``/``trust`` (A, A, R), ``outcome`` and
``in_force`` (I, R). Declared positions are the bargaining space and ``outcome`` the bargained result; the state of
the world — what actors do — lives in the mechanisms' fields (``breakout``, ``sanctions_us``, ``proxy_activity``,
``hormuz``, ``deal_stage``, …), and ``in_force`` reads each issue off that state where a mechanism owns it.
Mechanisms add their own fields (``world["rung"]``, ``world["deal"]``, …) in :meth:`Mechanism.init
<sim.mechanics.base.Mechanism.init>`; a field is added once, by its owner, and read by name by the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Index:
    """Names → array indices, and the words for them (from the knowledge base)."""

    actors: tuple[str, ...]
    issues: tuple[str, ...]
    actor_names: dict[str, str]
    issue_labels: dict[str, str]
    base_alignment: np.ndarray          #: (A, A) alignment modes of the run's knowledge base (who are adversaries)
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)   #: named groups from the spec sections

    def a(self, actor_id: str) -> int:
        return self.actors.index(actor_id)

    def i(self, issue_id: str) -> int:
        return self.issues.index(issue_id)

    def name(self, a: int) -> str:
        return self.actor_names[self.actors[a]]

    def label(self, k: int) -> str:
        return self.issue_labels[self.issues[k]]

    def actor_role(self, role: str) -> list[int]:
        """Indices of the actors of a named role (``deal.parties``)."""
        return [self.a(x) for x in self.roles[role]]

    def issue_role(self, role: str) -> list[int]:
        """Indices of the issues of a named role (``deal.issues``)."""
        return [self.i(x) for x in self.roles[role]]

    @property
    def adversaries(self) -> np.ndarray:
        """(A, A) bool: pairs whose alignment mode in the run's knowledge base is negative."""
        return self.base_alignment < 0


@dataclass
class World:
    """Everything that changes during a run, for R replicas side by side."""

    position: np.ndarray
    salience: np.ndarray           #: in [0, 1]
    capability: np.ndarray         #: shares, summing to 1 over actors
    format_capability: np.ndarray  #: (A, I, R) capability in the negotiating format (mediation may sideline)
    risk_exponent: np.ndarray      #: BDM risk exponent from the risk attitude: < 1 risk-acceptant, > 1 averse
    resolve: np.ndarray
    alignment: np.ndarray
    trust: np.ndarray
    scale: np.ndarray              #: (I, R) initial range of positions (bargaining distances are divided by it)
    base_position: np.ndarray      #: baseline preferences, for utilities comparable across scenarios
    base_salience: np.ndarray
    outcome: np.ndarray            #: (I, R) the bargained outcome: weighted mean of declared positions, or the deal
    start_outcome: np.ndarray
    in_force: np.ndarray           #: (I, R) what is in force: the world state on its issue's scale, else ``outcome``
    initial: dict[str, np.ndarray] = field(default_factory=dict)   #: the drawn ``world.*`` knowledge values (R,)
    step: int = 0
    fields: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_replicas(self) -> int:
        return int(self.position.shape[-1])

    @property
    def weight(self) -> np.ndarray:
        """(A, I, R) format capability × salience: the weights of the compromise outcome and the exchange."""
        w = self.fields.get("_weight")
        if w is None:
            w = self.fields["_weight"] = self.format_capability * self.salience
        return w

    def sideline(self, format_capability: np.ndarray) -> None:
        """Replace the format capability (and so the weights)."""
        self.format_capability = format_capability
        self.fields.pop("_weight", None)

    def add(self, name: str, value: np.ndarray) -> None:
        """Add a mechanism's state field (once)."""
        if name in self.fields:
            raise KeyError(f"world field {name!r} is added twice")
        self.fields[name] = value

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.fields[name]
        except KeyError:
            raise KeyError(f"world field {name!r} does not exist (fields: {', '.join(sorted(self.fields))})") from None

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        if name not in self.fields:
            raise KeyError(f"world field {name!r} was never added; add it in its mechanism's init")
        self.fields[name] = value

    def __contains__(self, name: str) -> bool:
        return name in self.fields
