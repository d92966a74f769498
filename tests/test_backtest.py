"""Backtests (issue 16): the case loader's no-look-ahead rule, the scores on hand-computed inputs, the outcome
mapping, the baselines, the leave-one-case-out blend and the JSON of ``python -m sim.validate backtest``."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from sim import PROJECT_ROOT
from sim.cases import CASES_DIR, Question, load_case, load_cases, parse_date
from sim.errors import ConfigError
from sim.validation import backtest as bt
from sim.validation import scores as sc

APRIL = CASES_DIR / "april_2024.yaml"


def _variant(tmp_path: Path, old: str, new: str, name: str = "april_2024") -> Path:
    text = APRIL.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# --- the case library and its loader ----------------------------------------------------------------------------
def test_library_has_six_dated_cases_before_march_2025():
    cases = load_cases()
    assert len(cases) >= 6
    for c in cases:
        assert c.baseline < date(2025, 3, 1)
        assert c.questions and c.sources
        for path, s in c.sources.items():
            assert s.assumption or (s.date is not None and s.date <= c.baseline), path
            assert s.assumption or s.url.startswith("http")


def test_loader_refuses_a_source_dated_after_the_baseline(tmp_path):
    path = _variant(tmp_path, 'date: "2024-04-02", url: "https://www.trtworld.com/article/17614354",\n'
                              '                 where: "decided on',
                    'date: "2024-04-05", url: "https://www.trtworld.com/article/17614354",\n'
                    '                 where: "decided on')
    with pytest.raises(ConfigError) as exc:
        load_case(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert "april_2024.yaml" in msg and "knowledge.actors.iran.resolve.source.date" in msg
    assert "2024-04-05" in msg and "2024-04-02" in msg


def test_loader_refuses_a_late_date_in_the_world_state(tmp_path):
    path = _variant(tmp_path, 'date: "2024-02-26",\n               url: "https://voa.pangea-cms.com',
                    'date: "2024-06-01",\n               url: "https://voa.pangea-cms.com')
    with pytest.raises(ConfigError, match=r"world\.nuclear\.stockpile_kg_60\.source\.date: 2024-06-01 is after "
                                          r"the case's baseline 2024-04-02"):
        load_case(path)


def test_month_only_date_counts_as_the_months_last_day(tmp_path):
    assert parse_date("2024-02", "x") == date(2024, 2, 29)
    path = _variant(tmp_path, 'date: "2024-04-01", url: "https://www.rferl.org', 'date: "2024-04", url: "https://www.rferl.org')
    with pytest.raises(ConfigError, match="2024-04 is after the case's baseline 2024-04-02"):
        load_case(path)


def test_outcome_sources_may_postdate_the_baseline():
    case = load_case(APRIL)
    assert case.resolution["deal_signed"].sources[0].date == date(2025, 8, 28)


def test_bare_values_and_missing_source_fields_are_refused(tmp_path):
    path = _variant(tmp_path, "      resolve:\n        low: 0.65", "      capability: 0.2\n      resolve:\n        low: 0.65")
    with pytest.raises(ConfigError, match=r"knowledge\.actors\.iran\.capability: got 0\.2 \(a bare value\)"):
        load_case(path)
    path = _variant(tmp_path, 'site: "TRT World",\n                 date: "2024-04-02"', 'date: "2024-04-02"')
    with pytest.raises(ConfigError, match=r"resolve\.source\.site: missing or empty"):
        load_case(path)


def test_file_name_must_match_case_name(tmp_path):
    path = _variant(tmp_path, "name: april_2024", "name: april_2024", name="other")
    with pytest.raises(ConfigError, match="case.name: got 'april_2024'; allowed: 'other'"):
        load_case(path)


def test_outcomes_from_resolution_dates():
    case = load_case(APRIL)                       # baseline 2024-04-02, first strike 2024-04-13
    assert case.event_step("first_strike") == 0 and case.event_step("war") is None
    q = {q.id: q for q in case.questions}
    assert case.outcome(q["strike_1m"]) == 1.0 and case.outcome(q["war_6m"]) == 0.0
    assert case.outcome(q["strike_when"]) == 0.0
    never = Question(id="w", text="t", event="war", kind="timing", within_months=6)
    assert case.outcome(never) == 6.0             # censored at the horizon


def test_engine_config_carries_the_cases_sources_and_marks_inherited_values():
    case = load_case(APRIL)
    spec = bt.case_spec(case, n_runs=256, seed=1)
    iran = spec.knowledge.actors["iran"]
    assert iran.resolve.mode == 0.78 and iran.resolve.source.seed == "literature"
    assert "https://www.trtworld.com/article/17614354" in (iran.resolve.source.cite or "")
    assert iran.capability.source.seed == "assumption" and "inherited" in iran.capability.source.why
    assert all(u.source.seed in ("assumption", "literature") for _, u in spec.knowledge.parameters())
    assert spec.knowledge.baseline.articles == []
    assert spec.section("escalation").initial_rung == 4 and spec.run.steps == 6


def test_no_60_percent_stock_is_inherited_below_60_percent_enrichment():
    """A case whose highest enrichment level is below 60 % starts with no 60 % stock (derived from that level and
    its source), not the 2025 base's 274.8 kg; a case that gives the stock keeps its own."""
    by_name = {c.name: c for c in load_cases()}
    for name, case in by_name.items():
        world = bt.case_spec(case, n_runs=256, seed=1).knowledge.world
        level, own = case.world.nuclear.enrichment_pct, case.world.nuclear.stockpile_kg_60
        if own is not None:
            assert world.stockpile_60.mode == own.mode, name
        elif level is not None and level.high < 60:
            assert (world.stockpile_60.low, world.stockpile_60.high) == (0.0, 0.0), name
            assert "enrichment level" in world.stockpile_60.source.why, name
    assert any(c.world.nuclear.stockpile_kg_60 is None for c in by_name.values())   # the rule is exercised


