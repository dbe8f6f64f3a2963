"""The import pipeline: sniff, read, validate, pseudonymise, stage, swap into place."""

from __future__ import annotations

from workbook.crm.storage import read_manifest, write_canonical

__all__ = ["read_manifest", "write_canonical"]
