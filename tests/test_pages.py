"""Issue 18, the analyst's pages: words for the mechanics, the headline deal metric, calendar months, probabilities
by horizon and conditional ones, the deep-uncertainty spread, sweep dodging and zoom, comparisons across worlds,
knowledge files selectable by name, and the house's substreams unchanged by an unrelated issue."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import outcomes as names
from sim.errors import ConfigError
from sim.report import headline
from sim.report.labels import mid_sentence
from sim.report.mechanics_words import base_mechanics, describe, mechanics_diff
from sim.report.style import color
from sim.report.sweep_report import dodge, zoomed
from synthetic_runs import make_multirun, make_run

RUNGS = ["calm", "rhetoric", "proxy harassment", "proxy attacks", "limited strikes", "sustained strikes",
         "regional war"]
ACTORS = {"us": "United States", "russia": "Russia", "iran": "Iran", "europe": "Europe (EU / E3)"}
ISSUES = {"iran_nuclear": "Iran's nuclear programme", "ukraine_support": "Western support for Ukraine",
          "iran_sanctions": "sanctions on Iran"}


def _words(mech: dict) -> list[str]:
    lines: list[str] = []
    for change in mechanics_diff(mech):
        lines += describe(change, lambda a: ACTORS.get(a, a), lambda i: ISSUES.get(i, i), RUNGS, mech)
    return lines


# --- 1. the mechanics in words ----------------------------------------------------------------------------------
def test_scenario_mechanics_are_described_in_words_against_the_base() -> None:
    base = base_mechanics()
    assert {"exchange", "mediation", "escalation"} <= set(base), "the base config's sections must load"
    mech = copy.deepcopy(base)
    mech["exchange"]["brokers"].append({"patron": "russia", "client": "iran", "issues": ["iran_nuclear"],
                                        "note": "the bargain"})
    mech["exchange"]["concessions"].append({"actor": "us", "issue": "ukraine_support"})
    mech["mediation"].update(mediator="russia")
    mech["escalation"]["initial_rung"] = 3
    lines = []
    for change in mechanics_diff(mech):
        lines += describe(change, lambda a: ACTORS.get(a, a), lambda i: ISSUES.get(i, i), RUNGS, mech,
                          ["us", "russia", "iran", "europe"])
    text = " ".join(lines)
    assert len(lines) == 5, lines                  # only what differs from the base: no unchanged key listed
    assert ("Russia can deliver Iran's move on Iran's nuclear programme in a trade of its own (a brokered exchange, "
            "this project's extension): the bargain") in text
    assert "United States may trade away its position on Western support for Ukraine" in text
    assert "Russia mediates between United States and Iran" in text and "Europe (EU / E3) is outside the format" in text
    assert "starts at rung 3 · proxy attacks (baseline: 2 · proxy harassment)" in text
    assert "{" not in text                          # no raw JSON


def test_unknown_mechanics_keys_fall_back_to_a_readable_sentence() -> None:
    mech = copy.deepcopy(base_mechanics())
    mech["mediation"]["shuttle_rounds"] = 3               # a key added by another mechanism's helper tomorrow
    mech["exchange"]["rate"] = {"low": 0.1, "mode": 0.2, "high": 0.3, "dist": "triangular", "source": {}}
    assert _words(mech) == ["Mediation · shuttle rounds: 3 (baseline: not set).",
                            "Exchange · rate: 0.2 (range 0.1–0.3) (baseline: 0.5 (range 0.3–0.7))."]
    assert _words(copy.deepcopy(base_mechanics())) == []


# --- 2, 3. the headline metric, calendar months, horizons ---------------------------------------------------------
def test_baseline_month_of_scenarios_and_cases() -> None:
    assert headline.baseline_month({}) == (2025, 3)
    assert headline.baseline_month({"spec": {"knowledge": {"baseline": {"as_of": "March 2025"}}}}) == (2025, 3)
    assert headline.baseline_month({"spec": {"knowledge": {"baseline": {"as_of": "2024-04-02"}}}}) == (2024, 4)
    assert headline.month_name((2025, 3), 0) == "Mar 2025"
    assert headline.month_name((2025, 3), 10) == "Jan 2026"
    assert headline.month_name((2025, 3), 24, short=False) == "March 2027"
    axis = headline.month_axis((2025, 3), 24)
    assert axis["tickvals"][:3] == [0, 3, 6] and axis["ticktext"][2] == "Sep 2025<br>m6"


def test_probabilities_by_horizon_count_first_months() -> None:
    first = pd.array([3, 7, None, 12, 24, None, 6, 13], dtype="Int32")
    out = pd.DataFrame({names.DEAL_STEP: first})
    t = headline.by_horizon(out, 24)
    assert list(t["horizon"]) == [6, 12, 24]
    expect = [3 / 8, 5 / 8, 6 / 8]                      # months ≤ 6: 3, 6; ≤ 12 adds 7, 12; ≤ 24 adds 13, 24 … 
    expect = [float(np.mean(np.nan_to_num(first.to_numpy(dtype=float, na_value=np.nan), nan=99) <= h))
              for h in (6, 12, 24)]
    assert np.allclose(t["p"], expect) and np.allclose(t["se"], [math.sqrt(p * (1 - p) / 8) for p in expect])
    assert headline.horizons(36) == [6, 12, 24, 36] and headline.horizons(10) == [6, 10]


def test_conditional_probabilities_and_outcomes_with_and_without_war() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    war = rng.random(n) < 0.2
    deal = np.where(war, rng.random(n) < 0.1, rng.random(n) < 0.6)
    strike = rng.random(n) < 0.4
    out = pd.DataFrame({names.WAR: war, names.DEAL_EVER: deal, names.DEAL: deal, names.FIRST_STRIKE: strike,
                        "outcome_x": np.where(war, 20.0, 60.0) + rng.normal(0, 5, n)})
    rows = {r["label"]: r for r in headline.conditionals(out)}
    r = rows["P(regional war | no deal signed)"]
    assert r["n"] == int((~deal).sum()) and r["p"] == pytest.approx(war[~deal].mean())
    assert r["se"] == pytest.approx(math.sqrt(r["p"] * (1 - r["p"]) / r["n"]))
    assert rows["P(deal signed | an interstate strike)"]["p"] == pytest.approx(deal[strike].mean())
    d = headline.with_and_without(out, "outcome_x", names.WAR)
    assert d["with"] == pytest.approx(20, abs=1) and d["without"] == pytest.approx(60, abs=0.5)
    assert d["n_with"] == int(war.sum()) and d["with_se"] > d["without_se"] > 0


def test_deep_spread_finds_the_input_that_moves_a_probability() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    params = pd.DataFrame({"replica": np.arange(n), "a.driver": rng.random(n), "b.idle": rng.random(n),
                           "c.idle": rng.random(n)})
    y = rng.random(n) < 0.1 + 0.6 * params["a.driver"].to_numpy()
    d = headline.deep_spread(params, pd.DataFrame({"replica": np.arange(n), names.WAR: y}), names.WAR)
    assert d is not None and d["lead"] == "a.driver" and d["significant"]
    assert d["low"] < 0.25 < 0.55 < d["high"] and d["sd_low"] > 0.1
    idle = rng.random(n) < 0.3
    d = headline.deep_spread(params, pd.DataFrame({"replica": np.arange(n), names.WAR: idle}), names.WAR)
    assert d is not None and not d["significant"] and d["sd_low"] == 0.0


# --- 9. wording ----------------------------------------------------------------------------------------------------
def test_labels_read_lower_case_mid_sentence_but_names_keep_their_capital() -> None:
    proper = {"Iran", "Russia", "United States"}
    assert mid_sentence("Sanctions on Iran", proper) == "sanctions on Iran"
    assert mid_sentence("Iran's nuclear programme", proper) == "Iran's nuclear programme"
    assert mid_sentence("Russia's role in Middle East diplomacy", proper) == "Russia's role in Middle East diplomacy"
    assert mid_sentence("Western support for Ukraine", proper) == "Western support for Ukraine"
    assert mid_sentence("US sanctions", proper) == "US sanctions"


def test_event_lines_lower_issue_labels_and_name_calendar_months(tmp_path: Path) -> None:
    from sim.report.stories import event_lines
    from sim.runs import load_run

    run = load_run(make_run(tmp_path / "r", n=40))
    lines = [line for r in run.events["replica"].unique() for line in event_lines(run, int(r))]
    assert lines and all(line.split(" (month ")[0][:3] in {m[:3] for m in headline._MONTHS} for line in lines)
    labels = [run.issue(i)["label"] for i in run.issue_ids]
    for line in lines:
        body = line.split(" · ", 1)[1]
        for label in labels:
            low = mid_sentence(label, {run.actor_name(a) for a in run.actor_ids})
            assert low == label or label not in body[1:], line


# --- 8. sweep and comparison looks ----------------------------------------------------------------------------------
def test_dodge_separates_every_point_and_keeps_them_near_their_value() -> None:
    x = pd.Series([0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2])
    groups = pd.Series(["a", "b", "c", "a", "b", "c", "c"])       # a repeated job of group c at 0.2
    d = dodge(x, groups)
    assert d.nunique() == len(d)
    assert (np.abs(d - x) <= 0.25 * 0.1 / 2 + 1e-12).all()
    assert d[:3].mean() == pytest.approx(0.1)
    assert (dodge(pd.Series([1.0, 2.0]), pd.Series(["", ""])) == [1.0, 2.0]).all()


def test_zoomed_range_holds_the_data_inside_the_scale() -> None:
    lo, hi = zoomed([np.array([40.0, 44.0]), np.array([38.0, 47.0])], (0.0, 100.0))
    assert 0 <= lo < 38 and 47 < hi <= 100 and hi - lo < 30
    lo, hi = zoomed([np.array([1.0, 2.0])], (0.0, 100.0))
    assert lo >= -2 and hi - lo >= 10


def test_colours_never_repeat() -> None:
    colours = [color(i) for i in range(40)]
    assert len(set(colours)) == 40


# --- 6. comparing different worlds -----------------------------------------------------------------------------------
def test_compare_runs_with_different_issue_sets_on_what_they_share(tmp_path: Path) -> None:
    from sim.compare import main

    a = make_run(tmp_path / "a", n=40)
    b = make_run(tmp_path / "b", n=40, issues=["iran_nuclear", "ukraine_support"])
    out = tmp_path / "c.html"
    assert main([str(a), str(b), "--out", str(out)]) == 0
    text = out.read_text()
    assert "compared on the outcomes they share" in text and "has issues the others lack" in text
    assert "Not comparable, so left out" in text


def test_comparison_is_written_into_outputs_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.compare import main

    a = make_run(tmp_path / "a", n=30)
    monkeypatch.chdir(tmp_path)
    assert main([str(a)]) == 0
    assert (tmp_path / "outputs" / "comparison.html").is_file()


def test_sweep_page_is_written_at_the_end_of_a_multirun_with_report_false(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from sim.sweep import SweepAggregator

    root = make_multirun(tmp_path / "sweep", n=60)
    cfg = OmegaConf.create({"report": False, "hydra": {"sweep": {"dir": str(root)}, "mode": "MULTIRUN"}})
    SweepAggregator().on_multirun_end(cfg)
    assert (root / "sweep.html").is_file() and (root / "sweep.parquet").is_file()


def test_sweep_table_has_the_mean_rungs_standard_error() -> None:
    from sim.sweep import _figures

    summary = {"n_runs": 100, "probabilities": {"max_rung": [{"rung": 0, "p": 0.5}, {"rung": 2, "p": 0.5}]}}
    row = _figures(summary)
    assert row["mean_max_escalation"] == pytest.approx(1.0)
    assert row["mean_max_escalation_se"] == pytest.approx(math.sqrt(1.0 / 100))


# --- 7. knowledge files ----------------------------------------------------------------------------------------------
def test_missing_relations_of_a_new_actor_are_listed_in_one_error() -> None:
    from sim.knowledge import load_knowledge
    from sim.run import knowledge_data

    data = copy.deepcopy(knowledge_data("with_china"))
    for key in ("us-china", "russia-china", "iran-china"):
        del data["relations"]["alignment"][key]
    with pytest.raises(ConfigError) as err:
        load_knowledge(data=data, origin="k.yaml")
    line = str(err.value)
    assert len(line.splitlines()) == 1
    assert "missing 3 of 21" in line and all(k in line for k in ("us-china", "russia-china", "iran-china"))


def test_knowledge_group_lists_every_file_and_refuses_unknown_names() -> None:
    from sim.cli import _check_choice
    from sim.run import knowledge_names

    assert {"baseline", "with_china"} <= set(knowledge_names())
    with pytest.raises(ConfigError, match="allowed: .*baseline.*with_china"):
        _check_choice("knowledge=nope", "knowledge", "nope")


def test_actors_command_shows_a_new_actors_values(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from sim.actors import main

    assert main(["--json", "--knowledge", "with_china"]) == 0
    data = json.loads(capsys.readouterr().out)
    china = data["actors"]["china"]
    assert china["name"] == "China" and china["position"]["iran_sanctions"]["value"] == 15
    assert "us-china" in data["relations"]["alignment"] and len(data["actors"]) == 7


def _spec_with_unrelated_issue(spec_data: dict) -> dict:
    """The composed config plus an issue no mechanism names (every actor: position 50, low salience)."""
    data = copy.deepcopy(spec_data)
    data["issues"]["arctic_shipping"] = {"label": "Arctic shipping routes", "scale_0": "closed",
                                         "scale_100": "open to all"}
    why = {"seed": "assumption", "why": "A test issue no mechanism refers to."}
    for actor in data["actors"].values():
        actor["position"]["arctic_shipping"] = {"low": 40, "mode": 50, "high": 60, "source": why}
        actor["salience"]["arctic_shipping"] = {"low": 5, "mode": 10, "high": 15, "source": why}
    return data


def test_an_unrelated_issue_leaves_the_other_mechanisms_random_numbers_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The house's substreams: each mechanism draws from its own named stream, so a knowledge base with one more
    issue gives every stream the two worlds share the same numbers, replica by replica, and every input the same
    value; the escalation track's draws (and so its chance events) are identical."""
    from hydra import initialize_config_dir

    from sim.experiment import run_chunk
    from sim.run import CONF_DIR, compose_config, plain, register_configs, spec_from_config
    from sim.streams import Substream

    register_configs()
    settings = ["n_runs=256", "steps=6", "event_replicas=0", "trajectory_replicas=0"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        data = plain(compose_config(settings))
    specs = [spec_from_config(data, overrides=settings), spec_from_config(_spec_with_unrelated_issue(data),
                                                                           overrides=settings)]
    assert len(specs[1].issue_ids) == len(specs[0].issue_ids) + 1
    original = Substream.uniform
    seen: list[dict[str, list[np.ndarray]]] = []

    def recording(self: Substream, *shape: int) -> np.ndarray:
        out = original(self, *shape)
        seen[-1].setdefault(self.name, []).append(out.copy())
        return out

    monkeypatch.setattr(Substream, "uniform", recording)
    for spec in specs:
        seen.append({})
        run_chunk(spec, [0])
    base, more = seen
    shared = sorted(set(base) & set(more))
    assert any(name.startswith("escalation") for name in shared)
    for name in shared:
        a, b = base[name], more[name]
        assert len(a) == len(b), name
        for x, y in zip(a, b):
            assert x.shape == y.shape and np.array_equal(x, y), name
    assert any(name.startswith("exchange/renege/") for name in shared)
    # and so, with the exchange off (its market trades on every issue, the new one too), every other mechanism's
    # outcome per replica: the escalation track, the deal, the world state, the issues (the new issue moves only
    # the utilities, which weigh it)
    monkeypatch.setattr(Substream, "uniform", original)
    off = settings + ["mechanics.exchange.enabled=false"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        data = plain(compose_config(off))
    pa = run_chunk(spec_from_config(data, overrides=off), [0])
    pb = run_chunk(spec_from_config(_spec_with_unrelated_issue(data), overrides=off), [0])
    for key, values in pa.outcomes.items():
        if not key.startswith(names.UTILITY_PREFIX):
            assert np.array_equal(values, pb.outcomes[key], equal_nan=values.dtype.kind == "f"), key
    common = [p for p in pa.parameter_paths if p in pb.parameter_paths]
    assert len(common) == len(pa.parameter_paths)
    ia = [pa.parameter_paths.index(p) for p in common]
    ib = [pb.parameter_paths.index(p) for p in common]
    assert np.array_equal(pa.parameters[ia], pb.parameters[ib])


@pytest.mark.slow
def test_with_china_knowledge_runs_and_its_new_actor_shows_on_the_report(tmp_path: Path) -> None:
    import subprocess
    import sys

    from sim.report.run_report import render_run_report
    from sim.runs import load_run

    root = Path(__file__).resolve().parents[1]
    res = subprocess.run([sys.executable, "-m", "sim", "knowledge=with_china", "n_runs=256", "steps=3",
                          "workers=1", "report=false", f"hydra.run.dir={tmp_path / 'run'}"], cwd=root,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    run = load_run(tmp_path / "run")
    assert "china" in run.actor_ids and run.actor_name("china") == "China"
    assert names.utility_outcome("china") in run.outcomes
    text = render_run_report(run.path).read_text()
    assert "China · capability" in text and "new: not in the baseline" in text
    assert "<td>{}</td>" not in text


def test_an_exchange_during_a_regional_war_is_told_as_a_shift_of_declared_positions(tmp_path: Path) -> None:
    from sim.report.stories import _event_text
    from sim.runs import load_run

    run = load_run(make_run(tmp_path / "r", n=20))
    label = run.issue(run.issue_ids[-1])["label"]
    row = pd.Series({"rung_before": 6, "rung_after": 6, "actor": run.actor_ids[0], "event": "exchange",
                     "description": f"{run.actor_name(run.actor_ids[0])} concedes on {label} for Iran's move"})
    text = _event_text(run, row)
    assert "softens its declared position on" in text and "concedes" not in text
    assert "declared positions only, while the regional war goes on" in text
    row2 = row.copy()
    row2["rung_before"], row2["rung_after"] = 2, 2
    assert "regional war" not in _event_text(run, row2)
