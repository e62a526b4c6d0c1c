"""What the jobframe distribution ships besides code: the license its metadata declares."""

from __future__ import annotations

import tomllib
from pathlib import Path

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
