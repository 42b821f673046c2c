"""The layers keep their promises (docs/architecture.md): each imports only the layers below it,
the sandbox and the clients never share code, neither needs Dagster, vendor JSON ends at the
clients, and no module outgrows one subject."""

import ast
import re
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
    "defs": {"domain", "clients", "settings", "store", "transforms", "flows", "webhooks"},
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


VENDOR_FIELDS = {
    "hubspot": (
        "firstname",
        "lastname",
        "jobtitle",
        "lastmodifieddate",
        "hs_email_optout",
        "hs_object_id",
        "propertiesWithHistory",
        "updatedAt",
        "idProperty",
    ),
    "lemlist": ("_id", "leadEmail", "createdAt", "campaignId", "leadId"),
    "explorium": (
        "matched_prospects",
        "matched_businesses",
        "prospects_to_match",
        "businesses_to_match",
        "professions_email",
        "professional_email_status",
        "number_of_employees_range",
        "linkedin_industry_category",
        "job_level_main",
        "job_level_array",
        "job_department_main",
        "job_department_array",
        "job_seniority_level",
        "country_name",
        "phone_numbers",
        "mobile_phone",
    ),
}
"""Vendor -> JSON field names of its answers and requests whose name differs from the
pipeline's own. Only the vendor's client, the webhook receiver (the inbound counterpart of the
clients: vendor JSON arrives there, is checked, and leaves as inbox events) and the sandbox
(which plays the vendor) may name them.

Allowed elsewhere, and why:

* Names the vendor and the pipeline share because they mean the same thing: ``email``,
  ``phone``, ``country``, ``company``, ``company_website``, ``domain``.
* ``prospect_id`` and ``business_id``: the pipeline's own columns for the Explorium
  identifiers it keeps (the enrichment cache, ``EnrichedContacts``), not Explorium's JSON.
* ``hs_lead_status`` and the ``sp_*`` properties: the pipeline's own contract with HubSpot,
  the values it writes back, so the writeback transforms and flows name them.
* Lemlist activity types (``emailsReplied``...): values the engagement and suppression rules
  are stated in, not fields of a JSON shape.
"""

_VENDOR_FIELD = re.compile(
    r"\b(" + "|".join(name for names in VENDOR_FIELDS.values() for name in names) + r")\b"
)


VENDOR_EDGES = ("clients", "webhooks", "sandbox")
"""The layers where the vendors' JSON is read or written."""


def test_no_vendor_field_name_appears_outside_the_clients_and_the_sandbox() -> None:
    """Each client is the only place that knows its vendor's JSON (code, strings and
    docstrings alike)."""
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {match.group(1)}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in VENDOR_EDGES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for match in _VENDOR_FIELD.finditer(line)
    ]
    assert found == []


MAX_MODULE_LINES = 650
"""The longest a module may grow before it holds more than one subject."""


def test_no_module_is_over_650_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
