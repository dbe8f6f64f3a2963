"""Pseudonymous contact ids: a keyed hash with a per-workspace secret salt.

A CRM's contact id (a record number, an email address, a name) never reaches the workspace:
it is replaced at import by ``c`` + 16 hex digits of HMAC-SHA256(salt, id). The salt is 32
random bytes in ``data/.salt`` (mode 0600, kept out of git), created on the first import, so
the same person gets the same pseudonym in every import of that workspace and a different one
in any other workspace, and nobody can recompute the mapping without the salt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from pathlib import Path

from workbook.crm import schema

__all__ = ["SALT_FILE", "load_salt", "pseudonymise"]

SALT_FILE = ".salt"


def load_salt(workspace_path: str | Path) -> tuple[bytes, bool]:
    """The workspace's salt, and whether it is new (to be written when the import commits)."""
    path = schema.data_dir(workspace_path) / SALT_FILE
    if path.exists():
        salt = path.read_bytes()
        if len(salt) >= 16:
            return salt, False
    return secrets.token_bytes(32), True


def _normal(raw: str) -> str:
    raw = raw.strip()
    # an email address is the same person whatever its case
    return raw.casefold() if "@" in raw else raw


def pseudonymise(ids: Iterable[str], salt: bytes) -> list[str]:
    """Pseudonyms for source ids, in the same order."""
    base = hmac.new(salt, digestmod=hashlib.sha256)
    out = []
    for raw in ids:
        h = base.copy()
        h.update(_normal(raw).encode("utf-8"))
        out.append("c" + h.hexdigest()[:16])
    return out
