"""`make run` installs the runtime dependencies only: everything the package imports must be among them."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~! ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_import_of_the_package_is_a_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    distributions = packages_distributions()
    imported: set[str] = set()
    for path in (ROOT / "src" / "neocloud").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m != "neocloud" and m not in sys.stdlib_module_names}
    owners = {m: {_name(d) for d in distributions.get(m, [m])} for m in third_party}
    missing = {m: sorted(dists) for m, dists in owners.items() if not dists & runtime}
    assert not missing, f"imported by the package but not runtime dependencies in pyproject.toml: {missing}"
