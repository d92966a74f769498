"""Reports open and render in real headless Chromium, offline, without console errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import outcomes as names
from sim.compare import main as compare_main
from sim.report import render_run_report, render_sweep_report
from sim.report.stories import pick_stories
from sim.runs import load_run
from browser import headless_chromium, open_page
from synthetic_runs import ACTORS, ISSUES, make_large_run, make_multirun, make_run

pytestmark = pytest.mark.browser

#: Figures on a run report besides the fans and stories: max rung, time to deal, outcomes, utilities, escalation fan.
FIXED_RUN_FIGURES = 5
#: Figures of the World section of a run with world-state trajectories: six fans (breakout, access, stockpile, US
#: sanctions, support to Ukraine, proxy activity), the coded states, first events by month, strikes and wars, costs.
WORLD_FIGURES = 10

_RENDER_STATE_JS = """
const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
return plots.map(p => ({
  id: p.id,
  svg: p.querySelectorAll('svg.main-svg').length,
  traces: p.querySelectorAll('g.trace').length,
  drawn: Array.from(p.querySelectorAll('.plot path, .plot .point, .plot rect'))
           .filter(e => (e.getAttribute('d') || e.getAttribute('width') || '').length > 0).length,
}));
"""


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    drv = headless_chromium()
    yield drv
    drv.quit()


def assert_renders(driver: object, page: Path, expected: int) -> None:
    """Open ``page`` from disk; every figure must render, nothing may be fetched, the console must be clean."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop messages from earlier pages
    open_page(driver, page.resolve().as_uri())
    assert driver.execute_script("return typeof window.Plotly") == "object"

    def all_drawn(d: object) -> list[dict] | bool:
        state = d.execute_script(_RENDER_STATE_JS)
        return state if len(state) == expected and all(s["svg"] > 0 for s in state) else False

    state = WebDriverWait(driver, 60).until(all_drawn)
    html = page.read_text(encoding="utf-8")
    assert html.count('class="plotly-graph-div"') == expected
    assert f'name="geosim-figures" content="{expected}"' in html
    assert html.count("* plotly.js v") == 1, "plotly.js must be embedded exactly once"
    assert "<script src" not in html and "<link" not in html
    for s in state:
        assert s["traces"] > 0, f"{page.name}: no traces drawn in {s['id']}"
        assert s["drawn"] > 0, f"{page.name}: nothing drawn in {s['id']}"
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([document.URL]);")
    remote = [r for r in resources if not r.startswith(("file:", "data:", "blob:"))]
    assert not remote, f"{page.name} requested {remote}"
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, f"{page.name}: console errors {severe}"


def run_figures(run_dir: Path) -> int:
    run = load_run(run_dir)
    return FIXED_RUN_FIGURES + len(run.issue_ids) + len(pick_stories(run)[0])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reports")
    return {
        "sq": make_run(root / "status_quo", n=500),
        "gb": make_run(root / "grand_bargain", n=500, scenario="grand_bargain", shift=8.0,
                       overrides=["scenario=grand_bargain", "actors.us.salience.ukraine_support=0.8"]),
        "other_seed": make_run(root / "militia", n=300, seed=7, scenario="militia_escalation", shift=-4.0),
        "no_deals": make_run(root / "no_deals", n=200, deals=False),
        "no_events": make_run(root / "no_events", n=200, events=False),
        "one": make_run(root / "one", n=1, seed=5),
        "legacy": make_run(root / "legacy", n=200, legacy=True),
        "accord": make_run(root / "accord", n=200, deal_label="EU–Iran accord"),
        "sweep": make_multirun(root / "sweep", n=150),
    }


