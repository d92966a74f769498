"""The mechanics a scenario sets differently from the base config, in words.

:func:`mechanics_diff` compares a run's mechanism sections (``spec.json`` → ``scenario.mechanics``) with the base
config's (``conf/config.yaml`` validated the same way) and returns one entry per changed key: lists of mappings
(the exchange's links) are compared item by item, so only the links a scenario adds or drops appear.
:func:`describe` turns an entry into a sentence: keys the pages know get their own wording (the exchange's trades, the
mediator, who is outside the format, the starting rung, a mechanism switched off, the deal's stage and deadline);
any other key falls back to ``section · key: baseline → scenario``, so a key added tomorrow is still shown readably.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sim.report.labels import pretty, rung_label, value_text


@dataclass(frozen=True)
class MechanicsChange:
    """One changed key of a mechanism section: ``path`` (``exchange.links``), base and scenario values; for a
    list of mappings, ``added`` / ``removed`` items."""

    section: str
    key: str
    base: Any
    value: Any
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()


@lru_cache(maxsize=1)
def base_mechanics() -> dict[str, Any]:
    """The base config's mechanism sections as plain data (validated like a run's), ``{}`` if unreadable."""
    try:
        import yaml

        from sim.run import CONF_DIR
        from sim.spec import _mechanics

        cfg = yaml.safe_load((CONF_DIR / "config.yaml").read_text(encoding="utf-8"))
        sections, _ = _mechanics(cfg.get("mechanics") or {}, cfg.get("schedule"))
        return {k: v.model_dump(mode="json") for k, v in sections.items()}
    except Exception:  # noqa: BLE001 - the page falls back to the raw settings
        return {}


def _is_uncertain(v: Any) -> bool:
    return isinstance(v, dict) and {"low", "mode", "high"} <= set(v)


def _same(a: Any, b: Any) -> bool:
    if _is_uncertain(a) and _is_uncertain(b):
        return all(a.get(k) == b.get(k) for k in ("low", "mode", "high", "dist"))
    return bool(a == b)


def mechanics_diff(mechanics: dict[str, Any], base: dict[str, Any] | None = None) -> list[MechanicsChange]:
    """The keys of ``mechanics`` (section → settings) that differ from ``base`` (default: the base config)."""
    base = base_mechanics() if base is None else base
    out: list[MechanicsChange] = []
    for section, settings in (mechanics or {}).items():
        if not isinstance(settings, dict):
            continue
        ref = base.get(section) or {}
        for key, value in settings.items():
            old = ref.get(key)
            if key in ref and _same(old, value):
                continue
            if isinstance(value, list) and isinstance(old, list) and all(isinstance(v, dict) for v in value + old):
                added = tuple(v for v in value if v not in old)
                removed = tuple(v for v in old if v not in value)
                if added or removed:
                    out.append(MechanicsChange(section, key, old, value, added, removed))
                continue
            out.append(MechanicsChange(section, key, old, value))
    return out


# --- words -------------------------------------------------------------------------------------------------------
Names = Callable[[str], str]


def _names(ids: Any, actor: Names) -> str:
    items = [actor(str(a)) for a in (ids or [])]
    if not items:
        return "nobody"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _link_sentence(link: dict[str, Any], actor: Names, issue: Names) -> str:
    via = link.get("delivered_by")
    text = (f"{actor(link['a'])} can concede on {issue(link['issue_a'])} in return for "
            + (f"{actor(link['b'])} delivering a move by {actor(via)} on {issue(link['issue_b'])}" if via else
               f"{actor(link['b'])} moving on {issue(link['issue_b'])}"))
    note = str(link.get("note") or "").strip()
    return text + (f" ({note})" if note else "")


def _broker_sentence(b: dict[str, Any], actor: Names, issue: Names) -> str:
    text = (f"{actor(b['patron'])} can deliver {actor(b['client'])}'s move on {_names(b.get('issues'), issue)} in "
            "a trade of its own (a brokered exchange, this project's extension)")
    note = str(b.get("note") or "").strip()
    return text + (f": {note}" if note else "")


def _concession_sentence(c: dict[str, Any], actor: Names, issue: Names) -> str:
    text = (f"{actor(c['actor'])} may trade away its position on {issue(c['issue'])} even where it stands on its "
            "partner's side of the expected outcome (an instrument concession, this project's extension)")
    note = str(c.get("note") or "").strip()
    return text + (f": {note}" if note else "")


def describe(change: MechanicsChange, actor: Names, issue: Names, rungs: list[str],
             mechanics: dict[str, Any] | None = None, actors: list[str] | None = None) -> list[str]:
    """Sentences for one change (a list of mappings gives one sentence per added or removed item); ``actors`` (the
    run's actor ids) lets the mediator's sentence name who is outside the format."""
    sec, key, old, new = change.section, change.key, change.base, change.value
    settings = (mechanics or {}).get(sec) or {}
    if sec == "exchange" and key == "links":
        lines = [f"New trade on offer (issue linkage): {_link_sentence(v, actor, issue)}." for v in change.added]
        lines += [f"Trade no longer on offer: {_link_sentence(v, actor, issue)}." for v in change.removed]
        return lines
    if sec == "exchange" and key in ("brokers", "concessions"):
        say = _broker_sentence if key == "brokers" else _concession_sentence
        lines = [f"New trade on offer: {say(v, actor, issue)}." for v in change.added]
        return lines + [f"No longer on offer: {say(v, actor, issue)}." for v in change.removed]
    if key == "enabled":
        return [f"The {pretty(sec)} mechanism is switched {'on' if new else 'off'} (baseline: "
                f"{'on' if old else 'off'})."]
    if sec == "mediation" and key == "mediator":
        if not new:
            return [f"No mediator (baseline: {actor(old)})."] if old else []
        parties = list(settings.get("parties") or [])
        who = "A neutral third party" if new == "neutral" else actor(new)
        what = ("it builds trust as far as its reputation for honesty goes (Kydd 2006)" if new == "neutral" else
                "its advice is believed by the party it leans toward, whose concessions it can deliver, and it sits "
                "at the table (Kydd 2003; Svensson 2007, 2009)")
        line = f"{who} mediates between {_names(parties, actor)}: {what}"
        line += f" (baseline: {actor(old)})." if old else " (baseline: no mediator)."
        lines = [line]
        if actors:
            outside = [a for a in actors if a not in parties and a != new]
            if outside:
                lines.append(f"{_names(outside, actor)} {'is' if len(outside) == 1 else 'are'} outside the format: "
                             "no weight in the talks' terms.")
        return lines
    if sec == "mediation" and key == "sidelined":
        added = [a for a in new or [] if a not in (old or [])]
        dropped = [a for a in old or [] if a not in (new or [])]
        lines = []
        if added:
            lines.append(f"{_names(added, actor)} {'is' if len(added) == 1 else 'are'} outside the format: "
                         "less weight on the mediated issues (the sideline factor).")
        if dropped:
            lines.append(f"{_names(dropped, actor)} {'is' if len(dropped) == 1 else 'are'} back in the format.")
        return lines
    if sec == "escalation" and key == "initial_rung":
        return [f"The crisis starts at rung {rung_label(int(new), rungs)} (baseline: {rung_label(int(old), rungs)})."
                if old is not None else f"The crisis starts at rung {rung_label(int(new), rungs)}."]
    if sec == "deal" and key == "initial_stage":
        stages = ["no talks", "talks open", "a framework agreed"]
        word = (lambda s: stages[int(s)] if isinstance(s, int) and 0 <= s < len(stages) else str(s))
        return [f"The deal track starts with {word(new)} (baseline: {word(old)})."]
    if sec == "deal" and key == "deadline":
        return [f"The ultimatum's deadline is {new} months (baseline: {old})."]
    if isinstance(new, list) and all(isinstance(v, str) for v in new):
        ids = new
        known = [actor(v) if actor(v) != v else issue(v) for v in ids]
        old_words = ", ".join(actor(v) if actor(v) != v else issue(v) for v in old or []) or "none"
        return [f"{pretty(sec).capitalize()} · {pretty(key)}: {', '.join(known) or 'none'} (baseline: {old_words})."]
    if change.added or change.removed:
        lines = [f"{pretty(sec).capitalize()} · {pretty(key)}: added {_plain(v)}." for v in change.added]
        return lines + [f"{pretty(sec).capitalize()} · {pretty(key)}: removed {_plain(v)}." for v in change.removed]
    base_text = "not set" if old is None else _plain(old)
    return [f"{pretty(sec).capitalize()} · {pretty(key)}: {_plain(new)} (baseline: {base_text})."]


def _plain(v: Any) -> str:
    if _is_uncertain(v):
        return value_text({k: v[k] for k in ("low", "mode", "high")})
    if isinstance(v, dict):
        return ", ".join(f"{pretty(k)} {_plain(x)}" for k, x in v.items() if x not in (None, "", []))
    if isinstance(v, list):
        return ", ".join(_plain(x) for x in v) or "none"
    return value_text(v)
