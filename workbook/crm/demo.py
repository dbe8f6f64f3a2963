"""The demo client's CRM history: generated, then imported through the real importer.

``data/demo/data/`` ships the result, so the demo report and the course have numbers from
the start. To rebuild it (after the demo workspace's stages, touchpoints or personas
change), run :func:`build_demo_data` on the demo workspace.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from workbook.crm.importer import ImportResult

__all__ = ["DEMO_CONTACTS", "DEMO_CURRENCY", "DEMO_SEED", "build_demo_data", "demo_without_data"]

DEMO_CONTACTS = 10_000
DEMO_SEED = 2026
DEMO_CURRENCY = "GBP"
DEMO_FILE = "tideway-crm-events.csv"


def build_demo_data(
    workspace: str | Path, *, contacts: int = DEMO_CONTACTS, seed: int = DEMO_SEED
) -> ImportResult:
    """Generate a CRM history for the workspace and import it as a generic event export."""
    from workbook.crm.generate import generate, write_export
    from workbook.crm.importer import import_file
    from workbook.store import open_workspace

    sample = generate(
        open_workspace(workspace).data, contacts=contacts, seed=seed, currency=DEMO_CURRENCY
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = write_export(sample, "generic", tmp, filename=DEMO_FILE)
        return import_file(workspace, path, currency=DEMO_CURRENCY)


def demo_without_data(dest: str | Path, demo: str | Path = "data/demo") -> Path:
    """Copy the demo workspace to ``dest`` without its CRM data: a clean slate for an import.

    The document is copied as it is, minus its ``data_sources`` (which describe data not
    copied); the ``assets`` folder comes along when there is one.
    """
    import re
    import shutil

    src, out = Path(demo), Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    text = (src / "workspace.yaml").read_text(encoding="utf-8")
    (out / "workspace.yaml").write_text(
        re.sub(r"(?ms)^data_sources:.*\Z", "", text), encoding="utf-8"
    )
    if (src / "assets").is_dir():
        shutil.copytree(src / "assets", out / "assets", dirs_exist_ok=True)
    return out
