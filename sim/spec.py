"""The validated run spec: everything a run needs, checked once, at the edge.

Hydra composes ``conf/config.yaml`` + the knowledge base + the scenario + command-line overrides into one plain
dict; :func:`build_spec` validates it with the pydantic models below (the knowledge base with those of
:mod:`sim.knowledge`) and raises :class:`~sim.knowledge.ConfigError` with one line naming the field, the value
and what is allowed. Downstream code receives a :class:`RunSpec` and never re-checks input.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from sim.errors import ConfigError, describe_validation_error
from sim.knowledge import KnowledgeBase, Source, Uncertain
from sim.mechanics.escalation import TOP_RUNG
from sim.streams import BLOCK_SIZE
from sim.mechanics.bargaining import OfferRule, ProbabilityRule



class Strict(BaseModel):
    """Base: unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid")


Share = Field(ge=0.0, le=1.0)


class BargainingSpec(Strict):
    """Expected-utility bargaining (sim.mechanics.bargaining)."""

    rounds_per_step: int = Field(ge=1, le=10)
    offer_rule: OfferRule
    probability: ProbabilityRule
    risk: Literal["knowledge", "endogenous"]
    trust_floor: float = Field(ge=0.0, le=1.0)
    move_rate: float = Field(gt=0.0, le=1.0)
    precision: Literal["float32", "float64"]


class ExchangeLink(Strict):
    """Actor ``a`` concedes on ``issue_a`` to ``b``, who concedes on ``issue_b`` (moved by ``delivered_by`` if set)."""

    a: str
    issue_a: str
    b: str
    issue_b: str
    delivered_by: str | None = None
    note: str = ""


class ExchangeSpec(Strict):
    """Issue linkage and exchange (sim.mechanics.exchange)."""

    enabled: bool
    rate: float = Field(gt=0.0, le=1.0)
    leverage: float = Field(ge=0.0, le=1.0)
    trust_floor: float = Field(ge=0.0, le=1.0)
    links: list[ExchangeLink] = Field(max_length=8)


class MediationSpec(Strict):
    """Mediator, sidelined actors and spoilers (sim.mechanics.mediation)."""

    mediator: str | None
    parties: list[str]
    issues: list[str]
    credibility: float = Field(ge=0.0, le=1.0)
    bias: float = Field(ge=0.0, le=1.0)
    sidelined: list[str]
    sideline_factor: float = Field(ge=0.0, le=1.0)
    spoilers: list[str]


class EscalationSpec(Strict):
    """The escalation ladder (sim.mechanics.escalation)."""

    initial_rung: int = Field(ge=0, le=TOP_RUNG)
    incident_base: float = Field(ge=0.0, le=1.0)
    incident_proxy: float = Field(ge=0.0, le=1.0)
    proxy_sponsor: str
    targets: list[str]
    retaliation: float = Field(ge=0.0, le=1.0)
    counter: float = Field(ge=0.0, le=1.0)
    deescalation: float = Field(ge=0.0, le=1.0)
    trust_erosion: float = Field(ge=0.0, le=1.0)
    spoiler_rate: float = Field(ge=0.0, le=1.0)


class DealSpec(Strict):
    """When a deal is reached, what it does, and when it collapses (sim.mechanics.deal)."""

    parties: list[str]
    issues: list[str]
    tolerance: float = Field(gt=0.0, le=100.0)
    ratify: float = Field(ge=0.0, le=1.0)
    deescalation: int = Field(ge=0, le=TOP_RUNG)
    proxy_restraint: float = Field(ge=0.0, le=1.0)
    breakdown_base: float = Field(ge=0.0, le=1.0)
    breakdown_escalation: float = Field(ge=0.0, le=1.0)


class MechanicsSpec(Strict):
    """All mechanism parameters. Their defaults live in one place, ``conf/config.yaml``."""

    bargaining: BargainingSpec
    exchange: ExchangeSpec
    mediation: MediationSpec
    escalation: EscalationSpec
    deal: DealSpec


class About(Strict):
    """A scenario's name, question and sources."""

    name: str
    title: str = ""
    description: str = ""
    sources: list[Source] = []


class RunSettings(Strict):
    """How the Monte Carlo experiment is run (defaults in ``conf/config.yaml``)."""

    n_runs: int = Field(ge=1, le=100_000_000)
    seed: int = Field(ge=0)
    steps: int = Field(ge=1, le=600)
    chunk_size: int = Field(ge=BLOCK_SIZE)
    workers: int = Field(ge=0, le=512)
    trajectory_replicas: int = Field(ge=0)
    event_replicas: int = Field(ge=0, le=10000)
    report: bool

    @field_validator("chunk_size")
    @classmethod
    def _whole_blocks(cls, v: int) -> int:
        if v % BLOCK_SIZE:
            raise PydanticCustomError("blocks", f"a multiple of {BLOCK_SIZE} (the block size)")
        return v


