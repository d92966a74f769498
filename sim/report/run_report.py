"""The HTML report of one run: ``render_run_report(run_dir)`` writes ``run_dir/report.html``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim import outcomes as names
from sim.report import figures, stories, world
from sim.report.labels import num, pct_se, pretty_path, rung_label, sentence, value_text
from sim.report.page import Page, esc, write_html_atomic
from sim.report.sample import sample_note
from sim.runs import RunData, load_run


def _header(page: Page, run: RunData) -> None:
    m, scen = run.manifest, run.spec.get("scenario", {})
    page.html(f"<h1>Scenario: {esc(run.scenario_name)}</h1>")
    if scen.get("description"):
        page.paragraph(str(scen["description"]), cls="lead")
    versions = ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items())
    traj = m.get("trajectories") or {}
    rows = [
        ("Replicas (Monte Carlo runs)", f"{run.n_runs:,}"),
        ("Months (steps) per replica", run.steps),
        ("Random seed", run.seed),
        ("Command-line overrides", " ".join(m.get("overrides") or []) or "none"),
        ("Started / finished", f"{m.get('started') or '–'} / {m.get('finished') or '–'}"
                               f" ({num(m.get('wall_seconds'), 1)} s)"),
        ("Stored sample paths", f"{traj.get('stored_replicas', '–')} replicas — {traj.get('note', '')}"),
        ("Software versions", versions or "–"),
        ("Timings (seconds)", ", ".join(f"{k} {num(v, 1)}" for k, v in (m.get("timings") or {}).items()) or "–"),
        ("Git commit", m.get("git_commit") or "unknown (not run from a git checkout)"),
        ("Run folder", str(run.path.resolve())),
    ]
    page.table(["", ""], rows)


def _key_facts(page: Page, run: RunData) -> None:
    page.section("Key probabilities", "probabilities",
                 "Share of replicas in which each event happened. ± is the Monte Carlo standard error: the "
                 "uncertainty from running a finite number of replicas, not the uncertainty of the real world.")
    facts = []
    for name in (names.DEAL, names.DEAL_EVER, names.DEAL_BROKEN):
        if run.has(name):
            p = run.probability(name)
            facts.append(f"{sentence(run.label(name))} in {pct_se(p.get('p'), p.get('se'))} of replicas.")
    if run.has(names.WAR):
        war = run.probability(names.WAR)
        facts.append(f"Escalation reached the top rung ({run.label(names.WAR)}) in "
                     f"{pct_se(war.get('p'), war.get('se'))}.")
    for name in run.of_kind("step"):
        if name == names.DEAL_SIGNED_STEP and run.has(names.DEAL_STEP):
            continue                                 # the same month under the world-state outcomes' name
        t = run.timing(name)
        if t.get("median") is not None:
            facts.append(f"Median {run.label(name)}, among replicas where it happened: {num(t['median'], 0)} "
                         f"(middle half between {num(t.get('q25'), 0)} and {num(t.get('q75'), 0)}).")
    page.bullets(facts, cls="keyfacts")
    rows: list[tuple[str, str]] = []
    for name in run.of_kind("probability"):
        p = run.probability(name)
        rows.append((sentence(run.label(name)), pct_se(p.get("p"), p.get("se"))))
    for r in run.summary.get("probabilities", {}).get("max_rung", []):
        rows.append((f"{sentence(run.label(names.MAX_RUNG))} = {rung_label(int(r['rung']), run.rungs)}",
                     pct_se(r.get("p"), r.get("se"))))
    page.table(["Event", "Probability ± standard error"], rows, numeric=[1])


def _changes(page: Page, run: RunData) -> None:
    scen = run.spec.get("scenario", {})
    page.section("What this scenario changes", "changes",
                 "Parameters this scenario sets differently from the baseline, with where each value comes from. "
                 "A value given as a range is drawn anew for each replica (triangular: low, most likely, high).")
    rows = []
    for ch in scen.get("changes") or []:
        src: dict[str, Any] = ch.get("source") or {}
        where = f"{src.get('seed', '–')}" + (f": “{src['where']}”" if src.get("where") else "")
        base = value_text(ch["baseline"]) if ch.get("baseline") is not None else "–"
        rows.append((pretty_path(ch.get("path", ""), run.spec), ch.get("path", ""), base,
                     value_text(ch.get("value")), where, src.get("why", "")))
    if rows:
        page.table(["Parameter", "Path", "Baseline value", "Scenario value", "Source", "Why"], rows)
    else:
        page.paragraph("This scenario changes no parameters (it is the baseline).")
    mech = scen.get("mechanics")
    if mech:
        page.html("<details><summary>Mechanics settings</summary><pre>"
                  f"{esc(json.dumps(mech, indent=2, sort_keys=True))}</pre></details>")


def issue_quantities(run: RunData) -> list[str]:
    """The registry's quantities that are issue outcomes (not breakout time, war costs or other quantities)."""
    return [n for n in run.of_kind("quantity") if run.issue_of(n)]


