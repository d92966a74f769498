"""User-input errors told in one line: the toolkit every validating module uses.

A :class:`ConfigError` is a mistake in user input, told in one human-readable line that names the field, the value
and what is allowed; :func:`describe_validation_error` turns pydantic's first error into such a line.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # pydantic is imported when first needed: the command line imports this module at start-up
    from pydantic import ValidationError
    from pydantic_core import PydanticCustomError

class ConfigError(Exception):
    """A mistake in user input, told in one human-readable line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.splitlines()))


def show(value: Any, limit: int = 80) -> str:
    """``repr`` of a user value, shortened to fit on one line."""
    text = " ".join(repr(value).splitlines())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def problem(line: str, at: str = "") -> PydanticCustomError:
    """A validation error whose message is already the tail of the one-line report.

    ``at`` extends the error's field path (dotted), for checks made by a parent on a child's key or field.
    """
    from pydantic_core import PydanticCustomError

    return PydanticCustomError("config", "{line}", {"line": line, "at": at})


def got(value: Any, allowed: str) -> str:
    """The usual tail: ``got <value>; <allowed>``."""
    return f"got {show(value)}; {allowed}"


def closest(word: str, options: list[str]) -> str:
    """`` (did you mean 'x'?)`` when a near match exists, else ``''``."""
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


#: What a required key holds, for "missing" errors (keyed by the key's name; other modules may add to it).
REQUIRED_HINTS: dict[str, str] = {
    "source": "a source {seed, where, why}, or {seed: assumption, why}",
    "seed": "a seed file name like 001_92b0d93d1bbc6d15.txt, or 'assumption'",
    "why": "a one-sentence rationale",
    "low": "a number",
    "mode": "a number",
    "high": "a number",
    "name": "a display name",
    "capability": "relative power in this arena, 0 to 1, as {low, mode, high, source}",
    "capability_by": "capability per kind (military, economic, diplomatic), each {low, mode, high, source}; used on issues declaring that power",
    "power": "the kind of capability that weighs on an issue: military, economic or diplomatic (absent: overall capability)",
    "risk_attitude": "-1 (risk-averse) to +1 (risk-acceptant), as {low, mode, high, source}",
    "resolve": "willingness to retaliate or use force, 0 to 1, as {low, mode, high, source}",
    "position": "a mapping issue: {low, mode, high, source} on 0 to 100",
    "salience": "a mapping issue: {low, mode, high, source} on 0 to 100",
    "alignment": "a mapping 'a-b': {low, mode, high, source} on -1 to 1",
    "trust": "a mapping 'a-b' (a's trust in b): {low, mode, high, source} on 0 to 1",
    "baseline": "{as_of, description, articles}",
    "issues": "a mapping issue id: {label, scale_0, scale_100}",
    "actors": "a mapping actor id: {name, capability, risk_attitude, resolve, position, salience}",
    "relations": "{alignment, trust}",
}

_BUILTIN_ALLOWED: dict[str, str] = {
    "float_parsing": "allowed: a number",
    "float_type": "allowed: a number",
    "int_parsing": "allowed: a whole number",
    "int_type": "allowed: a whole number",
    "finite_number": "allowed: a finite number",
    "bool_type": "allowed: true or false",
    "bool_parsing": "allowed: true or false",
    "string_type": "allowed: text",
    "dict_type": "allowed: a mapping (key: value)",
    "model_type": "allowed: a mapping (key: value)",
    "model_attributes_type": "allowed: a mapping (key: value)",
    "list_type": "allowed: a list",
}


def _explain(err: Any) -> str:
    """The tail of the report for one of pydantic's own errors."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing":
        name = str(err["loc"][-1]) if err["loc"] else ""
        return f"missing; required: {REQUIRED_HINTS.get(name, 'this key')}"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "literal_error":
        return got(value, f"allowed: one of {ctx.get('expected')}")
    if kind == "string_too_short":
        return got(value, "allowed: non-empty text")
    if kind == "too_short":
        return got(value, f"allowed: at least {ctx.get('min_length')} entries")
    if kind in _BUILTIN_ALLOWED:
        return got(value, _BUILTIN_ALLOWED[kind])
    return got(value, f"allowed: {err['msg'][:1].lower()}{err['msg'][1:]}")


def describe_validation_error(exc: ValidationError, origin: str) -> str:
    """One line from the first error: ``<origin>: <dotted field path>: got <value>; <what is allowed>``."""
    err = exc.errors(include_url=False)[0]
    ctx = err.get("ctx") or {}
    path = [str(part) for part in err["loc"]]
    if err["type"] == "config":
        path += [part for part in str(ctx.get("at", "")).split(".") if part]
        tail = str(ctx["line"])
    else:
        tail = _explain(err)
    where = ".".join(path) or "top level"
    return " ".join(f"{origin}: {where}: {tail}".splitlines())
