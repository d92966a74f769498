"""The actor knowledge base: actors, issues and relations with uncertainty and provenance.

``scenarios/knowledge/baseline.yaml`` is DATA; this module is the one place it is validated. Every number is an
:class:`Uncertain` ``{low, mode, high, dist, source}`` whose :class:`Source` names the seed article (and a phrase
that can be found in it with grep) or says ``assumption`` and why. Mistakes surface as a one-line
:class:`ConfigError` built by :func:`describe_validation_error`, which the run spec reuses.
"""

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import numpy as np
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, FiniteFloat, ValidationError, field_validator,
                      model_validator)

from sim import PROJECT_ROOT
from sim.errors import ConfigError, closest, describe_validation_error, got, problem

DEFAULT_KNOWLEDGE = PROJECT_ROOT / "scenarios" / "knowledge" / "baseline.yaml"
DEFAULT_SEEDS_DIR = PROJECT_ROOT.parent / "shared" / "seeds"
SEED_NAME = re.compile(r"^\d{3}_[0-9a-f]+\.txt$")
#: Actor and issue ids: they are override keys (``actors.<id>.…``) and ``-`` joins two ids in relation keys.
ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_WHERE_WORDS = 12
ASSUMPTION = "assumption"
LITERATURE = "literature"


# --------------------------------------------------------------------------------------------------- models


def _non_blank(text: str) -> str:
    if not text.strip():
        raise problem(got(text, "allowed: non-empty text"))
    return text


#: Text that must say something: names, labels, descriptions (empty or blank is refused).
Text = Annotated[str, AfterValidator(_non_blank)]


