"""Fuzzing the edge: random overrides and random scenario files end in a complete run or in ONE line and exit 2.

Every input goes through the command line's own entry (``sim.cli.main`` with a patched ``sys.argv``, in this
process for speed): either the run completes (exit 0, manifest ``complete``) or stderr holds exactly one line
``error: ...``, the exit status is 2 and no run folder was made; never a traceback. Scenario files are mutated in a
temporary copy of ``scenarios/`` (``SIM_SCENARIO_DIR``); a broken file never stops another scenario from running.

The default budget keeps this file under ~30 s; ``-m slow`` runs a larger one.
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from sim import PROJECT_ROOT

TINY = ["n_runs=256", "steps=1", "report=false", "workers=1"]
#: Run settings the fuzz leaves alone (a huge n_runs or steps would be a long run, not a bad input; resume is the
#: run folder's business) and Hydra's own keys.
FIXED = {"n_runs", "steps", "report", "workers", "chunk_size", "trajectory_replicas", "event_replicas", "resume"}
#: No shrinking: a composed run takes ~0.5 s, and Hypothesis spent minutes shrinking one failure (the failing input
#: is printed as found).
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
FAST = settings(max_examples=15, deadline=None, derandomize=True, database=None, phases=_PHASES,
                suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=60, deadline=None, database=None, phases=_PHASES,
                suppress_health_check=list(HealthCheck))


def run_cli(*args: str) -> tuple[int, str, str]:
    """``python -m sim ARGS`` in this process: (exit status, stdout, stderr)."""
    from sim.cli import main

    out, err = io.StringIO(), io.StringIO()
    with mock.patch.object(sys, "argv", ["sim", *args]), redirect_stdout(out), redirect_stderr(err):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def assert_run_or_one_line(args: list[str], run_dir: Path) -> int:
    code, _, err = run_cli(*args, f"hydra.run.dir={run_dir}")
    event(f"exit status {code}")            # --hypothesis-show-statistics: how many inputs ran, how many refused
    assert "Traceback" not in err, err
    if code == 0:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["status"] == "complete", manifest
    else:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2, (code, err)
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert not run_dir.exists(), f"a refused run made {run_dir}"
    return code


# --- values ---------------------------------------------------------------------------------------------------
ident = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
numbers = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, 1, -1, 0.5, 100, 101, -0.001, 1e308, 256, 10**9]))
texts = st.one_of(st.text(max_size=12), st.sampled_from(["", " ", "status_quo", "ü", "日本", "a b", "null", "true",
                                                         "assumption", "001_92b0d93d1bbc6d15.txt"]))
interpolations = st.sampled_from(["${oc.env:UNSET}", "${oc.env:HOME}", "${hydra:runtime.cwd}", "${x.y}", "${n_runs}",
                                  "a${b}c", "${oc.decode:'1'}"])
scalars = st.one_of(numbers, texts, st.booleans(), st.none(), interpolations)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(ident, inner, max_size=3)), max_leaves=6)


def render(value: Any) -> str:
    """A value in Hydra's override syntax."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value == float("inf") else "-inf" if value == float("-inf")
                                             else repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    return "{" + ",".join(f"{k}:{render(v)}" for k, v in value.items()) + "}"


def _paths(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path
            yield from _paths(value, path)


def _default_config() -> dict[str, Any]:
    from hydra import compose, initialize_config_dir

    from sim.run import CONF_DIR, plain, register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return plain(compose(config_name="config"))


def _leaf(data: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


DEFAULTS = _default_config()
#: Every dotted key of the composed default config (inner nodes and leaves), the groups, a few unknown ones.
KEYS = sorted(k for k in _paths(DEFAULTS) if k.split(".")[0] not in FIXED) + [
    "scenario", "knowledge", "nruns", "actors.us.salinece", "about.name", "about.title", "mechanics.nope.x",
    "actors.china.capability"]
#: Numeric leaves, for plausible values (near the default: many of them run).
NUMERIC = [k for k in KEYS if k in set(_paths(DEFAULTS)) and isinstance(_leaf(DEFAULTS, k), (int, float))
           and not isinstance(_leaf(DEFAULTS, k), bool)]


def _near(key: str) -> st.SearchStrategy[str]:
    v = float(_leaf(DEFAULTS, key))
    return st.floats(min(-0.5, -abs(v)), 2 * abs(v) + 1, allow_nan=False).map(lambda x: f"{key}={x!r}")


override = st.one_of(
    st.sampled_from(NUMERIC).flatmap(_near),
    st.builds(lambda group, name: f"{group}={name}", st.just("scenario"),
              st.sampled_from(["status_quo", "grand_bargain", "russian_mediation", "proxy_escalation"])),
    st.builds(lambda k, v: f"{k}={render(v)}", st.sampled_from(KEYS), values),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), st.text(max_size=10)),      # raw, maybe unparsable
    st.builds(lambda k: f"~{k}", st.sampled_from(KEYS)),
    st.builds(lambda k, v: f"+{k}={render(v)}", st.sampled_from(KEYS), scalars),
)


