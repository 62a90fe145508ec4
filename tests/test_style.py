"""Style and types are part of the build: ruff on the repository, mypy on planner/."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


# The verdicts are the locked tools': ruff 0.15.0 (the lowest allowed) sorts tests/conftest.py's imports otherwise,
# and mypy 1.15.0 with numpy 1.26.0's stubs rejects np.where(..., None), so scripts/test-lowest leaves these out.
@pytest.mark.locks
def test_ruff_clean() -> None:
    check = _run("ruff", "check", ".")
    assert check.returncode == 0, check.stdout[-3000:]
    fmt = _run("ruff", "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout[-3000:]


@pytest.mark.locks
def test_mypy_clean_on_planner() -> None:
    res = _run("mypy")
    assert res.returncode == 0, res.stdout[-3000:]
