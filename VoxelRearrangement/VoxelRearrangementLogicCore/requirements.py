"""The module's Python requirements (``Resources/requirements.txt``), checked without pip.

Used where Slicer has no ``slicer.packaging`` (before 5.12): the Widget then lists what
:func:`missing_requirements` returns and, once the user agrees, installs it with
``slicer.util.pip_install``. Only ``name>=version`` lines (and bare names) are understood:
that is all the file holds.
"""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from typing import List, Optional, Tuple

_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:>=\s*([0-9][0-9.]*))?$")


def read_requirements(path: str | Path) -> List[str]:
    """The requirement lines of a requirements file (comments and blank lines dropped)."""
    lines = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not _REQUIREMENT.match(line):
            raise ValueError(f"{path}: only 'name>=version' requirements are supported, not {line!r}")
        lines.append(line)
    return lines


def _release(version: str) -> Tuple[int, ...]:
    """The numeric release part of a version string: '1.26.4' -> (1, 26, 4); '2.0rc1' -> (2, 0)."""
    return tuple(int(part) for part in re.findall(r"\d+", re.match(r"[0-9.]*", version).group(0)))


def installed_version(distribution: str) -> Optional[str]:
    """The installed version of a distribution (pip name), or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def missing_requirements(requirements: List[str]) -> List[str]:
    """The requirements that are not installed, or installed at an older version than asked."""
    missing = []
    for requirement in requirements:
        name, minimum = _REQUIREMENT.match(requirement).groups()
        version = installed_version(name)
        if version is None or (minimum and _release(version) < _release(minimum)):
            missing.append(requirement)
    return missing
