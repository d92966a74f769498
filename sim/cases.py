"""The backtest case library: dated crises in ``scenarios/cases/*.yaml``, loaded and checked for look-ahead.

A case file has five sections (see ``scenarios/cases/README.md``):

- ``case``: ``name`` (= the file's name), ``title``, ``baseline`` (``YYYY-MM-DD``), ``horizon_months``,
  ``description``;
- ``knowledge``: changes to the shared knowledge base and the mechanisms, with the keys of a scenario
  (``actors``, ``relations``, ``decisions``, ``mechanics``); every value is ``{low, mode, high, source}`` (or
  ``{value, source}`` for a plain setting), never a bare number;
- ``world``: the world state at the baseline (:mod:`sim.worldstate`), each value with its source;
- ``questions``: what the case resolves: ``{id, text, event, kind: binary|timing, within_months}``;
- ``resolution``: what happened, per event: ``{date: YYYY-MM-DD or null, note, sources}``, kept apart from the
  knowledge (its sources may, and usually do, postdate the baseline).

A **source** is ``{title, site, date, url, where, why}`` (a public page: its title, publisher or site, date, URL and
a phrase that locates the value in it) or ``{assumption: reason}``. **No look-ahead**: the loader refuses any
source in ``knowledge`` or ``world`` dated after the baseline (a month-only date ``YYYY-MM`` counts as the month's
last day) in one line naming the file, the field, the date and the baseline. The values the case does not change
come from the shared base (March 2025); their sources are replaced by an assumption that says so (the shared
base's articles postdate every case), see :func:`engine_config`. For the look-ahead sensitivity
(``--inherited wide``) those inherited values are replaced by the whole range of their scale instead
(:func:`widen_inherited`).
"""

from __future__ import annotations

import calendar
import copy
import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim import PROJECT_ROOT
from sim.errors import ConfigError, describe_validation_error, show
from sim.worldstate import WorldState, engine_settings

CASES_DIR = PROJECT_ROOT / "scenarios" / "cases"
SECTIONS = ("case", "knowledge", "world", "questions", "resolution")
KNOWLEDGE_SECTIONS = ("actors", "relations", "decisions", "mechanics")
#: The events a question can ask about (their engine outcomes are mapped in :mod:`sim.validation.backtest`).
EVENTS = ("first_strike", "war", "deal_signed", "snapback", "hormuz_closed", "new_sanctions")
CITED_KEYS = ("title", "site", "date", "url", "where", "why")
DAYS_PER_MONTH = 365.25 / 12
_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_date(text: Any, where: str) -> date:
    """``YYYY-MM-DD`` or ``YYYY-MM`` (read as the month's last day: the latest it can mean); ConfigError."""
    m = _DATE.match(str(text)) if isinstance(text, (str, date)) else None
    if isinstance(text, date):
        return text
    if m is None:
        raise ConfigError(f"{where}: got {show(text)}; allowed: a date YYYY-MM-DD (or YYYY-MM)")
    y, mo = int(m.group(1)), int(m.group(2))
    try:
        d = int(m.group(3)) if m.group(3) else calendar.monthrange(y, mo)[1]
        return date(y, mo, d)
    except ValueError:
        raise ConfigError(f"{where}: got {show(text)}; allowed: a real calendar date") from None


def months_between(start: date, end: date) -> float:
    """Months (of 365.25 / 12 days) from ``start`` to ``end``."""
    return (end - start).days / DAYS_PER_MONTH


def last_day(start: date, months: float) -> date:
    """The last calendar day that is still within ``months`` of ``start`` under :meth:`Case.event_step`'s rule
    (an event ``d`` days after the baseline is in month ``floor(d / (365.25 / 12))``, 0-based)."""
    from datetime import timedelta

    return start + timedelta(days=math.ceil(months * DAYS_PER_MONTH) - 1)


