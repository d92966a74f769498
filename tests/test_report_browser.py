"""Reports open and render in real headless Chromium, offline, without console errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.compare import main as compare_main
from sim.report import render_run_report, render_sweep_report
from sim.report.stories import pick_stories
from sim.runs import load_run
from synthetic_runs import ISSUES, make_large_run, make_multirun, make_run

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1300,900",
]
#: Figures on a run report besides the fans and stories: max rung, time to deal, outcomes, utilities, escalation fan.
FIXED_RUN_FIGURES = 5

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
    missing = not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK))
    if missing and os.environ.get("SIM_REQUIRE_BROWSER"):
        pytest.fail(f"SIM_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing")
    if missing:
        pytest.skip(f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    drv.set_page_load_timeout(120)
    yield drv
    drv.quit()


def assert_renders(driver: object, page: Path, expected: int) -> None:
    """Open ``page`` from disk; every figure must render, nothing may be fetched, the console must be clean."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop messages from earlier pages
    driver.get(page.resolve().as_uri())
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
                  "US–Iran nuclear deal in force at the end", "US–Iran nuclear deal ever signed"):
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
        assert "Deal ever signed" in text and "Time to a deal" in text
    if case == "accord":  # the deal's words come from the registry's labels, never from the page code
        text = text.replace("\\u2013", "–")  # figures' JSON escapes the dash
        assert "EU–Iran accord ever signed" in text and "Time to a EU–Iran accord" in text
        assert "US–Iran" not in text and "nuclear deal" not in text


def test_sweep_report_renders(driver: object, runs: dict[str, Path]) -> None:
    page = render_sweep_report(runs["sweep"])
    assert page == runs["sweep"] / "sweep.html"
    assert_renders(driver, page, 3)
    text = page.read_text()
    assert "P(US–Iran nuclear deal in force at the end)" in text and "P(US–Iran nuclear deal ever signed)" in text


def test_comparison_renders(driver: object, runs: dict[str, Path], tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "comparison.html"
    code = compare_main([str(runs["gb"]), str(runs["sq"]), str(runs["other_seed"]), "--out", str(out)])
    assert code == 0 and Path(capsys.readouterr().out.strip()) == out.resolve()
    # forest, max rung, outcome ECDFs, outcome violins, utility ECDFs, utility violins
    assert_renders(driver, out, 6)
    text = out.read_text()
    assert "Unpaired differences for: militia_escalation" in text
    assert "P(US–Iran nuclear deal ever signed)" in text and "US–Iran nuclear deal ever signed" in text


def test_comparison_of_one_run_renders(driver: object, runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "single.html"
    assert compare_main([str(runs["sq"]), "--out", str(out)]) == 0
    assert_renders(driver, out, 5)


#: Renders a run report in a fresh process and prints the page's path and the process's peak memory (kB).
_RENDER = ("import resource, sys; from sim.report import render_run_report; page = render_run_report(sys.argv[1]); "
           "print(page, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


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
