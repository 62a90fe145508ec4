"""The package installs with pip and its `planner` command works outside the checkout; locks match ranges."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from tests.conftest import ROOT


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_planner_package_is_packaged() -> None:
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "planner").rglob("__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_locks_pin_versions_inside_the_ranges() -> None:
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    app_ranges = [Requirement(r) for r in project["dependencies"] + extras["team"]]
    test_ranges = [Requirement(r) for r in extras["test"]]
    for lock_name, ranges in (("requirements.txt", app_ranges), ("requirements-dev.txt", app_ranges + test_ranges)):
        pins = {}
        for line in (ROOT / lock_name).read_text().splitlines():
            text = line.split("#", 1)[0].strip()
            if text:
                req = Requirement(text)
                spec = str(req.specifier)
                assert spec.startswith("=="), f"{lock_name}: {text} is not an exact pin (run scripts/lock)"
                pins[req.name.lower()] = spec[2:]
        for req in ranges:
            name = req.name.lower()
            assert name in pins, f"{lock_name} lacks {name}: run scripts/lock"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"{lock_name}: {name}=={pins[name]} is outside {req.specifier}: run scripts/lock"
            )


def test_wheel_installs_and_planner_runs_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(wheels), str(ROOT)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    target = tmp_path / "site"
    (wheel,) = wheels.glob("territory_planner-*.whl")
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert inst.returncode == 0, inst.stderr[-2000:]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("PLANNER_DB", None)
    helped = subprocess.run([str(target / "bin" / "planner"), "--help"], cwd=outside, env=env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert "import" in helped.stdout and "balance" in helped.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import planner, planner.geo as g, planner.settings as s; "
         "print(planner.__file__); print(len(g.us_states_geojson()['features'])); print(s.db_path())"],
        cwd=outside, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-2000:]
    where, n_states, db = probe.stdout.split("\n")[:3]
    assert where.startswith(str(target)), "imported the checkout, not the installed package"
    assert int(n_states) >= 50
    assert db == str((tmp_path / "xdg" / "territory-planner" / "planner.duckdb").resolve())