def _in_force_note(run: RunData) -> str:
    """What "in force" and "bargained outcome" in the issues' labels mean, for the labels this run uses."""
    labels = [run.label(n) for n in issue_quantities(run)]
    text = ""
    if any(lab.endswith(": in force") for lab in labels):
        text += (" “In force” is what the world state holds on the issue's scale (the programme's constraints, "
                 "the sanctions and support actually in force, the proxy activity exercised; see the World "
                 "section), not what actors declare.")
    if any(lab.endswith(": bargained outcome") for lab in labels):
        text += (" “Bargained outcome” is the compromise of the actors' declared positions (weighted by "
                 "capability × salience, or a deal's terms), for issues no world-state variable holds.")
    return text


def _distributions(page: Page, run: RunData) -> None:
    page.section("Escalation", "escalation")
    page.figure(figures.max_rung_figure(run),
                "Each bar is the share of replicas whose highest rung during the run was that rung (they add up "
                "to 100 %). Black whiskers: 95 % Monte Carlo interval. Bars further right mean more dangerous runs.")
    if run.has(names.DEAL_STEP):
        page.section("Time to a deal", "time-to-deal")
        page.figure(figures.survival_figure(run),
                    f"The line starts at 100 % and drops each time replicas reach a first {run.deal_name}; where it "
                    "ends is the share that never reached one. A steep early drop means deals come quickly. Deals that "
                    "later collapsed still count as reached. Shaded: 95 % interval.")
    page.section("Issue outcomes", "outcomes")
    page.figure(figures.outcome_histograms_figure(run),
                "One panel per issue: bars show how often each final value (0–100) occurred across replicas. "
                "The dashed line and diamond mark where the issue started; the solid line and triangle mark the "
                "median end point. The words under 0 and 100 say what the ends of each scale mean."
                + _in_force_note(run))
    stats = run.summary.get("outcomes", {})
    rows = []
    for name in issue_quantities(run):
        issue = str(run.issue_of(name))
        s, meta = stats.get(issue, {}), run.issue(issue)
        rows.append((run.label(name), f"{meta['scale_0']} → {meta['scale_100']}", num(s.get("start")),
                     f"{num(s.get('q50'))} ± {num(s.get('q50_se'))}", f"{num(s.get('mean'))} ± {num(s.get('se'))}",
                     f"{num(s.get('q05'))} – {num(s.get('q95'))}"))
    page.table(["Issue", "Scale 0 → 100", "Start", "Median end ± se", "Mean end ± se", "90 % of replicas"], rows,
               numeric=[2, 3, 4, 5])
    page.section("Actors", "actors")
    page.figure(figures.utility_figure(run),
                "One violin per actor: its width shows how often the actor ended with that utility, judged by "
                "the actor's baseline preferences (further right = better for that actor; comparable across "
                "scenarios). Inside: box = middle half of replicas, line = median, dashed line = mean."
                + sample_note(len(run.outcomes)))
    ustats = run.summary.get("utilities", {})
    actors = []
    for name in run.of_kind("utility"):
        u = ustats.get(run.actor_of(name) or name, {})
        actors.append((run.label(name), f"{num(u.get('mean'), 3)} ± {num(u.get('se'), 3)}", num(u.get("q50"), 3),
                     f"{num(u.get('q05'), 3)} – {num(u.get('q95'), 3)}"))
    page.table(["Actor", "Mean ± se", "Median", "90 % of replicas"], actors, numeric=[1, 2, 3])