_WITHIN = re.compile(r"\s*within \d+ months?")
_PARTICIPLE = re.compile(r"\b(signed|closed|reached|snapped back|put)\b")


def dated_text(q: Question, baseline: date) -> str:
    """The question as a dated forecasting question: "Does X happen within 1 month?" -> "Will X happen by
    2024-05-02?"; a timing question gets its window in dates. The case file's own text is kept otherwise."""
    end = last_day(baseline, q.within_months).isoformat()
    text = q.text.strip()
    if q.kind == "timing":
        return (f"{text.rstrip('?')}? Counted in months from {baseline.isoformat()}; "
                f"no event by {end} counts as {q.within_months}.")
    if not _WITHIN.search(text):
        return f"{text.rstrip('?')} (between {baseline.isoformat()} and {end})?"
    body = _WITHIN.sub(f" by {end}", text)
    for aux, repl in (("Does ", "Will "), ("Do ", "Will "), ("Is ", "Will "), ("Are ", "Will ")):
        if body.startswith(aux):
            body = repl + body[len(aux):]
            if aux in ("Is ", "Are "):                      # "Is a deal signed" -> "Will a deal be signed"
                body = _PARTICIPLE.sub(lambda m: "be " + m.group(1), body, count=1)
            break
    return body


@dataclass(frozen=True)
class CaseSource:
    """A checked source: a cited public page, or an assumption with its reason."""

    why: str
    title: str = ""
    site: str = ""
    date: date | None = None
    url: str = ""
    where: str = ""

    @property
    def assumption(self) -> bool:
        return self.date is None

    def engine_source(self) -> dict[str, str]:
        """The knowledge base's form (:class:`sim.knowledge.Source`): ``literature`` with the full citation."""
        if self.assumption:
            return {"seed": "assumption", "why": self.why}
        return {"seed": "literature", "cite": f'{self.title}, {self.site}, {self.date}, {self.url} ("{self.where}")',
                "why": self.why}


def check_source(raw: Any, at: str, origin: str, baseline: date | None) -> CaseSource:
    """Validate a source mapping; with ``baseline``, refuse a date after it (no look-ahead). ConfigError."""
    where = f"{origin}: {at}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: got {show(raw)}; allowed: {{title, site, date, url, where, why}} or "
                          "{assumption: reason}")
    if "assumption" in raw:
        extra = sorted(set(raw) - {"assumption"})
        if extra:
            raise ConfigError(f"{where}.{extra[0]}: unknown key; an assumption is {{assumption: reason}}")
        reason = raw["assumption"]
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{where}.assumption: got {show(reason)}; allowed: the reason, in words")
        return CaseSource(why=reason)
    for key in raw:
        if key not in CITED_KEYS:
            raise ConfigError(f"{where}.{key}: unknown key; allowed keys: {', '.join(CITED_KEYS)} "
                              "(or {assumption: reason})")
    for key in CITED_KEYS:
        if not isinstance(raw.get(key), str) or not str(raw[key]).strip():
            raise ConfigError(f"{where}.{key}: missing or empty; a cited source needs {', '.join(CITED_KEYS)}")
    if not re.match(r"^https?://", raw["url"]):
        raise ConfigError(f"{where}.url: got {show(raw['url'])}; allowed: an http(s) URL")
    when = parse_date(raw["date"], f"{where}.date")
    if baseline is not None and when > baseline:
        raise ConfigError(f"{where}.date: {raw['date']} is after the case's baseline {baseline.isoformat()} "
                          "(no look-ahead: a case's knowledge may cite only what was public by its baseline)")
    return CaseSource(why=raw["why"], title=raw["title"], site=raw["site"], date=when, url=raw["url"],
                      where=raw["where"])


@dataclass(frozen=True)
class Question:
    """A question a case resolves: did ``event`` happen within ``within_months`` (binary), or when (timing)."""

    id: str
    text: str
    event: str
    kind: str
    within_months: int