# --- the look-ahead sensitivity: --inherited base|wide ----------------------------------------------------------
def _as_text(data: dict) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def test_inherited_base_is_the_default_config_byte_for_byte():
    from sim.cases import engine_config

    base = bt.base_config()
    for case in load_cases():
        default = engine_config(case, base, n_runs=64, seed=3)
        assert _as_text(engine_config(case, base, inherited="base", n_runs=64, seed=3)) == _as_text(default)
    case = load_case(APRIL)
    assert (bt.case_spec(case, 64, 3, inherited="base").model_dump_json()
            == bt.case_spec(case, 64, 3).model_dump_json())
    from sim.validate import build_parser

    assert build_parser().parse_args(["backtest"]).inherited == "base"


def case_set_paths(case) -> set[str]:
    """The knowledge-base paths (``actors.iran.resolve``, ``world.stockpile_60``) whose value the case sets."""
    from sim.worldstate import KNOWLEDGE_WORLD

    out = {p.removeprefix("knowledge.") for p in case.sources if p.startswith(("knowledge.actors.",
                                                                                 "knowledge.relations."))}
    out |= {f"world.{key}" for path, (key, _) in KNOWLEDGE_WORLD.items() if f"world.{path}" in case.sources}
    return out


def test_inherited_wide_changes_exactly_the_values_the_case_does_not_set():
    """Every knowledge-base value the case inherits spans its type's whole range (uniform), except the types left
    inherited; every value the case sets itself, and everything outside the knowledge base, is unchanged."""
    from sim.cases import LEFT_INHERITED, MODE_KEPT, composed_knowledge, engine_config

    case = load_case(APRIL)
    base = engine_config(case, bt.base_config(), n_runs=64, seed=3)
    wide = engine_config(case, bt.base_config(), inherited="wide", n_runs=64, seed=3)
    kb_base, kb_wide = dict(composed_knowledge(base).parameters()), dict(composed_knowledge(wide).parameters())
    assert kb_base.keys() == kb_wide.keys()
    own = case_set_paths(case)
    assert own and own <= kb_base.keys()
    assert "actors.iran.resolve" in own and "world.stockpile_60" in own        # knowledge and world values
    for path, b in kb_base.items():
        w = kb_wide[path]
        if path in own or type(b).__name__ in LEFT_INHERITED:
            assert w.model_dump() == b.model_dump(), path
            continue
        lo, hi = type(b).bounds
        assert (w.low, w.high, w.dist) == (lo, hi, "uniform"), path
        assert w.source.seed == "assumption" and "--inherited wide" in w.source.why, path
        expected_mode = b.mode if path.startswith(tuple(MODE_KEPT)) else (lo + hi) / 2
        assert w.mode == expected_mode, path
    for key in set(base) - {"actors", "relations", "world"}:
        assert _as_text(wide[key]) == _as_text(base[key]), key                # decisions, mechanics, run, ...


