"""Validation of the engine against real data nobody on this project wrote.

- :mod:`sim.validation.data`: loaders for the reference data in ``../shared/data`` (DEU III, BDM 1994, ICB);
- :mod:`sim.validation.scoring`: MAE, interval coverage, CRPS from Monte Carlo samples, cluster bootstrap CIs;
- :mod:`sim.validation.deu3`: out-of-sample forecasts of EU legislative outcomes with the bargaining core;
- :mod:`sim.validation.conformal`: split-conformal predictive intervals for them (calibrated on dev);
- :mod:`sim.validation.bdm1994`: the replication of Bueno de Mesquita's emission-standards case;
- :mod:`sim.validation.icb`: base rates of war and compromise in international crises.

Run them with ``python -m sim.validate {deu3,bdm1994,icb}``; results and method are in ``docs/validation.md``.
"""
