"""The demo client's CRM history: generated, then imported through the real importer.

``data/demo/data/`` ships the result, so the demo report and the course have numbers from
the start. To rebuild it (after the demo workspace's stages, touchpoints or personas
change), run :func:`build_demo_data` on the demo workspace.

The history is the one the engagement log tells of: fourteen months of CRM events up to the
evening of 31 October 2026, when the export was taken (imported on 3 November). It hides one
weak component on purpose (:func:`workbook.crm.generate.planted`: the first persona's
consideration-to-purchase step at 40% of its usual chance), which the gap analysis must find.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from workbook.crm.importer import ImportResult

__all__ = [
    "DEMO_CONTACTS",
    "DEMO_CURRENCY",
    "DEMO_END",
    "DEMO_SEED",
    "DEMO_SPAN_DAYS",
    "build_demo_data",
    "demo_without_data",
]

DEMO_CONTACTS = 10_000
DEMO_SEED = 2026
DEMO_CURRENCY = "GBP"
DEMO_FILE = "tideway-crm-events.csv"
#: When the demo client's export was taken: its history stops here.
DEMO_END = dt.datetime(2026, 10, 31, 18, 0, tzinfo=dt.UTC)
#: Contacts are created over the fourteen months before :data:`DEMO_END`.
DEMO_SPAN_DAYS = 426


def build_demo_data(
    workspace: str | Path, *, contacts: int = DEMO_CONTACTS, seed: int = DEMO_SEED
) -> ImportResult:
    """Generate a CRM history for the workspace and import it as a generic event export."""
    from workbook.crm.generate import generate, write_export
    from workbook.crm.importer import import_file
    from workbook.store import open_workspace

    sample = generate(
        open_workspace(workspace).data,
        contacts=contacts,
        seed=seed,
        currency=DEMO_CURRENCY,
        end=DEMO_END,
        span_days=DEMO_SPAN_DAYS,
        plant=True,
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
