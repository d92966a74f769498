"""Exploratory modelling at vector speed: Sobol and Morris sensitivity, PRIM scenario discovery, robustness.

``python -m sim.explore method=sobol|morris|prim|robustness ...`` (:mod:`sim.explore.cli`) composes and validates
its spec exactly as ``python -m sim`` does, then evaluates a **design**: a set of points in the unit cube of the
run's uncertain inputs. Each design point is a replica (or ``replicates`` replicas) of the vectorised engine: the
design supplies the uniforms that the per-input streams supply in a Monte Carlo run
(:class:`sim.explore.streams.DesignStreams`), so a whole design runs in chunks of replicas, with no Python loop
over design points. Docs: docs/explore.md.

Modules: :mod:`settings` (the exploration's own keys), :mod:`inputs` (which inputs a design varies),
:mod:`designs` (Saltelli, Morris, space-filling), :mod:`streams` and :mod:`evaluate` (design points → outcomes),
:mod:`functions` (analytic test functions), :mod:`sensitivity` (SALib), :mod:`discovery` (PRIM),
:mod:`robustness` (paired scenario comparisons), :mod:`pool` (analysis on local cores), :mod:`run` (the
application layer), :mod:`report` (explore.html), :mod:`cli` (the command), and :mod:`given_data` (a run report's
"What drives these numbers", from the run's own replicas).
"""
