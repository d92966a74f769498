"""The world state at a case's baseline: the schema of a case's ``world:`` section, in one module.

Today's engine reads only the escalation rung (:func:`engine_settings` maps it onto
``mechanics.escalation.initial_rung``); every other field is validated, carried and reported, so that Model 2's
world state (issue 12) can take them as initial values by extending :func:`engine_settings` alone. Every field is
a value with its own source (a :class:`sim.cases.CaseSource`, checked for look-ahead by :mod:`sim.cases`).

Fields (all optional): ``nuclear.breakout_months`` (months to one weapon's worth of weapon-grade uranium),
``nuclear.enrichment_pct`` (highest enrichment level), ``nuclear.stockpile_kg_60`` (kg of uranium enriched to 60 %),
``nuclear.stockpile_kg_20`` (kg enriched to 20 %), ``nuclear.stockpile_kg_total`` (kg of enriched uranium, any
level), ``nuclear.inspector_access`` (0..1), ``sanctions.us`` (0..1 intensity), ``sanctions.un_snapback`` (bool:
UN sanctions restored), ``ukraine_support`` (0..100), ``proxy_activity`` (0..100), ``hormuz``
(open|harassed|closed), ``channel`` (none|direct|mediated), ``deal`` (none|talks|framework|signed|implemented|
collapsed), ``escalation_rung`` (0..6, the ladder of :mod:`sim.mechanics.escalation`).
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.errors import got, problem

T = TypeVar("T")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Range(_Strict):
    """An uncertain number ``low <= mode <= high`` with its source (a mapping checked by :mod:`sim.cases`)."""

    low: float
    mode: float
    high: float
    source: dict[str, Any]

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low <= self.mode <= self.high:
            raise problem(got([self.low, self.mode, self.high], "allowed: low <= mode <= high"))
        return self


class Fixed(_Strict, Generic[T]):
    """A categorical or boolean value with its source."""

    value: T
    source: dict[str, Any]


class Nuclear(_Strict):
    breakout_months: Range | None = None
    enrichment_pct: Range | None = None
    stockpile_kg_60: Range | None = None
    stockpile_kg_20: Range | None = None
    stockpile_kg_total: Range | None = None
    inspector_access: Range | None = None

    @model_validator(mode="after")
    def _access_share(self) -> Nuclear:
        a = self.inspector_access
        if a is not None and not (0 <= a.low and a.high <= 1):
            raise problem(got([a.low, a.high], "allowed: a share from 0 to 1"), at="inspector_access")
        return self


class Sanctions(_Strict):
    us: Range | None = None
    un_snapback: Fixed[bool] | None = None


class WorldState(_Strict):
    """A case's world at its baseline date (every field optional, each with its source)."""

    nuclear: Nuclear = Field(default_factory=Nuclear)
    sanctions: Sanctions = Field(default_factory=Sanctions)
    ukraine_support: Range | None = None
    proxy_activity: Range | None = None
    hormuz: Fixed[Literal["open", "harassed", "closed"]] | None = None
    channel: Fixed[Literal["none", "direct", "mediated"]] | None = None
    deal: Fixed[Literal["none", "talks", "framework", "signed", "implemented", "collapsed"]] | None = None
    escalation_rung: Fixed[int]

    @model_validator(mode="after")
    def _rung(self) -> WorldState:
        if not 0 <= self.escalation_rung.value <= 6:
            raise problem(got(self.escalation_rung.value, "allowed: a rung from 0 to 6"), at="escalation_rung")
        return self

    def sources(self) -> list[tuple[str, dict[str, Any]]]:
        """Every value's source with the dotted path of the value (``world.nuclear.breakout_months``, …)."""
        out: list[tuple[str, dict[str, Any]]] = []

        def walk(node: BaseModel, path: str) -> None:
            for name in type(node).model_fields:
                value = getattr(node, name)
                if isinstance(value, (Range, Fixed)):
                    out.append((f"{path}.{name}", value.source))
                elif isinstance(value, BaseModel):
                    walk(value, f"{path}.{name}")
        walk(self, "world")
        return out

    @property
    def deal_in_force(self) -> bool:
        """A deal signed or implemented at the baseline."""
        return self.deal is not None and self.deal.value in ("signed", "implemented")


def engine_settings(world: WorldState) -> dict[str, Any]:
    """The config overrides today's engine takes from the world state (nested like the config).

    Model 2 hooks its world-state initial values in here; until then only the escalation rung is an input.
    """
    return {"mechanics": {"escalation": {"initial_rung": int(world.escalation_rung.value)}}}
