"""The architecture, checked: the core imports no method package, and method packages use
only the public method API (DESIGN.md, "Who owns what").

An AST scan of every import statement, lazy ones inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
METHOD_PACKAGES = ("attacks", "classifiers", "generators", "controls")
#: What a method (reference or plug-in) may import from the suite.
PUBLIC_API = (
    "bench.tasks",
    "bench.tasks.base",
    "bench.privacy.ledger",
    "bench.privacy.budget",
    "bench.errors",
    "bench.metrics",
    "bench.checkpoints",
    "bench.cache",
    "bench.config",
)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _is_public(name: str) -> bool:
    if name in PUBLIC_API or name.startswith("bench.metrics."):
        return True
    parts = name.split(".")
    # a task's method API: bench.tasks.<task>.api (and names imported from it)
    return parts[:2] == ["bench", "tasks"] and len(parts) >= 4 and parts[3] == "api"


def test_the_core_imports_no_method_package():
    bad = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules("bench")
        for name in _imports(path)
        if name.split(".")[0] in METHOD_PACKAGES
    ]
    assert not bad, "bench/ must not import a method package:\n" + "\n".join(bad)


@pytest.mark.parametrize("package", METHOD_PACKAGES)
def test_method_packages_use_only_the_public_api(package):
    bad = []
    for path in _modules(package):
        for name in _imports(path):
            if name.split(".")[0] != "bench":
                continue
            # ``from bench.tasks import register_method`` yields "bench.tasks.register_method"
            if _is_public(name) or _is_public(name.rpartition(".")[0]):
                continue
            bad.append(f"{path.relative_to(ROOT)}: {name}")
    assert not bad, f"{package}/ imports suite internals:\n" + "\n".join(bad)


def test_one_privacy_block_builder():
    """Only the ledger assembles a privacy block."""
    builders = [
        str(path.relative_to(ROOT))
        for package in ("bench", *METHOD_PACKAGES)
        for path in _modules(package)
        if '"how_obtained":' in path.read_text(encoding="utf-8")
    ]
    assert builders == ["bench/privacy/ledger.py"]
