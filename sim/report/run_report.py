"""The HTML report of one run: ``render_run_report(run_dir)`` writes ``run_dir/report.html``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim import outcomes as names
from sim.report import figures, headline, stories, world
from sim.report.labels import mid_sentence, num, pct_se, pretty_path, rung_label, sentence, value_text
from sim.report.mechanics_words import describe, mechanics_diff
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
    start = headline.baseline_month(run.spec)
    page.section("Key probabilities", "probabilities",
                 f"Share of replicas in which each event happened within the run's horizon ({run.steps} months, "
                 f"{headline.month_name(start, 0, short=False)} to {headline.month_name(start, run.steps, False)}). "
                 "± is the Monte Carlo standard error: the uncertainty from running a finite number of replicas, "
                 "not the uncertainty of the real world (see 'How uncertain' below).")
    facts = []
    if run.has(headline.HEADLINE_OUTCOME):
        p = run.probability(headline.HEADLINE_OUTCOME)
        page.html(f'<p class="headline"><b>{esc(headline.headline_label(run.steps))}: '
                  f'{esc(pct_se(p.get("p"), p.get("se")))}</b> — the headline deal figure: a {esc(run.deal_name)} '
                  "signed at some point, whether or not it holds.</p>")
    if run.has(headline.SECONDARY_OUTCOME):
        p = run.probability(headline.SECONDARY_OUTCOME)
        facts.append(f"Secondary: {headline.SECONDARY} = {pct_se(p.get('p'), p.get('se'))} (signed and still "
                     "holding in the last month).")
    if run.has(names.DEAL_BROKEN):
        p = run.probability(names.DEAL_BROKEN)
        facts.append(f"{sentence(run.label(names.DEAL_BROKEN))} in {pct_se(p.get('p'), p.get('se'))} of replicas.")
    if run.has(names.WAR):
        war = run.probability(names.WAR)
        facts.append(f"Escalation reached the top rung ({run.label(names.WAR)}) in "
                     f"{pct_se(war.get('p'), war.get('se'))}.")
    for name in run.of_kind("step"):
        if name == names.DEAL_SIGNED_STEP and run.has(names.DEAL_STEP):
            continue                                 # the same month under the world-state outcomes' name
        t = run.timing(name)
        median = t.get("median")
        if median is not None:
            med = int(round(float(median)))
            facts.append(f"Median {run.label(name)}, among replicas where it happened: month {med} "
                         f"({headline.month_name(start, med)}; middle half between months {num(t.get('q25'), 0)} "
                         f"and {num(t.get('q75'), 0)}).")
    page.bullets(facts, cls="keyfacts")
    rows: list[tuple[str, str]] = []
    for name in run.of_kind("probability"):
        p = run.probability(name)
        label = (headline.HEADLINE if name == headline.HEADLINE_OUTCOME else headline.SECONDARY
                 if name == headline.SECONDARY_OUTCOME else f"P({run.label(name)})")
        rows.append((label, pct_se(p.get("p"), p.get("se"))))
    for r in run.summary.get("probabilities", {}).get("max_rung", []):
        rows.append((f"{sentence(run.label(names.MAX_RUNG))} = {rung_label(int(r['rung']), run.rungs)}",
                     pct_se(r.get("p"), r.get("se"))))
    page.table(["Event", "Probability ± standard error"], rows, numeric=[1])
    _by_horizon(page, run)


def _by_horizon(page: Page, run: RunData) -> None:
    table = headline.by_horizon(run.outcomes, run.steps)
    if table.empty:
        return
    start = headline.baseline_month(run.spec)
    hs = headline.horizons(run.steps)
    page.heading("By horizon: the number depends on how long you wait")
    rows = []
    for column, part in table.groupby("column", sort=False):
        what = str(part["what"].iloc[0])
        rows.append([f"P({what} by …)", *(pct_se(float(p), float(se)) for p, se in zip(part["p"], part["se"]))])
    page.table(["Event", *(f"{h} months ({headline.month_name(start, h)})" for h in hs)], rows,
               numeric=list(range(1, len(hs) + 1)),
               caption="Share of replicas in which the event had happened by the end of that month (from each "
                       "replica's first month of it), ± Monte Carlo standard error. The last column is the run's "
                       "horizon: the deal row there is the headline figure.")


def _conditional(page: Page, run: RunData) -> None:
    rows = headline.conditionals(run.outcomes)
    if not rows:
        return
    page.section("Conditional results", "conditional",
                 "How the outcomes hang together across replicas: each probability is computed among the replicas "
                 "in which the condition held (n of them), ± its Monte Carlo standard error. These are associations "
                 "within the model, not causal effects.")
    page.table(["Conditional probability", "Probability ± se", "Replicas in the condition"],
               [(r["label"], pct_se(r["p"], r["se"]) if r["n"] else "– (never happened)", f"{r['n']:,}")
                for r in rows], numeric=[1, 2])
    if not run.has(names.WAR):
        return
    out = []
    for name in issue_quantities(run):
        d = headline.with_and_without(run.outcomes, name, names.WAR)
        out.append((run.label(name), f"{num(d['with'])} ± {num(d['with_se'])}",
                    f"{num(d['without'])} ± {num(d['without_se'])}"))
    for name in run.of_kind("utility")[:8]:
        d = headline.with_and_without(run.outcomes, name, names.WAR)
        out.append((f"Utility: {run.label(name)}", f"{num(d['with'], 3)} ± {num(d['with_se'], 3)}",
                    f"{num(d['without'], 3)} ± {num(d['without_se'], 3)}"))
    n_war = int(run.outcomes[names.WAR].astype(bool).sum())
    page.table(["Outcome (mean at the end)", f"With regional war (n = {n_war:,})",
                f"Without (n = {len(run.outcomes) - n_war:,})"], out, numeric=[1, 2],
               caption="Mean final outcome (issues on their 0–100 scale, utilities in utility units) ± standard "
                       "error, among replicas that did and did not reach regional war.")


#: Where intervals are known to be too narrow (docs/validation.md); shown beside the spread.
CAVEAT = ("Caveat: the bargaining core's predictive intervals under-cover on held-out data (DEU III test split, "
          "docs/validation.md: its 50 % and 90 % intervals covered 41 % and 82 %; split-conformal ones frozen on dev, "
          "41 % and 90 %), so treat every interval on this page as too narrow rather than too wide.")


def _deep_uncertainty(page: Page, run: RunData) -> None:
    from sim.explore.given_data import _uncertainty, read_parameters

    page.section("How uncertain: beyond Monte Carlo", "uncertainty",
                 "The ± above is only Monte Carlo noise. The inputs (the knowledge base's values"
                 + (" and the mechanism constants" if _uncertainty(run) == "all" else "")
                 + ") are uncertain too: each replica drew them from their ranges. Below, for each key "
                 "probability, how far it moves with those inputs, from this run's own replicas.")
    params = read_parameters(Path(run.path) / "parameters.parquet")
    rows = []
    for name, label in ((headline.HEADLINE_OUTCOME, headline.HEADLINE), (headline.SECONDARY_OUTCOME,
                                                                       headline.SECONDARY),
                        (names.FIRST_STRIKE, None), (names.WAR, None)):
        if not run.has(name):
            continue
        d = headline.deep_spread(params, run.outcomes, name)
        p = run.probability(name)
        text = label or f"P({run.label(name)})"
        if d is None:
            rows.append((text, pct_se(p.get("p"), p.get("se")), "–", "–"))
            continue
        lead = (f"{pct_se(d['low'], d['low_se'])} → {pct_se(d['high'], d['high_se'])} "
                f"({d['lead']}, lowest → highest fifth)" if d["significant"] else "no single input stands out")
        spread = (f"≥ {100 * d['sd_low']:.1f} pp" if d["sd_low"] > 0 else
                  f"not detectable from {d['n']:,} replicas")
        rows.append((text, pct_se(p.get("p"), p.get("se")), spread, lead))
    page.table(["Probability", "Estimate ± Monte Carlo se", "Spread across the inputs (sd, at least)",
                "The leading input moves it"], rows, numeric=[1, 2],
               caption="Spread: a lower bound on the standard deviation of the probability across the drawn "
                       "inputs, √(Σ S1 · p(1 − p)) with S1 the first-order indices above noise (interactions left "
                       "out, so the true spread is larger). Leading input: the probability among replicas whose "
                       "value of the input with the largest S1 lies in its lowest and highest fifth.")
    if _uncertainty(run) == "knowledge":
        page.paragraph("This run drew only the knowledge base's values (uncertainty=knowledge): the mechanism and "
                       "decision constants were held at their modes, which hides part of the deep uncertainty. "
                       "Run with uncertainty=all, or python -m sim.explore (Sobol indices over every input), for "
                       "the rest.", cls="muted")
    page.note(CAVEAT)


def _changes(page: Page, run: RunData) -> None:
    scen = run.spec.get("scenario", {})
    page.section("What this scenario changes", "changes",
                 "How this scenario differs from the baseline: first the mechanics (who can trade what, who "
                 "mediates, who is left out, where the crisis starts), then the parameters, with where each value "
                 "comes from. A value given as a range is drawn anew for each replica (triangular: low, most "
                 "likely, high).")
    mech = scen.get("mechanics")
    lines = mechanics_lines(run)
    if lines:
        page.heading("Mechanics")
        page.bullets(lines, cls="mechanics")
    rows = []
    for ch in scen.get("changes") or []:
        src: dict[str, Any] = ch.get("source") or {}
        where = (f"{src.get('seed', '–')}" + (f": “{src['where']}”" if src.get("where") else "")
                 + (f": {src['cite']}" if src.get("cite") else ""))
        base = value_text(ch["baseline"]) if ch.get("baseline") else "– (new: not in the baseline)"
        rows.append((pretty_path(ch.get("path", ""), run.spec), ch.get("path", ""), base,
                     value_text(ch.get("value")), where, src.get("why", "")))
    if rows:
        page.heading("Parameters")
        page.table(["Parameter", "Path", "Baseline value", "Scenario value", "Source", "Why"], rows)
    elif not lines:
        page.paragraph("This scenario changes no parameters or mechanics (it is the baseline).")
    if mech:
        page.html("<details><summary>All mechanics settings (raw)</summary><pre>"
                  f"{esc(json.dumps(mech, indent=2, sort_keys=True))}</pre></details>")


def mechanics_lines(run: RunData) -> list[str]:
    """The scenario's mechanics, against the base config, in sentences (:mod:`sim.report.mechanics_words`)."""
    mech = run.spec.get("scenario", {}).get("mechanics") or {}
    issue = (lambda i: mid_sentence(run.issue(i)["label"], {run.actor_name(a) for a in run.actor_ids})
             if i in run.issue_ids else str(i))
    lines: list[str] = []
    for change in mechanics_diff(mech):
        lines += describe(change, run.actor_name, issue, run.rungs, mech, run.actor_ids)
    return lines


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
    _conditional(page, run)
    _deep_uncertainty(page, run)
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
