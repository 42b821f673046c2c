"""The layers keep their promises (docs/architecture.md): each imports only the layers below it,
the sandbox and the clients never share code, and neither needs Dagster."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sales_pipeline"

ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "clients": {"domain"},
    "settings": {"domain", "clients"},
    "store": {"domain", "clients"},
    "transforms": {"domain"},
    "flows": {"domain", "clients", "store", "transforms"},
    "defs": {"domain", "clients", "settings", "store", "transforms", "flows"},
    "definitions": {"domain", "clients", "settings", "store", "transforms", "flows", "defs"},
    "cli": {
        "domain",
        "clients",
        "settings",
        "store",
        "transforms",
        "flows",
        "defs",
        "definitions",
        "sandbox",
        "webhooks",
    },
    "sandbox": set(),
    "webhooks": {"domain", "settings", "store"},
}
"""Layer -> the other layers of the project it may import."""

NO_DAGSTER = (
    "domain",
    "clients",
    "settings",
    "store",
    "transforms",
    "flows",
    "sandbox",
    "webhooks",
)


def _files(layer: str) -> list[Path]:
    folder = PACKAGE / layer
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{layer}.py"]


def _imported_modules(layer: str) -> set[str]:
    """Every absolute module a Python file of ``layer`` imports."""
    found: set[str] = set()
    for path in _files(layer):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return found


def test_every_module_of_the_package_belongs_to_a_layer() -> None:
    top = {p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" and p.stem != "__init__"}
    top |= {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert top <= set(ALLOWED)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    used = {
        module.split(".")[1]
        for module in _imported_modules(layer)
        if module.startswith("sales_pipeline.")
    }
    assert used - {layer} <= ALLOWED[layer]


@pytest.mark.parametrize("layer", NO_DAGSTER)
def test_layers_below_the_wiring_never_import_dagster(layer: str) -> None:
    assert not {m for m in _imported_modules(layer) if m.split(".")[0] == "dagster"}


def test_the_layers_below_the_wiring_load_without_dagster() -> None:
    modules = ", ".join(f"sales_pipeline.{layer}" for layer in NO_DAGSTER)
    probe = (
        f"import sys, {modules};"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "[]"