@dataclass(frozen=True)
class Resolution:
    """What happened: the first ``date`` of the event after the baseline (None: not within the horizon)."""

    event: str
    date: date | None
    note: str
    sources: tuple[CaseSource, ...]


@dataclass
class Case:
    """A validated case."""

    name: str
    title: str
    baseline: date
    horizon_months: int
    description: str
    knowledge: dict[str, Any]           #: the changes as written, sources already checked
    world: WorldState
    questions: list[Question]
    resolution: dict[str, Resolution]
    sources: dict[str, CaseSource] = field(default_factory=dict)   #: every knowledge and world source by path
    path: Path | None = None

    def event_step(self, event: str) -> int | None:
        """0-based month of the event after the baseline (0: within the first month), None if it did not happen
        within the horizon."""
        res = self.resolution[event]
        if res.date is None:
            return None
        step = int(math.floor(months_between(self.baseline, res.date)))
        return step if step < self.horizon_months else None

    def outcome(self, q: Question) -> float:
        """The resolved outcome: 1/0 for a binary question, the censored month (0-based step, the horizon if it
        did not happen) for a timing question."""
        step = self.event_step(q.event)
        if q.kind == "binary":
            return float(step is not None and step < q.within_months)
        return float(self.horizon_months if step is None else step)


def _walk_values(node: Any, at: str, origin: str, baseline: date, out: dict[str, CaseSource]) -> None:
    """Check that every leaf of a knowledge change carries its own source (no bare values)."""
    if isinstance(node, dict) and "source" in node:
        out[at] = check_source(node["source"], f"{at}.source", origin, baseline)
        return
    if isinstance(node, dict):
        for key, value in node.items():
            _walk_values(value, f"{at}.{key}", origin, baseline, out)
        return
    raise ConfigError(f"{origin}: {at}: got {show(node)} (a bare value); allowed: {{low, mode, high, source}} or "
                      "{value, source}: every value of a case carries its own source")


def _engine_values(node: Any) -> Any:
    """The changes in the config's form: ``{value, source}`` → the value; sources in the knowledge base's form."""
    if isinstance(node, dict) and "source" in node:
        if set(node) - {"_engine_source"} == {"value", "source"}:
            return copy.deepcopy(node["value"])
        out = {k: copy.deepcopy(v) for k, v in node.items() if k not in ("source", "_engine_source")}
        out["source"] = node.get("_engine_source")
        return out
    if isinstance(node, dict):
        return {k: _engine_values(v) for k, v in node.items()}
    return node


