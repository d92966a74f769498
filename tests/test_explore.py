"""sim.explore: designs as replicas of the engine, known answers, reproducibility, PRIM, robustness, validation."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from sim.errors import ConfigError
from sim.explore.designs import MatrixDesign, SaltelliDesign, morris_design, space_filling, unit_problem
from sim.explore.discovery import ks_statistics, prim_boxes
from sim.explore.evaluate import EngineEvaluator, FunctionEvaluator, Outputs, analysed_outcomes
from sim.explore.functions import FUNCTIONS
from sim.explore.inputs import DesignSpace, live_paths, values_of
from sim.explore.robustness import compare, paired_shares
from sim.explore.run import explore
from sim.explore.sensitivity import convergence_sizes, sobol_indices
from sim.explore.settings import parse_settings
from sim.run import compose_spec


def settings(**kw: object):
    base: dict[str, object] = {"method": "sobol", "n": 8, "points": 16, "replicates": 1, "discover": ["war"]}
    return parse_settings({**base, **kw}, "test")


@pytest.fixture(scope="module")
def spec_all():
    return compose_spec("uncertainty=all", "workers=1", "steps=12")


# --- designs -----------------------------------------------------------------------------------------------------
def test_saltelli_design_is_salibs_sample_built_a_slice_at_a_time() -> None:
    from SALib.sample import sobol

    names = ["a", "b", "c"]
    ref = sobol.sample(unit_problem(names), 16, calc_second_order=False, scramble=True, seed=5)
    design = SaltelliDesign(3, 16, 5)
    u, groups = design.block(0, design.size)
    assert np.array_equal(u.T, ref)
    assert np.array_equal(groups, np.arange(design.size) // 5)
    parts = [design.block(a, min(a + 7, design.size))[0] for a in range(0, design.size, 7)]
    assert np.array_equal(np.hstack(parts), u)
    half = SaltelliDesign(3, 8, 5)                           # a Sobol sequence's prefix: the design of size N/2
    assert np.array_equal(half.block(0, half.size)[0], u[:, :half.size])


def test_morris_and_space_filling_designs_have_their_groups() -> None:
    m = morris_design(["a", "b"], 4, 4, seed=1)
    assert m.size == 12 and np.array_equal(m.groups, np.repeat(np.arange(4), 3))
    assert np.allclose(np.unique(np.round(m.points * 3, 9)), [0, 1, 2, 3])
    s = space_filling(5, 64, seed=1)
    assert s.points.shape == (64, 5) and np.array_equal(s.groups, np.arange(64))


# --- the analytic functions through the same machinery -------------------------------------------------------
def test_ishigami_indices_recovered_within_their_confidence_intervals() -> None:
    ex = explore(compose_spec(), settings(function="ishigami", n=2048))
    s = ex.sensitivity.set_index("parameter")
    s1, st = FUNCTIONS["ishigami"].indices()
    assert np.allclose(s1, [0.314, 0.442, 0.0], atol=5e-4) and np.allclose(st, [0.558, 0.442, 0.244], atol=5e-4)
    assert np.all(np.abs(s["S1"].to_numpy() - s1) <= s["S1_conf"].to_numpy())
    assert np.all(np.abs(s["ST"].to_numpy() - st) <= s["ST_conf"].to_numpy())
    assert sorted(set(ex.convergence["n"])) == [256, 512, 1024, 2048]     # indices as N doubles


def test_morris_ranks_the_g_function_inputs() -> None:
    ex = explore(compose_spec(), settings(function="gfunction", method="morris", n=64))
    mu = ex.sensitivity["mu_star"].to_numpy()
    assert list(np.argsort(-mu[:4])) == [0, 1, 2, 3]                   # a = 0, 1, 4.5, 9 in that order
    assert mu[4:].max() < mu[3]                                          # the a = 99 inputs last


def test_an_input_that_does_nothing_has_zero_indices() -> None:
    def fn(u: np.ndarray) -> dict[str, np.ndarray]:
        return {"y": FUNCTIONS["ishigami"].fn(u[:3])["y"]}              # the fourth input is ignored

    design = SaltelliDesign(4, 256, 3)
    y = Outputs(FunctionEvaluator(("y",), fn)(design)).mean("y")
    idx = sobol_indices(["x1", "x2", "x3", "dummy"], y, 256, resamples=50, conf_level=0.95, seed=1)
    assert idx["ST"][3] == 0.0 and idx["S1"][3] == 0.0 and idx["ST"][0] > 0.3


def test_a_constant_outcome_gives_no_indices_not_an_error() -> None:
    idx = sobol_indices(["a", "b"], np.ones(8 * 4), 8, resamples=20, conf_level=0.95, seed=1)
    assert np.isnan(idx["ST"]).all()
    assert convergence_sizes(1024, 4) == [128, 256, 512, 1024] and convergence_sizes(16, 4) == [8, 16]


# --- the engine as a function of the design ------------------------------------------------------------------
def test_the_identity_design_reproduces_the_monte_carlo_run(spec_all) -> None:
    """A design whose uniforms are the input streams' and whose chance ids are the replica ids is the run."""
    from sim.experiment import run_chunk
    from sim.streams import BlockStreams

    space = DesignSpace.of(spec_all)
    assert space.paths == tuple(live_paths(spec_all)) and space.dimension == len(space.paths) > 150
    u = BlockStreams(spec_all.run.seed, [0]).input_uniforms(space.paths)
    names = tuple(o for o, _, _ in analysed_outcomes(spec_all))
    out = EngineEvaluator(spec_all, space, 1, names, chunk_size=256)(MatrixDesign(u.T, np.arange(256)))
    ref = run_chunk(spec_all.model_copy(update={"run": spec_all.run.model_copy(update={"n_runs": 256})}), [0])
    for name in names:
        if name in ref.outcomes:                # (derived "<event>" probabilities of "<event>_step" outcomes aside)
            assert np.array_equal(out[name][:, 0], ref.outcomes[name].astype(float)), name
    assert np.allclose(values_of(spec_all, space, u), ref.parameters)