def _over_time(page: Page, run: RunData) -> None:
    page.section("Over time", "time",
                 "Fan charts: the dark line is the median across all replicas at each step, the dark band holds "
                 "the middle half of replicas and the light band 90 % of them. Thin grey lines are individual "
                 "sample replicas, to show that single paths wander more than the median does.")
    if run.quantiles.empty:
        page.note("This run stored no per-step quantiles (trajectory_quantiles.parquet), so there are no fan charts.")
        return
    page.figure(figures.fan_figure(run, "escalation"),
                "Rung of the escalation ladder by step. The dotted line is the mean rung. Grey sample lines are "
                "nudged slightly apart so they do not hide each other.")
    first = names.issue_outcome(run.issue_ids[0]) if run.issue_ids else ""
    for issue in run.issue_ids:
        meta = run.issue(issue)
        column = names.issue_outcome(issue)
        what = sentence(run.label(column)) if run.has(column) else meta["label"]
        page.figure(figures.fan_figure(run, column),
                    f"{what}, by step: towards 0 = {meta['scale_0']}, towards 100 = {meta['scale_100']}. "
                    "Hover to read the percentiles at a step." + _in_force_note(run) * (column == first))


def _stories(page: Page, run: RunData) -> None:
    page.section("Stories of single replicas", "stories",
                 "What individual runs looked like, step by step, from the event log. Each chart shows the "
                 "escalation rung over time; markers are logged events (hover for what happened), green shading "
                 f"is a period with a {run.deal_name} in force. A change of rung without a marker was not caused "
                 "by a logged event.")
    picked, notes = stories.pick_stories(run)
    for story in picked:
        page.heading(story.title)
        page.paragraph(stories.story_sentence(run, story.replica))
        page.figure(stories.timeline_figure(run, story), f"Why this replica: {story.why}")
        lines = stories.event_lines(run, story.replica)
        if lines:
            items = "".join(f"<li>{esc(line)}</li>" for line in lines)
            page.html(f'<ol class="events">{items}</ol>')
        else:
            page.paragraph("No events were logged for this replica.", cls="muted")
    for note in notes:
        page.note(note)
    if run.events.empty:
        page.note("The event log is empty for this run, so the stories show only the escalation path.")


def _drivers(page: Page, run: RunData) -> None:
    """What drives these numbers: given-data first-order indices from the run's own replicas (sim.explore)."""
    from sim.explore.given_data import drivers_section

    drivers_section(page, run)


def build_run_page(run: RunData) -> Page:
    """Assemble the report page of one run (no file written)."""
    page = Page(f"Run report: {run.scenario_name}")
    _header(page, run)
    from sim.report.case import case_section

    case_section(page, run)                  # a backtest case's forecast (sim/report/case.py); other runs: nothing
    _key_facts(page, run)
    _changes(page, run)
    _distributions(page, run)
    _over_time(page, run)
    world.world_section(page, run)
    _stories(page, run)
    _drivers(page, run)
    page.paragraph("Generated by geosim (sim.report). The page is self-contained and works offline.", cls="muted")
    return page


def render_run_report(run_dir: str | Path) -> Path:
    """Write ``run_dir/report.html`` for a complete run folder and return its path."""
    run = load_run(run_dir)
    return write_html_atomic(run.path / "report.html", build_run_page(run).render())
