"""The Strait of Hormuz as Iran's lever: open, harassed or closed.

Sources
-------
- Article 002: "Iran has the military capabilities to block the strait" and "increased Iranian harassment" of
  foreign ships; Hormuz is Iran's deterrent against strikes.
- Talmadge, C. (2008). "Closing time: assessing the Iranian threat to the Strait of Hormuz." *International
  Security* 33(1): Iran could disrupt traffic for weeks to months, not close the strait for long against the US
  Navy — hence the reopening hazard.

State (R,) 0 open, 1 harassed, 2 closed; each month, with the owner's decided propensities: open → harassed with
``p_harass``; harassed → closed with ``p_close`` (only while the interstate track is at sustained strikes or war);
closed → harassed with ``reopen``; harassed → open with ``calm · (1 - p_harass)``. A month closed adds
``closure_cost × war_cost_a`` to every actor's cost of conflict (in this mechanism's step). The strait's state
enters nothing but these costs (its deterrent effect on strikers is not modelled).
"""

from __future__ import annotations

import numpy as np

from sim.knowledge import Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim import outcomes as names
from sim.outcomes import Outcome
from sim.world import Index, World

OPEN, HARASSED, CLOSED = 0, 1, 2
STATES = ("open", "harassed", "closed")


def step_strait(state: np.ndarray, u: np.ndarray, p_harass: np.ndarray, p_close: np.ndarray, reopen: np.ndarray | float,
                calm: np.ndarray | float, fighting: np.ndarray) -> np.ndarray:
    """One month of the strait's state (R,) with uniforms ``u`` (2, R)."""
    harass = (state == OPEN) & (u[0] < p_harass)
    close = (state == HARASSED) & fighting & (u[0] < p_close)
    reopened = (state == CLOSED) & (u[1] < reopen)
    calmed = (state == HARASSED) & ~close & (u[1] < calm * (1.0 - p_harass))
    new = np.where(harass, HARASSED, state)
    new = np.where(close, CLOSED, new)
    new = np.where(reopened, HARASSED, new)
    return np.where(calmed, OPEN, new).astype(np.int8)


class HormuzSpec(MechanismSpec):
    """``mechanics.hormuz``: who holds the lever and how long closures and harassment last."""

    owner: str
    reopen: Share
    calm: Share
    closure_cost: Share

    def references(self) -> list[Ref]:
        return [("owner", self.owner, "actor")]


@register
class Hormuz(Mechanism[HormuzSpec]):
    """Harassment and closure of the Strait of Hormuz by its owner's choice (article 002; Talmadge 2008)."""

    name = "hormuz"
    Spec = HormuzSpec
    reads = ("p_harass", "p_close", "strike_level", "war_cost", "war_cost_rate", "rung")

    @classmethod
    def outcomes(cls, section: HormuzSpec, index: Index) -> list[Outcome]:
        return [
            Outcome(names.HORMUZ_CLOSED_STEP, "step", "month the Strait of Hormuz was first closed",
                    lambda w: w["hormuz_closed_step"], "world", "int32"),
            Outcome("hormuz_closed", "probability", "Strait of Hormuz closed at some point",
                    lambda w: w["hormuz_closed_step"] >= 0, "world", "bool"),
        ]

    def init(self, world: World) -> None:
        n = world.n_replicas
        self.owner = self.index.a(self.section.owner)
        world.add("hormuz", np.zeros(n, np.int8))
        world.add("hormuz_closed_step", np.full(n, -1, np.int16))

    def step(self, world: World) -> None:
        c, t = self.c, world.step
        u = self.draw(self.name).uniform(2)
        before = world["hormuz"]
        new = step_strait(before, u, world["p_harass"][self.owner], world["p_close"][self.owner], c.reopen, c.calm,
                          world["strike_level"] >= 2)
        world["hormuz"] = new
        closed = new == CLOSED
        world["hormuz_closed_step"] = np.where(closed & (world["hormuz_closed_step"] < 0), t,
                                               world["hormuz_closed_step"]).astype(np.int16)
        world["war_cost"] += world["war_cost_rate"] * (c.closure_cost * closed)
        ix, owner = self.index, self.index.name(self.owner)
        rung = world["rung"]
        self.log.record((before == OPEN) & (new == HARASSED), t, ix.actors[self.owner], "hormuz_harassment",
                        f"{owner} harasses shipping in the Strait of Hormuz", rung, rung)
        self.log.record((before != CLOSED) & closed, t, ix.actors[self.owner], "hormuz_closure",
                        f"{owner} closes the Strait of Hormuz", rung, rung)
        self.log.record((before == CLOSED) & ~closed, t, "", "hormuz_reopened", "the Strait of Hormuz reopens", rung, rung)
