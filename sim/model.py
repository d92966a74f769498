"""The Mesa model: R Monte Carlo replicas advancing in lockstep.

State lives in numpy arrays with the replica axis last (:class:`sim.state.State`); the six actors are Mesa agents
holding their decision rules (:mod:`sim.agents`); the published mechanics are pure functions
(:mod:`sim.mechanics`). A step (one month) runs the phases in a fixed order:

1. **escalate** — chance proxy incidents, retaliation and counter-escalation, de-escalation, trust erosion;
2. **spoil** — spoilers strike at a deal they dislike;
3. **exchange** — linked issues are traded (Stokman & van Oosten), possibly brokered;
4. **bargain** — expected-utility challenges and offers on every issue (Bueno de Mesquita / Scholz et al.),
   relayed by a mediator where one acts; an actor moves part of the way to the offer it accepts (move_rate);
5. **settle** — the compromise outcome of every issue, deal signing and collapse;
6. **record** — trajectories and summaries.

Per-replica branches are masks; there is no Python loop over replicas. Uniform draws are made in the same order
and shape every step whatever the scenario, so scenarios share random numbers (sim.streams).
"""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

import mesa
import numpy as np

from sim.agents import Actor
from sim.events import EventLog
from sim.mechanics import bargaining, deal, escalation, exchange, mediation
from sim.mechanics.compromise import compromise
from sim.recorder import Recorder
from sim.mechanics.escalation import TOP_RUNG
from sim.spec import RunSpec
from sim.state import initial_state
from sim.streams import BlockStreams

#: Uniforms drawn per step for chance events: 5 ladder, spoiler, signing, collapse, then one per exchange link.
MAX_LINKS = 8
N_EVENT_UNIFORMS = 8 + MAX_LINKS


class KernelInputs(NamedTuple):
    """What the bargaining kernels take besides positions and acceptances (see ``GeoModel._kernel_inputs``)."""

    c: np.ndarray                   #: format capability (A, I·R)
    s: np.ndarray                   #: salience (A, I·R)
    scale: np.ndarray               #: issue range (I·R,)
    active: np.ndarray              #: every actor takes part (A, I·R)
    concession: np.ndarray          #: move rate × mediator bias factor (A, A, I·R)
    risk: np.ndarray | None         #: risk exponents (A, I·R), None when endogenous (recomputed every round)


