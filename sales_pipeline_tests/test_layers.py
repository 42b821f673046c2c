"""The layers keep their promises: the sandbox and the clients never share code, and neither
needs Dagster."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sales_pipeline"


def _imported_modules(folder: Path) -> set[str]:
    """Every absolute module a Python file under ``folder`` imports."""
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return found


def test_the_sandbox_imports_nothing_else_of_the_project() -> None:
    imported = _imported_modules(PACKAGE / "sandbox")
    project = {m for m in imported if m.split(".")[0] == "sales_pipeline"}
    assert not {m for m in project if m.split(".")[:2] != ["sales_pipeline", "sandbox"]}


def test_the_clients_never_import_the_sandbox_or_dagster() -> None:
    imported = _imported_modules(PACKAGE / "clients")
    assert not {m for m in imported if m.startswith(("sales_pipeline.sandbox", "dagster"))}


def test_clients_and_sandbox_load_without_dagster() -> None:
    probe = (
        "import sys, sales_pipeline.clients, sales_pipeline.sandbox, sales_pipeline.store;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "[]"
