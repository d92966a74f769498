"""explore.html opens and renders in headless Chromium, offline; the command writes whole, reproducible files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.explore.run import explore, write_outputs
from sim.explore.settings import parse_settings
from sim.run import compose_spec
from test_report_browser import assert_renders, driver  # noqa: F401  (the Chromium fixture)

ROOT = Path(__file__).resolve().parents[1]


def figures(page: Path) -> int:
    m = re.search(r'name="geosim-figures" content="(\d+)"', page.read_text(encoding="utf-8"))
    assert m
    return int(m.group(1))


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("explore")
    spec = compose_spec("uncertainty=all", "workers=1")
    out = {}
    fn = parse_settings({"method": ["sobol", "morris"], "function": "ishigami", "n": 256, "points": 16,
                         "replicates": 1, "discover": []}, "test")
    write_outputs(explore(spec, fn), root / "ishigami", {"test": True}, {})
    out["ishigami"] = root / "ishigami" / "explore.html"
    model = parse_settings({"method": ["sobol", "prim", "robustness"], "n": 8, "points": 64, "replicates": 1,
                            "discover": ["deal_ever"], "compare": ["grand_bargain"], "convergence": 2,
                            "outcomes": ["deal_ever", "war", "outcome_iran_nuclear"]}, "test")
    gb = compose_spec("uncertainty=all", "workers=1", "scenario=grand_bargain")
    write_outputs(explore(spec, model, {"grand_bargain": gb}), root / "model", {"test": True},
                  {"deal_ever": "deal ever signed", "war": "regional war"})
    out["model"] = root / "model" / "explore.html"
    return out


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("case", ["ishigami", "model"])
def test_explore_page_renders(driver: object, pages: dict[str, Path], case: str) -> None:  # noqa: F811
    page = pages[case]
    assert figures(page) >= 3
    assert_renders(driver, page, figures(page))
    text = page.read_text(encoding="utf-8")
    if case == "ishigami":
        assert "analytic S1" in text and "Morris screening" in text
    else:
        assert "PRIM boxes" in text and "beats status_quo" in text and "deal ever signed" in text
        assert (page.parent / "sensitivity.parquet").exists() and (page.parent / "discovery.json").exists()


@pytest.mark.slow
def test_command_is_reproducible_whatever_chunks_and_workers(tmp_path: Path) -> None:
    """Same seed: the same bytes of every result file, with other chunk sizes and another number of workers."""
    common = ["method=all", "n=8", "points=128", "replicates=2", "steps=6", "compare=[grand_bargain]",
              "outcomes=[deal_ever,war]", "discover=[war,deal_ever]"]
    for name, extra in (("a", ["chunk_size=1024", "workers=1"]), ("b", ["chunk_size=256", "workers=2"])):
        subprocess.run([sys.executable, "-m", "sim.explore", *common, *extra, f"hydra.run.dir={tmp_path / name}"],
                       check=True, cwd=ROOT, capture_output=True)
    for f in ("sensitivity.parquet", "convergence.parquet", "discovery.json", "explore.html"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


@pytest.mark.slow
def test_bad_input_writes_nothing(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "sim.explore", "n=100", f"hydra.run.dir={tmp_path / 'x'}"],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "n: got 100" in res.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_speed_benchmark_runs_and_matches_per_point_outcomes() -> None:
    """bench/explore_speed.py --quick runs and checks what it claims (no timing asserted)."""
    out = subprocess.run([sys.executable, "bench/explore_speed.py", "--quick"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert any(ln.startswith("per-point outcomes = vectorised outcomes") and ln.endswith("yes") for ln in lines)
    assert re.fullmatch(r"ratio per-point/vectorised per design point: [\d.]+", lines[-1])
