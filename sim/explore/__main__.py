"""``python -m sim.explore method=sobol ...``: exploratory modelling (see sim.explore.cli)."""

from sim.explore.cli import main

if __name__ == "__main__":
    main()
