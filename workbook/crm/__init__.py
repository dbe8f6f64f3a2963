"""CRM data in: importers, validation, pseudonymisation, derived tables, sample data.

The public names load their module on first use, so ``import workbook.crm`` stays light::

    from workbook.crm import import_file, write_export
    from workbook.crm.generate import generate   # (the module shares the function's name)
    result = import_file("data/demo", "hubspot-contacts.csv")

Modules: :mod:`~workbook.crm.schema` (the canonical tables, the contract with analytics),
:mod:`~workbook.crm.importer` (the pipeline), :mod:`~workbook.crm.sources` (the registry
and the interface each source implements), one module per source (``hubspot``,
``salesforce``, ``pipedrive``, ``generic``), :mod:`~workbook.crm.sniff`,
:mod:`~workbook.crm.stagemap`, :mod:`~workbook.crm.privacy`, :mod:`~workbook.crm.derive`,
:mod:`~workbook.crm.storage`, :mod:`~workbook.crm.generate` and :mod:`~workbook.crm.demo`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CanonicalTables",
    "ImportResult",
    "build_demo_data",
    "build_derived",
    "import_file",
    "read_manifest",
    "rebuild_workspace",
    "write_canonical",
    "write_export",
]

_WHERE = {
    "CanonicalTables": "canonical",
    "ImportResult": "importer",
    "import_file": "importer",
    "read_manifest": "storage",
    "write_canonical": "storage",
    "build_derived": "derive",
    "rebuild_workspace": "derive",
    "write_export": "generate",
    "build_demo_data": "demo",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"workbook.crm.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'workbook.crm' has no attribute {name!r}")
