"""The README's two commands: the first sets up and runs the main job, the second is what CI runs."""

from __future__ import annotations

import re

from sim import PROJECT_ROOT


def _commands() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text, flags=re.S)[:2]


def test_readme_starts_with_the_two_commands():
    run, test = _commands()
    assert "pip install" in run and "python -m sim scenario=grand_bargain" in run
    assert "pip install" in test and "pytest" in test


def test_ci_runs_the_readme_test_command():
    _, test = _commands()
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert test.strip() in ci
