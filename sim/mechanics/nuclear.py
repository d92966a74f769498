"""Iran's nuclear programme as a state apart from declared positions: breakout time and inspectors' access.

Sources
-------
- IAEA reports of 2025-02-26 as analysed by the Institute for Science and International Security, and the
  Director General's statement of 2025-03-03 (the knowledge base's ``world`` values): breakout in about a week,
  complementary access refused for four years.
- Joint Comprehensive Plan of Action (2015): a one-year breakout time under verified limits, the reference point
  ``breakout_reference`` of the issue's 100 ("verified rollback (JCPOA-plus)").
- Kreps, S. E. & Fuhrmann, M. (2011). "Attacking the atom: does bombing nuclear facilities affect proliferation?"
  *Journal of Strategic Studies* 34(2): strikes delay programmes by months to a few years (``strike_setback``)
  and may harden the target's resolve (Iran's decision rule raises its drive to advance after a strike).

State (R,): ``breakout`` months to one significant quantity of weapon-grade uranium, ``access`` 0..1, ``stockpile``
kg of uranium enriched to 60 % (``stockpile / 42`` significant quantities, IAEA's conversion). Each month (this
reduced form is the project's extension; breakout time is a state of its own, not computed from the stockpile,
because with a stockpile of several significant quantities breakout is bounded by conversion, not by material):
- Iran advances with the probability it decided (``p_advance``, no deal in force): ``B ← B_min + (B - B_min)(1 - ν)``,
  ``a ← a (1 - α_adv)`` and ``S ← S + P`` (P the monthly production at 60 %);
- under a deal in force the terms D on the nuclear issue are implemented at rate ι: ``B ← B + ι (B_ref · D / 100 - B)``,
  ``a ← a + ι (D / 100 - a)``, ``S ← S + ι (S_0 (1 - D / 100) - S)`` (shipped out or down-blended);
- a strike on the nuclear facilities: ``B ← B + setback`` and ``a ← a (1 - α_strike)``.
The issue's value in force is ``N = 100 (w · min(B / B_ref, 1) + (1 - w) · a)``.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from sim.knowledge import Kilograms, Months, Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim import outcomes as names
from sim.outcomes import Outcome
from sim.world import Index, World


def nuclear_index(breakout: np.ndarray, access: np.ndarray, reference: np.ndarray | float,
                  weight: np.ndarray | float) -> np.ndarray:
    """The programme on the issue's 0..100 scale: constraints in force from breakout time and access."""
    return 100.0 * (weight * np.minimum(breakout / reference, 1.0) + (1.0 - weight) * access)


def advance(breakout: np.ndarray, access: np.ndarray, mask: np.ndarray, floor: np.ndarray | float,
            rate: np.ndarray | float, access_cut: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Breakout contracts toward its floor and access shrinks where Iran advances (``mask``)."""
    b = np.where(mask, floor + (breakout - floor) * (1.0 - rate), breakout)
    b = np.minimum(b, breakout)                   # advancing never lengthens breakout
    a = np.where(mask, access * (1.0 - access_cut), access)
    return b, a


def implement(breakout: np.ndarray, access: np.ndarray, mask: np.ndarray, terms: np.ndarray,
              reference: np.ndarray | float, rate: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """A deal's terms D (0..100) implemented at ``rate`` a month where ``mask``."""
    b = np.where(mask, breakout + rate * (reference * terms / 100.0 - breakout), breakout)
    a = np.where(mask, access + rate * (terms / 100.0 - access), access)
    return b, a


class NuclearSpec(MechanismSpec):
    """``mechanics.nuclear``: the programme's dynamics (docs/model.md, "World state")."""

    issue: str
    owner: str
    breakout_floor: Months
    production: Kilograms
    advance_rate: Share
    advance_access_cut: Share
    implementation_rate: Share
    breakout_reference: Months
    breakout_weight: Share
    strike_setback: Months
    strike_access_cut: Share

    def references(self) -> list[Ref]:
        return [("issue", self.issue, "issue"), ("owner", self.owner, "actor")]

    def roles(self) -> dict[str, tuple[str, ...]]:
        return {"nuclear.issue": (self.issue,), "nuclear.owner": (self.owner,)}


@register
class Nuclear(Mechanism[NuclearSpec]):
    """Breakout time and inspectors' access, advanced by the owner's choices, by a deal's implementation and set
    back by strikes (JCPOA 2015 reference; Kreps & Fuhrmann 2011). The reduced form is this project's extension."""

    name = "nuclear"
    Spec = NuclearSpec
    reads = ("p_advance", "deal", "deal_terms", "nuclear_strike")

    @classmethod
    def outcomes(cls, section: NuclearSpec, index: Index) -> list[Outcome]:
        return [Outcome(names.BREAKOUT, "quantity", "Iran's breakout time at the end (months)",
                        lambda w: w["breakout"], "world"),
                Outcome("stockpile_60", "quantity", "Iran's stock of 60 % enriched uranium at the end (kg)",
                        lambda w: w["stockpile"], "world")]

    def init(self, world: World) -> None:
        self.k = self.index.i(self.section.issue)
        self.owner = self.index.a(self.section.owner)
        world.add("breakout", world.initial["world.breakout_months"].copy())
        world.add("access", world.initial["world.inspector_access"].copy())
        world.add("stockpile", world.initial["world.stockpile_60"].copy())

    def prepare(self, world: World) -> None:
        self._in_force(world)

    def _in_force(self, world: World) -> None:
        world.in_force[self.k] = nuclear_index(world["breakout"], world["access"], self.c.breakout_reference,
                                               self.c.breakout_weight)

    def step(self, world: World) -> None:
        c = self.c
        u = self.draw(self.name).uniform()
        deal = world["deal"]
        advancing = ~deal & (u < world["p_advance"][self.owner])
        b, a = advance(world["breakout"], world["access"], advancing, c.breakout_floor, c.advance_rate,
                       c.advance_access_cut)
        b, a = implement(b, a, deal, world["deal_terms"][self.k], c.breakout_reference, c.implementation_rate)
        s0 = world.initial["world.stockpile_60"]
        stock = np.where(advancing, world["stockpile"] + c.production, world["stockpile"])
        stock = np.where(deal, stock + c.implementation_rate * (s0 * (1.0 - world["deal_terms"][self.k] / 100.0) - stock),
                         stock)
        world["stockpile"] = np.maximum(stock, 0.0)
        hit = world["nuclear_strike"]
        b = np.where(hit, b + c.strike_setback, b)
        a = np.where(hit, a * (1.0 - c.strike_access_cut), a)
        world["breakout"], world["access"] = b, np.clip(a, 0.0, 1.0)
        self._in_force(world)
