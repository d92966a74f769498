"""The validated run spec: everything a run needs, checked once, at the edge.

Hydra composes ``conf/config.yaml`` + the knowledge base + the scenario + command-line overrides into one plain
dict; :func:`build_spec` validates it with the pydantic models below (the knowledge base with those of
:mod:`sim.knowledge`) and raises :class:`~sim.knowledge.ConfigError` with one line naming the field, the value
and what is allowed. Downstream code receives a :class:`RunSpec` and never re-checks input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from sim.decisions import RULES
from sim.errors import ConfigError, closest, describe_validation_error, got, problem, show
from sim.knowledge import (DEFAULT_SEEDS_DIR, KnowledgeBase, Months, Multiplier, Share, Source, Text, Uncertain,
                           check_sources_exist)
from sim.mechanics.base import MechanismSpec, load_all
from sim.streams import BLOCK_SIZE



class Strict(BaseModel):
    """Base: unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid")


class DecisionsSpec(Strict):
    """``decisions``: the constants of the actors' decision rules (sim.agents; docs/model.md, "Actors"), and the
    rules switched off (``disabled``, for ablations)."""

    precision: Multiplier
    retaliation: Share
    deal_retaliation_restraint: Share
    counter: Share
    spoiler_rate: Share
    spoiler_gain: Multiplier
    conflict_months: Multiplier
    threat_breakout_scale: Months
    threat_access_weight: Share
    hope_talks: Share
    hope_framework: Share
    strike_base: Share
    audience_cost: Share
    sanctions_pressure: Share
    alliance_restraint: Multiplier
    arms_deterrence: Multiplier
    talks_base: Share
    advance_base: Share
    hardening: Share
    respond_base: Share
    proxy_surge: Share
    proxy_restraint: Share
    harass_base: Share
    close_base: Share
    snapback_base: Share
    arms_base: Share
    balancing_rate: Share
    disabled: list[str] = []

    @field_validator("disabled")
    @classmethod
    def _known_rules(cls, value: list[str]) -> list[str]:
        for rule in value:
            if rule not in RULES:
                raise problem(got(rule, f"allowed: rules {', '.join(RULES)}"))
        return value

    def uncertain(self) -> Iterator[tuple[str, Uncertain]]:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, Uncertain):
                yield name, value


class About(Strict):
    """A scenario's name, question and sources (a title or description, when given, says something)."""

    name: Text
    title: str = ""
    description: str = ""
    sources: list[Source] = []

    @model_validator(mode="after")
    def _not_blank(self) -> About:
        for name in ("title", "description"):
            if name in self.model_fields_set and not getattr(self, name).strip():
                raise problem(got(getattr(self, name), "allowed: non-empty text (or leave the key out)"), at=name)
        return self


class RaySettings(Strict):
    """``ray.*``: where ``executor=ray`` runs its tasks (sim.ray_executor; README "On a Ray cluster")."""

    #: ``null``: a local Ray started for the run (loopback only, ``workers`` CPUs); ``auto`` or ``HOST:PORT``: the
    #: cluster started there with ``ray start --head``; ``ray://HOST:10001``: through Ray Client.
    address: str | None = None
    max_retries: int = Field(default=2, ge=0, le=20)   #: a failed chunk is tried again this many times
    in_flight: int = Field(default=0, ge=0, le=100_000)  #: chunks submitted at once; 0 = twice the cluster's CPUs


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
    uncertainty: Literal["knowledge", "all"] = "knowledge"
    resume: bool = False      #: finish the run in hydra.run.dir from its checkpoints (sim.lifecycle)
    #: where the chunks run: ``local`` (in-process, or a pool of ``workers`` processes) or ``ray`` (Ray tasks)
    executor: Literal["local", "ray"] = "local"
    ray: RaySettings = RaySettings()

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
    decisions: DecisionsSpec
    mechanics: dict[str, SerializeAsAny[MechanismSpec]]
    schedule: list[str]
    changes: list[Change] = []
    overrides: list[str] = []
    #: False when the seed articles (``../shared/seeds``) were absent: the cited phrases were not checked.
    citations_checked: bool = True

    def section(self, name: str) -> Any:
        """A mechanism's spec section (its own pydantic model, e.g. :class:`~sim.mechanics.deal.DealSpec`)."""
        return self.mechanics[name]

    def roles(self) -> dict[str, tuple[str, ...]]:
        """Every section's named groups of actors and issues (``deal.parties``, ``spoilers``, …)."""
        out: dict[str, tuple[str, ...]] = {}
        for sec in self.mechanics.values():
            out.update(sec.roles())
        return out

    @property
    def actor_ids(self) -> list[str]:
        return self.knowledge.actor_ids

    @property
    def issue_ids(self) -> list[str]:
        return self.knowledge.issue_ids


def _check_references(mechanics: dict[str, MechanismSpec], kb: KnowledgeBase) -> None:
    """Every actor and issue a section names exists in the knowledge base (raises ConfigError)."""
    actors, issues = kb.actor_ids, kb.issue_ids
    allowed = {"actor": actors, "issue": issues}
    for name, sec in mechanics.items():
        for path, value, kind in sec.references():
            if value is not None and value not in allowed[kind]:
                raise ConfigError(f"mechanics.{name}.{path}: got {value!r}{closest(value, allowed[kind])}; allowed: "
                                  f"{', '.join(allowed[kind])}")
        line = sec.check(actors, issues)
        if line:
            raise ConfigError(f"mechanics.{name}.{line}")


