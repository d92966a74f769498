"""Print the actor knowledge base: ``python -m sim.actors [--json] [--knowledge PATH]``.

Each value is shown as ``mode [low–high]`` with the short name of its source (``001`` for a seed article,
``assumed`` for an assumption). ``--json`` emits the same content as JSON. The file is read with the loader of
``python -m sim`` (:mod:`sim.yamlio`: duplicate keys and ``${...}`` refused); a malformed file prints one line to
stderr (``error: <file>: line L, column C: ...`` or ``error: <file>: <field>: got ...; allowed ...``) and exits with
status 2. Without the seed articles (``../shared/seeds``) one warning line says the citations were not checked.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sim.errors import ConfigError
from sim.knowledge import ASSUMPTION, LITERATURE, KnowledgeBase, Source, Uncertain, citations_note, load_knowledge


def short_source(source: Source) -> str:
    """``001`` for ``001_92b0….txt``; ``assumed`` for an assumption; ``lit.`` for a publication."""
    if source.seed == ASSUMPTION:
        return "assumed"
    return "lit." if source.seed == LITERATURE else source.seed.split("_", 1)[0]


def value_json(u: Uncertain) -> dict[str, Any]:
    """One uncertain value as JSON: ``value`` is the mode."""
    return {"value": u.mode, "low": u.low, "high": u.high, "dist": u.dist,
            "source": u.source.model_dump(exclude_none=True)}


def to_json(kb: KnowledgeBase) -> dict[str, Any]:
    """The knowledge base as plain JSON-ready data."""
    actors = {
        actor_id: {
            "name": actor.name,
            "capability": value_json(actor.capability),
            "capability_by": {k: value_json(u) for k, u in actor.capability_by.items()},
            "risk_attitude": value_json(actor.risk_attitude),
            "resolve": value_json(actor.resolve),
            "war_cost": value_json(actor.war_cost),
            "position": {i: value_json(u) for i, u in actor.position.items()},
            "salience": {i: value_json(u) for i, u in actor.salience.items()},
        }
        for actor_id, actor in kb.actors.items()
    }
    return {
        "baseline": kb.baseline.model_dump(),
        "issues": {i: issue.model_dump() for i, issue in kb.issues.items()},
        "actors": actors,
        "relations": {
            "alignment": {k: value_json(u) for k, u in kb.relations.alignment.items()},
            "trust": {k: value_json(u) for k, u in kb.relations.trust.items()},
        },
        "world": {k: value_json(getattr(kb.world, k)) for k in type(kb.world).model_fields},
    }


def cell(u: Uncertain, digits: int) -> str:
    """``mode [low–high]``, or just the value when fixed."""
    if u.dist == "fixed":
        return f"{u.mode:.{digits}f} (fixed)"
    return f"{u.mode:.{digits}f} [{u.low:.{digits}f}–{u.high:.{digits}f}]"


def print_tables(kb: KnowledgeBase, console: Console) -> None:
    """Per actor a table of traits and issue stances, then one table of relations by pair."""
    console.print(f"[bold]Knowledge base as of {kb.baseline.as_of}[/bold]")
    for i, issue in kb.issues.items():
        power = f"; decided by {issue.power} capability" if issue.power else ""
        console.print(f"  [cyan]{i}[/cyan]: {issue.label} (0 = {issue.scale_0}; 100 = {issue.scale_100}{power})")
    for actor_id, actor in kb.actors.items():
        table = Table(title=f"{actor.name} ({actor_id})", title_justify="left")
        for column in ("", "position / value", "src", "salience", "src"):
            table.add_column(column)
        for name in ("capability", "risk_attitude", "resolve", "war_cost"):
            u: Uncertain = getattr(actor, name)
            table.add_row(name, cell(u, 2), short_source(u.source), "", "")
        for kind, u in actor.capability_by.items():
            table.add_row(f"capability ({kind})", cell(u, 2), short_source(u.source), "", "")
        for i in kb.issue_ids:
            p, s = actor.position[i], actor.salience[i]
            table.add_row(i, cell(p, 0), short_source(p.source), cell(s, 0), short_source(s.source))
        console.print(table)
    table = Table(title="Relations: alignment (-1..+1) and trust (a-b: how far a believes b, 0..1)",
                  title_justify="left")
    for column in ("a-b", "alignment", "trust a-b", "trust b-a"):
        table.add_column(column, no_wrap=column == "a-b")
    for key, align in kb.relations.alignment.items():
        a, b = key.split("-")
        ab, ba = kb.relations.trust[f"{a}-{b}"], kb.relations.trust[f"{b}-{a}"]
        table.add_row(key, *(f"{cell(u, 2)} {short_source(u.source)}" for u in (align, ab, ba)))
    console.print(table)
    table = Table(title="World state at the baseline (what actors do, apart from what they say)", title_justify="left")
    for column in ("variable", "value", "src"):
        table.add_column(column)
    for name in type(kb.world).model_fields:
        u = getattr(kb.world, name)
        table.add_row(name, cell(u, 2), short_source(u.source))
    console.print(table)


def _load(choice: str | None) -> KnowledgeBase:
    """The knowledge base named (``with_china``) or in a file; a file without ``issues`` is read as changes to the
    baseline (merged as ``knowledge=NAME`` merges it)."""
    from sim.run import KNOWLEDGE_DIR, knowledge_data, knowledge_names, merge_knowledge
    from sim.yamlio import load_yaml

    if choice is None:
        return load_knowledge()
    if choice in knowledge_names():
        return load_knowledge(data=knowledge_data(choice), origin=f"scenarios/knowledge/{choice}.yaml")
    path = Path(choice)
    if not path.is_file():
        raise ConfigError(f"--knowledge: got {choice!r}; allowed: a name ({', '.join(knowledge_names())}) or a "
                          f"YAML file (the names are the files in {KNOWLEDGE_DIR})")
    data = load_yaml(path, str(path))
    if "issues" not in data:
        data = merge_knowledge(knowledge_data("baseline"), {k: v for k, v in data.items() if k != "about"})
    return load_knowledge(data=data, origin=str(path))


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m sim.actors", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="emit JSON instead of tables")
    parser.add_argument("--knowledge", default=None, metavar="NAME|PATH",
                        help="a knowledge base by name (scenarios/knowledge/NAME.yaml, as knowledge=NAME selects it: "
                        "a file of changes is merged onto the baseline) or a YAML file (default: baseline)")
    args = parser.parse_args(argv)
    try:
        kb = _load(args.knowledge)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    note = citations_note()
    if note:
        print(note, file=sys.stderr)
    if args.json:
        print(json.dumps(to_json(kb), indent=2, ensure_ascii=False))
    else:
        print_tables(kb, Console())
    return 0


if __name__ == "__main__":
    sys.exit(main())