def test_design_results_do_not_depend_on_chunks_or_workers(spec_all) -> None:
    space = DesignSpace.of(spec_all)
    design = SaltelliDesign(space.dimension, 2, 11)
    names = ("deal_ever", "war", "outcome_iran_nuclear")
    one = EngineEvaluator(spec_all, space, 2, names, chunk_size=1024, workers=1)(design)
    many = EngineEvaluator(spec_all, space, 2, names, chunk_size=96, workers=2)(design)
    for name in names:
        assert one[name].shape == (design.size, 2) and np.array_equal(one[name], many[name])
    # a Sobol row group shares its chance events: the replicates of A_j differ, A_j and its AB_i differ only
    # through the inputs, so an input the status quo never reads leaves the outcome unchanged
    d = space.paths.index("mechanics.mediation.credibility")
    g = design.group_size
    assert np.array_equal(one["outcome_iran_nuclear"][0], one["outcome_iran_nuclear"][1 + d])


def test_engine_sobol_gives_zero_for_inputs_the_scenario_never_reads(spec_all) -> None:
    ex = explore(spec_all, settings(n=8, outcomes=["deal_ever", "outcome_iran_nuclear"], convergence=1))
    st = ex.sensitivity.pivot_table(index="parameter", columns="outcome", values="ST")
    idle = [p for p in st.index if p.startswith("mechanics.mediation.")]   # status quo: no mediator
    assert idle and (st.loc[idle] == 0).all().all()
    assert st["outcome_iran_nuclear"].max() > 0.05
    assert set(ex.sensitivity.columns) >= {"outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"}


# --- PRIM and robustness -----------------------------------------------------------------------------------------
def test_prim_finds_a_planted_box() -> None:
    rng = np.random.default_rng(4)
    x = pd.DataFrame(rng.random((4000, 5)), columns=list("abcde"))
    y = ((x["a"] > 0.6) & (x["c"] < 0.3)).to_numpy() | (rng.random(4000) < 0.02)
    found = prim_boxes(x, y, peel_alpha=0.05, mass_min=0.05, min_coverage=0.8, boxes=1, inputs=3)
    box = found["boxes"][0]
    lim = {r["parameter"]: (r["min"], r["max"]) for r in box["limits"]}
    assert set(lim) == {"a", "c"}
    assert abs(lim["a"][0] - 0.6) < 0.05 and abs(lim["c"][1] - 0.3) < 0.05
    assert box["density"] > 0.85 and box["coverage"] >= 0.8
    assert [i["parameter"] for i in found["inputs"]][:2] in (["a", "c"], ["c", "a"])
    assert ks_statistics(x, y).index[-1] in ("b", "d", "e")


