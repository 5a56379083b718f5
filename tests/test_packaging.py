"""A plain ``pip install zhongtai`` serves: every distribution that a module of the
server imports is a runtime dependency in ``pyproject.toml``, not only a dev one.

The server's modules are found the way the server finds them: a fresh interpreter
imports the CLI, builds the served API and the ASGI app and loads the plugin entry
points; every module of ours it then holds is parsed for its imports (function-level
ones too, which run later), and each third-party top-level name is mapped to its
distribution with ``importlib.metadata.packages_distributions()``.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("kernel", "centers", "schema", "plugins")

STARTUP = """
import json, sys
from pathlib import Path
from kernel.app import create_app
from kernel.plugins.registry import default_registry
from kernel.settings import Settings
from schema.subgraphs import served_api
import schema.cli

registry = default_registry()
assert not registry.load_errors, registry.load_errors
create_app(served_api(), Settings(environment="test"))
root = Path(sys.argv[1])
files = sorted(
    str(Path(m.__file__).resolve())
    for m in list(sys.modules.values())
    if getattr(m, "__file__", None) and Path(m.__file__).resolve().is_relative_to(root)
)
print(json.dumps(files))
"""


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for requirement in project["dependencies"]:
        found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert found, requirement
        names.add(_normalized(found.group(0)))
    return names


def server_module_files() -> list[Path]:
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", STARTUP, str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    files = [Path(f) for f in json.loads(done.stdout.strip().splitlines()[-1])]
    return [f for f in files if f.relative_to(ROOT).parts[0] in OURS]


def imported_top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_server_imports_only_runtime_dependencies() -> None:
    files = server_module_files()
    assert any(f.parts[-2:] == ("dispatch", "dispatcher.py") for f in files)
    assert any(f.parts[-2:] == ("erp", "rest.py") for f in files)  # a shipped plugin
    distributions = packages_distributions()
    allowed = runtime_dependencies()
    missing: dict[str, set[str]] = {}
    for path in files:
        for name in imported_top_level_names(path):
            if name in OURS or name in sys.stdlib_module_names or name == "__future__":
                continue
            providers = {_normalized(d) for d in distributions.get(name, [])}
            if not providers & allowed:
                where = str(path.relative_to(ROOT))
                missing.setdefault(", ".join(sorted(providers)) or name, set()).add(where)
    assert missing == {}, (
        "add these to [project] dependencies in pyproject.toml (then `make lock`): "
        + "; ".join(f"{d} (imported by {', '.join(sorted(w))})" for d, w in missing.items())
    )
