"""``python -m sim scenario=grand_bargain``: run a scenario as a Monte Carlo experiment (see sim.cli)."""

import gc
import time

_started = time.time()      # the interpreter is up, nothing of sim imported yet (bench/startup.py reads it)
gc.disable()                # start-up allocates ~10^6 objects that live as long as the process; sim.cli.main
                            # turns the collector back on (and freezes those objects) before any real work

from sim.cli import main  # noqa: E402
from sim.run import CLOCK  # noqa: E402

if __name__ == "__main__":
    CLOCK["start"] = _started
    main()