def test_prim_without_cases_of_interest_says_so() -> None:
    x = pd.DataFrame({"a": np.linspace(0, 1, 50)})
    assert prim_boxes(x, np.zeros(50, bool), peel_alpha=0.05, mass_min=0.05, min_coverage=0.5,
                      boxes=1)["note"] == "no case of interest"


def test_paired_shares_count_design_points() -> None:
    base = np.array([[0, 0], [1, 1], [0, 1], [1, 0]], float)
    other = np.array([[1, 1], [1, 1], [0, 0], [1, 1]], float)
    s = paired_shares(base, other)
    assert (s["higher"], s["lower"], s["equal"]) == (0.5, 0.25, 0.25)
    out = compare("x", {"deal_ever": base, "war": base}, {"deal_ever": other, "war": base},
                  [("deal_ever", "deal"), ("war", "war")])
    assert out["wins"] == 0.5 and out["outcomes"]["war"]["equal"] == 1.0


# --- validation --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, field", [
    (["method=sobl"], "method"), (["n=100"], "n"), (["outcomes=[dael_ever]"], "outcomes"),
    (["discover=[outcome_iran_nuclear]"], "discover"), (["method=robustness", "compare=[nope]"], "compare"),
    (["function=ishigami", "method=prim"], "method"), (["actors.us.salinece.iran_nuclear=3"], "salinece"),
])
def test_bad_input_is_one_line_naming_the_field(args: list[str], field: str) -> None:
    from sim.explore.cli import prepare

    with pytest.raises(ConfigError) as err:
        prepare(args)
    line = str(err.value)
    assert field in line and "\n" not in line and ("allowed" in line or "unknown" in line), line


# --- any run, afterwards: given-data first-order indices ----------------------------------------------------------
def test_binned_first_order_recovers_a_known_share_and_ignores_an_idle_input() -> None:
    from sim.explore.given_data import binned_first_order

    rng = np.random.default_rng(2)
    x = rng.random((2, 20_000))
    y = x[0] + rng.normal(0, np.sqrt(1 / 12), 20_000)                      # S1 of x0 = (1/12) / (2/12) = 0.5
    s1, floor = binned_first_order(x, y)
    assert abs(s1[0] - 0.5) < 0.03 and abs(s1[1]) < floor
    assert np.isnan(binned_first_order(x, np.ones(20_000))[0]).all()


def test_a_run_report_says_what_drives_its_numbers(tmp_path) -> None:
    from sim.report.run_report import build_run_page
    from sim.run import execute
    from sim.runs import load_run

    spec = compose_spec("n_runs=512", "workers=1", "report=false", "steps=12", "event_replicas=0",
                        "trajectory_replicas=0")
    execute(spec, tmp_path / "run")
    html = build_run_page(load_run(tmp_path / "run")).render()
    assert "What drives these numbers" in html and "cannot be told from zero" in html
    section = html[html.rindex("What drives these numbers"):]
    section = section[:section.find("<h2", 10)]
    assert re.search(r"(actors|world|relations)\.[a-z_]+", section)          # inputs of the knowledge base lead
    assert "uncertainty=knowledge the decision and mechanism constants are held" in html


@pytest.mark.parametrize("bad, field", [({"levels": 3}, "levels"), ({"replicates": 0}, "replicates"),
                                        ({"points": 1000}, "points"), ({"method": ["sobol", "sobol"]}, "method")])
def test_settings_refuse_bad_values_in_one_line(bad: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^test: {field}(\.\d)?: got .*; allowed: "):
        settings(**bad)


def test_a_step_outcome_without_its_probability_is_analysed_as_one() -> None:
    from sim.explore.evaluate import outcome_values, with_step_probabilities

    registry = [("deal", "probability", "deal"), ("deal_step", "step", "month of the deal"),
                ("first_strike_step", "step", "month of the first strike"), ("war", "probability", "war")]
    assert with_step_probabilities(registry) == [("deal", "probability", "deal"),
                                                 ("first_strike", "probability", "month of the first strike (happened)"),
                                                 ("war", "probability", "war")]
    cols = {"first_strike_step": np.array([-1, 3, 0], np.int32), "war": np.array([True, False, False])}
    out = outcome_values(cols, ("first_strike", "war"))
    assert out["first_strike"].tolist() == [0.0, 1.0, 1.0] and out["war"].dtype == np.float64
