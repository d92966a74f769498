"""HTML reports: one run (``render_run_report``), a sweep (``render_sweep_report``), several runs (``sim.compare``)."""

from sim.report.run_report import render_run_report
from sim.report.sweep_report import render_sweep_report

__all__ = ["render_run_report", "render_sweep_report"]
