"""``python -m sim scenario=grand_bargain``: run a scenario as a Monte Carlo experiment (see sim.cli)."""

from sim.cli import main

if __name__ == "__main__":
    main()
