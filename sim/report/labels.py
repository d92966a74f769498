"""Words for numbers: labels, scale ends, number formats shared by every report."""

from __future__ import annotations

import math
import re
from typing import Any

#: z for a two-sided 95 % normal interval.
Z95 = 1.959964
#: The time axis of charts over the run's months (step 0 is the baseline the knowledge base describes).
MONTH_AXIS = "Month from the baseline (simulation step; 0 = start of the run)"


def wrap(text: str, width: int = 18) -> str:
    """Wrap ``text`` into plotly line breaks (``<br>``), breaking after spaces and ``. , = /`` and before ``(``."""
    lines: list[str] = []
    line = ""
    for token in re.split(r"(?<=[ ,.=/])|(?=\()", str(text)):
        if line and len(line) + len(token) > width:
            lines.append(line.rstrip())
            line = token
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return "<br>".join(lines) or str(text)


def pretty(name: str) -> str:
    """``proxy_attacks`` -> ``proxy attacks``."""
    return str(name).replace("_", " ")


def sentence(text: str) -> str:
    """First letter upper case (a registry label at the start of a row or sentence)."""
    text = str(text)
    return text[:1].upper() + text[1:]


def rung_label(k: int, rungs: list[str]) -> str:
    """``3 · proxy attacks`` for rung 3."""
    name = pretty(rungs[k]) if 0 <= k < len(rungs) else f"rung {k}"
    return f"{k} · {name}"


def scale_ticks(scale_0: str, scale_100: str, width: int = 16, axis: str = "x") -> dict[str, Any]:
    """Axis settings for a 0–100 issue scale, both ends named in words (``axis="y"``: words left of the number)."""
    if axis == "y":  # multi-line words need room: ticks only at 0, 50, 100
        text = [f"{wrap(scale_0, width)} · 0", "50", f"{wrap(scale_100, width)} · 100"]
        return {"tickvals": [0, 50, 100], "ticktext": text, "range": [-8, 104],
                "minor": {"tickvals": [25, 75], "showgrid": True}}
    ends = [f"0<br>{wrap(scale_0, width)}", f"100<br>{wrap(scale_100, width)}"]
    return {"tickvals": [0, 25, 50, 75, 100], "ticktext": [ends[0], "25", "50", "75", ends[1]], "range": [-2, 102]}


def rung_ticks(rungs: list[str], width: int = 22) -> dict[str, Any]:
    """Axis settings for the escalation ladder, rung names as tick labels."""
    return {
        "tickvals": list(range(len(rungs))),
        "ticktext": [wrap(rung_label(k, rungs), width) for k in range(len(rungs))],
        "range": [-0.4, len(rungs) - 0.6],
    }


def pct(p: float | None, digits: int = 1) -> str:
    """``0.3421`` -> ``34.2 %``."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return f"{100 * p:.{digits}f} %"


def pct_se(p: float | None, se: float | None) -> str:
    """Probability with its Monte Carlo standard error: ``34.2 % ± 1.1``."""
    if p is None:
        return "–"
    if se is None or (isinstance(se, float) and math.isnan(se)):
        return pct(p)
    return f"{100 * p:.1f} % ± {100 * se:.1f}"


def num(x: Any, digits: int = 1) -> str:
    """A plain number, ``–`` for missing; anything that is not a number is shown as it is."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return "–" if x is None else str(x)
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def signed(x: float, digits: int = 1) -> str:
    """A number with an explicit sign, ``+3.2`` / ``−1.0``."""
    if math.isnan(x):
        return "–"
    return f"{x:+.{digits}f}".replace("-", "−")


def pretty_path(path: str, spec: dict[str, Any] | None = None) -> str:
    """``actors.us.salience.ukraine_support`` -> ``United States · salience · Western support for Ukraine``."""
    spec = spec or {}
    actors = spec.get("actors", {})
    issues = spec.get("issues", {})
    parts = []
    for part in str(path).split("."):
        if part in ("actors", "issues", "scenario"):
            continue
        if part in actors and actors[part].get("name"):
            parts.append(str(actors[part]["name"]))
        elif part in issues and issues[part].get("label"):
            parts.append(str(issues[part]["label"]))
        else:
            parts.append(pretty(part))
    return " · ".join(parts) or str(path)


def value_text(value: Any) -> str:
    """A parameter value; a ``{"low", "mode", "high"}`` triangle as ``55 (range 40–65)``."""
    if isinstance(value, dict) and {"low", "mode", "high"} <= set(value):
        return f"{value['mode']} (range {value['low']}–{value['high']})"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


#: Words that stay capitalised at the start of a label used mid-sentence (proper adjectives and acronyms).
_PROPER = {"western", "eastern", "european", "american", "russian", "iranian", "israeli", "turkish", "gulf", "middle",
           "un", "us", "eu", "nato", "iaea", "jcpoa", "e3"}


def mid_sentence(label: str, proper: set[str] | frozenset[str] = frozenset()) -> str:
    """A label as it reads inside a sentence: ``Sanctions on Iran`` -> ``sanctions on Iran``; a first word that is
    a name (one of ``proper``, e.g. the actors' names, a possessive of one, a proper adjective or an acronym) keeps
    its capital: ``Iran's nuclear programme``, ``Western support for Ukraine``."""
    text = str(label)
    first = text.split(" ", 1)[0]
    bare = re.sub(r"[’']s$", "", first).strip(",.;:()")
    if not bare or not bare[:1].isupper() or bare.isupper() or bare.lower() in _PROPER:
        return text
    if bare in proper or any(bare == p.split(" ", 1)[0] for p in proper):
        return text
    if any(ch.isupper() for ch in bare[1:]):     # iPhone, McKinsey: leave as written
        return text
    return text[:1].lower() + text[1:]