class Change(Strict):
    """One parameter of the scenario that differs from the baseline knowledge base."""

    path: str
    baseline: dict[str, float]
    baseline_dist: str = "triangular"
    value: dict[str, float]
    source: Source


class RunSpec(Strict):
    """Everything one run needs, validated."""

    run: RunSettings
    about: About
    knowledge: KnowledgeBase
    mechanics: MechanicsSpec
    changes: list[Change] = []
    overrides: list[str] = []

    def check_references(self) -> None:
        """Every actor and issue named by a mechanism exists in the knowledge base (raises ConfigError)."""
        actors, issues = set(self.knowledge.actor_ids), set(self.knowledge.issue_ids)
        m = self.mechanics
        refs: list[tuple[str, str | None, set[str]]] = [
            ("mechanics.mediation.mediator", m.mediation.mediator, actors),
            ("mechanics.escalation.proxy_sponsor", m.escalation.proxy_sponsor, actors)]
        for name in ("parties", "sidelined", "spoilers"):
            refs += [(f"mechanics.mediation.{name}", a, actors) for a in getattr(m.mediation, name)]
        refs += [("mechanics.mediation.issues", i, issues) for i in m.mediation.issues]
        refs += [("mechanics.escalation.targets", a, actors) for a in m.escalation.targets]
        refs += [("mechanics.deal.parties", a, actors) for a in m.deal.parties]
        refs += [("mechanics.deal.issues", i, issues) for i in m.deal.issues]
        for k, link in enumerate(m.exchange.links):
            refs += [(f"mechanics.exchange.links.{k}.{f}", getattr(link, f), actors) for f in ("a", "b", "delivered_by")]
            refs += [(f"mechanics.exchange.links.{k}.{f}", getattr(link, f), issues) for f in ("issue_a", "issue_b")]
        for path, value, allowed in refs:
            if value is not None and value not in allowed:
                raise ConfigError(f"{path}: got {value!r}; allowed: {', '.join(sorted(allowed))}")
        if len(m.deal.parties) != 2:
            raise ConfigError(f"mechanics.deal.parties: got {m.deal.parties!r}; allowed: exactly two actors")
        if m.mediation.mediator is not None and len(m.mediation.parties) != 2:
            raise ConfigError(f"mechanics.mediation.parties: got {m.mediation.parties!r}; allowed: exactly two actors")

    @property
    def actor_ids(self) -> list[str]:
        return self.knowledge.actor_ids

    @property
    def issue_ids(self) -> list[str]:
        return self.knowledge.issue_ids


_RUN_KEYS = tuple(RunSettings.model_fields)
_KB_KEYS = ("baseline", "issues", "actors", "relations")


def _triple(u: Uncertain) -> dict[str, float]:
    return {"low": u.low, "mode": u.mode, "high": u.high}


def scenario_changes(kb: KnowledgeBase, baseline: KnowledgeBase) -> list[Change]:
    """The parameters of ``kb`` that differ from ``baseline``, with the source given for the new value."""
    base = dict(baseline.parameters())
    out = []
    for path, u in kb.parameters():
        b = base.get(path)
        if b is None or _triple(b) != _triple(u) or b.dist != u.dist:
            out.append(Change(path=path, baseline=_triple(b) if b else {}, baseline_dist=b.dist if b else u.dist,
                              value=_triple(u), source=u.source))
    return out


def build_spec(cfg: dict[str, Any], *, origin: str = "config", overrides: list[str] | None = None,
               baseline: KnowledgeBase | None = None) -> RunSpec:
    """Validate a composed config dict into a :class:`RunSpec`; raise :class:`ConfigError` with one line."""
    from sim.knowledge import load_knowledge

    known = set(_RUN_KEYS) | set(_KB_KEYS) | {"mechanics", "about"}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ConfigError(f"{origin}: {unknown[0]}: unknown key; allowed keys: {', '.join(sorted(known))}")
    kb = load_knowledge(data={k: cfg[k] for k in _KB_KEYS if k in cfg}, origin=origin)
    base = baseline if baseline is not None else load_knowledge()
    try:
        run = RunSettings.model_validate({k: cfg[k] for k in _RUN_KEYS if k in cfg})
        rest = _Rest.model_validate({"about": cfg.get("about") or {"name": "unnamed"},
                                     "mechanics": cfg.get("mechanics") or {}})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, origin)) from None
    spec = RunSpec(run=run, about=rest.about, knowledge=kb, mechanics=rest.mechanics,
                   changes=scenario_changes(kb, base), overrides=list(overrides or []))
    try:
        spec.check_references()
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    return spec


class _Rest(Strict):
    about: About
    mechanics: MechanicsSpec