class ConfigModel(BaseModel):
    """Base of every config model: unknown keys are errors that list the allowed keys."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = sorted(cls.model_fields)
            for key in data:
                if key not in cls.model_fields:
                    hint = closest(str(key), allowed)
                    raise problem(f"unknown key{hint}; allowed keys: {', '.join(allowed)}", at=str(key))
        return data


class Source(ConfigModel):
    """Where a value comes from: a seed article and a findable phrase in it, a published paper or data set
    (``seed: literature`` with ``cite``), or an explicit assumption; always with a rationale."""

    seed: str
    where: str | None = Field(default=None, validate_default=True)
    cite: str | None = None
    why: str

    @field_validator("seed")
    @classmethod
    def _seed_name(cls, seed: str) -> str:
        if seed not in (ASSUMPTION, LITERATURE) and not SEED_NAME.match(seed):
            raise problem(got(seed, "allowed: 'assumption', 'literature' or a seed file name like "
                                    "001_92b0d93d1bbc6d15.txt"))
        return seed

    @field_validator("where")
    @classmethod
    def _where_phrase(cls, where: str | None, info: Any) -> str | None:
        seed = info.data.get("seed")
        if where is None:
            if seed not in (None, ASSUMPTION, LITERATURE):
                raise problem(
                    f"missing; required when seed is a file: a phrase of at most {MAX_WHERE_WORDS} words copied from it"
                )
            return None
        words = len(where.split())
        if words == 0 or words > MAX_WHERE_WORDS:
            raise problem(got(where, f"allowed: a phrase of 1 to {MAX_WHERE_WORDS} words ({words} given)"))
        return where

    @field_validator("why")
    @classmethod
    def _why_given(cls, why: str) -> str:
        if not why.strip():
            raise problem(got(why, "allowed: a non-empty one-sentence rationale"))
        return why

    @model_validator(mode="after")
    def _cited(self) -> "Source":
        if self.seed == LITERATURE and not (self.cite or "").strip():
            raise problem("missing; required when seed is 'literature': the reference (authors, year, title, "
                          "locator)", at="cite")
        return self


def _num(x: float) -> str:
    return f"{x:g}"


class Uncertain(ConfigModel):
    """An uncertain value ``low <= mode <= high`` drawn from ``dist``, with its source.

    A bare number is shorthand for a fixed value (command-line overrides such as
    ``actors.us.salience.ukraine_support=30`` arrive that way). Subclasses set ``bounds``; the range is checked
    before the order so the first error names the allowed range.
    """

    bounds: ClassVar[tuple[float, float] | None] = None

    low: FiniteFloat
    mode: FiniteFloat
    high: FiniteFloat
    dist: Literal["triangular", "uniform", "fixed"] = "triangular"
    source: Source

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {
                "low": data, "mode": data, "high": data, "dist": "fixed",
                "source": {"seed": ASSUMPTION, "why": "set on the command line"},
            }
        if isinstance(data, dict):
            if data.get("dist") == "fixed" and "mode" in data:  # a fixed value may omit low and high
                data = {"low": data["mode"], "high": data["mode"], **data}
            return data
        if isinstance(data, BaseModel):
            return data
        raise problem(got(data, "allowed: a number, or a mapping {low, mode, high, dist, source}"))

    @model_validator(mode="after")
    def _consistent(self) -> "Uncertain":
        if self.bounds is not None:
            lo, hi = self.bounds
            allowed = f"allowed: a number from {_num(lo)} to {_num(hi)}"
            if self.dist == "fixed" and self.low == self.mode == self.high and not lo <= self.mode <= hi:
                raise problem(got(self.mode, allowed))
            for name in ("mode", "low", "high"):
                if not lo <= getattr(self, name) <= hi:
                    raise problem(got(getattr(self, name), allowed), at=name)
        if self.low > self.mode:
            raise problem(got(self.low, f"allowed: at most mode ({self.mode:g}), since low <= mode <= high"), at="low")
        if self.mode > self.high:
            raise problem(got(self.high, f"allowed: at least mode ({self.mode:g}), since low <= mode <= high"), at="high")
        if self.dist == "fixed" and not self.low == self.mode == self.high:
            raise problem(got(self.dist, "allowed: 'fixed' only when low = mode = high; else 'triangular' or 'uniform'"), at="dist")
        return self


class Percent(Uncertain):
    """An uncertain value on 0..100 (positions, saliences)."""

    bounds: ClassVar[tuple[float, float] | None] = (0.0, 100.0)


class Share(Uncertain):
    """An uncertain value on 0..1 (capability, resolve, trust)."""

    bounds: ClassVar[tuple[float, float] | None] = (0.0, 1.0)


class Signed(Uncertain):
    """An uncertain value on -1..1 (risk attitude, alignment)."""

    bounds: ClassVar[tuple[float, float] | None] = (-1.0, 1.0)


class Multiplier(Uncertain):
    """An uncertain non-negative factor on 0..10 (gains, boosts of mechanism rates)."""

    bounds: ClassVar[tuple[float, float] | None] = (0.0, 10.0)


class Months(Uncertain):
    """An uncertain duration in months on 0..120 (breakout time)."""

    bounds: ClassVar[tuple[float, float] | None] = (0.0, 120.0)


class Kilograms(Uncertain):
    """An uncertain mass in kg on 0..10,000 (enriched uranium stockpiles)."""

    bounds: ClassVar[tuple[float, float] | None] = (0.0, 10_000.0)


U = TypeVar("U", bound=Uncertain)


class Article(ConfigModel):
    """One seed article behind the baseline."""

    file: str
    date: Text
    gist: Text

    @field_validator("file")
    @classmethod
    def _file_name(cls, file: str) -> str:
        if not SEED_NAME.match(file):
            raise problem(got(file, "allowed: a seed file name like 001_92b0d93d1bbc6d15.txt"))
        return file


class Baseline(ConfigModel):
    """Which situation the knowledge base represents, and from which articles."""

    as_of: Text
    description: Text
    articles: list[Article]


#: Kinds of capability an issue can be decided by (``issues.<id>.power``; ``actors.<id>.capability_by``).
PowerKind = Literal["military", "economic", "diplomatic"]
POWER_KINDS: tuple[str, ...] = ("military", "economic", "diplomatic")


class Issue(ConfigModel):
    """An issue dimension on 0..100, both ends defined in words; ``power`` names the kind of capability that
    weighs on it (absent: the actor's overall ``capability``)."""

    label: Text
    scale_0: Text
    scale_100: Text
    power: PowerKind | None = None


class Actor(ConfigModel):
    """An actor: relative capability, risk attitude, resolve, and a position and salience per issue."""

    name: Text
    capability: Share
    capability_by: dict[PowerKind, Share] = Field(default_factory=dict)   #: per kind; issues with ``power`` use it
    risk_attitude: Signed
    resolve: Share
    war_cost: Share
    position: dict[str, Percent]
    salience: dict[str, Percent]


class WorldState(ConfigModel):
    """What actors *do* at the baseline, apart from what they say (docs/model.md, "World state"): the starting
    values of the state variables the mechanisms advance."""

    breakout_months: Months          #: months Iran needs to produce one significant quantity of weapon-grade uranium
    inspector_access: Share          #: IAEA access, 0 none .. 1 JCPOA-plus (Additional Protocol and more)
    stockpile_60: Kilograms          #: uranium enriched up to 60 % U-235, kg (IAEA)
    sanctions_us: Percent            #: US sanctions on Iran in force, 0 none .. 100 maximum pressure
    ukraine_support: Percent         #: Western military support and sanctions on Russia in force, 0..100
    proxy_activity: Percent          #: proxy attacks and operations Iran actually exercises, 0..100


class Relations(ConfigModel):
    """Symmetric alignment (``a-b``, -1..1) and directed trust (``a-b``: how far a believes b, 0..1).

    Keys use ``-`` so that they can be overridden on the command line (``relations.trust.iran-us=0.1``).
    """

    alignment: dict[str, Signed]
    trust: dict[str, Share]


def _pairs(given: dict[str, U], actors: list[str], sep: str, path: str, ordered: bool) -> dict[str, U]:
    """Check relation keys ``a<sep>b`` and return them complete, in actor order (unordered pairs made canonical)."""
    kind = "ordered pair" if ordered else "unordered pair"
    out: dict[str, U] = {}
    for key, value in given.items():
        at = f"{path}.{key}"
        parts = [p.strip() for p in key.split(sep)]
        if len(parts) != 2:
            raise problem(got(key, f"allowed: a key 'a{sep}b' naming two actors ({', '.join(actors)})"), at=at)
        for actor in parts:
            if actor not in actors:
                raise problem(f"unknown actor {actor!r}{closest(actor, actors)}; allowed actors: {', '.join(actors)}", at=at)
        a, b = parts
        if a == b:
            raise problem(got(key, "allowed: two different actors (no self-pairs)"), at=at)
        if not ordered and actors.index(a) > actors.index(b):
            a, b = b, a
        canon = f"{a}{sep}{b}"
        if canon in out:
            raise problem(f"duplicate of {canon!r}; allowed: each {kind} once", at=at)
        out[canon] = value
    expected = [f"{a}{sep}{b}" for i, a in enumerate(actors) for j, b in enumerate(actors) if (i != j if ordered else i < j)]
    missing = [key for key in expected if key not in out]
    if missing:               # every missing pair at once: a new actor needs all of them
        listed = ", ".join(missing)
        raise problem(f"missing {len(missing)} of {len(expected)} values ({listed}); required: a value for every "
                      f"{kind} of actors", at=path if len(missing) > 1 else f"{path}.{missing[0]}")
    return {key: out[key] for key in expected}


class KnowledgeBase(ConfigModel):
    """The whole knowledge base, cross-checked: every actor × issue present, every relation pair once."""

    baseline: Baseline
    issues: dict[str, Issue] = Field(min_length=1)
    actors: dict[str, Actor] = Field(min_length=2)
    relations: Relations
    world: WorldState

    @model_validator(mode="after")
    def _cross_check(self) -> "KnowledgeBase":
        issues, actors = list(self.issues), list(self.actors)
        for kind, ids in (("actors", actors), ("issues", issues)):
            for key in ids:
                if not ID.match(key):
                    raise problem(got(key, "allowed: an id of letters, digits and _ starting with a letter"),
                                  at=f"{kind}.{key}")
        if all(actor.capability.high <= 0 for actor in self.actors.values()):
            raise problem(f"got 0 for all {len(actors)} actors; allowed: a capability above 0 for at least one "
                          "actor (capabilities are shares of their sum)", at="actors.*.capability")
        kinds = sorted({k.power for k in self.issues.values() if k.power is not None})
        for kind in kinds:
            if all(kind in a.capability_by and a.capability_by[kind].high <= 0 for a in self.actors.values()):
                raise problem(f"got 0 for all {len(actors)} actors; allowed: a {kind} capability above 0 for at "
                              "least one actor (capabilities are shares of their sum)",
                              at=f"actors.*.capability_by.{kind}")
        for actor_id, actor in self.actors.items():
            for kind in kinds:
                if kind not in actor.capability_by:
                    raise problem(f"missing; required: a {kind} capability for every actor, because issue(s) "
                                  f"{', '.join(i for i, k in self.issues.items() if k.power == kind)} declare "
                                  f"power: {kind}", at=f"actors.{actor_id}.capability_by.{kind}")
            actor.capability_by = {k: actor.capability_by[k] for k in POWER_KINDS if k in actor.capability_by}
            for field in ("position", "salience"):
                values: dict[str, Percent] = getattr(actor, field)
                for issue in values:
                    if issue not in self.issues:
                        raise problem(
                            f"unknown issue{closest(issue, issues)}; allowed issues: {', '.join(issues)}",
                            at=f"actors.{actor_id}.{field}.{issue}",
                        )
                for issue in issues:
                    if issue not in values:
                        raise problem(
                            f"missing; required: a {field} for every issue ({', '.join(issues)})",
                            at=f"actors.{actor_id}.{field}.{issue}",
                        )
                setattr(actor, field, {issue: values[issue] for issue in issues})
        self.relations.alignment = _pairs(self.relations.alignment, actors, "-", "relations.alignment", False)
        self.relations.trust = _pairs(self.relations.trust, actors, "-", "relations.trust", True)
        return self

    @property
    def actor_ids(self) -> list[str]:
        """Actor ids in file order."""
        return list(self.actors)

    @property
    def issue_ids(self) -> list[str]:
        """Issue ids in file order."""
        return list(self.issues)

    def capability_paths(self) -> list[list[str]]:
        """For every actor (rows) and issue (columns) the override key of the capability that weighs on the issue:
        ``actors.<a>.capability_by.<power>`` where the issue declares a ``power``, else ``actors.<a>.capability``."""
        return [[f"actors.{a}.capability_by.{k.power}" if k.power is not None else f"actors.{a}.capability"
                 for k in self.issues.values()] for a in self.actor_ids]

    def parameters(self) -> list[tuple[str, Uncertain]]:
        """Every uncertain value with its dotted path (``actors.us.position.iran_nuclear``, …), in a stable order."""
        out: list[tuple[str, Uncertain]] = []
        for actor_id, actor in self.actors.items():
            base = f"actors.{actor_id}"
            out += [(f"{base}.capability", actor.capability), (f"{base}.risk_attitude", actor.risk_attitude),
                    (f"{base}.resolve", actor.resolve), (f"{base}.war_cost", actor.war_cost)]
            out += [(f"{base}.capability_by.{k}", v) for k, v in actor.capability_by.items()]
            out += [(f"{base}.position.{i}", actor.position[i]) for i in self.issue_ids]
            out += [(f"{base}.salience.{i}", actor.salience[i]) for i in self.issue_ids]
        out += [(f"relations.alignment.{k}", v) for k, v in self.relations.alignment.items()]
        out += [(f"relations.trust.{k}", v) for k, v in self.relations.trust.items()]
        out += [(f"world.{k}", getattr(self.world, k)) for k in type(self.world).model_fields]
        return out

    def _matrix(self, values: Mapping[str, Uncertain], symmetric: bool, field: str) -> np.ndarray:
        if field not in ("low", "mode", "high"):
            raise ValueError(f"field must be 'low', 'mode' or 'high', not {field!r}")
        index = {a: i for i, a in enumerate(self.actor_ids)}
        m = np.eye(len(index))
        for key, u in values.items():
            a, b = key.split("-")
            m[index[a], index[b]] = getattr(u, field)
            if symmetric:
                m[index[b], index[a]] = getattr(u, field)
        return m

    def alignment_matrix(self, field: str = "mode") -> np.ndarray:
        """Symmetric (A, A) alignment in actor order, diagonal 1."""
        return self._matrix(self.relations.alignment, True, field)

    def trust_matrix(self, field: str = "mode") -> np.ndarray:
        """(A, A) trust, row a trusting column b, diagonal 1."""
        return self._matrix(self.relations.trust, False, field)


# --------------------------------------------------------------------------------------------------- loading


_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"'})


def normalise_text(text: str) -> str:
    """Lower case, typographic quotes as ASCII, whitespace collapsed: how ``where`` phrases are matched."""
    return " ".join(text.translate(_QUOTES).lower().split())


def iter_sources(kb: KnowledgeBase) -> Iterator[tuple[str, Source]]:
    """Every source with the dotted path of the value it supports."""
    for path, value in kb.parameters():
        yield f"{path}.source", value.source


def check_sources_exist(kb: KnowledgeBase, seeds_dir: Path = DEFAULT_SEEDS_DIR, *, origin: str = "knowledge base",
                        extra: list[tuple[str, Source]] | None = None) -> None:
    """Raise :class:`ConfigError` unless every cited seed file exists and every ``where`` phrase occurs in it
    (the knowledge base's sources and any ``extra`` ones, e.g. the mechanism constants')."""
    seeds_dir = Path(seeds_dir)
    available = sorted(p.name for p in seeds_dir.glob("*.txt"))
    listing = ", ".join(available[:8]) + (", …" if len(available) > 8 else "")
    texts: dict[str, str] = {}

    def missing(path: str, name: str) -> ConfigError:
        allowed = f"allowed: a file in {seeds_dir} ({listing or 'none there'})"
        return ConfigError(f"{origin}: {path}: {got(name, allowed)}")

    for i, article in enumerate(kb.baseline.articles):
        if article.file not in available:
            raise missing(f"baseline.articles.{i}.file", article.file)
    for path, source in [*iter_sources(kb), *(extra or [])]:
        if source.seed in (ASSUMPTION, LITERATURE):
            continue
        if source.seed not in available:
            raise missing(f"{path}.seed", source.seed)
        if source.seed not in texts:
            texts[source.seed] = normalise_text((seeds_dir / source.seed).read_text(encoding="utf-8"))
        if source.where is not None and normalise_text(source.where) not in texts[source.seed]:
            raise ConfigError(
                f"{origin}: {path}.where: "
                + got(source.where, f"allowed: a phrase that occurs in {source.seed} (case, spacing and quote style ignored)")
            )


def citations_note(seeds_dir: Path | None = None) -> str | None:
    """The one-line warning to show when the seed articles are absent (their citations cannot be checked)."""
    seeds_dir = Path(seeds_dir) if seeds_dir is not None else DEFAULT_SEEDS_DIR
    if seeds_dir.is_dir():
        return None
    return (f"warning: {display_path(Path(seeds_dir))} not found: the cited phrases were not checked against the "
            "seed articles (spec.json records citations_checked: false)")


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when inside it, for messages."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_knowledge(
    path: Path | None = None,
    *,
    data: dict | None = None,
    origin: str | None = None,
    seeds_dir: Path | None = None,
) -> KnowledgeBase:
    """Load and validate the knowledge base from ``path`` (default: the baseline) or an already-composed ``data``.

    Read with :func:`sim.yamlio.load_yaml` (the loader ``python -m sim`` uses). Cited seed files are checked when
    the seeds directory (default: ``../shared/seeds``) exists; callers tell the user when it does not (see
    :func:`citations_note`). Every mistake is raised as a one-line :class:`ConfigError`.
    """
    if data is None:
        from sim.yamlio import load_yaml

        path = Path(path) if path is not None else DEFAULT_KNOWLEDGE
        origin = origin or display_path(path)
        data = load_yaml(path, origin)        # the project's one loader: duplicate keys and ${...} refused
    origin = origin or "knowledge base"
    try:
        kb = KnowledgeBase.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, origin)) from None
    seeds_dir = Path(seeds_dir) if seeds_dir is not None else DEFAULT_SEEDS_DIR
    if seeds_dir.is_dir():
        check_sources_exist(kb, seeds_dir, origin=origin)
    return kb