def _mechanics(data: Any, schedule: Any) -> tuple[dict[str, MechanismSpec], list[str]]:
    """Validate every section through the registry and the schedule against it (ConfigError with one line)."""
    registry = load_all()
    names = sorted(registry)
    if not isinstance(data, dict):
        raise ConfigError(f"mechanics: got {show(data)}; allowed: a mapping with the sections {', '.join(names)}")
    out: dict[str, MechanismSpec] = {}
    for key, value in data.items():
        if key not in registry:
            raise ConfigError(f"mechanics.{key}: unknown mechanism{closest(str(key), names)}; allowed: "
                              f"{', '.join(names)}")
        try:
            out[key] = registry[key].Spec.model_validate(value if value is not None else {})
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, f"mechanics.{key}").replace(
                f"mechanics.{key}: ", f"mechanics.{key}.", 1)) from None
    missing = [n for n in names if n not in out]
    if missing:
        raise ConfigError(f"mechanics.{missing[0]}: missing; required: a section for every registered mechanism "
                          f"({', '.join(names)})")
    if not isinstance(schedule, list) or any(not isinstance(s, str) for s in schedule):
        raise ConfigError(f"schedule: got {show(schedule)}; allowed: a list of mechanism names ({', '.join(names)})")
    for s in schedule:
        if s not in registry:
            raise ConfigError(f"schedule: got {s!r}{closest(s, names)}; allowed: {', '.join(names)}")
    if sorted(schedule) != names:
        left = [n for n in names if schedule.count(n) != 1]
        raise ConfigError(f"schedule: got {schedule!r}; allowed: every mechanism exactly once ({left[0]!r} is "
                          f"{'missing' if left[0] not in schedule else 'repeated'})")
    return {n: out[n] for n in schedule}, list(schedule)


_RUN_KEYS = tuple(RunSettings.model_fields)
_KB_KEYS = ("baseline", "issues", "actors", "relations", "world")
_OTHER_KEYS = ("mechanics", "about", "decisions", "schedule")


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

    known = set(_RUN_KEYS) | set(_KB_KEYS) | set(_OTHER_KEYS)
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ConfigError(f"{origin}: {unknown[0]}: unknown key; allowed keys: {', '.join(sorted(known))}")
    kb = load_knowledge(data={k: cfg[k] for k in _KB_KEYS if k in cfg}, origin=origin)
    base = baseline if baseline is not None else load_knowledge()
    try:
        run = RunSettings.model_validate({k: cfg[k] for k in _RUN_KEYS if k in cfg})
        rest = _Rest.model_validate({"about": cfg.get("about") or {"name": "unnamed"},
                                     "decisions": cfg.get("decisions") or {}})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, origin)) from None
    try:
        mechanics, schedule = _mechanics(cfg.get("mechanics") or {}, cfg.get("schedule"))
        _check_references(mechanics, kb)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    constants = [(f"decisions.{n}.source", u.source) for n, u in rest.decisions.uncertain()]
    constants += [(f"mechanics.{m}.{n}.source", u.source) for m, sec in mechanics.items() for n, u in sec.uncertain()]
    constants += [(f"about.sources.{i}", s) for i, s in enumerate(rest.about.sources)]
    checked = DEFAULT_SEEDS_DIR.is_dir()
    if checked:
        check_sources_exist(kb, origin=origin, extra=constants)
    return RunSpec(run=run, about=rest.about, knowledge=kb, decisions=rest.decisions, mechanics=mechanics,
                   schedule=schedule, changes=scenario_changes(kb, base), overrides=list(overrides or []),
                   citations_checked=checked)


def _child(node: Any, key: str) -> Any:
    """The validated object under ``key`` (a model's field, a mapping's entry; relation keys in either order)."""
    if isinstance(node, dict):
        if key in node:
            return node[key]
        a, _, b = key.partition("-")
        return node.get(f"{b}-{a}") if b else None
    if isinstance(node, BaseModel) and key in type(node).model_fields:
        return getattr(node, key)
    return None


def check_file_provenance(spec: RunSpec, data: dict[str, Any], origin: str) -> None:
    """Every uncertain value a scenario FILE sets carries its own source; raise ConfigError naming the path.

    ``data`` is the file's content. A plain number (the command line's shorthand for a fixed value) and a mapping
    without ``source`` (which would show the baseline's rationale for the scenario's value) are refused.
    """
    def walk(raw: Any, target: Any, path: str) -> None:
        if isinstance(target, Uncertain):
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                raise ConfigError(f"{origin}: {path}: got {show(raw)} (a plain number); allowed: {{low, mode, high, "
                                  "source} with its own source (a plain number is a command-line shorthand only)")
            if isinstance(raw, dict) and "source" not in raw:
                raise ConfigError(f"{origin}: {path}.source: missing; required: the change's own source {{seed, "
                                  "where, why} or {seed: assumption, why} (a scenario's value does not take the "
                                  "baseline's source)")
            return
        if isinstance(raw, dict):
            for key, value in raw.items():
                child = _child(target, str(key))
                if child is not None:
                    walk(value, child, f"{path}.{key}")

    roots = {"actors": spec.knowledge.actors, "relations": spec.knowledge.relations, "world": spec.knowledge.world,
             "decisions": spec.decisions,
             "mechanics": spec.mechanics}
    for section, target in roots.items():
        if isinstance(data.get(section), dict):
            walk(data[section], target, section)


class _Rest(Strict):
    about: About
    decisions: DecisionsSpec
