"""The world state at a case's baseline: the schema of a case's ``world:`` section, in one module.

:func:`engine_settings` maps it onto the engine: breakout time, inspectors' access, the 60 % stockpile, US
sanctions, support to Ukraine and proxy activity become the knowledge base's ``world`` values (Model 2's starting
state, :data:`KNOWLEDGE_WORLD`), the rung the crisis's starting rung, the talks' stage the deal's; the other fields
(enrichment level, other stockpiles, Hormuz, channel, UN snapback) are validated, carried and reported. Every field is
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

from datetime import date
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


#: A case's world value → the knowledge base's ``world.<key>`` (Model 2's starting state) and its scale factor.
KNOWLEDGE_WORLD: dict[str, tuple[str, float]] = {
    "nuclear.breakout_months": ("breakout_months", 1.0),
    "nuclear.inspector_access": ("inspector_access", 1.0),
    "nuclear.stockpile_kg_60": ("stockpile_60", 1.0),
    "sanctions.us": ("sanctions_us", 100.0),             # a case's 0..1 intensity → the 0..100 scale
    "ukraine_support": ("ukraine_support", 1.0),
    "proxy_activity": ("proxy_activity", 1.0),
}
#: The talks' stage at the baseline → ``mechanics.deal.initial_stage`` (a deal in force starts as a framework:
#: the engine's deal is the one the case's questions ask about, not an interim agreement already signed).
DEAL_STAGE = {"none": 0, "collapsed": 0, "talks": 1, "framework": 2, "signed": 2, "implemented": 2}
#: UNSC resolution 2231 (adopted 2015-07-20) lets a participant snap the UN sanctions back until 2025-10-18.
RESOLUTION_2231 = (date(2015, 7, 20), date(2025, 10, 18))
#: Months a case's talks run without an ultimatum (the March 2025 letter's deadline is that baseline's own).
NO_DEADLINE = 120


def _get(world: WorldState, path: str) -> Any:
    node: Any = world
    for part in path.split("."):
        node = getattr(node, part, None)
        if node is None:
            return None
    return node


def engine_settings(world: WorldState, sources: dict[str, Any] | None = None,
                    baseline: date | None = None) -> dict[str, Any]:
    """The config a case's world state sets (nested like the config): the knowledge base's ``world`` values with
    their own sources (``sources``: the case's checked sources by ``world.<path>``, :class:`sim.cases.CaseSource`),
    the crisis's starting rung, the talks' stage, no ultimatum, and the snapback window of resolution 2231 as seen
    from the ``baseline``. Values the case does not give keep the shared base's (as an inherited assumption), but
    for the 60 % stockpile of a case whose highest enrichment level is below 60 %: none (derived from that level,
    with its source), not the base's 2025 stock."""
    rung = int(world.escalation_rung.value)
    out: dict[str, Any] = {"mechanics": {"escalation": {"initial_rung": rung}, "deal": {"deadline": NO_DEADLINE}},
                           "world": {}}
    for path, (key, scale) in KNOWLEDGE_WORLD.items():
        value = _get(world, path)
        if value is None:
            continue
        src = sources.get(f"world.{path}") if sources else None
        source = src.engine_source() if src is not None else {"seed": "assumption", "why": f"the case's {path}"}
        out["world"][key] = {"low": value.low * scale, "mode": value.mode * scale, "high": value.high * scale,
                             "source": source}
    enrichment = world.nuclear.enrichment_pct
    if world.nuclear.stockpile_kg_60 is None and enrichment is not None and enrichment.high < 60:
        src = sources.get("world.nuclear.enrichment_pct") if sources else None
        cite = src.engine_source() if src is not None else {"seed": "assumption"}
        cite["why"] = (f"derived from the case's highest enrichment level ({enrichment.high:g} % at most): no "
                       "uranium enriched to 60 % exists below that (" + cite.get("why", "the case's value") + ")")
        out["world"]["stockpile_60"] = {"low": 0.0, "mode": 0.0, "high": 0.0, "source": cite}
    if world.deal is not None:
        out["mechanics"]["deal"]["initial_stage"] = DEAL_STAGE[world.deal.value]
    if baseline is not None:
        start, end = RESOLUTION_2231
        months = (end.year - baseline.year) * 12 + end.month - baseline.month if baseline >= start else 0
        out["mechanics"]["policy"] = {"snapback_deadline": max(months, 0)}
    return out
