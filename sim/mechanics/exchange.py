"""Issue linkage and exchange after Stokman & van Oosten (1994).

Source
------
- Stokman, F. N. & van Oosten, R. (1994). "The exchange of voting positions: an object-oriented model of policy
  networks." In Bueno de Mesquita & Stokman (eds.), *European Community Decision Making*, Yale UP, 105-127.

Two actors i and j who weigh two issues p and q differently trade concessions: i moves its position on p toward
j's (which it cares about less), j moves on q toward i's. With the compromise outcome ``O_k = sum w_ak x_ak / W_k``
(``w = c s``), a shift of i's position by ``Δ_i`` moves ``O_p`` by ``a = w_ip Δ_i / W_p``; j's shift moves ``O_q``
by ``b = w_jq Δ_j / W_q``. With the two actors on opposite sides of the expected outcome on both issues (the
condition under which a concession by one is a gain for the other), gains are ``G_i = s_iq b - s_ip a`` and ``G_j = s_jp a - s_jq b``; both are positive
only if ``s_jp / s_jq > s_ip / s_iq``. The **equal-gain** exchange rate sets ``G_i = G_j``:

    b = a (s_ip + s_jp) / (s_iq + s_jq),

and the exchange is as large as it can be until one actor reaches the other's position (Stokman & van Oosten's
rule) or an outcome reaches the beneficiary's position, of which a share ``rate`` is realised per step. An exchange
takes place only if both actors believe the other will deliver: a chance event with probability
``floor + (1 - floor) · τ_ij · τ_ji`` (τ the trust after mediation; this project's choice, docs/model.md). Each
link draws from its own substream (``exchange/<a>:<issue_a>-<b>:<issue_b>``), so adding a link changes no other
link's numbers.

**Brokered exchange** (this project's extension, docs/model.md): j's concession on q may be delivered by a client k
(Russia "bringing Iran to a deal"): k's position moves instead of j's, by at most ``leverage`` × the distance, and
the gains are computed with j's saliences (j is the party to the exchange).
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sim.knowledge import Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim.mechanics.compromise import compromise
from sim.world import Index, World


@dataclass(frozen=True)
class Link:
    """Index form of an exchange link: i concedes on p, j on q (delivered by k; k == j when direct)."""

    i: int
    p: int
    j: int
    q: int
    k: int


def exchange(x: np.ndarray, s: np.ndarray, w: np.ndarray, link: Link, trusted: np.ndarray, *,
             rate: np.ndarray | float, leverage: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Apply one link's exchange in place on ``x`` (A, I, R); returns ``(done (R,), size of O_p move (R,))``.

    ``s`` saliences (A, I, R) in [0, 1]; ``w`` format weights c·s (A, I, R); ``trusted`` (R,) the chance event that
    both sides believe the other will deliver.
    """
    i, p, j, q, k = link.i, link.p, link.j, link.q, link.k
    W_p, W_q = w[:, p].sum(axis=0), w[:, q].sum(axis=0)
    d_p = x[j, p] - x[i, p]                       # i moves toward j on p
    d_q = x[i, q] - x[k, q]                       # k moves toward i on q
    o_p, o_q = compromise(x[:, p], w[:, p]), compromise(x[:, q], w[:, q])      # the expected outcomes
    opposite = ((x[i, p] - o_p) * (x[j, p] - o_p) < 0) & ((x[i, q] - o_q) * (x[k, q] - o_q) < 0)
    gainful = opposite & (s[j, p] * s[i, q] > s[i, p] * s[j, q])
    ratio = (s[i, p] + s[j, p]) / np.maximum(s[i, q] + s[j, q], 1e-12)
    reach: np.ndarray | float = 1.0 if k == j else leverage
    a_from_i = w[i, p] * np.abs(d_p) / np.maximum(W_p, 1e-12)
    a_from_k = reach * w[k, q] * np.abs(d_q) / np.maximum(W_q, 1e-12) / np.maximum(ratio, 1e-12)
    # the outcome may not be pushed past the beneficiary's own position (the gains are linear up to there)
    a_cap = np.minimum(np.abs(x[j, p] - o_p), np.abs(x[i, q] - o_q) / np.maximum(ratio, 1e-12))
    a = rate * np.minimum(np.minimum(a_from_i, a_from_k), a_cap)
    done = gainful & trusted & (a > 1e-9)
    a = np.where(done, a, 0.0)
    delta_i = a * W_p / np.maximum(w[i, p], 1e-12)
    delta_k = a * ratio * W_q / np.maximum(w[k, q], 1e-12)
    x[i, p] += np.sign(d_p) * np.minimum(delta_i, np.abs(d_p))
    x[k, q] += np.sign(d_q) * np.minimum(delta_k, np.abs(d_q))
    return done, a


