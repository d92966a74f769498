"""What every page says the same way: the headline deal metric, calendar months, probabilities by horizon,
conditional results and the spread the deep uncertainties give.

* **The headline deal metric** is ``deal_ever``, labelled :data:`HEADLINE` ("P(deal signed within the horizon)");
  ``deal`` (a deal in force at the end) is the secondary figure, :data:`SECONDARY`. The README, the run report, the
  sweep page, the comparison page and the what-if app use these two labels.
* **Calendar months**: step t of a run is t months after its baseline date (``knowledge.baseline.as_of``: "March
  2025" for the scenarios, a backtest case's own date for a case), :func:`baseline_month` and :func:`month_name`.
* **By horizon**: P(first signing / first strike / war by month h) from the per-replica first-month columns.
* **Conditional**: P(war | no deal signed), P(deal signed | a first strike) and outcomes with and without war,
  each with its Monte Carlo error.
* **Deep uncertainty**: see :func:`deep_spread`.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from sim import outcomes as names

#: The headline deal metric: a deal signed at some point within the run's horizon (the ``deal_ever`` outcome).
HEADLINE_OUTCOME = names.DEAL_EVER
HEADLINE = "P(deal signed within the horizon)"
#: The secondary deal figure: a deal still in force at the last month (the ``deal`` outcome).
SECONDARY_OUTCOME = names.DEAL
SECONDARY = "P(deal in force at the end)"
#: Horizons (months) the key probabilities are given at (and the run's own last month).
HORIZONS: tuple[int, ...] = (6, 12, 24)

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


def headline_label(steps: int | None = None) -> str:
    """``P(deal signed within the horizon)``, with the horizon in months when known."""
    return f"{HEADLINE[:-1]}, {steps} months)" if steps else HEADLINE


def baseline_month(spec: dict[str, Any]) -> tuple[int, int]:
    """(year, month) of a run's step 0: ``knowledge.baseline.as_of`` of ``spec.json`` ("March 2025" or an ISO date
    "2024-04-02"); March 2025 (the knowledge base's date) when the folder does not say."""
    text = str(((spec.get("spec") or {}).get("knowledge") or {}).get("baseline", {}).get("as_of") or "March 2025")
    m = re.match(r"^\s*(\d{4})-(\d{2})", text)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = re.search(r"([A-Za-z]+)\s+(\d{4})", text)
    if m and m.group(1).capitalize() in _MONTHS:
        return int(m.group(2)), _MONTHS.index(m.group(1).capitalize()) + 1
    return 2025, 3


def month_date(start: tuple[int, int], step: int) -> _dt.date:
    """The first day of the month ``step`` months after ``start``."""
    k = start[0] * 12 + start[1] - 1 + int(step)
    return _dt.date(k // 12, k % 12 + 1, 1)


def month_name(start: tuple[int, int], step: int, short: bool = True) -> str:
    """``Mar 2026`` (or ``March 2026``) for ``step`` months after ``start``."""
    d = month_date(start, step)
    word = _MONTHS[d.month - 1]
    return f"{word[:3] if short else word} {d.year}"


def month_axis(start: tuple[int, int], steps: int, every: int | None = None) -> dict[str, Any]:
    """Plotly axis settings: steps as calendar months (tick every ``every`` months, default 3 or 6)."""
    every = every or (3 if steps <= 36 else 6)
    ticks = list(range(0, steps + 1, every))
    return {"tickvals": ticks, "ticktext": [f"{month_name(start, t)}<br>m{t}" for t in ticks],
            "title": f"Calendar month (m = months after the baseline, {month_name(start, 0, short=False)})"}


# --- probabilities -----------------------------------------------------------------------------------------------
def share(x: np.ndarray) -> tuple[float, float, int]:
    """(share, binomial standard error, n) of a boolean array; NaNs when empty."""
    x = np.asarray(x, dtype=bool)
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, 0
    p = float(x.mean())
    return p, math.sqrt(p * (1 - p) / n), n


def _steps_of(outcomes: pd.DataFrame, column: str) -> np.ndarray:
    """First-month column as floats, NaN where it did not happen (stored NA or −1)."""
    s = outcomes[column].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return np.where(s < 0, np.nan, s)


#: The first-month outcomes the horizon table shows: (column, words), the words fit "P(... by month h)".
BY_HORIZON: tuple[tuple[str, str], ...] = (
    (names.DEAL_STEP, "deal signed"),
    (names.FIRST_STRIKE_STEP, "first interstate strike"),
    (names.WAR_STEP, "regional war begun"),
    (names.SNAPBACK_STEP, "UN sanctions snapped back"),
    (names.HORMUZ_CLOSED_STEP, "Strait of Hormuz closed"),
)


def horizons(steps: int) -> list[int]:
    """6, 12, 24 months up to ``steps``, and ``steps`` itself."""
    return sorted({h for h in HORIZONS if h <= steps} | {steps}) if steps else list(HORIZONS)


def by_horizon(outcomes: pd.DataFrame, steps: int) -> pd.DataFrame:
    """One row per first-month outcome the run has and horizon h: ``column, what, horizon, p, se`` with
    p = share of replicas where it happened in month ≤ h (month 0 is the baseline)."""
    rows = []
    for column, what in BY_HORIZON:
        if column not in outcomes:
            continue
        first = _steps_of(outcomes, column)
        for h in horizons(steps):
            p, se, n = share(first <= h)
            rows.append({"column": column, "what": what, "horizon": h, "p": p, "se": se, "n": n})
    return pd.DataFrame(rows, columns=["column", "what", "horizon", "p", "se", "n"])


def conditionals(outcomes: pd.DataFrame) -> list[dict[str, Any]]:
    """Conditional probabilities with their Monte Carlo error: ``label, p, se, n`` (n = replicas in the
    condition); a row whose condition never happened has p NaN."""
    out = outcomes
    rows: list[dict[str, Any]] = []

    def add(label: str, event: str, cond: np.ndarray) -> None:
        if event not in out:
            return
        p, se, n = share(out[event].astype(bool).to_numpy()[cond])
        rows.append({"label": label, "p": p, "se": se, "n": n})

    has = set(out.columns)
    if {names.DEAL_EVER, names.WAR} <= has:
        deal = out[names.DEAL_EVER].astype(bool).to_numpy()
        add("P(regional war | no deal signed)", names.WAR, ~deal)
        add("P(regional war | deal signed)", names.WAR, deal)
    if {names.DEAL_EVER, names.FIRST_STRIKE} <= has:
        strike = out[names.FIRST_STRIKE].astype(bool).to_numpy()
        add("P(deal signed | an interstate strike)", names.DEAL_EVER, strike)
        add("P(deal signed | no interstate strike)", names.DEAL_EVER, ~strike)
    if {names.DEAL_EVER, names.FIRST_STRIKE_STEP, names.DEAL_STEP} <= has:
        s, d = _steps_of(out, names.FIRST_STRIKE_STEP), _steps_of(out, names.DEAL_STEP)
        struck = ~np.isnan(s)
        p, se, n = share((d > s)[struck])
        rows.append({"label": "P(deal signed after the first strike | an interstate strike)", "p": p, "se": se,
                     "n": n})
    if {names.DEAL, names.WAR} <= has:
        war = out[names.WAR].astype(bool).to_numpy()
        add("P(deal in force at the end | regional war)", names.DEAL, war)
        add("P(deal in force at the end | no regional war)", names.DEAL, ~war)
    return rows


def with_and_without(outcomes: pd.DataFrame, column: str, condition: str) -> dict[str, float]:
    """Mean of ``column`` among replicas with and without ``condition`` (a bool outcome), with standard errors:
    ``with, with_se, n_with, without, without_se, n_without``."""
    cond = outcomes[condition].astype(bool).to_numpy()
    y = outcomes[column].to_numpy(dtype=float)
    res: dict[str, float] = {}
    for key, mask in (("with", cond), ("without", ~cond)):
        v = y[mask & np.isfinite(y)]
        res[key] = float(v.mean()) if v.size else math.nan
        res[f"{key}_se"] = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan
        res[f"n_{key}"] = int(v.size)
    return res


# --- deep uncertainty ----------------------------------------------------------------------------------------
def deep_spread(parameters: pd.DataFrame | None, outcomes: pd.DataFrame, column: str, fifths: int = 5
                ) -> dict[str, Any] | None:
    """How much a probability moves with the inputs this run drew (its own replicas, no design).

    With S1_d the binned first-order index of input d for the 0/1 outcome y (:mod:`sim.explore.given_data`) and
    p = mean(y): ``sd_low = √(max(Σ_d S1_d, 0) · p (1 − p))`` is a lower bound on the standard deviation of
    P(y | inputs) across the drawn inputs (the first-order part of Var(E[y | inputs]), interactions left out);
    ``lead`` is the input with the largest S1, and ``low`` / ``high`` the share of y among the replicas whose value
    of that input lies in its lowest / highest fifth (each ± its binomial standard error). An index counts only
    above ``sd · (√(2 ln P) + 2)`` for P inputs (sd of an idle input's index), so the largest of many idle inputs is
    not taken for an effect. None without drawn inputs or when y does not vary.
    """
    from sim.explore.given_data import binned_first_order

    if parameters is None or column not in outcomes or parameters.shape[1] < 2:
        return None
    merged = parameters.merge(outcomes[["replica", column]], on="replica", how="inner")
    inputs = [c for c in parameters.columns if c != "replica" and merged[c].nunique() > 1]
    y = merged[column].astype(float).to_numpy()
    if not inputs or y.size < 100 or y.min() == y.max():
        return None
    x = merged[inputs].to_numpy(dtype=np.float64).T
    s1, floor = binned_first_order(x, y)
    if not np.isfinite(s1).any():
        return None
    p = float(y.mean())
    # the noise floor is 3 sd of one idle input's index; the largest of P idle inputs reaches about
    # sd · √(2 ln P), so an index counts only above sd · (√(2 ln P) + 2) (many inputs, one run: no false leads)
    floor = floor / 3.0 * (math.sqrt(2.0 * math.log(max(len(inputs), 2))) + 2.0)
    kept = np.where(s1 > floor, s1, 0.0)
    total = float(np.nansum(kept))
    lead = int(np.nanargmax(s1))
    rank = np.argsort(np.argsort(x[lead], kind="stable"), kind="stable")
    fifth = (rank * fifths) // y.size
    lo, lo_se, n_lo = share(y[fifth == 0] > 0.5)
    hi, hi_se, n_hi = share(y[fifth == fifths - 1] > 0.5)
    return {"p": p, "sd_low": math.sqrt(max(total, 0.0) * p * (1 - p)), "sum_s1": total, "lead": inputs[lead],
            "lead_s1": float(s1[lead]), "floor": floor, "low": lo, "low_se": lo_se, "high": hi, "high_se": hi_se,
            "n": int(y.size), "significant": bool(s1[lead] > floor)}
