"""The dependency declarations hold together: every requirement has an upper bound, and
constraints.txt (what CI and a fresh machine install) pins each one inside its range."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]["test"]
    return [Requirement(r) for r in [*project["dependencies"], *extras]]


def pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    assert all(len(p) == 2 for p in pairs), "constraints.txt holds name==version lines only"
    return {canonicalize_name(name): version for name, version in pairs}


def test_every_requirement_has_an_upper_bound() -> None:
    unbounded = [
        str(r)
        for r in requirements()
        if not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)
    ]
    assert unbounded == []


def test_constraints_pin_every_requirement_within_its_range() -> None:
    pinned = pins()
    missing = [r.name for r in requirements() if canonicalize_name(r.name) not in pinned]
    outside = [
        f"{r} but {pinned[canonicalize_name(r.name)]} is pinned"
        for r in requirements()
        if canonicalize_name(r.name) in pinned
        and not r.specifier.contains(pinned[canonicalize_name(r.name)], prereleases=True)
    ]
    assert (missing, outside) == ([], [])
    assert "spbe-helpdesk" not in pinned  # the project itself is installed from the tree


def test_the_test_script_installs_with_the_constraints() -> None:
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    assert '-e ".[test]" -c constraints.txt' in script