def check_overrides(overrides: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        assert_run_or_one_line([*overrides, *TINY], Path(tmp) / "run")


@FAST
@given(st.lists(override, min_size=1, max_size=3))
def test_random_overrides_end_in_a_run_or_one_line(overrides: list[str]) -> None:
    check_overrides(overrides)


@pytest.mark.slow
@SLOW
@given(st.lists(override, min_size=1, max_size=4))
def test_random_overrides_end_in_a_run_or_one_line_large_budget(overrides: list[str]) -> None:
    check_overrides(overrides)


# --- scenario files -------------------------------------------------------------------------------------------
REAL = yaml.safe_load((PROJECT_ROOT / "scenarios" / "grand_bargain.yaml").read_text(encoding="utf-8"))


def _slots(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every path into the tree (mapping keys and list indices)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _slots(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*path, i)
            yield from _slots(value, (*path, i))


SLOTS = list(_slots(REAL))


def mutate(data: dict, slot: tuple, how: str, value: Any, name: str) -> dict:
    out = copy.deepcopy(data)
    parent: Any = out
    for part in slot[:-1]:
        parent = parent[part]
    last = slot[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif how == "add" and isinstance(parent, dict):
        parent[name] = value
    elif how == "rename" and isinstance(parent, dict):
        parent[name] = parent.pop(last)
    return out


def text_mutation(text: str, at: int, cut: int, insert: str) -> str:
    at = at % (len(text) + 1)
    return text[:at] + insert + text[at + cut:]


structural = st.builds(lambda slot, how, value, name: yaml.safe_dump(mutate(REAL, slot, how, value, name),
                                                                     sort_keys=False, allow_unicode=True),
                       st.sampled_from(SLOTS), st.sampled_from(["replace", "delete", "add", "rename"]), values,
                       ident)
textual = st.builds(text_mutation, st.just((PROJECT_ROOT / "scenarios" / "grand_bargain.yaml").read_text()),
                    st.integers(0, 10**5), st.integers(0, 40),
                    st.sampled_from(["", ":", "- ", "\t", "{", "]", "'", "\"", "&a ", "*a", "!!binary ", "${x}",
                                     "\n  about:\n    name: x\n", "\nabout: {}\n", "\x00", "é", "? "]))


@contextmanager
def scenario_folder() -> Iterator[Path]:
    """A temporary copy of scenarios/ that ``python -m sim`` reads (SIM_SCENARIO_DIR)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "scenarios"
        shutil.copytree(PROJECT_ROOT / "scenarios", folder)
        with mock.patch.dict(os.environ, {"SIM_SCENARIO_DIR": str(folder)}):
            yield folder


def check_scenario_file(text: str, run_other: bool) -> None:
    with scenario_folder() as folder:
        (folder / "grand_bargain.yaml").write_text(text, encoding="utf-8")
        scenario = "status_quo" if run_other else "grand_bargain"
        code = assert_run_or_one_line([f"scenario={scenario}", *TINY], folder.parent / "run")
        if run_other:
            assert code == 0, "a broken scenario file stopped another scenario"


@FAST
@given(st.one_of(structural, textual), st.booleans())
def test_random_scenario_files_end_in_a_run_or_one_line(text: str, run_other: bool) -> None:
    check_scenario_file(text, run_other)


@pytest.mark.slow
@SLOW
@given(st.one_of(structural, textual), st.booleans())
def test_random_scenario_files_end_in_a_run_or_one_line_large_budget(text: str, run_other: bool) -> None:
    check_scenario_file(text, run_other)