def _case_header(raw: Any, origin: str, name: str) -> tuple[str, date, int, str]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: case: missing; required: {{name, title, baseline, horizon_months, description}}")
    allowed = ("name", "title", "baseline", "horizon_months", "description")
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{origin}: case.{key}: unknown key; allowed keys: {', '.join(allowed)}")
    if raw.get("name") != name:
        raise ConfigError(f"{origin}: case.name: got {show(raw.get('name'))}; allowed: {name!r}, the file's name")
    for key in ("title", "description"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{origin}: case.{key}: missing or empty; required: text")
    if "baseline" not in raw or _DATE.match(str(raw["baseline"])) is None or len(str(raw["baseline"])) != 10:
        raise ConfigError(f"{origin}: case.baseline: got {show(raw.get('baseline'))}; allowed: a date YYYY-MM-DD")
    baseline = parse_date(raw["baseline"], f"{origin}: case.baseline")
    if baseline >= date(2025, 3, 1):
        raise ConfigError(f"{origin}: case.baseline: got {baseline}; allowed: a date before 2025-03-01 (the shared "
                          "base's date: a backtest case must lie before it)")
    h = raw.get("horizon_months")
    if not isinstance(h, int) or isinstance(h, bool) or not 1 <= h <= 60:
        raise ConfigError(f"{origin}: case.horizon_months: got {show(h)}; allowed: whole months from 1 to 60")
    return raw["title"], baseline, h, raw["description"]


def _questions(raw: Any, origin: str, horizon: int) -> list[Question]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{origin}: questions: got {show(raw)}; allowed: a non-empty list of questions")
    out, seen = [], set()
    for i, q in enumerate(raw):
        at = f"{origin}: questions.{i}"
        if not isinstance(q, dict):
            raise ConfigError(f"{at}: got {show(q)}; allowed: {{id, text, event, kind, within_months}}")
        for key in q:
            if key not in ("id", "text", "event", "kind", "within_months"):
                raise ConfigError(f"{at}.{key}: unknown key; allowed keys: id, text, event, kind, within_months")
        qid = q.get("id")
        if not isinstance(qid, str) or not _NAME.match(qid) or qid in seen:
            raise ConfigError(f"{at}.id: got {show(qid)}; allowed: a new lower-case id (letters, digits, _)")
        seen.add(qid)
        if q.get("event") not in EVENTS:
            raise ConfigError(f"{at}.event: got {show(q.get('event'))}; allowed: {', '.join(EVENTS)}")
        kind = q.get("kind", "binary")
        if kind not in ("binary", "timing"):
            raise ConfigError(f"{at}.kind: got {show(kind)}; allowed: binary, timing")
        within = q.get("within_months", horizon)
        if not isinstance(within, int) or isinstance(within, bool) or not 1 <= within <= horizon:
            raise ConfigError(f"{at}.within_months: got {show(within)}; allowed: whole months from 1 to the "
                              f"horizon ({horizon})")
        if not isinstance(q.get("text"), str) or not q["text"].strip():
            raise ConfigError(f"{at}.text: missing or empty; required: the question in words")
        out.append(Question(id=qid, text=q["text"], event=q["event"], kind=kind, within_months=within))
    return out


def _resolution(raw: Any, origin: str, baseline: date, events: set[str]) -> dict[str, Resolution]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: resolution: missing; required: what happened, per event asked about")
    out = {}
    for event, r in raw.items():
        at = f"{origin}: resolution.{event}"
        if event not in EVENTS:
            raise ConfigError(f"{at}: unknown event; allowed: {', '.join(EVENTS)}")
        if not isinstance(r, dict) or set(r) - {"date", "note", "sources"}:
            raise ConfigError(f"{at}: got {show(r)}; allowed: {{date, note, sources}}")
        when = None if r.get("date") is None else parse_date(r["date"], f"{at}.date")
        if when is not None and when < baseline:
            raise ConfigError(f"{at}.date: {when} is before the baseline {baseline}; allowed: the first occurrence "
                              "after the baseline (or null)")
        srcs = r.get("sources")
        if not isinstance(srcs, list) or not srcs:
            raise ConfigError(f"{at}.sources: missing; required: at least one source for what happened")
        sources = tuple(check_source(s, f"resolution.{event}.sources.{i}", origin, None) for i, s in enumerate(srcs))
        if not isinstance(r.get("note"), str) or not r["note"].strip():
            raise ConfigError(f"{at}.note: missing or empty; required: how the event was resolved, in words")
        out[event] = Resolution(event=event, date=when, note=r["note"], sources=sources)
    for event in sorted(events - set(out)):
        raise ConfigError(f"{origin}: resolution.{event}: missing; required: the outcome of every event asked about")
    return out


def load_case(path: Path) -> Case:
    """Read and validate one case file; ConfigError with one line naming the file and field."""
    from sim.knowledge import display_path
    from sim.yamlio import load_yaml

    path = Path(path)
    origin = display_path(path)
    data = load_yaml(path, origin)
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(f"{origin}: {key}: unknown section; allowed: {', '.join(SECTIONS)}")
    title, baseline, horizon, description = _case_header(data.get("case"), origin, path.stem)
    sources: dict[str, CaseSource] = {}
    knowledge = data.get("knowledge") or {}
    if not isinstance(knowledge, dict):
        raise ConfigError(f"{origin}: knowledge: got {show(knowledge)}; allowed: a mapping of changes")
    for section, node in knowledge.items():
        if section not in KNOWLEDGE_SECTIONS:
            raise ConfigError(f"{origin}: knowledge.{section}: unknown key; allowed: {', '.join(KNOWLEDGE_SECTIONS)}")
        _walk_values(node, f"knowledge.{section}", origin, baseline, sources)
    try:
        world = WorldState.model_validate(data.get("world"))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, f"{origin}: world")) from None
    for at, raw in world.sources():
        sources[at] = check_source(raw, f"{at}.source", origin, baseline)
    questions = _questions(data.get("questions"), origin, horizon)
    resolution = _resolution(data.get("resolution"), origin, baseline, {q.event for q in questions})
    return Case(name=path.stem, title=title, baseline=baseline, horizon_months=horizon, description=description,
                knowledge=knowledge, world=world, questions=questions, resolution=resolution, sources=sources,
                path=path)


