"""A run's registries: the world's index, the outcomes every mechanism declares, the substreams they draw from.

Used by the model (to bind the mechanisms) and by the application layer (to write the outcome registry into
``spec.json`` before any replica runs). Imports the mechanisms but not mesa.
"""

from __future__ import annotations

import numpy as np

from sim.mechanics.base import load_all
from sim.outcomes import Outcome, utility_outcomes
from sim.spec import RunSpec
from sim.streams import check_unique
from sim.world import Index


def build_index(spec: RunSpec) -> Index:
    """Names → indices and words, and the sections' roles, for a run spec."""
    kb = spec.knowledge
    return Index(actors=tuple(spec.actor_ids), issues=tuple(spec.issue_ids),
                 actor_names={a: kb.actors[a].name for a in spec.actor_ids},
                 issue_labels={i: kb.issues[i].label for i in spec.issue_ids},
                 base_alignment=np.array(kb.alignment_matrix()), roles=spec.roles())


def declared_outcomes(spec: RunSpec, index: Index | None = None) -> list[Outcome]:
    """The outcome registry of a run: every mechanism's declared outcomes, then each actor's utility."""
    index = index or build_index(spec)
    registry = load_all()
    out: list[Outcome] = []
    for name in spec.schedule:
        out += registry[name].outcomes(spec.section(name), index)
    return out + utility_outcomes(index.actors, index.actor_names)


def declared_streams(spec: RunSpec, index: Index) -> dict[str, list[str]]:
    """The substreams each mechanism declares, by mechanism (checked for key collisions)."""
    registry = load_all()
    streams = {name: registry[name].streams(spec.section(name), index) for name in spec.schedule}
    check_unique([s for names in streams.values() for s in names])
    return streams
