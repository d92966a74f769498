"""The knowledge base: the shipped baseline loads, cites real text, and malformed input fails in one clear line."""

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sim import PROJECT_ROOT
from sim.errors import ConfigError
from sim.knowledge import (
    DEFAULT_KNOWLEDGE,
    KnowledgeBase,
    Percent,
    Share,
    Signed,
    Uncertain,
    check_sources_exist,
    load_knowledge,
)

SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"
ACTORS = ["us", "russia", "iran", "israel", "europe", "turkey"]
ISSUES = ["iran_nuclear", "ukraine_support", "iran_proxies", "russia_mideast_role", "iran_sanctions"]
ORIGIN = "baseline.yaml"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"{SEEDS} is absent")


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The shipped YAML as a plain dict (never mutated: cases take deep copies)."""
    return yaml.safe_load(DEFAULT_KNOWLEDGE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def grep_text(text: str) -> str:
    """Independent of the module's normaliser: lower case, ASCII quotes, single spaces."""
    text = re.sub(r"[\u2018\u2019\u201a\u201b]", "'", text)
    text = re.sub(r"[\u201c\u201d\u201e\u201f]", '"', text)
    return re.sub(r"\s+", " ", text).lower().strip()


# ----------------------------------------------------------------------------------------------- the shipped data


def test_shipped_knowledge_loads_with_six_actors_and_five_issues(kb: KnowledgeBase) -> None:
    assert kb.actor_ids == ACTORS
    assert kb.issue_ids == ISSUES
    assert kb.baseline.as_of == "March 2025"
    for actor in kb.actors.values():
        assert list(actor.position) == ISSUES and list(actor.salience) == ISSUES
        for value in [*actor.position.values(), *actor.salience.values()]:
            assert value.source.why.strip()
            assert value.low <= value.mode <= value.high


def test_baseline_lists_every_seed_article(kb: KnowledgeBase) -> None:
    files = [a.file for a in kb.baseline.articles]
    assert len(files) == len(set(files)) == 5
    if SEEDS.is_dir():
        assert sorted(files) == sorted(p.name for p in SEEDS.glob("*.txt"))


@needs_seeds
def test_every_cited_phrase_occurs_in_its_seed(kb: KnowledgeBase) -> None:
    cited = 0
    for path, value in kb.parameters():
        source = value.source
        if source.seed in ("assumption", "literature"):
            continue
        seed = SEEDS / source.seed
        assert seed.is_file(), f"{path}: {source.seed} does not exist"
        assert source.where and len(source.where.split()) <= 12
        assert grep_text(source.where) in grep_text(seed.read_text(encoding="utf-8")), f"{path}: {source.where!r}"
        cited += 1
    assert cited >= 40  # most values rest on the articles
    check_sources_exist(kb, SEEDS)  # the module's own check agrees


def test_parameters_have_stable_dotted_paths(kb: KnowledgeBase) -> None:
    paths = [p for p, _ in kb.parameters()]
    assert len(paths) == len(set(paths)) == 6 * (4 + 3 + 2 * 5) + 15 + 30 + 6
    assert paths[:8] == ["actors.us.capability", "actors.us.risk_attitude", "actors.us.resolve", "actors.us.war_cost",
                         "actors.us.capability_by.military", "actors.us.capability_by.economic",
                         "actors.us.capability_by.diplomatic", "actors.us.position.iran_nuclear"]
    for expected in ("relations.alignment.us-russia", "relations.trust.iran-us", "actors.turkey.salience.iran_sanctions"):
        assert expected in paths
    assert paths == [p for p, _ in load_knowledge().parameters()]


def test_power_kinds_and_capability_paths(kb: KnowledgeBase, raw: dict[str, Any]) -> None:
    """Each issue declares the kind of capability that decides it; a file without ``power`` or ``capability_by``
    (the format before per-issue capability) still loads and uses the overall capability everywhere."""
    assert {i: k.power for i, k in kb.issues.items()} == {
        "iran_nuclear": "military", "iran_proxies": "military", "iran_sanctions": "economic",
        "ukraine_support": "economic", "russia_mideast_role": "diplomatic"}
    paths = kb.capability_paths()
    assert paths[0][kb.issue_ids.index("iran_sanctions")] == "actors.us.capability_by.economic"
    data = copy.deepcopy(raw)
    for issue in data["issues"].values():
        issue.pop("power")
    for actor in data["actors"].values():
        actor.pop("capability_by")
    old = load_knowledge(data=data, origin="old format")
    assert all(p == f"actors.{a}.capability" for a, row in zip(old.actor_ids, old.capability_paths()) for p in row)