def load_cases(folder: Path | None = None) -> list[Case]:
    """Every case file of the folder (default ``scenarios/cases``), by baseline date."""
    folder = Path(folder) if folder is not None else CASES_DIR
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no case folder")
    cases = [load_case(p) for p in sorted(folder.glob("*.yaml"))]
    if not cases:
        raise ConfigError(f"{folder}: no case files (*.yaml)")
    return sorted(cases, key=lambda c: (c.baseline, c.name))


# --- the engine's input ----------------------------------------------------------------------------------------
INHERITED_WHY = ("inherited unchanged from the shared base (March 2025), whose articles postdate this case: "
                 "assumed to hold at the case's baseline ({baseline})")


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and not _is_value(value):
            _merge(base[key], value)
        else:
            base[key] = value


def _is_value(node: dict[str, Any]) -> bool:
    return "source" in node or {"low", "mode", "high"} <= set(node)


def _with_engine_sources(node: Any, at: str, sources: dict[str, CaseSource]) -> Any:
    if isinstance(node, dict) and "source" in node:
        out = dict(node)
        out["_engine_source"] = sources[at].engine_source()
        return out
    if isinstance(node, dict):
        return {k: _with_engine_sources(v, f"{at}.{k}", sources) for k, v in node.items()}
    return node


# --- the look-ahead sensitivity: the inherited values widened ---------------------------------------------------
#: What the knowledge-base values a case does not set are (``python -m sim.validate backtest --inherited``):
#: ``base``, the shared base's March-2025 numbers (the default); ``wide``, each replaced by the whole range of its
#: scale (:func:`widen_inherited`), so that no 2025 number enters the case.
INHERITED = ("base", "wide")
WIDE_WHY = ("look-ahead sensitivity (--inherited wide): the shared base's March-2025 value is not used; uniform "
            "over the whole {low:g}..{high:g} scale of the value's type")
#: The value types left inherited under ``wide``, and why (no 2025-free range exists for them).
LEFT_INHERITED = {
    "Kilograms": "a mass has no natural upper end (the type's 10,000 kg is a validation bound, not a plausible "
                 "range); world.stockpile_60 enters no decision and no question (only its own end-of-run outcome)",
}
#: The values (by path prefix) whose mode is kept under ``wide`` (their range is widened), and why.
MODE_KEPT = {
    "relations.alignment.": "the engine reads the sign of the alignment modes as who are adversaries (sim.world.Index."
                 "adversaries: their trust erodes with the rung and enters the de-escalation hazard); a mode at "
                 "the scale's midpoint, 0, would remove every adversary pair, a change of structure, not of values",
}


