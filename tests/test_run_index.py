"""The index of runs (sim.run_index, ``python -m sim.runs``) and ``python -m sim.compare --where``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim import PROJECT_ROOT
from sim.run_index import QueryError, find_runs, main, open_index, select_runs, selected_paths
from tests.synthetic_runs import make_multirun, make_run


def stamp(run: Path, started: str, **extra: object) -> None:
    m = json.loads((run / "manifest.json").read_text())
    m.update(started=started, **extra)
    (run / "manifest.json").write_text(json.dumps(m))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("outputs")
    old = make_run(root / "2025-01-01" / "10-00-00", scenario="grand_bargain", n=400, seed=3, shift=4.0)
    new = make_run(root / "2025-01-02" / "09-00-00", scenario="grand_bargain", n=400, seed=3, shift=-3.0)
    base = make_run(root / "2025-01-02" / "08-00-00", scenario="status_quo", n=400, seed=3)
    failed = make_run(root / "2025-01-03" / "08-00-00", scenario="grand_bargain", n=400, status="failed")
    stamp(old, "2025-01-01T10:00:00+00:00")
    stamp(new, "2025-01-02T09:00:00+00:00")
    stamp(base, "2025-01-02T08:00:00+00:00")
    stamp(failed, "2025-01-03T08:00:00+00:00", error="ChunksFailed: 1 of 2 chunks failed")
    sweep = make_multirun(root / "multirun" / "2025-01-04" / "07-00-00", n=200)
    for job in sorted(sweep.iterdir()):
        if job.name.isdigit():
            stamp(job, f"2025-01-04T07:0{job.name}:00+00:00")
    return root


def test_every_run_and_sweep_job_is_found(outputs):
    runs = find_runs([outputs])
    assert len(runs) == 4 + 3
    table = select_runs([outputs])
    jobs = table[table["sweep"].notna()]
    assert sorted(jobs["job"]) == [0, 1, 2] and set(jobs["sweep"]) == {str(outputs / "multirun/2025-01-04/07-00-00")}
    assert list(table["started"]) == sorted(table["started"], reverse=True)            # newest first
    assert set(table["status"]) == {"complete", "failed"}


def test_where_selects_with_sql_newest_first(outputs):
    runs = json.loads(json.dumps(list(select_runs([outputs])["p_war"])))
    assert all(0 <= p <= 1 for p in runs)
    threshold = sorted(runs)[len(runs) // 2]
    table = select_runs([outputs], f"scenario = 'grand_bargain' and p_war > {threshold}")
    assert len(table) >= 1 and set(table["scenario"]) == {"grand_bargain"}
    assert (table["p_war"] > threshold).all()
    both = select_runs([outputs], "scenario = 'grand_bargain' and seed = 3 and sweep is null")
    assert [Path(p).name for p in both["path"]] == ["09-00-00", "10-00-00"]


def test_outcomes_and_sweeps_are_views_over_the_parquet_files(outputs):
    con = open_index([outputs])
    [(n, runs)] = con.execute("select count(*), count(distinct path) from outcomes").fetchall()
    assert runs == 6 and n == 3 * 400 + 3 * 200                      # the failed run's outcomes are left out
    [(jobs,)] = con.execute("select count(*) from sweeps").fetchall()
    assert jobs == 3
    p_war = con.execute("select r.p_war, avg(o.war::int) from outcomes o join runs r using (path) "
                        "group by all").fetchall()
    assert all(abs(a - b) < 1e-12 for a, b in p_war)               # the summary agrees with the replicas


def test_bad_sql_is_one_line_naming_the_columns(outputs, capsys):
    with pytest.raises(QueryError) as err:
        select_runs([outputs], "p_wa > 0.1")
    assert "\n" not in str(err.value) and "p_wa" in str(err.value) and "p_war" in str(err.value)
    assert main(["--root", str(outputs), "list", "--where", "nope >"]) == 2
    assert capsys.readouterr().err.startswith("error: --where 'nope >'")
    assert main(["--root", str(outputs / "missing"), "list"]) == 2


def test_list_show_and_sql_on_the_command_line(outputs, capsys):
    assert main(["--root", str(outputs), "list", "--where", "scenario='grand_bargain' and sweep is null", "--paths"]) == 0
    paths = capsys.readouterr().out.split()
    assert [Path(p).parent.name for p in paths][:2] == ["2025-01-03", "2025-01-02"]
    assert main(["--root", str(outputs), "show", paths[1]]) == 0
    shown = capsys.readouterr().out
    assert "grand_bargain" in shown and "p_war" in shown and "median_iran_nuclear" in shown
    assert main(["--root", str(outputs), "sql", "select scenario, count(*) n from runs group by 1 order by 1"]) == 0
    assert "status_quo" in capsys.readouterr().out
    assert main(["--root", str(outputs), "list", "--where", "status = 'failed'", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["error"].startswith("ChunksFailed")


def test_python_m_sim_runs_keeps_the_module_api(outputs):
    """``python -m sim.runs`` is the index's command line; ``from sim.runs import load_run`` still works."""
    from sim.runs import expand_runs, load_run  # noqa: F401

    r = subprocess.run([sys.executable, "-m", "sim.runs", "--root", str(outputs), "list", "--limit", "2"],
                       cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.count("\n") == 3 and "path" in r.stdout, r.stderr


def test_compare_takes_a_selection(outputs, tmp_path, capsys, monkeypatch):
    import sim.report.compare_report as page
    from sim.compare import main as compare

    where = "seed = 3 and sweep is null"
    assert [p.parent.name for p in selected_paths([outputs], where)] == ["2025-01-02"] * 2 + ["2025-01-01"]
    drawn = {}

    def render(runs, baseline, table, labels, out):      # the page itself is tested in test_compare
        drawn.update(runs=runs, baseline=baseline, table=table)
        return Path(out)

    monkeypatch.setattr(page, "render_comparison", render)
    assert compare(["--root", str(outputs), "--where", where, "--out", str(tmp_path / "cmp.html")]) == 0
    assert [r.scenario_name for r in drawn["runs"]] == ["grand_bargain", "status_quo", "grand_bargain"]
    assert drawn["baseline"] == 1 and drawn["table"]["paired"].all()      # same seed and n: paired differences
    assert compare(["--root", str(outputs), "--where", "n_runs = 7", "--out", str(tmp_path / "x.html")]) == 2
    assert "no complete run" in capsys.readouterr().err
