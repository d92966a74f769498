"""The exploration's own settings: the top-level keys of ``conf/explore.yaml`` that are not run-spec keys."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from sim.errors import ConfigError, describe_validation_error

Method = Literal["sobol", "morris", "prim", "robustness"]
METHODS: tuple[str, ...] = ("sobol", "morris", "prim", "robustness")
Function = Literal["model", "ishigami", "gfunction"]


class ExploreSettings(BaseModel):
    """What to explore and how (defaults in ``conf/explore.yaml``; docs/explore.md)."""

    model_config = ConfigDict(extra="forbid")

    method: list[Method]                     #: one method or several (``method=[sobol,prim,robustness]``)
    function: Function = "model"             #: ``model`` (the engine) or an analytic test function
    n: int = Field(ge=4, le=1 << 20)         #: Sobol base samples N (a power of 2), Morris trajectories
    points: int = Field(ge=16, le=1 << 22)   #: design points of PRIM and robustness (a power of 2)
    replicates: int = Field(ge=1, le=1024)   #: engine replicas per design point (chance events resampled)
    outcomes: list[str] | Literal["all"] = "all"   #: registry outcomes analysed by Sobol / Morris
    discover: list[str]                      #: binary (probability) outcomes for PRIM
    compare: list[str] | Literal["all"] = "all"    #: scenarios compared with the explored one (robustness)
    levels: int = Field(default=4, ge=2, le=64)    #: Morris grid levels p (even)
    resamples: int = Field(default=100, ge=10, le=10_000)   #: bootstrap resamples for the CIs
    conf_level: float = Field(default=0.95, gt=0.5, lt=1.0)
    convergence: int = Field(default=4, ge=1, le=10)        #: Sobol indices at N, N/2, ... (this many sizes)
    peel_alpha: float = Field(default=0.05, gt=0.0, lt=0.5)  #: PRIM's peeling share
    mass_min: float = Field(default=0.05, gt=0.0, lt=1.0)    #: PRIM's smallest box mass
    min_coverage: float = Field(default=0.5, gt=0.0, le=1.0)  #: the box chosen on a trajectory: densest with this coverage
    boxes: int = Field(default=2, ge=1, le=10)                #: PRIM boxes per outcome at most
    prim_inputs: int = Field(default=20, ge=0, le=10_000)    #: inputs PRIM considers (largest KS); 0 = all

    @field_validator("method", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        if isinstance(v, str):
            return list(METHODS) if v == "all" else [v]
        return v

    @field_validator("method")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if not v or len(set(v)) != len(v):
            raise PydanticCustomError("methods", "one or more distinct methods of " + ", ".join(METHODS))
        return v

    @field_validator("n", "points")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise PydanticCustomError("pow2", "a power of 2 (Sobol sequences are balanced at 2^m points)")
        return v

    @field_validator("levels")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise PydanticCustomError("even", "an even number of levels (Morris's Δ = p / (2(p - 1)))")
        return v


#: The top-level keys of conf/explore.yaml that belong to the exploration, not to the run spec.
EXPLORE_KEYS: tuple[str, ...] = tuple(ExploreSettings.model_fields)


def split_config(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the run spec's part, the exploration's part) of a composed config."""
    return ({k: v for k, v in data.items() if k not in EXPLORE_KEYS},
            {k: v for k, v in data.items() if k in EXPLORE_KEYS})


def parse_settings(data: dict[str, Any], origin: str) -> ExploreSettings:
    """Validate the exploration's keys; ConfigError with one line naming field, value and what is allowed."""
    from pydantic import ValidationError

    try:
        return ExploreSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, origin)) from None
