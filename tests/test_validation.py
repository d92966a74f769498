"""Validation against real data (sim.validation, python -m sim.validate): fast checks, no test-split figures."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sim import validate
from sim.validation import bdm1994, deu3, icb, scoring
from sim.validation.data import (
    default_data_dir,
    load_deu3,
    load_emission_standards,
    load_split,
)

pytestmark = pytest.mark.skipif(not (default_data_dir() / "deu3" / "deu3.tsv").exists(),
                                reason="reference data ../shared/data not available")


# --- BDM 1994 replication ------------------------------------------------------------------------------------
def test_bdm1994_replicates_scholz_et_al():
    res = bdm1994.replicate()
    table = bdm1994.replication_table(res)
    print("\n" + table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"final {res['final']:.2f} vs actual {bdm1994.ACTUAL_OUTCOME}")
    assert len(table) == len(bdm1994.SCHOLZ_MEDIANS) == 8
    assert np.all(np.abs(table["difference"]) <= 0.35), table
    assert abs(res["final"] - 8.83) <= 1.0
    assert res["rule"] == "scholz_code" and res["probability"] == "all_votes"


def test_bdm1994_json(capsys):
    """The command reports the kept configuration (the scenarios' and deu3's) beside the transcription."""
    assert validate.main(["bdm1994", "--json"]) == 0
    out = pd.Series(json.loads(capsys.readouterr().out))
    assert set(out.index) == {"median_by_round", "final", "scholz", "rule", "probability", "move_rate", "risk",
                              "transcription"}
    assert len(out["median_by_round"]) == 8 and out["final"] == out["median_by_round"][-1]
    assert (out["rule"], out["probability"], out["move_rate"]) == (deu3.FROZEN.rule, deu3.FROZEN.probability,
                                                                   deu3.FROZEN.move_rate)
    assert out["transcription"] == bdm1994.replicate()["median_by_round"]
    assert out["median_by_round"] == bdm1994.kept()["median_by_round"]


def test_emission_standards_loader():
    df = load_emission_standards()
    assert len(df) == 10 and list(df.columns) == ["Actor", "Capability", "Position", "Salience"]


# --- scoring -------------------------------------------------------------------------------------------------
def test_point_scores_by_hand():
    f, y = np.array([1.0, 5.0, 10.0, 0.0]), np.array([2.0, 5.0, 4.0, 3.0])
    assert scoring.mae(f, y) == pytest.approx((1 + 0 + 6 + 3) / 4)
    assert scoring.median_ae(f, y) == pytest.approx(2.0)
    assert scoring.interval_coverage(np.array([0, 6, 4, 0]), np.array([2, 9, 4, 1]), y) == pytest.approx(0.5)


def test_crps_point_mass_is_absolute_error():
    y = np.array([0.0, 3.0, -2.5, 10.0])
    x = np.array([1.0, 3.0, 4.0, -1.0])
    assert np.allclose(scoring.crps_samples(x[:, None], y), np.abs(x - y))
    assert np.allclose(scoring.crps_samples(np.repeat(x[:, None], 7, axis=1), y), np.abs(x - y))


def test_crps_uniform_sample_matches_closed_form():
    n = 20_000
    u = (np.arange(n) + 0.5) / n                         # an evenly spread sample of U(0, 1)
    for y in (0.0, 0.1, 0.5, 0.9, 1.0, 1.7, -0.4):
        if 0.0 <= y <= 1.0:
            exact = (y ** 2 + (1 - y) ** 2) / 2 - 1 / 6   # E|X - y| - E|X - X'| / 2 with E|X - X'| = 1/3
        else:
            exact = abs(y - 0.5) - 1 / 6
        assert scoring.crps_samples(u, y) == pytest.approx(exact, abs=1e-6)


def test_crps_sorted_form_equals_quadratic_form():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 40))
    y = rng.normal(size=5)
    brute = np.abs(x - y[:, None]).mean(1) - 0.5 * np.abs(x[:, :, None] - x[:, None, :]).mean(axis=(1, 2))
    assert np.allclose(scoring.crps_samples(x, y), brute)
    assert scoring.crps(x, y) == pytest.approx(brute.mean())


def test_cluster_bootstrap_resamples_clusters():
    # Two clusters with constant values: every resample mean lies between them (weighted by cluster size).
    values = np.array([1.0, 1.0, 1.0, 5.0])
    clusters = np.array(["a", "a", "a", "b"])
    est, lo, hi = scoring.cluster_bootstrap(values, clusters, n_boot=500, seed=3)
    assert est == pytest.approx(2.0)
    # possible resample means: {1, 5} or a/b mixes {2 (a+b)}; issue-level resampling would give others
    assert lo >= 1.0 and hi <= 5.0
    reps = {round(scoring.cluster_bootstrap(values, clusters, n_boot=1, seed=s)[1], 6) for s in range(40)}
    assert reps <= {1.0, 2.0, 5.0}
    paired = scoring.cluster_bootstrap({"a": values, "b": values + 1}, clusters,
                                       stat=lambda a, b: float(np.mean(b - a)), n_boot=100)
    assert paired == pytest.approx((1.0, 1.0, 1.0))


# --- DEU III -------------------------------------------------------------------------------------------------
def test_deu3_loader_counts():
    d = load_deu3()
    assert len(d) == 364                                 # issue rows, the GDP row kept apart
    assert d.gdp.shape == (30,) and np.all(np.isfinite(d.gdp))
    assert int(d.usable.sum()) == 353
    dev, test = d.split("dev"), d.split("test")
    assert (len(dev), len(test), len(d.split("all"))) == (262, 91, 353)
    assert np.all(dev.usable) and np.all(test.usable)
    assert set(dev.meta["prnr"]).isdisjoint(set(test.meta["prnr"]))
    split = load_split()
    assert set(split["isnr"]) == set(d.split("all").meta["isnr"])
    assert np.nanmax(d.positions) <= 100 and np.nanmin(d.positions) >= 0


def test_deu3_dev_baseline_matches_reference_figure():
    dev = load_deu3().split("dev")
    assert scoring.mae(deu3.baseline_point(dev), dev.out) == pytest.approx(21.9, abs=0.05)


def test_council_weights():
    for era in ("EU15", "EU25", "EU28"):
        for unan in (False, True):
            w = deu3.council_weights(era, unan)
            assert sum(w.values()) == pytest.approx(1.0)
    assert len(deu3.council_weights("EU15", False)) == 15
    w = deu3.council_weights("EU25", True)
    assert len({round(v, 12) for v in w.values()}) == 1


def _tiny(n_issues: int = 5):
    return load_deu3().split("dev").subset(np.arange(n_issues))


def test_deu3_batching_and_subsets_do_not_change_results():
    cfg = replace(deu3.FROZEN, rounds=2)
    issues = _tiny(6)
    a = deu3.run_trajectories(issues, cfg, n_runs=6, seed=11)
    b = deu3.run_trajectories(issues, replace(cfg, chunk_mb=0.01), n_runs=6, seed=11)   # tiny chunks
    c = deu3.run_trajectories(issues.subset(np.arange(3, 6)), cfg, n_runs=6, seed=11)   # a subset
    # equal up to the summation order numpy picks for reductions over differently sized batches
    for k in a.stats:
        np.testing.assert_allclose(a.stats[k], b.stats[k], rtol=0, atol=1e-9)
        np.testing.assert_allclose(a.stats[k][:, 3:], c.stats[k], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(a.base[3:], c.base)


def test_deu3_grouping_equals_padding_with_active_masks():
    """Issues run compacted (grouped by number of actors) equal a padded run with active masks (pairwise)."""
    from sim.mechanics import bargaining as bg
    issues = _tiny(4)
    cfg = replace(deu3.FROZEN, probability="pairwise", rounds=2)
    inputs = deu3.issue_inputs(issues, cfg)
    inp = inputs[0]
    k = len(inp.x)
    x, c, s = inp.x[:, None], inp.c[:, None], inp.s[:, None]
    ref = bg.simulate(x, c, s, 2, rule=cfg.rule, probability="pairwise")
    pad = 30 - k
    act = np.r_[np.ones(k, bool), np.zeros(pad, bool)][:, None]
    xp = np.r_[x, np.full((pad, 1), 50.0)]
    padded = bg.simulate(xp, np.r_[c, np.ones((pad, 1))], np.r_[s, np.ones((pad, 1))], 2, active=act,
                         rule=cfg.rule, probability="pairwise")
    assert np.allclose(ref, padded[:, :k])


def test_deu3_command_reproducible_and_well_formed(tmp_path, capsys):
    args = ["deu3", "--split", "dev", "--n-runs", "8", "--limit", "6", "--n-boot", "50"]
    out1, out2, out3 = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    assert validate.main(args + ["--seed", "5", "--out", str(out1)]) == 0
    assert validate.main(args + ["--seed", "5", "--out", str(out2)]) == 0
    assert validate.main(args + ["--seed", "6", "--out", str(out3)]) == 0
    text = capsys.readouterr().out
    assert "baseline" in text and "CRPS" in text and "coverage 90%" in text
    a, b, c = pd.read_csv(out1), pd.read_csv(out2), pd.read_csv(out3)
    assert list(a.columns[:7]) == ["isnr", "forecast", "q05", "q25", "q50", "q75", "q95"]
    assert len(a) == 6
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    q = a[["q05", "q25", "q50", "q75", "q95"]].to_numpy()
    assert np.all(np.diff(q, axis=1) >= 0)
    assert np.all((q >= 0) & (q <= 100))
    dev = load_deu3().split("dev")
    assert list(a["isnr"]) == list(dev.meta["isnr"][:6])


def test_deu3_engine_and_baseline_on_the_same_issues():
    issues = _tiny(5)
    fc = deu3.forecast(issues, deu3.FROZEN, n_runs=4, seed=2)
    assert fc.samples.shape == fc.base_samples.shape == (5, 4)
    assert fc.point.shape == fc.base_point.shape == fc.outcome.shape == (5,)
    assert np.array_equal(fc.outcome, issues.out)
    metrics = deu3.evaluate(fc, n_boot=20)
    eng = metrics.set_index(["model", "metric"])["estimate"]
    assert eng[("engine", "MAE")] == pytest.approx(scoring.mae(fc.point, issues.out))
    assert eng[("baseline", "MAE")] == pytest.approx(scoring.mae(deu3.baseline_point(issues), issues.out))
    assert eng[("engine - baseline", "MAE")] == pytest.approx(eng[("engine", "MAE")] - eng[("baseline", "MAE")])


def test_deu3_test_split_command_runs(tmp_path):
    # Only that the command runs on the test split: no figure of the test split is asserted (or looked at).
    out = tmp_path / "t.csv"
    assert validate.main(["deu3", "--split", "test", "--n-runs", "4", "--limit", "2", "--n-boot", "10",
                          "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 2


# --- ICB -----------------------------------------------------------------------------------------------------
def test_icb_base_rates():
    rates = icb.icb_base_rates()
    top = rates.set_index("group").loc["all"]
    assert top["n_records"] == 1131
    for m in ("war", "serious", "compromise"):
        p, se = rates[f"p_{m}"], rates[f"se_{m}"]
        assert np.all((p >= 0) & (p <= 1)) and np.all(se >= 0)
    assert np.all(rates["p_war"] <= rates["p_serious"])
    assert {"middle_east_crises", "great_power_crises", "actor_USA", "crises_IRN"} <= set(rates["group"])
    cmp = icb.compare_with_engine(rates, {"p_war": 0.1, "p_compromise": 0.3})
    assert len(cmp) == 2 * len(rates)
    row = cmp[(cmp["group"] == "all") & (cmp["metric"] == "p_war")].iloc[0]
    assert row["difference"] == pytest.approx(0.1 - top["p_war"])
    with pytest.raises(ValueError):
        icb.compare_with_engine(rates, {"p_peace": 0.5})


def test_icb_command(capsys):
    assert validate.main(["icb", "--scenario", "none"]) == 0
    assert "engine" not in capsys.readouterr().out
    assert validate.main(["icb", "--engine", '{"p_war": 0.2}']) == 0
    out = capsys.readouterr().out
    assert "vs base rates" in out and "0.200" in out


def test_icb_command_runs_the_engine_scenario(capsys):
    assert validate.main(["icb", "--scenario", "proxy_escalation", "--n-runs", "256", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = [r for r in data["comparison"] if r["group"] == "all"]
    assert {r["metric"] for r in rows} == {"p_war", "p_serious", "p_compromise"}
    assert all(0.0 <= r["engine"] <= 1.0 for r in rows)
