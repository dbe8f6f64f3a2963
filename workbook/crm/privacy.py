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
import os
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from workbook.crm import schema

__all__ = ["SALT_FILE", "ensure_salt", "load_salt", "pseudonym_table", "pseudonymise"]

SALT_FILE = ".salt"


def load_salt(workspace_path: str | Path) -> tuple[bytes, bool]:
    """The workspace's salt, and whether it is new (to be written when the import commits)."""
    path = schema.data_dir(workspace_path) / SALT_FILE
    if path.exists():
        salt = path.read_bytes()
        if len(salt) >= 16:
            return salt, False
    return secrets.token_bytes(32), True


def ensure_salt(workspace_path: str | Path) -> bytes:
    """The workspace's salt, made now if it has none (32 random bytes, mode 0600).

    Made by linking a finished private file into place, which fails if another import made
    one first: then that one is used, so two imports racing never hash with different salts.
    """
    salt, new = load_salt(workspace_path)
    if not new:
        return salt
    folder = schema.data_dir(workspace_path)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".salt.", suffix=".tmp", dir=folder)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(salt)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, folder / SALT_FILE)
        except FileExistsError:
            return load_salt(workspace_path)[0]
    finally:
        os.unlink(tmp)
    return salt


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


#: What ``str.strip()`` removes from text that is all ASCII.
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def pseudonym_table(con: Any, ids: str, salt: bytes, name: str) -> None:
    """Create the DuckDB table ``name`` (``ext``, ``cid``): each distinct id of the query
    ``ids`` (one column ``ext``) with its pseudonym, equal to :func:`pseudonymise`'s.

    The HMAC is computed in SQL (SHA-256 twice, with the key's inner and outer pads), on
    every core: 1M ids take about a second, against three in Python. Ids that are all ASCII
    are normalised in SQL too; the few that are not go through :func:`_normal` in Python, so
    Unicode case folding and white space are exactly those of :func:`pseudonymise`.
    """
    import pyarrow as pa

    key = hashlib.sha256(salt).digest() if len(salt) > 64 else salt
    key = key.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_ext AS "
        f"SELECT DISTINCT ext, strlen(ext) = length(ext) AS ascii FROM ({ids}) "
        "WHERE ext IS NOT NULL AND ext <> ''"
    )
    other = [r[0] for r in con.execute(f"SELECT ext FROM {name}_ext WHERE NOT ascii").fetchall()]
    con.register(
        f"{name}_other",
        pa.table(
            {
                "ext": pa.array(other, pa.string()),
                "norm": pa.array([_normal(v) for v in other], pa.string()),
            }
        ),
    )
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {name} AS
            WITH n AS (
                SELECT ext, CASE WHEN contains(t, '@') THEN lower(t) ELSE t END AS norm
                FROM (SELECT ext, trim(ext, $space) AS t FROM {name}_ext WHERE ascii)
                UNION ALL
                SELECT ext, norm FROM {name}_other
            )
            SELECT ext, 'c' || left(sha256($opad || unhex(sha256($ipad || encode(norm)))), 16)
                AS cid
            FROM n""",
            {"space": _ASCII_SPACE, "ipad": ipad, "opad": opad},
        )
    finally:
        con.unregister(f"{name}_other")
        con.execute(f"DROP TABLE {name}_ext")
