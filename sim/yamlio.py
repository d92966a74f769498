"""The one YAML loader of the project's data: scenario files and the knowledge base (``python -m sim``,
``python -m sim.actors`` and :func:`sim.knowledge.load_knowledge` all read them here; ``conf/`` is Hydra's, read
by Hydra).

OmegaConf's rules (its float syntax such as ``1e-3``, no timestamps) on libyaml's C parser when available (~15×
faster than the pure-Python parser), and stricter than both:

* a duplicate key is an error (YAML's and PyYAML's "last wins" hides typos);
* keys are text; values are text, numbers, booleans, null, mappings and lists (no ``!!binary``, ``!!set``,
  ``!!python/...`` or other tags);
* no ``${...}``: interpolations are **not** resolved in data files (a scenario file dropped into ``scenarios/``
  must not read environment variables or other keys), so text containing ``${`` is refused rather than taken
  literally;
* the document is one mapping (an empty file is an empty mapping).

Every mistake is a :class:`~sim.errors.ConfigError` with one line naming the file, the line and the column.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ConfigError, show

_TAG = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null", "map", "seq"))
INTERPOLATION = "${"

_FLOAT = re.compile(r"""^(?:
     [-+]?[0-9]+(?:_[0-9]+)*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+)
    |\.[0-9]+(?:_[0-9]+)*(?:[eE][-+][0-9]+)?
    |[-+]?[0-9]+(?:_[0-9]+)*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)


def _error(problem: str, mark: Any) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, problem, mark)


class _Strict:
    """The checks, mixed into a SafeLoader (C or Python)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node.tag not in ALLOWED_TAGS and node.tag != _TAG + "merge":
            raise _error(f"got the tag {node.tag.replace(_TAG, '!!')}; allowed: text, numbers, true/false, "
                         "null, mappings and lists", node.start_mark)
        if isinstance(node, yaml.ScalarNode) and INTERPOLATION in node.value:
            raise _error(f"got {show(node.value)}; allowed: text without '${{': interpolations are not "
                         "resolved in scenario and knowledge files", node.start_mark)
        return super().construct_object(node, deep=deep)  # type: ignore[misc]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == _TAG + "merge":
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _TAG + "str":
                what = key_node.value if isinstance(key_node, yaml.ScalarNode) else type(key_node).__name__
                raise _error(f"got the key {show(what)}; allowed: keys that are text (quote it)",
                             key_node.start_mark)
            if key_node.value in seen:
                raise _error(f"got the key {key_node.value!r} twice; allowed: each key once in a mapping",
                             key_node.start_mark)
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


def _build(base: Any) -> type:
    class Loader(_Strict, base):
        yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag not in (_TAG + "timestamp", _TAG + "float")]
            for first, resolvers in base.yaml_implicit_resolvers.items()
        }
        yaml_constructors = {tag: c for tag, c in base.yaml_constructors.items()
                             if tag in ALLOWED_TAGS or tag is None or tag == _TAG + "merge"}

    Loader.add_implicit_resolver(_TAG + "float", _FLOAT, list("-+0123456789."))
    return Loader


@functools.cache
def loader() -> type:
    """The loader class (libyaml's C parser when PyYAML has it, else PyYAML's own)."""
    return _build(getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""


def parse_yaml(text: str, origin: str) -> dict[str, Any]:
    """``text`` as a mapping (plain dicts, lists and scalars), or ConfigError: ``<origin>: line L, column C: ...``."""
    try:
        data = yaml.load(text, Loader=loader())  # noqa: S506 - a SafeLoader, stricter still
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        if not problem.startswith("got "):
            problem = f"not valid YAML: {problem}"
        raise ConfigError(f"{origin}: {_where(exc)}{problem}") from None
    except RecursionError:
        raise ConfigError(f"{origin}: not valid YAML: nested too deeply") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: line 1, column 1: got {type(data).__name__} {show(data, 40)}; allowed: a "
                          "mapping (key: value) at the top level")
    return data


def load_yaml(path: Path, origin: str | None = None) -> dict[str, Any]:
    """The file's mapping (see :func:`parse_yaml`); unreadable or non-UTF-8 files are ConfigError too."""
    origin = origin or str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{origin}: cannot read the file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{origin}: byte {exc.start}: got {exc.object[exc.start:exc.start + 1]!r}; allowed: "
                          "UTF-8 text") from None
    return parse_yaml(text, origin)
