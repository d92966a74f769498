"""Loaders for the reference data in ``../shared/data`` (see its README for sources and licences).

Nothing here alters the data: files are read as shipped and the conventions applied while reading (which row
to skip, what a blank means) are stated in each loader.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import PROJECT_ROOT

#: DEU III actors in column order: Commission, Parliament, then the 28 member states (DEU's two-letter codes).
DEU_ACTORS: tuple[str, ...] = (
    "com", "ep", "at", "be", "bu", "cr", "cy", "cz", "dk", "ee", "fi", "fr", "de", "el", "hu", "ie", "it", "lv",
    "lt", "lu", "mt", "nl", "pl", "pt", "ro", "si", "sk", "es", "se", "uk",
)
#: The member states (actors 2..29).
DEU_STATES: tuple[str, ...] = DEU_ACTORS[2:]
#: Members before the 2004 enlargement.
EU15: frozenset[str] = frozenset({"at", "be", "dk", "fi", "fr", "de", "el", "ie", "it", "lu", "nl", "pt", "es",
                                   "se", "uk"})
META_COLUMNS = ("prnrnmc", "isnrnmc", "prnr", "prname", "isnr", "type", "council", "proc", "counvte", "proccde",
                "issues", "intro", "finact")


def default_data_dir() -> Path:
    """``PROJECT_ROOT.parent / "shared" / "data"``."""
    return PROJECT_ROOT.parent / "shared" / "data"


def _dir(data_dir: str | Path | None) -> Path:
    return default_data_dir() if data_dir is None else Path(data_dir)


@dataclass
class DeuIssues:
    """DEU III issues as arrays, actors in :data:`DEU_ACTORS` order.

    ``positions`` and ``saliences`` are ``(I, 30)`` floats on DEU's 0-100 scale with NaN where the actor took no
    position (respectively gave no salience); ``rp`` (reference point) and ``out`` (outcome) are ``(I,)`` with NaN
    where missing. ``meta`` holds the 13 metadata columns (strings) plus ``row`` (0-based issue row in the file,
    after the header and the GDP row), ``n_positions``, ``era`` (``EU15``, ``EU25`` for the 2004-2013 Union of
    25-27 or ``EU28``, inferred from which member states took positions on any issue of the proposal) and
    ``split`` (``dev``/``test`` from ``split.csv``, ``""`` for unusable issues). ``gdp`` is the third-party
    row 2 of the file (a GDP-per-actor figure; not part of DEU), offered only as an optional capability proxy.
    """

    meta: pd.DataFrame
    positions: np.ndarray
    saliences: np.ndarray
    rp: np.ndarray
    out: np.ndarray
    gdp: np.ndarray

    def __len__(self) -> int:
        return len(self.meta)

    @property
    def usable(self) -> np.ndarray:
        """Issues with an outcome and at least two positions (the 353 of ``split.csv``)."""
        return np.isfinite(self.out) & (self.meta["n_positions"].to_numpy() >= 2)

    def subset(self, mask_or_index) -> DeuIssues:
        idx = np.arange(len(self))[mask_or_index]
        return DeuIssues(meta=self.meta.iloc[idx].reset_index(drop=True), positions=self.positions[idx],
                         saliences=self.saliences[idx], rp=self.rp[idx], out=self.out[idx], gdp=self.gdp)

    def split(self, name: str) -> DeuIssues:
        """The issues of split ``dev`` or ``test`` (or ``all``: every usable issue)."""
        if name == "all":
            return self.subset(self.usable)
        if name not in ("dev", "test"):
            raise ValueError(f"unknown split {name!r}")
        return self.subset(self.meta["split"].to_numpy() == name)


def _num(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col.replace("", np.nan)).to_numpy(dtype=float)


def load_split(data_dir: str | Path | None = None) -> pd.DataFrame:
    """``deu3/split.csv``: columns ``isnr, prnr, split`` (262 dev, 91 test issues; grouped by proposal)."""
    return pd.read_csv(_dir(data_dir) / "deu3" / "split.csv", dtype=str)


def load_deu3(data_dir: str | Path | None = None) -> DeuIssues:
    """Read ``deu3/deu3.tsv`` (all 364 issue rows; use ``.split("dev")`` etc. for the usable ones).

    Row 1 is the header; row 2 (the third-party GDP row) is kept apart in ``gdp``; a blank cell is a missing
    position / salience. Saliences are kept on 0-100 here.
    """
    path = _dir(data_dir) / "deu3" / "deu3.tsv"
    raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if raw.shape[1] != 75:
        raise ValueError(f"{path}: expected 75 columns, found {raw.shape[1]}")
    pcols = ["p" + a for a in DEU_ACTORS]
    scols = ["s" + a for a in DEU_ACTORS]
    if list(raw.columns[13:43]) != pcols or list(raw.columns[43:73]) != scols:
        raise ValueError(f"{path}: unexpected actor columns")
    gdp_row, body = raw.iloc[0], raw.iloc[1:].reset_index(drop=True)
    gdp = pd.to_numeric(gdp_row[pcols].replace("", np.nan)).to_numpy(dtype=float)
    pos = np.column_stack([_num(body[c]) for c in pcols])
    sal = np.column_stack([_num(body[c]) for c in scols])
    meta = body[list(META_COLUMNS)].copy()
    meta["row"] = np.arange(len(body))
    meta["n_positions"] = np.isfinite(pos).sum(axis=1)
    # Era from membership: which member states took a position on any issue of the proposal.
    has = pd.DataFrame(np.isfinite(pos[:, 2:]), columns=list(DEU_STATES))
    has["prnr"] = meta["prnr"].to_numpy()
    per_prop = has.groupby("prnr").any()
    newer = [a for a in DEU_STATES if a not in EU15 and a != "cr"]
    era = np.where(per_prop["cr"], "EU28", np.where(per_prop[newer].any(axis=1), "EU25", "EU15"))
    meta["era"] = meta["prnr"].map(dict(zip(per_prop.index, era.tolist())))
    split = load_split(data_dir)
    meta["split"] = meta["isnr"].map(dict(zip(split["isnr"], split["split"]))).fillna("")
    return DeuIssues(meta=meta, positions=pos, saliences=sal, rp=_num(body["rp"]), out=_num(body["out"]),
                     gdp=gdp)


def load_emission_standards(data_dir: str | Path | None = None) -> pd.DataFrame:
    """``bdm1994/emission_standards.csv``: ``Actor, Capability, Position, Salience`` (salience 0-100)."""
    return pd.read_csv(_dir(data_dir) / "bdm1994" / "emission_standards.csv")


def load_icb(data_dir: str | Path | None = None) -> pd.DataFrame:
    """``icb/icb_actor_crises.json`` records as a DataFrame (one row per actor-crisis)."""
    with open(_dir(data_dir) / "icb" / "icb_actor_crises.json", encoding="utf-8") as fh:
        payload = json.load(fh)
    df = pd.DataFrame(payload["records"])
    df.attrs["source"] = payload.get("source", "")
    return df
