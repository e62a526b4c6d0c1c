"""What the jobframe distribution ships besides code: the license its metadata declares."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_declared_mit_license_is_shipped_in_the_wheel_and_the_sdist() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    # hatchling puts `license-files` in the wheel's dist-info/licenses and in the sdist.
    assert project["project"]["license-files"] == ["LICENSE"]
    assert "LICENSE" in project["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the jobframe authors\n")
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_a_hanging_test_fails_in_minutes(request: pytest.FixtureRequest) -> None:
    # pytest-timeout is active (its ini key exists only when the plugin is loaded) with a bound.
    assert float(request.config.getini("timeout")) == 300
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(dep.startswith("pytest-timeout") for dep in project["dependency-groups"]["test"])
