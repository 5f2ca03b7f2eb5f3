"""`make run` installs the runtime dependencies and the `scenario` extra: everything the package imports must
be among them, the extra's only where it is required, and a missing extra is named."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "neocloud"
# The modules that import the scenario extra's libraries, each after require_extra says what is missing.
EXTRA_USERS = {"adapters/scenario_charts.py", "adapters/ray_session.py", "sim/mix.py"}


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~! ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _third_party_imports(path: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    return {m for m in imported if m != "neocloud" and m not in sys.stdlib_module_names}


def _owners(module: str) -> set[str]:
    return {_name(d) for d in packages_distributions().get(module, [module])}


def test_every_import_is_a_dependency_and_the_extra_only_where_required() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    extra = {_name(r) for r in project["optional-dependencies"]["scenario"]}
    assert extra == {"ray", "matplotlib", "highspy", "numpy"}
    missing, misplaced = {}, {}
    for path in PACKAGE.rglob("*.py"):
        where = path.relative_to(PACKAGE).as_posix()
        for module in _third_party_imports(path):
            owners = _owners(module)
            if owners & extra and where not in EXTRA_USERS:
                misplaced[module] = where
            elif not owners & (runtime | extra):
                missing[module] = where
    assert not missing, f"imported by the package but not dependencies in pyproject.toml: {missing}"
    assert not misplaced, f"the scenario extra imported outside {sorted(EXTRA_USERS)}: {misplaced}"


def test_every_dependency_is_pinned_in_the_constraints() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["scenario"]]
    wanted += project["optional-dependencies"]["dev"]
    assert all("==" not in r for r in wanted), "pyproject.toml holds ranges; exact pins go in constraints.txt"
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pinned = {_name(line) for line in lines if "==" in line and not line.startswith("#")}
    assert {_name(r) for r in wanted} <= pinned


WITHOUT_EXTRA = """
import importlib.abc, sys

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("ray", "matplotlib"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
from neocloud.cli.main import app
sys.argv = ["neocloud", *sys.argv[1:]]
app()
"""


def test_a_command_needing_the_missing_extra_names_it(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", WITHOUT_EXTRA, *args], capture_output=True, text=True)

    refused = run("scenario", "sweep", "--out", str(tmp_path / "s"), "--json")
    assert refused.returncode == 1
    error = json.loads(refused.stdout)["error"]
    assert error["code"] == "missing_extra"
    assert error["details"] == {"extra": "scenario", "missing": ["ray"]}
    refused = run("scenario", "run", "--out", str(tmp_path / "r"))
    assert refused.returncode == 1
    assert "error[missing_extra]: the scenario report needs matplotlib: install neocloud's 'scenario' extra" in (
        refused.stderr
    )
    assert not (tmp_path / "r").exists()
    listed = run("simulate", "policies", "--json")  # the rest of neocloud works without it
    assert listed.returncode == 0, listed.stderr
    assert {"kind": "ordering", "name": "fifo"}.items() <= json.loads(listed.stdout)[0].items()
