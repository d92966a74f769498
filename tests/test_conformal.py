"""Split-conformal intervals (sim.validation.conformal): finite-sample coverage, grouping by proposal."""

from __future__ import annotations

import numpy as np
import pytest

from sim.validation import conformal as cf


def _coverage(n_cal: int, alpha: float, reps: int, seed: int, quantile) -> tuple[float, float]:
    """Share of new exchangeable points whose score is <= the threshold from ``n_cal`` calibration scores."""
    rng = np.random.default_rng(seed)
    s = rng.standard_cauchy((reps, n_cal + 1))           # heavy tails: nothing Gaussian to lean on
    hits = np.array([s[r, -1] <= quantile(s[r, :-1], alpha) for r in range(reps)], float)
    return float(hits.mean()), float(hits.std(ddof=1) / np.sqrt(reps))


@pytest.mark.parametrize("n_cal,alpha", [(9, 0.1), (19, 0.5), (30, 0.1), (50, 0.05)])
def test_conformal_quantile_finite_sample_coverage(n_cal, alpha):
    cov, se = _coverage(n_cal, alpha, 6000, seed=n_cal, quantile=cf.conformal_quantile)
    assert cov >= 1 - alpha - 3 * se                     # the guarantee: >= 1 - alpha for any n
    # and not trivially: with continuous scores it is below 1 - alpha + 1 / (n + 1)
    assert cov <= 1 - alpha + 1 / (n_cal + 1) + 3 * se


def test_naive_empirical_quantile_undercovers():
    # The check above can fail: the plain empirical quantile (no (n + 1) correction) under-covers at small n.
    naive = lambda s, a: float(np.quantile(s, 1 - a, method="inverted_cdf"))  # noqa: E731
    cov, se = _coverage(10, 0.1, 6000, seed=1, quantile=naive)   # 9 / 11 = 0.82 in expectation
    assert cov < 0.9 - 3 * se
    assert cf.conformal_quantile(np.arange(9.0), 0.05) == np.inf  # ceil(10 * 0.95) = 10 > 9: no finite threshold


def test_weighted_quantile_with_equal_weights_is_the_plain_rule():
    rng = np.random.default_rng(3)
    for n in (5, 17, 40):
        s = rng.normal(size=n)
        for a in (0.1, 0.25, 0.5):
            assert cf.conformal_quantile(s, a, np.ones(n)) == cf.conformal_quantile(s, a)


def test_proposal_weighted_quantile_covers_new_groups():
    # Two-layer data: groups exchangeable, issues within a group share a group effect; group sizes vary (1-8).
    # A new group's issues are covered at >= 1 - alpha with proposal weights (each calibration group counts once).
    rng = np.random.default_rng(11)
    alpha, reps, n_groups = 0.1, 3000, 12
    hits = []
    for _ in range(reps):
        sizes = rng.integers(1, 9, n_groups + 1)
        effect = rng.normal(0, 1.0, n_groups + 1)
        spread = rng.uniform(0.2, 2.0, n_groups + 1)     # some groups much noisier: weighting matters
        groups = np.repeat(np.arange(n_groups + 1), sizes)
        s = np.abs(effect[groups] + spread[groups] * rng.normal(size=groups.size))
        cal = groups < n_groups
        q = cf.conformal_quantile(s[cal], alpha, cf.group_weights(groups[cal]))
        hits.append(float(np.mean(s[~cal] <= q)))        # coverage within the new group
    cov, se = float(np.mean(hits)), float(np.std(hits, ddof=1) / np.sqrt(reps))
    assert cov >= 1 - alpha - 3 * se


def test_group_weights_sum_to_one_per_group():
    g = np.array(["a", "b", "a", "c", "a", "b"])
    w = cf.group_weights(g)
    assert w.tolist() == pytest.approx([1 / 3, 1 / 2, 1 / 3, 1.0, 1 / 3, 1 / 2])


def test_group_folds_keep_proposals_together():
    from sim.validation.data import load_deu3

    prnr = load_deu3().split("dev").meta["prnr"].to_numpy()
    folds = cf.group_folds(prnr, 10, seed=0)
    for p in np.unique(prnr):
        assert len(np.unique(folds[prnr == p])) == 1      # a proposal's issues never straddle folds
    sizes = np.bincount(folds, minlength=10)
    largest = np.max(np.unique(prnr, return_counts=True)[1])
    assert sizes.min() > 0 and sizes.max() - sizes.min() <= largest
    assert not np.array_equal(folds, cf.group_folds(prnr, 10, seed=1))   # the seed moves proposals


def _synthetic_inputs(n_groups: int, seed: int) -> cf.Inputs:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    n = groups.size
    point = rng.uniform(20, 80, n)
    scale = rng.uniform(2, 20, n)
    y = np.clip(point + scale * rng.laplace(size=n) + rng.normal(0, 5, n_groups)[groups], 0, 100)
    samples = point[:, None] + scale[:, None] * rng.normal(size=(n, 64))
    return cf.Inputs(point=point, spread=scale * 1.35, base=point + rng.normal(0, 3, n), samples=samples,
                     outcome=y, groups=groups)


@pytest.mark.parametrize("method", cf.CANDIDATES, ids=lambda m: m.name)
def test_cross_validated_intervals_cover_and_nest(method):
    inp = _synthetic_inputs(400, seed=5)
    res = cf.cross_validate(inp, method, k=10, seed=0)
    assert res["cover50"].mean() == pytest.approx(0.5, abs=0.06)
    assert res["cover90"].mean() == pytest.approx(0.9, abs=0.04)
    assert np.all(res["width90"] >= res["width50"] - 1e-9)
    assert np.all((res["width90"] >= 0) & (res["width90"] <= 100))


def test_holdout_calibrates_on_one_set_and_scores_another():
    cal, new = _synthetic_inputs(300, seed=1), _synthetic_inputs(150, seed=2)

    class FC:                                            # the fields of deu3.Forecasts that conformal reads
        def __init__(self, inp: cf.Inputs):
            self.point, self.base_point, self.samples, self.outcome = inp.point, inp.base, inp.samples, inp.outcome
            self.prnr = inp.groups
            self.input_samples = inp.point[:, None] + (inp.spread / 1.35)[:, None] * np.random.default_rng(
                0).normal(size=(len(inp.point), 200))
    calib, row = cf.holdout(FC(cal), FC(new), n_boot=50)
    assert calib.n_groups == 300 and set(calib.q) == {0.5, 0.9} and calib.q[0.9] > calib.q[0.5]
    assert row["cover90"] == pytest.approx(0.9, abs=0.06) and row["cover50"] == pytest.approx(0.5, abs=0.08)
    assert row["width90_lo"] <= row["width90"] <= row["width90_hi"]


def test_cli_conformal_comparison_is_dev_only(capsys):
    from sim import validate

    assert validate.main(["deu3", "--split", "test", "--conformal"]) == 2        # refused before any forecast
    assert validate.main(["deu3", "--split", "dev", "--conformal", "--limit", "60", "--n-runs", "8",
                          "--n-boot", "20"]) == 0
    out = capsys.readouterr().out
    for m in cf.CANDIDATES:
        assert m.name in out
    assert f"frozen: {cf.FROZEN_CONFORMAL.name}" in out