def test_matrices(kb: KnowledgeBase) -> None:
    align, trust = kb.alignment_matrix(), kb.trust_matrix()
    assert align.shape == trust.shape == (6, 6)
    assert np.allclose(align, align.T) and np.all(np.diag(align) == 1) and np.all(np.diag(trust) == 1)
    assert np.all((align >= -1) & (align <= 1)) and np.all((trust >= 0) & (trust <= 1))
    i = {a: k for k, a in enumerate(ACTORS)}
    assert trust[i["iran"], i["us"]] == kb.relations.trust["iran-us"].mode
    assert np.all(kb.alignment_matrix("low") <= kb.alignment_matrix("high"))
    with pytest.raises(ValueError):
        kb.trust_matrix("median")


def test_values_agree_with_the_articles(kb: KnowledgeBase) -> None:
    """Directions the seed articles state plainly."""
    pos = {a: {i: kb.actors[a].position[i].mode for i in ISSUES} for a in ACTORS}
    assert pos["israel"]["iran_nuclear"] > pos["us"]["iran_nuclear"] > pos["iran"]["iran_nuclear"]
    assert pos["israel"]["iran_proxies"] < 10 and pos["iran"]["iran_proxies"] > 70
    assert pos["iran"]["iran_sanctions"] < 10 and pos["us"]["iran_sanctions"] > 60
    assert pos["russia"]["russia_mideast_role"] > 85 and pos["europe"]["russia_mideast_role"] < 30
    assert pos["russia"]["ukraine_support"] < pos["us"]["ukraine_support"] < pos["europe"]["ukraine_support"]
    assert pos["turkey"]["iran_proxies"] < 50 and pos["turkey"]["iran_nuclear"] > 50
    assert kb.relations.trust["iran-us"].mode < 0.2 and kb.relations.trust["russia-us"].mode < 0.5
    assert kb.relations.alignment["russia-iran"].mode > 0.5 and kb.relations.alignment["iran-israel"].mode < -0.8


