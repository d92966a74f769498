"""The mechanism interface: what a plug-in owns, and the registry that lists the plug-ins.

A mechanism is one module holding
- its **spec section** (a :class:`MechanismSpec` subclass: the keys of ``mechanics.<name>`` in ``conf/config.yaml``;
  every number that changes behaviour is a field, uncertain ones as :class:`~sim.knowledge.Uncertain` with a range
  and a source),
- a :class:`Mechanism` subclass: the **state** fields it adds to the world (:meth:`Mechanism.init`), its monthly
  **step** (vectorised over replicas, the replica axis last), the **named substreams** it draws from
  (:meth:`Mechanism.streams`), the **outcomes** it declares (:meth:`Mechanism.outcomes`), and a docstring naming
  the literature it implements,
- its kernels: pure numpy functions, tested on their own.

A mechanism imports neither the run spec, the model nor the experiment: it receives its own section, the world's
:class:`~sim.world.Index` (names → array indices), its drawn constants (:class:`Constants`), and a
:class:`Draws` view that hands out only the substreams it declared. :func:`register` adds a class to
:data:`REGISTRY` (every module of this package is imported by :func:`load_all`, so a new module is found
without editing a list); the model steps the mechanisms in the order the run spec's ``schedule`` declares.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from sim.knowledge import Uncertain
from sim.outcomes import Outcome

if TYPE_CHECKING:
    from sim.events import EventLog
    from sim.streams import BlockStreams, Substream
    from sim.world import Index, World


#: A reference a section makes: ``(field path within the section, value, "actor" | "issue")``.
Ref = tuple[str, "str | None", Literal["actor", "issue"]]


class MechanismSpec(BaseModel):
    """Base of a mechanism's spec section: unknown keys are errors; ``enabled: false`` makes the step a no-op."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True

    def uncertain(self) -> Iterator[tuple[str, Uncertain]]:
        """Every uncertain constant of the section as ``(field name, value)``, in field order."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, Uncertain):
                yield name, value

    def references(self) -> list[Ref]:
        """``(field path within the section, value, kind)`` of every actor or issue the section names."""
        return []

    def roles(self) -> dict[str, tuple[str, ...]]:
        """Named groups of actors or issues other mechanisms and the agents may refer to (``deal.parties``)."""
        return {}

    def check(self, actors: list[str], issues: list[str]) -> str | None:
        """A one-line problem with the section given the knowledge base, or None (beyond the references)."""
        return None


class Constants:
    """A section's constants as a replica sees them: uncertain fields are (R,) arrays of drawn values, the other
    fields are the section's own values (``c.ratify`` → array, ``c.parties`` → list)."""

    def __init__(self, section: MechanismSpec, drawn: dict[str, np.ndarray]):
        self._section = section
        self._drawn = drawn

    def __getattr__(self, name: str) -> Any:
        drawn = self.__dict__.get("_drawn", {})
        if name in drawn:
            return drawn[name]
        return getattr(self.__dict__["_section"], name)


class Draws:
    """The substreams a mechanism declared (:meth:`Mechanism.streams`), and no others."""

    def __init__(self, streams: "BlockStreams", declared: list[str]):
        self._streams = streams
        self.declared = tuple(declared)

    def __call__(self, name: str) -> "Substream":
        if name not in self.declared:
            raise KeyError(f"substream {name!r} was not declared (declared: {', '.join(self.declared)})")
        return self._streams.substream(name)


S = TypeVar("S", bound=MechanismSpec)


class Mechanism(ABC, Generic[S]):
    """A plug-in bound to one chunk of replicas, generic in its spec section. Subclasses set ``name``, ``Spec``."""

    name: ClassVar[str]
    Spec: ClassVar[type[MechanismSpec]]
    #: World fields the mechanism reads but does not own (checked when the model is built).
    reads: ClassVar[tuple[str, ...]] = ()

    def __init__(self, section: S, index: "Index", constants: Constants, draws: Draws, log: "EventLog"):
        self.section = section
        self.index = index
        self.c = constants
        self.draw = draws
        self.log = log

    @property
    def enabled(self) -> bool:
        return bool(self.section.enabled)

    @classmethod
    def streams(cls, section: Any, index: "Index") -> list[str]:
        """Names of the substreams the mechanism draws from (default: one, its own name)."""
        return [cls.name]

    @classmethod
    def outcomes(cls, section: Any, index: "Index") -> list[Outcome]:
        """The per-replica outcomes the mechanism declares (default: none)."""
        return []

    def init(self, world: "World") -> None:
        """Add the state fields the mechanism owns to ``world`` (also when disabled: others may read them)."""

    def prepare(self, world: "World") -> None:
        """Compute what the steps need from other mechanisms' fields; called once every mechanism's ``init`` has
        run, so it may read any field whatever the schedule's order."""

    @abstractmethod
    def step(self, world: "World") -> None:
        """Advance one month (called only when enabled)."""


M = TypeVar("M", bound="Mechanism[Any]")

#: Registered mechanism classes by name (= spec section = substream prefix).
REGISTRY: dict[str, type[Mechanism[Any]]] = {}

def register(cls: type[M]) -> type[M]:
    """Class decorator: add a mechanism to the registry under ``cls.name``."""
    if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
        raise ValueError(f"two mechanisms named {cls.name!r}")
    REGISTRY[cls.name] = cls
    return cls


def load_all() -> dict[str, type[Mechanism[Any]]]:
    """Import every module of ``sim.mechanics`` (registering its mechanism) and return the registry."""
    import importlib
    import pkgutil

    import sim.mechanics as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    return REGISTRY
