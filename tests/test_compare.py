"""Comparing runs: difference statistics, the table of differences, the command line."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim import outcomes as names
from sim.compare import can_pair, choose_baseline, difference, difference_table, main, unique_labels
from sim.runs import load_run
from synthetic_runs import make_multirun, make_run

Z = 1.959964


def test_paired_difference_by_hand() -> None:
    base, other = [1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 5.0, 5.0]
    # d = [1, 0, 2, 1]: mean 1, sample variance ((0)^2 + 1 + 1 + 0) / 3 = 2/3, se = sqrt(2/3) / 2
    d = difference(base, other, paired=True)
    se = math.sqrt(2 / 3) / 2
    assert d.estimate == pytest.approx(1.0)
    assert d.se == pytest.approx(se)
    assert (d.low, d.high) == pytest.approx((1 - Z * se, 1 + Z * se))
    assert d.n == 4 and d.paired


def test_unpaired_difference_by_hand() -> None:
    base, other = [1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 5.0, 5.0]
    # var(base) = 5/3, var(other) = 3: se = sqrt(5/3/4 + 3/4)
    d = difference(base, other, paired=False)
    assert d.estimate == pytest.approx(1.0)
    assert d.se == pytest.approx(math.sqrt(5 / 12 + 3 / 4))
    assert not d.paired


def test_probability_difference_is_a_difference_of_indicators() -> None:
    base = np.array([True, False, False, True, False])
    other = np.array([True, True, False, True, True])
    d = difference(base, other, paired=True)
    assert d.estimate == pytest.approx(0.8 - 0.4)
    # d = [0, 1, 0, 0, 1]: mean 0.4, var = (3*0.16 + 2*0.36)/4 = 0.3
    assert d.se == pytest.approx(math.sqrt(0.3 / 5))


def test_difference_edge_cases() -> None:
    with pytest.raises(ValueError):
        difference([1.0, 2.0], [1.0], paired=True)
    one = difference([1.0], [3.0], paired=True)
    assert one.estimate == 2.0 and math.isnan(one.se)


def test_difference_table_pairs_common_random_numbers(tmp_path: Path) -> None:
    a = load_run(make_run(tmp_path / "a", n=400, seed=3))
    b = load_run(make_run(tmp_path / "b", n=400, seed=3, shift=6.0, scenario="grand_bargain"))
    c = load_run(make_run(tmp_path / "c", n=400, seed=4, shift=6.0, scenario="other_seed"))
    assert can_pair(a, b) and not can_pair(a, c)
    table = difference_table([a, b, c], baseline=0)
    paired = table[table["run"] == 1]
    unpaired = table[table["run"] == 2]
    assert paired["paired"].all() and not unpaired["paired"].any()
    assert set(paired["kind"]) == {"probability", "quantity", "utility"}
    # one row per outcome of the registry that is compared: every probability, issue outcome and utility
    assert list(paired["key"]) == [*a.of_kind("probability"), *a.of_kind("quantity"), *a.of_kind("utility")]
    assert {names.DEAL, names.DEAL_EVER, names.WAR} <= set(paired["key"])
    issue = names.issue_outcome("iran_nuclear")
    row = paired[paired["key"] == issue].iloc[0]
    manual = difference(a.outcomes[issue], b.outcomes[issue], paired=True)
    assert row["estimate"] == pytest.approx(manual.estimate) and row["se"] == pytest.approx(manual.se)
    forced = difference(a.outcomes[issue], b.outcomes[issue], paired=False)
    assert row["se"] < forced.se  # common random numbers shrink the uncertainty
    deal = paired[paired["key"] == names.DEAL].iloc[0]
    assert deal["estimate"] == pytest.approx(100 * (b.outcomes[names.DEAL].mean() - a.outcomes[names.DEAL].mean()))


def test_baseline_and_labels(tmp_path: Path) -> None:
    x = load_run(make_run(tmp_path / "x", n=5, scenario="grand_bargain"))
    sq = load_run(make_run(tmp_path / "sq", n=5))
    assert choose_baseline([x, sq]) == 1 and choose_baseline([x]) == 0
    assert unique_labels([x, x]) == ["grand_bargain [x] #1", "grand_bargain [x] #2"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim.compare", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_cli_not_a_run_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "notarun").mkdir()
    good = make_run(tmp_path / "good", n=20)
    res = _cli(str(good), str(tmp_path / "notarun"), cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "notarun" in lines[0] and "manifest.json is missing" in lines[0]
    assert not (tmp_path / "outputs" / "comparison.html").exists()


def test_cli_incomplete_run_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = make_run(tmp_path / "good", n=20)
    running = make_run(tmp_path / "running", n=20, status="running")
    assert main([str(good), str(running), "--out", str(tmp_path / "o.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not complete" in err[0]


def test_cli_different_issue_sets_compare_on_what_they_share(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", n=20)
    b = make_run(tmp_path / "b", n=20, issues=["iran_nuclear", "ukraine_support"])
    res = _cli(str(a), str(b), "--out", "c.html", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "c.html").read_text()
    assert "compared on the outcomes they share" in text and "has issues the others lack" in text


def test_cli_writes_page_and_prints_path(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", n=60, scenario="grand_bargain")
    b = make_run(tmp_path / "sq", n=60)
    res = _cli(str(a), str(b), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = Path(res.stdout.strip())
    assert out == (tmp_path / "outputs" / "comparison.html").resolve() and out.is_file()
    text = out.read_text()
    assert "Differences from the baseline" in text and "Baseline: status_quo" in text


def test_cli_multirun_expands_to_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_multirun(tmp_path / "sweep", values=(0.2, 0.8), n=40)
    base = make_run(tmp_path / "base", n=40, seed=1)
    out = tmp_path / "cmp.html"
    assert main([str(root), "--baseline", str(base), "--out", str(out)]) == 0
    assert Path(capsys.readouterr().out.strip()) == out.resolve()
    text = out.read_text()
    for value in ("0.2", "0.8"):
        assert f"grand_bargain (us.salience.ukraine_support={value})" in text
    assert "Comparison of 3 runs" in text and "unpaired" not in text.split("Differences from the baseline")[0]


def test_labels_drop_overrides_shared_by_all_runs(tmp_path: Path) -> None:
    a = load_run(make_run(tmp_path / "a", n=5, scenario="grand_bargain",
                          overrides=["scenario=grand_bargain", "n_runs=5", "actors.us.resolve=0.9"]))
    b = load_run(make_run(tmp_path / "b", n=5, overrides=["scenario=status_quo", "n_runs=5", "workers=2"]))
    assert unique_labels([a, b]) == ["grand_bargain (us.resolve=0.9)", "status_quo"]
    assert unique_labels([a]) == ["grand_bargain (n_runs=5, us.resolve=0.9)"]


def test_old_run_folder_compares_with_a_new_one(tmp_path: Path) -> None:
    old = load_run(make_run(tmp_path / "old", n=100, seed=3, legacy=True))
    new = load_run(make_run(tmp_path / "new", n=100, seed=3, shift=4.0, scenario="grand_bargain"))
    table = difference_table([old, new], baseline=0)
    assert table["paired"].all() and names.DEAL_EVER in set(table["key"])
    ever = table[table["key"] == names.DEAL_EVER].iloc[0]
    assert ever["baseline_mean"] == pytest.approx(100 * old.outcomes[names.DEAL_STEP].notna().mean())


# --- crafted run folders: one line naming the folder, the file and field, the value and what is allowed --------
def _edit_json(path: Path, **changes: object) -> None:
    import json

    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _edit_outcomes(run: Path, edit) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    file = run / "outcomes.parquet"
    edit(pd.read_parquet(file)).to_parquet(file, index=False)


def _craft(run: Path, case: str) -> None:
    if case == "missing column":
        _edit_outcomes(run, lambda df: df.drop(columns=[names.WAR]))
    elif case == "string values":
        _edit_outcomes(run, lambda df: df.assign(**{names.issue_outcome("iran_nuclear"): "high"}))
    elif case == "string replica ids":
        _edit_outcomes(run, lambda df: df.assign(replica=df["replica"].astype(str)))
    elif case == "corrupt parquet":
        (run / "outcomes.parquet").write_bytes(b"PAR1 this is not a parquet file")
    elif case == "negative n_runs":
        _edit_json(run / "manifest.json", n_runs=-5)
    elif case == "duplicated replicas":
        _edit_outcomes(run, lambda df: df.assign(replica=[0, *range(len(df) - 1)]))
    elif case == "empty outcomes":
        _edit_outcomes(run, lambda df: df.iloc[:0])
    elif case == "overrides as a string":
        _edit_json(run / "manifest.json", overrides="scenario=grand_bargain")
    elif case == "probability as text":
        import json

        summary = json.loads((run / "summary.json").read_text())
        summary["probabilities"][names.DEAL]["p"] = "high"
        (run / "summary.json").write_text(json.dumps(summary))
    elif case == "rung out of range":
        _edit_outcomes(run, lambda df: df.assign(**{names.MAX_RUNG: df[names.MAX_RUNG].astype("int8") + 9}))


#: case -> words the one line must hold (besides the folder's name and ``allowed``/``required``)
CRAFTED = {
    "missing column": ["outcomes.parquet", "'war'", "missing"],
    "string values": ["outcomes.parquet", "outcome_iran_nuclear", "'high'", "numbers"],
    "string replica ids": ["outcomes.parquet", "'replica'", "'0'", "whole numbers"],
    "corrupt parquet": ["outcomes.parquet", "cannot read as Parquet"],
    "negative n_runs": ["manifest.json", "n_runs", "-5", "whole number ≥ 1"],
    "duplicated replicas": ["outcomes.parquet", "replica 0 2 times", "each replica once"],
    "empty outcomes": ["outcomes.parquet", "0 rows", "one row per replica"],
    "overrides as a string": ["manifest.json", "overrides", "'scenario=grand_bargain'", "a list of strings"],
    "probability as text": ["summary.json", "probabilities.deal.p", "'high'", "share from 0 to 1"],
    "rung out of range": ["outcomes.parquet", "max_escalation", "rung from 0 to 6"],
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_folder_gives_one_line_and_exit_2(tmp_path: Path, case: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    good = make_run(tmp_path / "good", n=30)
    bad = make_run(tmp_path / "crafted", n=30, scenario="grand_bargain")
    _craft(bad, case)
    out = tmp_path / "cmp.html"
    assert main([str(good), str(bad), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    line = lines[0]
    assert line.startswith("error: ") and str(bad) in line and ("allowed" in line or "required" in line), line
    for words in CRAFTED[case]:
        assert words in line, line
    assert "Traceback" not in captured.err and not out.exists() and not captured.out


def test_crafted_folder_from_the_command_line(tmp_path: Path) -> None:
    """The same through ``python -m sim.compare``: exit 2, one line, no traceback."""
    good = make_run(tmp_path / "good", n=20)
    bad = make_run(tmp_path / "bad", n=20)
    _craft(bad, "corrupt parquet")
    res = _cli(str(good), str(bad), cwd=tmp_path)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "bad/outcomes.parquet" in res.stderr and "Traceback" not in res.stderr


def test_unwritable_out_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = make_run(tmp_path / "good", n=20)
    (tmp_path / "taken").mkdir()
    assert main([str(good), "--out", str(tmp_path / "taken")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--out" in lines[0] and "cannot write" in lines[0]