def test_alignment_accepts_either_order_and_normalises(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["relations"]["alignment"]["russia-us"] = data["relations"]["alignment"].pop("us-russia")
    kb = load_knowledge(data=data)
    assert list(kb.relations.alignment)[0] == "us-russia"
    assert kb.alignment_matrix()[0, 1] == raw["relations"]["alignment"]["us-russia"]["mode"]


def test_bare_number_is_a_fixed_override(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["actors"]["us"]["salience"]["ukraine_support"] = 30
    value = load_knowledge(data=data).actors["us"].salience["ukraine_support"]
    assert (value.low, value.mode, value.high, value.dist) == (30, 30, 30, "fixed")
    assert value.source.seed == "assumption" and value.source.why == "set on the command line"


# ----------------------------------------------------------------------------------------------- malformed input

Mutation = Callable[[dict[str, Any]], None]


def _us(d: dict[str, Any]) -> dict[str, Any]:
    return d["actors"]["us"]


def _rename(mapping: dict[str, Any], old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


CASES: list[tuple[str, Mutation, list[str]]] = [
    ("unknown actor in relations",
     lambda d: _rename(d["relations"]["alignment"], "us-russia", "us-rusia"),
     ["relations.alignment.us-rusia", "'rusia'", "allowed actors: us, russia, iran, israel, europe, turkey"]),
    ("salience above 100",
     lambda d: _us(d)["salience"]["iran_nuclear"].update(mode=140, high=150),
     ["actors.us.salience.iran_nuclear.mode", "got 140.0", "allowed: a number from 0 to 100"]),
    ("missing source",
     lambda d: _us(d)["capability"].pop("source"),
     ["actors.us.capability.source", "missing", "required", "seed"]),
    ("typo in a source key",
     lambda d: _rename(_us(d)["position"]["iran_nuclear"]["source"], "where", "whre"),
     ["actors.us.position.iran_nuclear.source.whre", "unknown key", "allowed keys: cite, seed, where, why"]),
    ("typo in an actor key",
     lambda d: _rename(_us(d), "salience", "salinece"),
     ["actors.us.salinece", "unknown key", "'salience'", "allowed keys: capability, capability_by, name, position, resolve"]),
    ("low above mode",
     lambda d: _us(d)["capability"].update(low=0.5),
     ["actors.us.capability.low", "got 0.5", "at most mode (0.35)", "low <= mode <= high"]),
    ("unknown issue in a position",
     lambda d: _rename(_us(d)["position"], "iran_nuclear", "iran_nucleer"),
     ["actors.us.position.iran_nucleer", "unknown issue", "allowed issues: iran_nuclear, ukraine_support"]),
    ("issue missing for an actor",
     lambda d: d["actors"]["israel"]["salience"].pop("iran_sanctions"),
     ["actors.israel.salience.iran_sanctions", "missing", "every issue"]),
    ("where phrase of 13 words",
     lambda d: _us(d)["position"]["iran_nuclear"]["source"].update(where=" ".join(["word"] * 13)),
     ["actors.us.position.iran_nuclear.source.where", "got 'word word", "1 to 12 words", "13 given"]),
    ("bad dist name",
     lambda d: _us(d)["position"]["iran_nuclear"].update(dist="normal"),
     ["actors.us.position.iran_nuclear.dist", "got 'normal'", "'triangular', 'uniform' or 'fixed'"]),
    ("risk attitude 3 as a bare number",
     lambda d: _us(d).update(risk_attitude=3),
     ["actors.us.risk_attitude", "got 3.0", "allowed: a number from -1 to 1"]),
    ("risk attitude 3 as a mode",
     lambda d: _us(d)["risk_attitude"].update(mode=3, high=3),
     ["actors.us.risk_attitude.mode", "got 3.0", "from -1 to 1"]),
    ("self-pair in trust",
     lambda d: d["relations"]["trust"].update({"us-us": 0.5}),
     ["relations.trust.us-us", "got 'us-us'", "two different actors"]),
    ("alignment pair missing",
     lambda d: d["relations"]["alignment"].pop("iran-turkey"),
     ["relations.alignment.iran-turkey", "missing", "every unordered pair"]),
    ("alignment pair given twice",
     lambda d: d["relations"]["alignment"].update({"russia-us": 0.1}),
     ["relations.alignment.russia-us", "duplicate of 'us-russia'", "once"]),
    ("trust key with the wrong separator",
     lambda d: _rename(d["relations"]["trust"], "us-iran", "us>iran"),
     ["relations.trust.us>iran", "got 'us>iran'", "'a-b'"]),
    ("malformed seed name",
     lambda d: _us(d)["position"]["iran_nuclear"]["source"].update(seed="article.txt"),
     ["actors.us.position.iran_nuclear.source.seed", "got 'article.txt'", "'assumption', 'literature' or a seed file name"]),
    ("cited seed without a where phrase",
     lambda d: _us(d)["position"]["iran_nuclear"]["source"].pop("where"),
     ["actors.us.position.iran_nuclear.source.where", "missing", "at most 12 words"]),
    ("empty why",
     lambda d: _us(d)["capability"]["source"].update(why="  "),
     ["actors.us.capability.source.why", "got '  '", "non-empty"]),
    ("fixed with a spread",
     lambda d: _us(d)["capability"].update(dist="fixed"),
     ["actors.us.capability.dist", "got 'fixed'", "low = mode = high"]),
    ("text where a number belongs",
     lambda d: _us(d)["resolve"].update(mode="high"),
     ["actors.us.resolve.mode", "got 'high'", "allowed: a number"]),
    ("missing actor name",
     lambda d: _us(d).pop("name"),
     ["actors.us.name", "missing", "required"]),
    ("blank actor name",
     lambda d: _us(d).update(name="  "),
     ["actors.us.name", "got '  '", "non-empty text"]),
    ("empty issue label",
     lambda d: d["issues"]["iran_nuclear"].update(label=""),
     ["issues.iran_nuclear.label", "got ''", "non-empty text"]),
    ("every capability 0 (capabilities are divided by their sum)",
     lambda d: [a.update(capability=0) for a in d["actors"].values()],
     ["actors.*.capability", "got 0 for all 6 actors", "above 0 for at least one actor"]),
    ("an issue's power with no such capability for an actor",
     lambda d: _us(d)["capability_by"].pop("diplomatic"),
     ["actors.us.capability_by.diplomatic", "missing", "russia_mideast_role", "power: diplomatic"]),
    ("unknown power kind",
     lambda d: d["issues"]["iran_nuclear"].update(power="cyber"),
     ["issues.iran_nuclear.power", "'military'", "'economic'", "'diplomatic'"]),
    ("every military capability 0",
     lambda d: [a["capability_by"].update(military=0) for a in d["actors"].values()],
     ["actors.*.capability_by.military", "got 0 for all 6 actors"]),
    ("actor id with the relation separator",
     lambda d: _rename(d["actors"], "us", "us-a"),
     ["actors.us-a", "got 'us-a'", "letters, digits and _"]),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_knowledge_fails_in_one_clear_line(raw: dict[str, Any], mutate: Mutation, expected: list[str]) -> None:
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(ConfigError) as info:
        load_knowledge(data=data, origin=ORIGIN)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{ORIGIN}: ")
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


@needs_seeds
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"seed": "099_deadbeefdeadbeef.txt"},
         ["actors.us.position.iran_nuclear.source.seed", "got '099_deadbeefdeadbeef.txt'", "a file in", "001_92b0d93d1bbc6d15.txt"]),
        ({"where": "Trump signed a treaty with Tehran"},
         ["actors.us.position.iran_nuclear.source.where", "got 'Trump signed a treaty with Tehran'", "occurs in 001_"]),
    ],
    ids=["seed file does not exist", "where phrase not in the article"],
)
def test_sources_must_exist(raw: dict[str, Any], change: dict[str, str], expected: list[str]) -> None:
    data = copy.deepcopy(raw)
    _us(data)["position"]["iran_nuclear"]["source"].update(change)
    kb = KnowledgeBase.model_validate(data)  # well-formed; only the files disagree
    with pytest.raises(ConfigError) as info:
        check_sources_exist(kb, SEEDS, origin=ORIGIN)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{ORIGIN}: ")
    for part in expected:
        assert part in message
    with pytest.raises(ConfigError, match="source"):  # the loader runs the same check
        load_knowledge(data=data, origin=ORIGIN)