def test_run_report_renders(driver: object, runs: dict[str, Path]) -> None:
    page = render_run_report(runs["sq"])
    assert page == runs["sq"] / "report.html"
    # 5 fixed + 5 issue fans + 3 stories (typical, deal, highest rung)
    assert run_figures(runs["sq"]) == FIXED_RUN_FIGURES + len(ISSUES) + 3
    assert_renders(driver, page, FIXED_RUN_FIGURES + len(ISSUES) + 3)
    text = page.read_text()
    for words in ("Key probabilities", "verified rollback", "What this scenario changes", "knowledge/us_positions.md",
                  "A typical replica", "A replica that reached a deal", "highest rung observed",
                  "P(deal signed within the horizon, 24 months)", "P(deal in force at the end)",
                  "By horizon", "Conditional results", "P(regional war | no deal signed)",
                  "How uncertain: beyond Monte Carlo", "under-cover", "Mar 2025"):
        assert words in text


@pytest.mark.parametrize("case", ["no_deals", "no_events", "one", "legacy", "accord"])
def test_run_report_edge_cases_render(driver: object, runs: dict[str, Path], case: str) -> None:
    page = render_run_report(runs[case])
    assert_renders(driver, page, run_figures(runs[case]))
    text = page.read_text()
    if case == "no_deals":
        assert "No replica reached a US" in text and "no deal story" in text
    if case == "no_events":
        assert "event log is empty" in text
    if case == "one":
        assert run_figures(runs[case]) == FIXED_RUN_FIGURES + len(ISSUES) + 1
    if case == "legacy":  # spec.json without a registry: labels from the columns, P(deal ever) from deal_step
        assert "P(deal signed within the horizon" in text and "Time to a deal" in text
    if case == "accord":  # the deal's words come from the registry's labels, never from the page code
        text = text.replace("\\u2013", "–")  # figures' JSON escapes the dash
        assert "a EU–Iran accord signed at some point" in text and "Time to a EU–Iran accord" in text
        assert "US–Iran" not in text and "nuclear deal" not in text


def test_sweep_report_renders(driver: object, runs: dict[str, Path]) -> None:
    page = render_sweep_report(runs["sweep"])
    assert page == runs["sweep"] / "sweep.html"
    assert_renders(driver, page, 3)
    text = page.read_text()
    assert "P(deal in force at the end)" in text and "P(deal signed within the horizon) (headline)" in text


