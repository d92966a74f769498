"""geosim: a geopolitical scenario simulation engine.

Mesa agents (the US, Russia, Iran, Israel, Europe, Turkey) bargain over linked issues with mechanics from the
published literature, many Monte Carlo replicas advancing in lockstep as numpy arrays (replica axis last).
"""

from pathlib import Path

__version__ = "0.1.0"

#: The project root (holds ``conf/``, ``scenarios/``, ``outputs/``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