def test_invalid_yaml_syntax(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("actors:\n  us: {name: [unclosed\n  russia: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_knowledge(bad, origin="bad.yaml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("bad.yaml: line ") and "not valid YAML" in message


def _knowledge_text_with(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_KNOWLEDGE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "kb.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_duplicate_key_is_refused_with_line_and_column(tmp_path: Path) -> None:
    """load_knowledge reads with the loader of ``python -m sim`` (sim.yamlio): a duplicate key never wins."""
    path = _knowledge_text_with(tmp_path, "\n  us:\n", "\n  us:\n    name: Twice\n")
    with pytest.raises(ConfigError) as info:
        load_knowledge(path, origin="kb.yaml")
    message = str(info.value)
    line = 1 + DEFAULT_KNOWLEDGE.read_text(encoding="utf-8").split("\n  us:\n")[0].count("\n") + 3
    assert "\n" not in message and message.startswith(f"kb.yaml: line {line}, column 5: got the key 'name' twice")


def test_interpolation_in_the_knowledge_base_is_refused_not_resolved(tmp_path: Path) -> None:
    path = _knowledge_text_with(tmp_path, 'as_of: "March 2025"', 'as_of: "${oc.env:HOME}"')
    with pytest.raises(ConfigError, match=r"kb.yaml: line \d+, column \d+: got '\$\{oc.env:HOME\}'; allowed: text "
                                          r"without '\$\{'"):
        load_knowledge(path, origin="kb.yaml")


def test_one_loader_for_the_command_line_and_load_knowledge() -> None:
    """The knowledge base the command line composes is the one load_knowledge reads (same loader, same data)."""
    from sim.run import KNOWLEDGE_FILE, baseline_knowledge
    from sim.yamlio import load_yaml

    assert KNOWLEDGE_FILE == DEFAULT_KNOWLEDGE
    assert baseline_knowledge() == load_knowledge()
    assert load_yaml(DEFAULT_KNOWLEDGE) == yaml.safe_load(DEFAULT_KNOWLEDGE.read_text(encoding="utf-8"))


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_knowledge(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="baseline: missing; required"):     # an empty file is an empty mapping
        load_knowledge(tmp_path / "empty.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1, column 1: got list .*allowed: a mapping"):
        load_knowledge(tmp_path / "list.yaml")


# ----------------------------------------------------------------------------------------------- Uncertain

RANGES: list[tuple[type[Uncertain], float, float]] = [(Uncertain, -1e6, 1e6), (Percent, 0, 100), (Share, 0, 1),
                                                      (Signed, -1, 1)]


@st.composite
def ranged_triples(draw: st.DrawFn) -> tuple[type[Uncertain], list[float], str]:
    cls, lo, hi = draw(st.sampled_from(RANGES))
    triple = sorted(draw(st.lists(st.floats(lo, hi, allow_nan=False), min_size=3, max_size=3)))
    dist = draw(st.sampled_from(["triangular", "uniform"]))
    return cls, triple, dist


@given(ranged_triples())
def test_sorted_triples_in_range_validate(case: tuple[type[Uncertain], list[float], str]) -> None:
    cls, (low, mode, high), dist = case
    value = cls.model_validate(
        {"low": low, "mode": mode, "high": high, "dist": dist, "source": {"seed": "assumption", "why": "test"}}
    )
    assert value.low <= value.mode <= value.high
    assert (value.low, value.mode, value.high) == (low, mode, high)


@given(st.sampled_from(RANGES).flatmap(lambda r: st.tuples(st.just(r[0]), st.floats(r[1], r[2], allow_nan=False))))
def test_bare_number_is_fixed(case: tuple[type[Uncertain], float]) -> None:
    cls, x = case
    value = cls.model_validate(x)
    assert value.low == value.mode == value.high == x and value.dist == "fixed"
