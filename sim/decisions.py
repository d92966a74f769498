"""What the actors decide each month and the rules that can be switched off (imports neither mesa nor numpy)."""

from __future__ import annotations

#: The propensity fields the actors write each month (A, R), and what each is.
DECISION_FIELDS: dict[str, str] = {
    "p_retaliate": "P(retaliatory strike on the proxies) after a proxy attack on this actor",
    "p_counter": "P(escalating) while fighting",
    "p_spoil": "P(striking to derail a deal it rejects)",
    "p_strike": "P(a counter-proliferation strike) this month",
    "p_respond": "P(answering a strike on its territory)",
    "p_advance": "P(expanding its nuclear programme) this month",
    "p_talks": "P(entering talks) this month",
    "p_snapback": "P(triggering the snapback of UN sanctions) this month",
    "p_harass": "P(harassing shipping in the Strait of Hormuz) this month",
    "p_close": "P(closing the Strait of Hormuz) this month",
    "p_arms": "P(delivering advanced arms to its partner) this month",
    "proxy_target": "the proxy activity it orders (0..100)",
    "sanctions_target": "the sanctions it wants in force (0..100)",
}

#: Rules that can be switched off one at a time (``decisions.disabled``), for ablations.
RULES = ("retaliation", "counter_escalation", "counter_proliferation", "coercive_deadline", "alliance_restraint",
         "spoiling", "sanctions_pressure", "talks", "hedging", "response", "proxy_surge", "proxy_restraint", "hormuz", "snapback", "arms",
         "balancing")