def test_comparison_renders(driver: object, runs: dict[str, Path], tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "comparison.html"
    code = compare_main([str(runs["gb"]), str(runs["sq"]), str(runs["other_seed"]), "--out", str(out)])
    assert code == 0 and Path(capsys.readouterr().out.strip()) == out.resolve()
    # forest, max rung, outcome ECDFs, outcome violins, utility ECDFs, utility violins
    assert_renders(driver, out, 6)
    text = out.read_text()
    assert "Unpaired differences for: militia_escalation" in text
    assert "P(deal signed within the horizon)" in text and "P(deal in force at the end)" in text


def test_comparison_of_one_run_renders(driver: object, runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "single.html"
    assert compare_main([str(runs["sq"]), "--out", str(out)]) == 0
    assert_renders(driver, out, 5)


#: Renders a run report in a fresh process and prints the page's path and the process's peak memory (kB).
#: Renders a report and prints the page and its process's peak memory (kB). The peak is VmHWM, this process's own
#: high-water mark: ``ru_maxrss`` survives ``exec`` on Linux, so it would count the pytest worker's memory at the
#: time of the (v)fork (a worker that had just built the million-replica run: 1,040 MB against the render's 570).
_RENDER = ("import re, resource, sys; from pathlib import Path; from sim.report import render_run_report; "
           "page = render_run_report(sys.argv[1]); status = Path('/proc/self/status'); "
           "m = re.search(r'VmHWM:\\s+(\\d+)', status.read_text()) if status.exists() else None; "
           "print(page, m.group(1) if m else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def _render_measured(run_dir: Path) -> tuple[Path, int]:
    res = subprocess.run([sys.executable, "-c", _RENDER, str(run_dir)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    page, peak_kb = res.stdout.split()
    return Path(page), int(peak_kb)


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """A run of a million replicas, its report rendered in a fresh process: (run folder, page, peak memory kB)."""
    run = make_large_run(tmp_path_factory.mktemp("million") / "big", 1_000_000)
    page, peak_kb = _render_measured(run)
    return run, page, peak_kb


def test_report_of_a_million_replicas_is_bounded(million: tuple[Path, Path, int]) -> None:
    """Plots are drawn from binned counts and a bounded sample, the numbers from all replicas: a million replicas
    give a page of a few MB (≤ 10 MB; plotly.js is 4.9 MB of it), rendered in bounded memory."""
    from plotly.offline import get_plotlyjs

    run, page, peak_kb = million
    size = page.stat().st_size
    assert size <= 10 * 2**20, f"report.html is {size / 2**20:.1f} MB at a million replicas"
    assert size - len(get_plotlyjs()) < 2 * 2**20, f"{size / 2**20:.1f} MB"
    # the data (10^6 replicas × 19 columns ≈ 110 MB in memory) are read once; the figures do not copy them
    assert peak_kb < 1024 * 1024, f"rendering took {peak_kb / 1024:.0f} MB"
    text = page.read_text(encoding="utf-8")
    p = json.loads((run / "summary.json").read_text())["probabilities"]["deal"]
    assert f"{100 * p['p']:.1f} % ± {100 * p['se']:.1f}" in text          # numbers from all replicas
    assert "evenly spaced sample of 20,000 of the 1,000,000 replicas" in text


@pytest.mark.slow
def test_report_of_a_million_replicas_renders(driver: object, million: tuple[Path, Path, int]) -> None:
    run, page, _ = million
    assert_renders(driver, page, run_figures(run))


# --- the World section (issue 12) ------------------------------------------------------------------------------
#: The world-state variables the recorder writes into trajectory_quantiles.parquet (sim.recorder.WORLD_VARIABLES),
#: with a synthetic path (replicas × months) for each.
_WORLD_CODES = {"hormuz": 3, "strike_level": 4, "channel": 3, "deal_stage": 6}


def add_world(path: Path, seed: int = 3, quantiles: bool = True) -> Path:
    """Give a synthetic run folder what the engine writes since issue 12: the world-state outcomes (first
    strike, war, deal, snapback and Hormuz months, breakout time, each actor's cost of conflict) in the registry,
    outcomes.parquet and summary.json, issue labels saying "in force" / "bargained outcome", and (``quantiles``)
    per-step quantiles of the world-state variables."""
    spec = json.loads((path / "spec.json").read_text())
    summary = json.loads((path / "summary.json").read_text())
    out = pd.read_parquet(path / "outcomes.parquet")
    n, steps = len(out), int(spec["steps"])
    rng = np.random.default_rng(seed)

    def months(mask: np.ndarray, low: int = 1) -> pd.arrays.IntegerArray:
        at = rng.integers(low, steps + 1, size=n)
        return pd.array([int(m) if k else None for m, k in zip(at, mask)], dtype="Int32")

    war = out[names.WAR].to_numpy(dtype=bool)
    strike = war | (rng.random(n) < 0.25)
    first = months(strike, 1)
    war_at = np.where(war, np.minimum(first.to_numpy(dtype=float, na_value=0) + rng.integers(0, 4, n), steps), -1)
    closed = rng.random(n) < 0.03
    cols: dict[str, object] = {
        names.FIRST_STRIKE: strike, names.FIRST_STRIKE_STEP: first,
        names.WAR_STEP: pd.array([int(m) if m >= 0 else None for m in war_at], dtype="Int32"),
        names.DEAL_SIGNED_STEP: out[names.DEAL_STEP].astype("Int32"),
        "talks_ever": out[names.DEAL_EVER].to_numpy() | (rng.random(n) < 0.5),
        names.BREAKOUT: np.where(out[names.DEAL].to_numpy(), rng.uniform(4, 12, n), rng.uniform(0.1, 1.0, n)),
        names.SNAPBACK_STEP: months(rng.random(n) < 0.4, 1),
        names.HORMUZ_CLOSED_STEP: months(closed, 2), "hormuz_closed": closed,
    }
    cost = rng.gamma(0.5, 0.3, n) * (strike + 0.2) + 2.0 * war
    for a, actor in enumerate(ACTORS):
        cols[names.war_cost_outcome(actor)] = cost * (0.3 + 0.25 * a)
    for name, value in cols.items():
        out[name] = value
    entry = lambda name, kind, label, group, dtype: {"name": name, "kind": kind, "label": label, "group": group,
                                                     "dtype": dtype}
    deal = "US–Iran nuclear deal"
    spec["outcomes"] += [
        entry(names.FIRST_STRIKE, "probability", "an interstate strike", "escalation", "bool"),
        entry(names.FIRST_STRIKE_STEP, "step", "month of the first interstate strike", "escalation", "int32"),
        entry(names.WAR_STEP, "step", "month regional war began", "escalation", "int32"),
        *(entry(names.war_cost_outcome(a), "quantity", f"{name}: cost of conflict (months of regional war "
                "equivalent × cost)", "war costs", "float64") for a, name in ACTORS.items()),
        entry(names.DEAL_SIGNED_STEP, "step", f"month the {deal} was first signed (world state)", "world", "int32"),
        entry("talks_ever", "probability", f"talks on the {deal} opened", "deal", "bool"),
        entry(names.BREAKOUT, "quantity", "Iran's breakout time at the end (months)", "world", "float64"),
        entry(names.SNAPBACK_STEP, "step", "month the UN sanctions were snapped back", "world", "int32"),
        entry(names.HORMUZ_CLOSED_STEP, "step", "month the Strait of Hormuz was first closed", "world", "int32"),
        entry("hormuz_closed", "probability", "Strait of Hormuz closed at some point", "world", "bool"),
    ]
    for o in spec["outcomes"]:
        if o["name"].startswith(names.ISSUE_PREFIX):
            issue = o["name"].removeprefix(names.ISSUE_PREFIX)
            o["label"] = f"{ISSUES[issue][0]}: " + ("bargained outcome" if issue == "russia_mideast_role"
                                                    else "in force")
    spec["spec"] = {"mechanics": {"policy": {"sanctions_issue": "iran_sanctions", "support_issue": "ukraine_support",
                                             "proxy_issue": "iran_proxies"}}}
    for name in (names.FIRST_STRIKE, "talks_ever", "hormuz_closed"):
        p = float(np.mean(out[name]))
        summary["probabilities"][name] = {"p": p, "se": float(np.sqrt(p * (1 - p) / n))}
    (path / "spec.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    (path / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    out.to_parquet(path / "outcomes.parquet", index=False)
    if quantiles:
        t = np.arange(steps + 1)[:, None] / steps
        paths = {
            "breakout": np.clip(0.3 + 8 * t * rng.random(n), 0.1, None),
            "access": 100 * np.clip(0.3 - 0.2 * t + 0.6 * t * (rng.random(n) < 0.3), 0, 1),
            "stockpile": 6.5 + 3 * t * rng.random(n),
            "sanctions_us": 89 - 30 * t * rng.random(n),
            "ukraine_support": 65 - 20 * t * rng.random(n),
            "proxy_activity": 45 + 10 * t * rng.normal(size=n),
        }
        for var, k in _WORLD_CODES.items():
            paths[var] = np.minimum(np.floor(k * t * rng.random(n) ** (3 if var != "deal_stage" else 0.7)), k - 1)
        rows = []
        for var, arr in paths.items():
            q = np.quantile(arr, [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
            rows += [{"step": s, "variable": var, "q05": q[0, s], "q25": q[1, s], "q50": q[2, s], "q75": q[3, s],
                      "q95": q[4, s], "mean": float(arr[s].mean())} for s in range(steps + 1)]
        quant = pd.concat([pd.read_parquet(path / "trajectory_quantiles.parquet"), pd.DataFrame(rows)],
                          ignore_index=True)
        quant["step"] = quant["step"].astype(np.int16)
        quant.to_parquet(path / "trajectory_quantiles.parquet", index=False)
    return path


@pytest.fixture(scope="module")
def world_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("world")
    return {
        "sq": add_world(make_run(root / "status_quo", n=400)),
        "gb": add_world(make_run(root / "grand_bargain", n=400, scenario="grand_bargain", shift=8.0), seed=4),
        "no_quantiles": add_world(make_run(root / "no_quantiles", n=200, seed=2), quantiles=False),
    }


#: The figures of the section under ``h2#id``: how many, and how many of them drew traces into an SVG.
_SECTION_FIGURES_JS = """
const h = document.getElementById(arguments[0]);
const out = [];
for (let e = h.nextElementSibling; e && e.tagName !== 'H2'; e = e.nextElementSibling) {
  e.querySelectorAll('.js-plotly-plot').forEach(p => out.push({
    id: p.id, svg: p.querySelectorAll('svg.main-svg').length, traces: p.querySelectorAll('g.trace').length,
    title: (p.querySelector('.gtitle') || {}).textContent || ''}));
}
return out;
"""


def _section_text(page: str, anchor: str) -> str:
    """The HTML of the section under ``h2#anchor``, entities unescaped."""
    start = page.index(f'<h2 id="{anchor}">')
    end = page.find("<h2 ", start + 1)
    return unescape(page[start:end if end > 0 else None])


def test_world_section_renders(driver: object, world_runs: dict[str, Path]) -> None:
    """The World section: fans of the world state, the coded states, first events, strikes and wars by month,
    war costs — every figure drawn, captions saying what each number is; other sections keep to the issues."""
    run_dir = world_runs["sq"]
    page = render_run_report(run_dir)
    assert_renders(driver, page, run_figures(run_dir) + WORLD_FIGURES)
    state = driver.execute_script(_SECTION_FIGURES_JS, "world")
    assert len(state) == WORLD_FIGURES and all(s["svg"] > 0 and s["traces"] > 0 for s in state), state
    titles = " | ".join(s["title"] for s in state)
    for words in ("Iran's breakout time", "US sanctions on Iran in force", "support to Ukraine in force",
                  "Proxy activity", "States of the world", "share of replicas in which each event",
                  "Strikes and wars by month", "cost of conflict"):
        assert words in titles, (words, titles)
    text = page.read_text(encoding="utf-8")
    world = _section_text(text, "world")
    run = load_run(run_dir)
    for name, words in ((names.FIRST_STRIKE, "an interstate strike"), (names.WAR, "regional war")):
        p = run.probability(name)
        assert f"P({words}) = {100 * p['p']:.1f} % ± {100 * p['se']:.1f}" in world      # MC s.e. in the caption
    cost = run.outcomes[names.war_cost_outcome("iran")]
    assert f"{cost.mean():.3f} ± {cost.std(ddof=1) / np.sqrt(len(cost)):.3f}" in world   # mean ± s.e. per actor
    for words in ("Iran's breakout time at the end (months)", "Month the UN sanctions were snapped back",
                  "not a declared position", "quantiles", "Mean with regional war"):
        assert words in world, words
    # issue numbers labelled for what they are; the issue table and the stories list issues only
    outcomes = _section_text(text, "outcomes")
    assert "Iran's nuclear programme: in force" in outcomes and ": bargained outcome" in outcomes
    assert "“In force” is what the world state holds" in outcomes
    assert "cost of conflict" not in outcomes and "breakout" not in outcomes
    assert "cost of conflict" not in _section_text(text, "stories")


def test_world_section_without_world_trajectories(driver: object, world_runs: dict[str, Path]) -> None:
    """A run with the new outcomes but no world-state quantiles: a note, and the charts from outcomes.parquet."""
    run_dir = world_runs["no_quantiles"]
    page = render_run_report(run_dir)
    assert_renders(driver, page, run_figures(run_dir) + 3)       # first events, strikes and wars, war costs
    world = _section_text(page.read_text(encoding="utf-8"), "world")
    assert "holds no world-state variables" in world and len(driver.execute_script(_SECTION_FIGURES_JS, "world")) == 3


def test_runs_without_world_outcomes_have_no_world_section(runs: dict[str, Path]) -> None:
    for case in ("sq", "legacy"):
        assert 'id="world"' not in render_run_report(runs[case]).read_text(encoding="utf-8")


def test_comparison_with_world_outcomes_renders(driver: object, world_runs: dict[str, Path], tmp_path: Path) -> None:
    """The comparison keeps issue outcomes on their 0–100 panels and gives costs of conflict and the breakout
    time panels of their own, plus a World section (breakout ECDF, war costs by run)."""
    out = tmp_path / "comparison.html"
    assert compare_main([str(world_runs["gb"]), str(world_runs["sq"]), "--out", str(out)]) == 0
    assert_renders(driver, out, 8)     # the six of test_comparison_renders + world-state ECDF + war costs
    text = out.read_text(encoding="utf-8")
    for words in ("Difference in mean cost of conflict (months of regional war equivalent", "World and costs of "
                  "conflict", "Cumulative distributions of the world state at the end", "Costs of conflict by actor"):
        assert words in text, words
    outcomes = _section_text(text, "outcomes")
    assert "cost of conflict" not in outcomes and "breakout" not in outcomes


def test_world_section_is_bounded(tmp_path: Path) -> None:
    """The World section draws per-month counts, quantiles and means, never one point per replica: its size does
    not grow with the number of replicas (about 125 kB at 400 or 100,000 replicas)."""
    sizes = []
    for n, run in ((400, make_run(tmp_path / "small", n=400)), (100_000, make_large_run(tmp_path / "big", 100_000))):
        text = render_run_report(add_world(run)).read_text(encoding="utf-8")
        start = text.index('<h2 id="world">')
        sizes.append(text.find("<h2 ", start + 1) - start)
    assert max(sizes) < 300 * 1024 and abs(sizes[1] - sizes[0]) < 20 * 1024, sizes


# --- issue 18: what an analyst checks at a glance --------------------------------------------------------------
_PLOT_JS = """
const gd = document.getElementById(arguments[0]);
return {data: gd.data.map(t => ({x: Array.from(t.x || []), y: Array.from(t.y || []), xaxis: t.xaxis || 'x', yaxis: t.yaxis || 'y', name: t.name,
                                 color: (t.marker || {}).color, line: (t.line || {}).color,
                                 legend: t.showlegend !== false, type: t.type})),
        layout: JSON.parse(JSON.stringify(gd._fullLayout, (k, v) => k.startsWith('_') ? undefined : v))};
"""

_OVERLAP_JS = """
const out = [];
for (const p of document.querySelectorAll('.js-plotly-plot')) {
  const t = p.querySelector('.gtitle'), l = p.querySelector('.legend');
  if (!t || !l) continue;
  const a = t.getBoundingClientRect(), b = l.getBoundingClientRect();
  const subtitles = Array.from(p.querySelectorAll('.annotation-text')).map(e => e.getBoundingClientRect())
      .filter(r => r.top < b.bottom + 40);
  const hits = r => !(r.right < b.left || r.left > b.right || r.bottom < b.top || r.top > b.bottom);
  out.push({id: p.id, title: hits(a), subtitles: subtitles.filter(hits).length});
}
return out;
"""


def _sweep_two_groups(root: Path) -> Path:
    """A multirun of 3 values × 2 scenarios (job folders only), aggregated by sim.sweep as a real sweep is."""
    from sim.sweep import aggregate

    key = "mechanics.deal.framework_rate"
    job = 0
    for scenario in ("status_quo", "grand_bargain"):
        for value in (0.1, 0.2, 0.3):
            make_run(root / str(job), n=150, scenario=scenario, shift=20 * (value - 0.2),
                     overrides=[f"{key}={value}", f"scenario={scenario}"])
            job += 1
    aggregate(root, report=True)
    return root


def test_sweep_points_are_spread_zoomed_and_on_the_numeric_key(driver: object, tmp_path: Path) -> None:
    root = _sweep_two_groups(tmp_path / "sweep")
    page = root / "sweep.html"
    assert_renders(driver, page, 3)
    for fig in ("figure-1", "figure-2", "figure-3"):
        state = driver.execute_script(_PLOT_JS, fig)
        main = [t for t in state["data"] if t["xaxis"] in ("x", "x3") and t["x"] and t["type"] == "scatter"]
        by_axis: dict[str, list[tuple[float, float]]] = {}
        for t in main:
            by_axis.setdefault(t["yaxis"], []).extend(zip(t["x"], t["y"]))
        for axis, points in by_axis.items():
            xs = [round(x, 9) for x, _ in points]
            assert len(set(xs)) == len(xs), f"{fig} {axis}: two points share an x position (one hides the other)"
            assert all(min(abs(x - v) for v in (0.1, 0.2, 0.3)) < 0.02 for x in xs)
        layout = state["layout"]
        assert "framework rate" in layout["xaxis"]["title"]["text"] or "framework rate" in str(layout)
        ranges = {k: v["range"] for k, v in layout.items() if k.startswith("yaxis") and "range" in v}
        main_ranges = [r for k, r in ranges.items() if int(k[5:] or 1) % 2 == 1]
        context = [r for k, r in ranges.items() if int(k[5:] or 1) % 2 == 0]
        full = 6 if fig == "figure-2" else 100
        assert all(r[1] - r[0] < full for r in main_ranges), f"{fig}: a panel is not zoomed to its data"
        assert context and all(r[0] <= 0 and r[1] >= full for r in context), f"{fig}: no whole-scale context"
    # whiskers on the mean rung
    rung = driver.execute_script("return document.getElementById('figure-2').data.filter(t => t.error_y && "
                                 "t.error_y.array && t.error_y.array.length).length")
    assert rung == 2


def test_comparison_colours_never_repeat_and_legends_clear_titles(driver: object, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    runs = [make_run(tmp_path / f"r{i}", n=60, seed=i % 2, scenario=f"scenario_{i}", shift=float(i))
            for i in range(10)]
    out = tmp_path / "many.html"
    assert compare_main([*map(str, runs), "--out", str(out)]) == 0
    capsys.readouterr()
    assert_renders(driver, out, 6)
    state = driver.execute_script(_PLOT_JS, "figure-2")             # max rung bars: one trace per run
    colours = [t["color"] for t in state["data"]]
    assert len(colours) == 10 and len(set(colours)) == 10
    overlaps = driver.execute_script(_OVERLAP_JS)
    assert overlaps and not [o for o in overlaps if o["title"] or o["subtitles"]], overlaps


def test_run_report_time_axes_are_calendar_months(driver: object, runs: dict[str, Path]) -> None:
    page = render_run_report(runs["sq"])
    assert_renders(driver, page, run_figures(runs["sq"]))
    ticks = driver.execute_script(
        "return Array.from(document.querySelectorAll('.xtick text')).map(e => e.textContent);")
    assert any(t.startswith("Mar 2025") for t in ticks) and any(t.startswith("Sep 2025") for t in ticks)
    heads = driver.execute_script("return Array.from(document.querySelectorAll('p.headline')).map(e => e.innerText)")
    assert heads and heads[0].startswith("P(deal signed within the horizon, 24 months):")