def test_inherited_option_is_validated_in_one_line(capsys):
    from sim.cases import check_inherited, engine_config
    from sim.validate import main

    assert main(["backtest", "--inherited", "narrow"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--inherited" in err and "'narrow'" in err and "base, wide" in err
    with pytest.raises(ConfigError, match=r"inherited: got 'Wide'; allowed: base, wide"):
        engine_config(load_case(APRIL), bt.base_config(), inherited="Wide")
    assert check_inherited("wide") == "wide"


def test_evaluate_records_the_inherited_variant():
    cases = [load_case(APRIL), load_case(CASES_DIR / "jpoa_2013.yaml")]     # two: the blend is leave-one-case-out
    doc = bt.evaluate(cases, n_runs=128, seed=5, n_boot=50, calibrate=None, inherited="wide")
    assert doc["settings"]["inherited"] == "wide"
    assert bt.evaluate(cases, n_runs=128, seed=5, n_boot=50, calibrate=None)["settings"]["inherited"] == "base"


# --- scores on hand-computed values -----------------------------------------------------------------------------
def test_brier_and_log_loss_by_hand():
    assert sc.brier(0.8, 1) == pytest.approx(0.04)
    assert sc.brier(0.3, 0) == pytest.approx(0.09)
    assert sc.log_loss(0.8, 1) == pytest.approx(-math.log(0.8))
    assert sc.log_loss(0.8, 0) == pytest.approx(-math.log(0.2))
    assert sc.log_loss(0.0, 1) == pytest.approx(-math.log(0.01))      # clipped at EPS
    assert sc.log_loss(1.0, 1) == pytest.approx(-math.log(0.99))


def test_crps_by_hand():
    assert sc.crps(np.array([0.0, 2.0]), 1.0) == pytest.approx(0.5)   # E|X-y| = 1, E|X-X'| = 1
    assert sc.crps(np.array([3.0]), 1.0) == pytest.approx(2.0)        # a point mass: |x - y|
    assert sc.crps(np.array([0.0, 0.0, 6.0, 6.0]), 6.0) == pytest.approx(3.0 - 1.5)


def test_bootstrap_resamples_cases_and_is_reproducible():
    s, cases = [0.0, 0.0, 1.0], ["a", "a", "b"]
    m1 = sc.bootstrap_by_case(s, cases, n_boot=500, seed=3)
    m2 = sc.bootstrap_by_case(s, cases, n_boot=500, seed=3)
    assert m1 == m2 and m1[0] == pytest.approx(1 / 3)
    assert 0.0 <= m1[1] <= 1 / 3 <= m1[2] <= 1.0
    # a case is drawn whole: the only possible means are 0 (a, a), 1/3 (a, b) and 1 (b, b)
    assert {round(v, 6) for v in (m1[1], m1[2])} <= {0.0, round(1 / 3, 6), 1.0}


def test_reliability_bins_by_hand():
    bins = sc.reliability_bins([0.05, 0.15, 0.9, 1.0], [0, 1, 1, 1], n_bins=5)
    assert [(b["n"], b["observed"]) for b in bins] == [(2, 0.5), (2, 1.0)]
    assert bins[0]["p_mean"] == pytest.approx(0.1)


# --- the outcome mapping and the baselines ----------------------------------------------------------------------
def _run(registry: set[str], columns: dict[str, np.ndarray]) -> bt.EngineRun:
    rung = np.array([[2, 4, 4], [2, 3, 4], [4, 2, 4], [6, 2, 4]])      # (T + 1, R): row 0 is the baseline
    return bt.EngineRun(columns=columns, rung=rung, registry=registry, n_runs=3, seconds=0.0)


def test_an_event_whose_outcome_is_not_registered_is_not_answered():
    run = _run({"deal_signed_step"}, {"deal_signed_step": np.array([-1, 1, 3])})
    assert run.event_steps("first_strike") == (None, "no engine outcome")
    assert run.event_steps("deal_signed")[0].tolist() == [-1, 0, 2]   # the engine's steps are 1-based


def test_event_mapping_uses_model2_outcomes_when_registered():
    # the engine's steps are 1-based months (-1 none): month 6 is 5 months after the baseline, 0-based
    run = _run({"first_strike_step", "snapback_step"},
               {"first_strike_step": np.array([6, -1, 3]), "snapback_step": np.array([-1, -1, 1])})
    assert run.event_steps("first_strike") == (pytest.approx(np.array([5, -1, 2])), "first_strike_step")
    q = Question(id="s", text="t", event="first_strike", kind="binary", within_months=3)
    assert bt.engine_forecast(run, q, horizon=6).p == pytest.approx(1 / 3)          # 0 <= step < 3
    qt = Question(id="s", text="t", event="first_strike", kind="timing", within_months=6)
    assert bt.engine_forecast(run, qt, horizon=6).samples.tolist() == [5.0, 6.0, 2.0]


def test_climatology_and_persistence_by_hand():
    clim = bt.Climatology(group="g", rates={"p_serious": 0.3, "p_war": 0.2, "p_compromise": 0.4},
                          duration_months=2.0, n_crises=10)
    q1 = Question(id="a", text="t", event="first_strike", kind="binary", within_months=1)
    q6 = Question(id="b", text="t", event="war", kind="binary", within_months=6)
    assert bt.climatology_forecast(clim, q1, 6).p == pytest.approx(0.15)             # 0.3 * 1 / 2
    assert bt.climatology_forecast(clim, q6, 6).p == pytest.approx(0.2)
    qt = Question(id="c", text="t", event="deal_signed", kind="timing", within_months=6)
    s = bt.climatology_forecast(clim, qt, 6, n=10).samples
    assert (s < 6).mean() == pytest.approx(0.4) and s.max() == 6.0 and s[s < 6].max() < 2.0
    assert bt.climatology_forecast(clim, Question("d", "t", "snapback", "binary", 6), 6) is None
    case = load_case(APRIL)                                                          # baseline rung 4
    assert bt.persistence_forecast(case, q1, 6).p == pytest.approx(1 - sc.EPS)
    assert bt.persistence_forecast(case, q6, 6).p == pytest.approx(sc.EPS)


def test_loco_blend_never_sees_the_held_out_case():
    # case a: the engine is right and climatology wrong; case b: the reverse
    rows = [{"case": "a", "y": 1.0, "engine": 0.9, "climatology": 0.1},
            {"case": "b", "y": 1.0, "engine": 0.1, "climatology": 0.9}]
    out = bt.loco_blend(rows)
    assert out["weights"] == {"a": 0.0, "b": 1.0}       # each weight fitted on the other case only
    assert out["p"].tolist() == pytest.approx([0.1, 0.1])
    assert out["w_in_sample"] == pytest.approx(0.5)


# --- the command ------------------------------------------------------------------------------------------------
def test_evaluate_json_schema(tmp_path):
    cases = [load_case(APRIL), load_case(CASES_DIR / "jpoa_2013.yaml")]
    doc = bt.evaluate(cases, n_runs=256, seed=5, n_boot=200)
    doc = json.loads(json.dumps(doc))                   # plain JSON
    assert [c["name"] for c in doc["cases"]] == ["april_2024", "jpoa_2013"]
    for c in doc["cases"]:
        assert date.fromisoformat(c["baseline"])
        for q in c["questions"]:
            assert {"id", "p", "outcome", "engine", "climatology", "persistence"} <= set(q)
            assert q["p"] is None or 0.0 <= q["p"] <= 1.0
    for k in ("engine", "climatology", "persistence"):
        assert {"brier", "log"} <= set(doc["summary"][k])
        assert doc["summary"][k]["brier"] >= 0 and doc["summary"][k]["log"] >= 0
    assert "engine_climatology_blend_loco" in doc["summary"]
    again = bt.evaluate(cases, n_runs=256, seed=5, n_boot=200)
    assert again["summary"]["engine"] == doc["summary"]["engine"]          # same seed, same numbers
    page = bt.reliability_figure(doc, tmp_path / "rel.html")
    assert page.stat().st_size > 10_000 and "<html>" in page.read_text(encoding="utf-8")[:500].lower()


@pytest.mark.slow
def test_cli_backtest_json_end_to_end(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sim.validate", "backtest", "--json", "--out", str(tmp_path)],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert len(doc["cases"]) >= 6 and (tmp_path / "reliability.html").is_file()
    assert doc["summary"]["engine"]["log"] < doc["summary"]["climatology"]["log"]


def test_calibrate_loco_chooses_each_value_without_its_case(monkeypatch):
    """Each case is perfectly forecast at its own grid value and worst at the other: leave-one-case-out must pick
    the other case's value for it (and score it badly), never its own."""
    cases = [load_case(APRIL), load_case(CASES_DIR / "jpoa_2013.yaml")]
    preferred = {"april_2024": 1.0, "jpoa_2013": 0.0}
    param = "mechanics.escalation.deescalation"

    def fake_run(case, n_runs, seed, overrides, inherited="base"):
        return (case, overrides[param]["mode"])

    def fake_forecast(run, q, horizon):
        case, v = run
        y = case.outcome(q)
        good = v == preferred[case.name]
        p = y if good else 1.0 - y
        return bt.Forecast(p=p, samples=np.array([y if good else y + 3.0]) if q.kind == "timing" else None, how="x")

    monkeypatch.setattr(bt, "run_engine", fake_run)
    monkeypatch.setattr(bt, "engine_forecast", fake_forecast)
    keep = {(c.name, q.id) for c in cases for q in c.questions}
    out = bt.calibrate_loco(cases, param, (0.0, 1.0), n_runs=1, seed=0, keep=keep)
    assert out["chosen_by_held_out_case"] == {"april_2024": 0.0, "jpoa_2013": 1.0}
    assert all(r["brier"] == 1.0 for r in out["scored"].values() if r["kind"] == "binary")
    assert all(r["crps"] == 3.0 for r in out["scored"].values() if r["kind"] == "timing")


def test_climatology_groups_have_a_duration():
    for group in ("crises_IRN", "middle_east_crises", "all"):
        clim = bt.load_climatology(group=group)
        assert 1.0 < clim.duration_months < 6.0 and 0.0 < clim.rates["p_war"] < 1.0
    assert bt.load_climatology().n_crises == 20
    with pytest.raises(ValueError, match="unknown ICB group"):
        bt.load_climatology(group="nowhere")


# --- the case report (an analyst's forecast of the crisis) --------------------------------------------------------
def test_dated_questions_and_their_last_day():
    from sim.cases import dated_text, last_day

    base = date(2024, 4, 2)
    assert last_day(base, 1) == date(2024, 5, 2)           # day 30 is in month 0, day 31 (30.44 months) is not
    case = load_case(APRIL)
    assert case.event_step("first_strike") == 0            # 13 April: 11 days after the baseline
    q = {q.id: q for q in case.questions}
    assert dated_text(q["strike_1m"], base) == ("Will a direct interstate strike between Iran and Israel (or the US) "
                                                "happen by 2024-05-02?")
    assert dated_text(q["deal_6m"], base) == "Will a US–Iran nuclear deal be signed by 2024-10-01?"
    assert "2024-04-02" in dated_text(q["strike_when"], base) and "2024-10-01" in dated_text(q["strike_when"], base)
    odd = Question(id="x", text="Anything at all?", event="war", kind="binary", within_months=2)
    assert dated_text(odd, base) == "Anything at all (between 2024-04-02 and 2024-06-01)?"


def test_case_report_reads_as_a_dated_forecast(tmp_path):
    from sim.report.case import long_date

    case = load_case(APRIL)
    (run_dir,) = bt.write_case_reports([case], tmp_path, n_runs=300, seed=7)
    doc = json.loads((run_dir / "case.json").read_text(encoding="utf-8"))
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    first = next(q for q in doc["questions"] if q["id"] == "strike_1m")
    # the probability is the run's own: share of its replicas with a strike in month 0, with its MC error
    import pandas as pd

    steps = pd.read_parquet(run_dir / "outcomes.parquet")["first_strike_step"].astype("Float64").fillna(-1)
    assert first["engine"]["p"] == pytest.approx(float((steps == 1).mean()))
    assert first["engine"]["se"] == pytest.approx(math.sqrt(first["p"] * (1 - first["p"]) / 300))
    top, _ = html.split('id="probabilities"', 1)     # the case's forecast comes before the run report's sections
    assert "Will a direct interstate strike between Iran and Israel (or the US) happen by 2024-05-02?" in top
    assert f"{100 * first['p']:.1f} % ± {100 * first['engine']['se']:.1f}" in top     # engine ± MC error
    assert f"{100 * first['climatology']['p']:.1f} %" in top and "99.0 %" in top      # the baselines
    assert "Yes</strong> — 13 April 2024" in top and "axios.com/2024/04/13/iran-israel-attack" in top  # outcome
    assert f"Brier {first['engine']['brier']:.3f}" in top                             # the scores
    assert f"Knowledge as of {long_date('2024-04-02')}" in top and "TRT World, 2024-04-02" in top
    assert all(k["date"] is None or k["date"] <= "2024-04-02" for k in doc["knowledge"])
    assert doc["curves"]["first_strike"]["month_end"][0] == "2024-05-02"
    # an ordinary run's report has no forecast section
    from sim.report.page import Page
    from sim.report.case import case_section
    from sim.runs import load_run

    (run_dir / "case.json").unlink()
    page = Page("x")
    assert case_section(page, load_run(run_dir)) is False and page.blocks == []