class GeoModel(mesa.Model):
    """Many replicas of the six-actor bargaining-and-escalation model, advanced together."""

    def __init__(self, spec: RunSpec, streams: BlockStreams, *, replica_ids: np.ndarray, n_logged: int = 0,
                 n_stored: int = 0):
        super().__init__()
        self.spec = spec
        self.streams = streams
        self.state = initial_state(spec, streams)
        self.actors_by_id = {aid: Actor(self, k, aid, spec.knowledge.actors[aid].name)
                             for k, aid in enumerate(spec.actor_ids)}
        self.roster = list(self.actors_by_id.values())
        self.log = EventLog(replica_ids[:n_logged])
        self.recorder = Recorder(spec, self.state, n_stored, n_live=len(replica_ids))
        self._index()
        st = self.state
        st.outcome = compromise(st.position, self.weight)
        st.start_outcome = st.outcome.copy()
        self.phases = (self.escalate, self.spoil, self.exchange, self.bargain, self.settle, self.record)

    def _index(self) -> None:
        """Translate the spec's actor and issue names into array indices once."""
        a = {aid: k for k, aid in enumerate(self.spec.actor_ids)}
        i = {iid: k for k, iid in enumerate(self.spec.issue_ids)}
        m = self.spec.mechanics
        self.mediator = a[m.mediation.mediator] if m.mediation.mediator else None
        self.mediated_parties = tuple(a[p] for p in m.mediation.parties)
        self.mediated_issues = [i[k] for k in m.mediation.issues]
        self.deal_parties = (a[m.deal.parties[0]], a[m.deal.parties[1]])
        self.deal_issues = [i[k] for k in m.deal.issues]
        self.sponsor = self.roster[a[m.escalation.proxy_sponsor]]
        self.targets = [self.roster[a[t]] for t in m.escalation.targets]
        self.spoilers = [self.roster[a[s]] for s in m.mediation.spoilers]
        self.proxy_issue = i.get("iran_proxies")
        self.links = [exchange.Link(a[l.a], i[l.issue_a], a[l.b], i[l.issue_b], a[l.delivered_by or l.b])
                      for l in m.exchange.links][:MAX_LINKS] if m.exchange.enabled else []
        base_align = np.array(self.spec.knowledge.alignment_matrix())
        self.adversaries = base_align < 0
        self.format_capability = mediation.format_capability(
            self.state.capability, len(self.spec.issue_ids), [a[s] for s in m.mediation.sidelined],
            self.mediated_issues, m.mediation.sideline_factor if self.mediator is not None else 1.0)
        self.weight = self.format_capability * self.state.salience     # w = c' s (A, I, R): fixed over a run

    # ------------------------------------------------------------------------------------------------------
    def step(self) -> None:
        """One month: the phases in order (see the module docstring)."""
        for phase in self.phases:
            phase()

    def run(self, steps: int) -> None:
        """Record the start, then advance ``steps`` months."""
        self.recorder.record(self.state)
        for _ in range(steps):
            self.step()

    # --- phases ---------------------------------------------------------------------------------------------
    def escalate(self) -> None:
        st, esc = self.state, self.spec.mechanics.escalation
        st.step += 1
        self.u = self.streams.uniform(N_EVENT_UNIFORMS)
        proxy = (self.sponsor.position[self.proxy_issue] / 100.0 if self.proxy_issue is not None
                 else np.full(st.n_replicas, 0.5))
        p_incident = (esc.incident_base + esc.incident_proxy * proxy) * np.where(
            st.deal, self.spec.mechanics.deal.proxy_restraint, 1.0)
        p_ret = np.stack([t.retaliation_probability() for t in self.targets])
        p_counter = self.sponsor.counter_escalation_probability()
        mean_trust = (st.trust[self.adversaries].mean(axis=0) if self.adversaries.any()  # adversaries' mean, (R,)
                      else np.ones(st.n_replicas))
        p_deesc = np.clip(esc.deescalation * (0.5 + mean_trust) * (1.0 + (self.mediator is not None))
                          * (1.0 + st.deal), 0.0, 1.0)
        before = st.rung.copy()
        st.rung, ev = escalation.step_ladder(st.rung, self.u[:5], p_incident, p_ret, p_counter, p_deesc)
        st.max_rung = np.maximum(st.max_rung, st.rung)
        escalation.erode_trust(st.trust, self.adversaries, st.rung, esc.trust_erosion)
        self._log_ladder(ev, before)

    def spoil(self) -> None:
        st = self.state
        st.spoiled = np.zeros(st.n_replicas, bool)
        near = deal.gap(st.position, self.deal_parties, self.deal_issues) <= 2 * self.spec.mechanics.deal.tolerance
        point = deal.terms(st.position, self.weight, self.deal_parties, self.deal_issues)
        free = compromise(st.position, self.weight)    # the outcome without a deal, against which it is judged
        for spoiler in self.spoilers:
            pressure = mediation.spoiler_pressure(st.position, st.salience, spoiler.index, free, point,
                                                  self.deal_issues)
            strike = (near | st.deal) & (st.rung < TOP_RUNG) & (self.u[5] < spoiler.spoiler_probability(pressure))
            before = st.rung.copy()
            st.rung = np.where(strike, np.maximum(st.rung, escalation.STRIKE_RUNG), st.rung).astype(np.int8)
            st.max_rung = np.maximum(st.max_rung, st.rung)
            p, q = self.deal_parties
            st.trust[q, p] *= np.where(strike, 0.7, 1.0)
            st.spoiled |= strike
            self.log.record(strike, st.step, spoiler.actor_id, "spoiler_strike",
                            f"{spoiler.name} strikes to derail a deal it rejects", before, st.rung)

    def exchange(self) -> None:
        st, ex = self.state, self.spec.mechanics.exchange
        trust = self._effective_trust()
        for n, link in enumerate(self.links):
            trusted = self.u[8 + n] < ex.trust_floor + (1 - ex.trust_floor) * trust[link.i, link.j] * trust[link.j, link.i]
            done, _ = exchange.exchange(st.position, st.salience, self.weight, link, trusted, rate=ex.rate,
                                        leverage=ex.leverage)
            a, b = self.roster[link.i], self.roster[link.j]
            via = f" (delivered by {self.roster[link.k].name})" if link.k != link.j else ""
            self.log.record(done, st.step, a.actor_id, "exchange",
                            f"{a.name} concedes on {self._label(link.p)} for {b.name}'s move on "
                            f"{self._label(link.q)}{via}",
                            st.rung, st.rung)

    def bargain(self) -> None:
        st, bg = self.state, self.spec.mechanics.bargaining
        A, I, R = st.position.shape
        trust = self._effective_trust()
        accept_p = bg.trust_floor + (1.0 - bg.trust_floor) * trust                       # (A, A, R)
        k = self._kernel_inputs
        for _ in range(bg.rounds_per_step):
            u = self.streams.uniform(A, A, I)
            accept = (u < accept_p[:, :, None, :]).reshape(A, A, I * R)
            x = st.position.reshape(A, I * R).astype(k.c.dtype)
            r = (bargaining.endogenous_risk(x, k.c, k.s, k.scale, k.active, bg.probability) if k.risk is None
                 else k.risk)
            new_x, chosen = bargaining.bargaining_moves(x, k.c, k.s, r, k.scale, k.active, accept, bg.offer_rule,
                                                        bg.probability, k.concession)
            st.position = new_x.reshape(A, I, R).astype(st.position.dtype)
            self._log_offers(chosen.reshape(A, I, R))

    @cached_property
    def _kernel_inputs(self) -> KernelInputs:
        """The bargaining kernels' fixed inputs, (A, I·R) with issues × replicas as the batch, in the kernels'
        precision (they compute in the float type of their inputs): built once, they do not change over a run."""
        st, bg = self.state, self.spec.mechanics.bargaining
        A, I, R = st.position.shape
        f = np.dtype(bg.precision)
        concession = bg.move_rate * mediation.concession_scale(st.alignment, self.mediator, self.mediated_parties,
                                                               self.spec.mechanics.mediation.bias, A, R)
        return KernelInputs(
            c=self.format_capability.reshape(A, I * R).astype(f),
            s=st.salience.reshape(A, I * R).astype(f),
            scale=st.scale.reshape(I * R).astype(f),
            active=np.ones((A, I * R), bool),
            concession=np.broadcast_to(concession.astype(f)[:, :, None, :], (A, A, I, R)).reshape(A, A, I * R),
            risk=None if bg.risk == "endogenous"
            else np.broadcast_to(st.risk.astype(f)[:, None, :], (A, I, R)).reshape(A, I * R))

    def settle(self) -> None:
        st, dl = self.state, self.spec.mechanics.deal
        st.outcome = compromise(st.position, self.weight)
        war = st.rung >= TOP_RUNG
        converged = deal.gap(st.position, self.deal_parties, self.deal_issues) <= dl.tolerance
        signed = deal.signing(converged, st.deal, war, st.rung, self.u[6], dl.ratify, TOP_RUNG)
        broken = deal.collapse(st.deal, st.rung, st.spoiled, self.u[7], dl.breakdown_base, dl.breakdown_escalation)
        before = st.rung.copy()
        st.rung = np.where(signed, np.maximum(st.rung - dl.deescalation, 0), st.rung).astype(np.int8)
        st.deal_step = np.where(signed & (st.deal_step < 0), st.step, st.deal_step).astype(np.int16)
        st.deal = (st.deal | signed) & ~broken
        st.deal_broken |= broken
        p, q = self.deal_parties
        for a, b in ((p, q), (q, p)):
            st.trust[a, b] *= np.where(broken, 0.5, 1.0)
        terms = deal.terms(st.position, self.weight, self.deal_parties, self.deal_issues)
        st.outcome[self.deal_issues] = np.where(st.deal, terms, st.outcome[self.deal_issues])
        us, iran = self.roster[p], self.roster[q]
        self.log.record(signed, st.step, us.actor_id, "deal_reached",
                        f"{us.name} and {iran.name} sign a nuclear deal", before, st.rung)
        self.log.record(broken, st.step, iran.actor_id, "deal_collapse", "the nuclear deal collapses",
                        st.rung, st.rung)

    def record(self) -> None:
        self.recorder.record(self.state)

    # --- helpers ----------------------------------------------------------------------------------------
    def _effective_trust(self) -> np.ndarray:
        st = self.state
        return mediation.effective_trust(st.trust, st.capability, self.mediator, self.mediated_parties,
                                         self.spec.mechanics.mediation.credibility)

    def _label(self, k: int) -> str:
        """An issue's label in words, for the event log ("Iran's nuclear programme")."""
        return self.spec.knowledge.issues[self.spec.issue_ids[k]].label

    def _log_ladder(self, ev: escalation.EscalationEvents, before: np.ndarray) -> None:
        if not self.log.active:
            return
        st, t = self.state, self.state.step
        sponsor = self.sponsor
        for k, target in enumerate(self.targets):
            hit = ev.incident & (ev.target == k)
            self.log.record(hit, t, sponsor.actor_id, "militia_attack",
                            f"{sponsor.name}-backed militia attack on {target.name}", before, ev.after_incident)
            self.log.record(hit & ev.retaliation, t, target.actor_id, "retaliatory_strike",
                            f"{target.name} retaliatory strike on {sponsor.name}-backed militias",
                            ev.after_incident, ev.after_retaliation)
        self.log.record(ev.counter, t, sponsor.actor_id, "counter_escalation",
                        f"{sponsor.name} counter-escalates", ev.after_retaliation, ev.after_counter)
        self.log.record(ev.deescalation, t, "", "de_escalation", "tensions ease by one rung", before, st.rung)

    def _log_offers(self, chosen: np.ndarray) -> None:
        if not self.log.active:
            return
        p, q = self.deal_parties
        for a, b in ((p, q), (q, p)):
            for k in self.deal_issues:
                took = chosen[a, k] == b
                self.log.record(took, self.state.step, self.roster[a].actor_id, "offer_accepted",
                                f"{self.roster[a].name} accepts {self.roster[b].name}'s offer on "
                                f"{self._label(k)}", self.state.rung, self.state.rung)
