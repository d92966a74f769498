"""``python -m sim.actors``: tables, JSON, and one-line errors with a non-zero exit."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from sim import PROJECT_ROOT
from sim.knowledge import DEFAULT_KNOWLEDGE

ISSUES = ["iran_nuclear", "ukraine_support", "iran_proxies", "russia_mideast_role", "iran_sanctions"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim.actors", *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "160"})


def test_json_has_every_actor_issue_and_source() -> None:
    done = run("--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"baseline", "issues", "actors", "relations", "world"}
    assert data["world"]["breakout_months"]["source"]["seed"] == "literature"
    assert list(data["issues"]) == ISSUES
    assert list(data["actors"]) == ["us", "russia", "iran", "israel", "europe", "turkey"]
    for actor in data["actors"].values():
        for trait in ("capability", "risk_attitude", "resolve", "war_cost"):
            assert actor[trait]["low"] <= actor[trait]["value"] <= actor[trait]["high"]
        for field in ("position", "salience"):
            assert list(actor[field]) == ISSUES
            for value in actor[field].values():
                assert 0 <= value["low"] <= value["value"] <= value["high"] <= 100
                assert value["source"]["seed"] and value["source"]["why"]
    assert len(data["relations"]["alignment"]) == 15 and len(data["relations"]["trust"]) == 30
    assert data["relations"]["trust"]["iran-us"]["source"]["seed"].startswith("001_")


def test_table_output() -> None:
    done = run()
    assert done.returncode == 0, done.stderr
    for text in ("United States (us)", "Turkey (turkey)", "iran_proxies", "us-russia", "assumed"):
        assert text in done.stdout


def test_malformed_file_exits_with_one_line(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_KNOWLEDGE.read_text(encoding="utf-8"))
    data["actors"]["iran"]["salience"]["iran_nuclear"]["mode"] = 140
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    done = run("--knowledge", str(bad))
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "actors.iran.salience.iran_nuclear.mode: got 140.0; allowed: a number from 0 to 100" in lines[0]


def test_yaml_syntax_error_exits_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("actors: [unclosed\n  x: 1\n", encoding="utf-8")
    done = run("--knowledge", str(bad))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "not valid YAML" in done.stderr


def test_duplicate_key_exits_with_one_line_naming_line_and_column(tmp_path: Path) -> None:
    """python -m sim.actors reads with the loader of python -m sim: a duplicate key is refused, never last-wins."""
    text = DEFAULT_KNOWLEDGE.read_text(encoding="utf-8")
    bad = tmp_path / "dup.yaml"
    bad.write_text(text.replace("\n  us:\n", "\n  us:\n    name: Twice\n", 1), encoding="utf-8")
    done = run("--knowledge", str(bad), "--json")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "line " in lines[0] and "column 5: got the key 'name' twice" in lines[0]


def test_interpolation_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "env.yaml"
    bad.write_text(DEFAULT_KNOWLEDGE.read_text(encoding="utf-8").replace('name: "United States"',
                                                                       'name: "${oc.env:HOME}"', 1))
    done = run("--knowledge", str(bad))
    assert done.returncode == 2 and "interpolations are not resolved" in done.stderr
    assert os.environ.get("HOME", "/nowhere") not in done.stderr