def check_inherited(value: Any, option: str = "inherited") -> str:
    """``value`` if it names a variant of :data:`INHERITED`; else a one-line ConfigError naming ``option``."""
    if not isinstance(value, str) or value not in INHERITED:
        raise ConfigError(f"{option}: got {show(value)}; allowed: {', '.join(INHERITED)} (what the values a case "
                          "does not set are: the shared base's 2025 numbers, or the whole range of their scale)")
    return value


def wide_value(path: str, value: Any) -> dict[str, Any] | None:
    """The uninformative replacement of a knowledge-base value ``value`` (an :class:`sim.knowledge.Uncertain`) at
    ``path``: uniform over its type's whole range, mode at the range's midpoint (the alignment's mode kept, see
    :data:`MODE_KEPT`); None for a type left inherited (:data:`LEFT_INHERITED`)."""
    kind = type(value).__name__
    if kind in LEFT_INHERITED or value.bounds is None:
        return None
    low, high = value.bounds
    mode = value.mode if path.startswith(tuple(MODE_KEPT)) else (low + high) / 2.0
    return {"low": low, "mode": mode, "high": high, "dist": "uniform",
            "source": {"seed": "assumption", "why": WIDE_WHY.format(low=low, high=high)}}


def composed_knowledge(data: dict[str, Any]) -> Any:
    """The validated knowledge base of a composed config (its sources are not checked against the seeds)."""
    from sim.knowledge import KnowledgeBase

    try:
        return KnowledgeBase.model_validate({k: data[k] for k in ("baseline", "issues", "actors", "relations",
                                                                  "world")})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, "the shared knowledge base")) from None


def _set_path(data: dict[str, Any], dotted: str, value: dict[str, Any]) -> None:
    """Replace the value at a knowledge-base path (``relations.alignment.iran-us`` found in either order)."""
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[part]
    if last not in node and "-" in last:
        a, _, b = last.partition("-")
        last = f"{b}-{a}"
    if last not in node:
        raise KeyError(f"{dotted}: not in the composed config")
    node[last] = value


def widen_inherited(data: dict[str, Any]) -> list[str]:
    """In place: every knowledge-base value of the composed config ``data`` replaced by :func:`wide_value` (the
    case's own values are merged over it afterwards, so only the inherited ones stay wide). Returns the paths."""
    out = []
    for path, value in composed_knowledge(data).parameters():
        wide = wide_value(path, value)
        if wide is not None:
            _set_path(data, path, wide)
            out.append(path)
    return out


def engine_config(case: Case, base: dict[str, Any], *, inherited: str = "base", **run: Any) -> dict[str, Any]:
    """The composed config for a case: the plain default config ``base`` (Hydra's composition with the status-quo
    scenario), every knowledge-base value's source replaced by the inherited-assumption note (with ``inherited=
    "wide"`` the value itself replaced by the whole range of its scale, :func:`widen_inherited`), the case's
    changes merged over it with their own sources, the world state's engine settings, and the run settings
    ``run``. The ``decisions`` and ``mechanics`` constants are the engine's, the same for every variant."""
    check_inherited(inherited)
    data = copy.deepcopy(base)
    note = {"seed": "assumption", "why": INHERITED_WHY.format(baseline=case.baseline.isoformat())}

    def inherit(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("source"), dict):
                node["source"] = dict(note)
            for value in node.values():
                inherit(value)
    for section in ("actors", "relations", "world"):
        inherit(data.get(section))
    if inherited == "wide":
        widen_inherited(data)
    changes = _engine_values(_with_engine_sources(case.knowledge, "knowledge", case.sources))
    _merge(data, changes)
    _merge(data, engine_settings(case.world, case.sources, case.baseline))
    data["about"] = {"name": f"case_{case.name}", "title": case.title, "description": case.description}
    data["baseline"] = {"as_of": case.baseline.isoformat(), "articles": [],     # the shared base's articles postdate it
                        "description": f"Backtest case {case.name}: {case.title}"}
    data["steps"] = case.horizon_months
    data.update(run)
    return data
