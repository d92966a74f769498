"""The what-if engine (sim.whatif), the ranking of inputs (sim.drivers) and the live page (sim.app)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from browser import headless_chromium
from sim.drivers import from_sensitivity, rank_by_correlation, spearman
from sim.errors import ConfigError
from sim.experiment import InProcess, run_experiment
from sim.run import compose_spec
from sim.whatif import InputSetting, Levers, WhatIf

REPLICAS = 512


@pytest.fixture(scope="module")
def engine() -> WhatIf:
    return WhatIf(REPLICAS)


def test_the_page_computes_what_the_command_line_computes(engine):
    settings = [InputSetting("actors.us.salience.ukraine_support", 20, 30, True),
                InputSetting("mechanics.exchange.rate", 0.4, 0.4, False)]
    levers = Levers(mediator="none", deadline=4, steps=12)
    ev = engine.evaluate("grand_bargain", settings, levers)
    lines = engine.overrides("grand_bargain", settings, levers)
    assert "mechanics.mediation.enabled=false" in lines and "steps=12" in lines
    spec = compose_spec("scenario=grand_bargain", *engine.settings(), *lines)
    [chunk] = run_experiment(spec, InProcess())
    for name, column in chunk.outcomes.items():
        assert np.array_equal(column, ev.scenario.columns[name]), name
    assert ev.computed == 2 * REPLICAS and ev.rows[0]["paired"]
    again = engine.evaluate("grand_bargain", settings, Levers(mediator="none", deadline=4, steps=24))
    assert again.computed == REPLICAS                       # a lever moved: the status quo came from the cache


def test_levers_move_the_numbers_and_bad_ones_are_one_line(engine):
    full = engine.evaluate("grand_bargain")
    no_links = engine.evaluate("grand_bargain", levers=Levers(links=()))
    p = {r["name"]: r["scenario"] for r in full.rows}
    q = {r["name"]: r["scenario"] for r in no_links.rows}
    assert q["deal_ever"] < p["deal_ever"]                   # without Russia's brokerage a deal is rarer
    assert full.rows[0]["status_quo"] == no_links.rows[0]["status_quo"]
    with pytest.raises(ConfigError) as err:
        engine.evaluate("grand_bargain", levers=Levers(mediator="nobody"))
    assert "\n" not in str(err.value) and "mediator" in str(err.value)


def test_rankings_from_sensitivity_and_from_rank_correlation(tmp_path):
    pd.DataFrame({"outcome": ["war", "war", "deal_ever", "deal_ever", "max_escalation"],
                  "parameter": ["a", "b", "a", "c", "d"], "S1": 0.1, "S1_conf": 0.01,
                  "ST": [0.2, 0.5, 0.3, 0.1, 0.9], "ST_conf": 0.02}).to_parquet(tmp_path / "sensitivity.parquet")
    r = from_sensitivity(tmp_path, top=2)
    assert r.paths == ("b", "a") and r.scores == (0.5, 0.3) and "Sobol" in r.method
    with pytest.raises(ConfigError, match="explore="):
        from_sensitivity(tmp_path / "nope")
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(400, 3))
    outs = pd.DataFrame({"war": x[:, 2] ** 3 + 0.1 * rng.uniform(size=400) > 0.5, "deal_ever": rng.uniform(size=400)})
    ranked = rank_by_correlation(pd.DataFrame(x, columns=["p", "q", "r"]), outs, top=2)
    assert ranked.paths[0] == "r" and "Spearman" in ranked.method
    assert spearman(np.arange(5.0), np.arange(5.0) ** 3) == pytest.approx(1.0)


def test_arguments_are_checked_in_one_line(tmp_path):
    from sim.app import parse_args

    assert parse_args([])["replicas"] == "2000"
    for bad, field in ((["colour=red"], "colour=red"), (["port=x"], "port="), ([f"explore={tmp_path}/x"], "explore=")):
        with pytest.raises(ConfigError, match=field):
            parse_args(bad)


@pytest.fixture(scope="module")
def page(engine) -> Iterator[str]:
    """The page served from this process on a free loopback port."""
    from werkzeug.serving import make_server

    from sim.app import create_app, input_controls
    from sim.drivers import Ranking

    ranking = Ranking(("mechanics.exchange.trust_floor", "actors.us.salience.ukraine_support"), (0.3, 0.1),
                      "a ranking given by the test")
    app = create_app(engine, input_controls(engine, ranking), ranking.method)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.mark.browser
@pytest.mark.slow
def test_moving_a_control_in_chromium_changes_the_numbers(page):
    """Real headless Chromium: the numbers appear; choosing no brokered exchange and no mediator changes them."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    drv = headless_chromium(allow_loopback=True)   # only the page's own server: it must work offline
    try:
        drv.get(page)
        wait = WebDriverWait(drv, 90)

        def text(d: object, cell: str = "p-deal_ever") -> str | bool:
            found = d.find_elements(By.ID, cell)
            return found[0].text if found and found[0].text else False

        first = wait.until(text)
        assert "%" in first and "ranking given by the test" in drv.find_element(By.ID, "ranking-method").text
        assert "replicas simulated" in drv.find_element(By.ID, "status").text
        for box in drv.find_elements(By.CSS_SELECTOR, "#links input[type=checkbox]"):
            box.click()                                      # no brokered exchange available
        wait.until(lambda d: text(d) and text(d) != first)
        second = text(drv)
        assert float(second.split()[0]) < float(first.split()[0])         # rarer deals without exchanges
        assert "mechanics.exchange.brokers=[]" in drv.find_element(By.ID, "command").text
        status_quo = text(drv, "q-deal_ever")
        drv.find_element(By.CSS_SELECTOR, "#mediator input[value=none]").click()
        wait.until(lambda d: "mediation.enabled=false" in d.find_element(By.ID, "command").text)
        assert text(drv, "q-deal_ever") == status_quo                       # levers move the scenario only
        errors = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        drv.quit()