class ExchangeLink(BaseModel):
    """Actor ``a`` concedes on ``issue_a`` to ``b``, who concedes on ``issue_b`` (moved by ``delivered_by`` if set)."""

    a: str
    issue_a: str
    b: str
    issue_b: str
    model_config = ConfigDict(extra="forbid")

    delivered_by: str | None = None
    note: str = ""

    @property
    def key(self) -> str:
        """The link's name, used for its substream: ``a:issue_a-b:issue_b`` (``>k`` if brokered)."""
        via = f">{self.delivered_by}" if self.delivered_by else ""
        return f"{self.a}:{self.issue_a}-{self.b}:{self.issue_b}{via}"


class ExchangeSpec(MechanismSpec):
    """``mechanics.exchange``: the links that may be traded and the exchange's rates."""

    rate: Share
    leverage: Share
    trust_floor: Share
    links: list[ExchangeLink] = Field(max_length=16)

    def references(self) -> list[Ref]:
        refs: list[Ref] = []
        for n, link in enumerate(self.links):
            refs += [(f"links.{n}.{f}", getattr(link, f), "actor") for f in ("a", "b", "delivered_by")]
            refs += [(f"links.{n}.{f}", getattr(link, f), "issue") for f in ("issue_a", "issue_b")]
        return refs

    def check(self, actors: list[str], issues: list[str]) -> str | None:
        keys = [link.key for link in self.links]
        dup = next((k for k in keys if keys.count(k) > 1), None)
        return f"links: got {dup!r} twice; allowed: each link once" if dup else None


@register
class Exchange(Mechanism[ExchangeSpec]):
    """Issue linkage and equal-gain exchange of positions (Stokman & van Oosten 1994); the brokered exchange is
    this project's extension."""

    name = "exchange"
    Spec = ExchangeSpec
    reads = ("effective_trust", "rung")

    @classmethod
    def streams(cls, section: ExchangeSpec, index: Index) -> list[str]:
        return [f"{cls.name}/{link.key}" for link in section.links]

    def init(self, world: World) -> None:
        ix = self.index
        self.links = [(Link(ix.a(l.a), ix.i(l.issue_a), ix.a(l.b), ix.i(l.issue_b), ix.a(l.delivered_by or l.b)),
                       f"{self.name}/{l.key}") for l in self.section.links]

    def step(self, world: World) -> None:
        c, ix = self.c, self.index
        trust = world["effective_trust"]
        for link, stream in self.links:
            u = self.draw(stream).uniform()
            trusted = u < c.trust_floor + (1 - c.trust_floor) * trust[link.i, link.j] * trust[link.j, link.i]
            done, _ = exchange(world.position, world.salience, world.weight, link, trusted, rate=c.rate,
                               leverage=c.leverage)
            via = f" (delivered by {ix.name(link.k)})" if link.k != link.j else ""
            self.log.record(done, world.step, ix.actors[link.i], "exchange",
                            f"{ix.name(link.i)} concedes on {ix.label(link.p)} for {ix.name(link.j)}'s move on "
                            f"{ix.label(link.q)}{via}", world["rung"], world["rung"])
