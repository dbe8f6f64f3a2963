"""One person, one contact: linking an export's contacts to the people already in the workspace.

Every source names its people its own way (HubSpot's Record ID, Pipedrive's person id, an
e-mail tool's address). A contact's pseudonym is a keyed hash of a *key* (see
:mod:`workbook.crm.privacy`), and two sources link where they contribute the same key:

``email``
    the contact's e-mail address, trimmed and case-folded. A source contributes it when it
    has an e-mail column (HubSpot's ``Email``, Pipedrive's ``Person - Email``, a generic
    file's ``email``), or when its contact id is itself an address.
``id``
    the source's own person id (HubSpot's Record ID equals Pipedrive's Person ID when the two
    are synced, as is usual).

Each source keeps, beside its tables, ``keys.parquet``: the hash of every key each of its
contacts carries and the contact it stands for. An import then gives each contact the
workspace's existing contact that one of its keys leads to, e-mail first, else a new
pseudonym (of its e-mail when it has one, else of its id). So a person is one contact
whichever source came first, and no address is stored: only its keyed hash, like the ids.

The mode (``--match``; ``match:`` in a generic column map) chooses the keys: ``auto`` (both,
e-mail first), ``email`` (only the address; contacts without one stay the source's own),
``id`` (only the id), ``none`` (the source's people are its own: hashed with the source id,
so they never meet another source's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbook.crm.privacy import pseudonym_table
from workbook.exceptions import Problem

__all__ = ["KEYS_FILE", "MATCH_MODES", "Matched", "link_contacts", "link_warnings", "relink_source"]

MATCH_MODES = ("auto", "email", "id", "none")
#: Beside a source's tables: (key, contact_id), the hashed keys its contacts carry.
KEYS_FILE = "keys.parquet"
_SEP = "\x1f"  # between the source id and the id in a source's own key (never in either)


@dataclass(frozen=True)
class Matched:
    """How an import's contacts met the people already in the workspace.

    Attributes
    ----------
    mode
        The match mode used (``auto``, ``email``, ``id``, ``none``).
    contacts
        The import's contacts (people), after linking.
    on_email, on_id
        Of those, how many are people the workspace already held, found by their e-mail
        address or by their id.
    new
        How many are new to the workspace.
    with_email
        How many of the import's contacts carry an e-mail address.
    conflicts
        Contacts whose e-mail and id led to two different people: those two are one person,
        merged into the one the e-mail leads to (their sources rewritten).
    relinked
        Contacts of other sources found to be people of this one and merged into them (a
        Salesforce contact role names the person of an opportunity imported before).
    """

    mode: str
    contacts: int
    on_email: int
    on_id: int
    new: int
    with_email: int
    conflicts: int = 0
    relinked: int = 0

    @property
    def matched(self) -> int:
        return self.on_email + self.on_id

    def line(self) -> str:
        """One line for the import's summary."""
        if self.mode == "none":
            return f"  people: {self.contacts:,}, kept apart from other sources (--match none)"
        on = []
        if self.on_email:
            on.append(f"{self.on_email:,} on e-mail")
        if self.on_id:
            on.append(f"{self.on_id:,} on id")
        found = f" ({', '.join(on)})" if on else ""
        line = (
            f"  people: {self.contacts:,}; {self.matched:,} already in the workspace{found}, "
            f"{self.new:,} new"
        )
        if self.relinked:
            line += f"; {self.relinked:,} contacts of other sources linked to them"
        return line

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "contacts": self.contacts,
            "on_email": self.on_email,
            "on_id": self.on_id,
            "new": self.new,
            "with_email": self.with_email,
            "conflicts": self.conflicts,
            "relinked": self.relinked,
        }


def _files(others: Sequence[Path], name: str) -> str | None:
    # a table the Spark import wrote is a folder of part files: its glob
    found = [p / name / "*.parquet" if (p / name).is_dir() else p / name for p in others]
    found = [f for f in found if f.exists() or f.name == "*.parquet"]
    if not found:
        return None
    return "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in found) + "]"


def link_contacts(
    con: Any,
    *,
    contacts: str,
    emails: str | None,
    salt: bytes,
    source_id: str,
    mode: str,
    others: Sequence[Path],
    aliases: str | None = None,
    hasher: Callable[[Any, str, bytes, str], None] = pseudonym_table,
) -> Matched:
    """Give each contact of an import its pseudonym, linked to the workspace's people.

    Creates the DuckDB tables ``_ids`` (``ext``, ``cid``: each id of the source and its
    contact) and ``_keys`` (``key``, ``contact_id``: what to write as the source's
    :data:`KEYS_FILE`).

    Parameters
    ----------
    contacts
        A relation with ``contact_id``: the source's own ids.
    emails
        A query of (``contact_id``, ``email``), the address each id carries (any rows per
        id; the smallest address wins when they differ), or None.
    others
        The source folders of the workspace's other sources.
    aliases
        A query of (``contact_id``, ``alias``): other ids that stand for the contact in other
        sources (an opportunity's id, for the person a Salesforce contact role names). A
        contact of another source known by such an id is merged into this contact: the
        table ``_merge`` (``old``, ``new``) lists them, for :func:`relink_source`.
    hasher
        Makes a table of pseudonyms (:func:`workbook.crm.privacy.pseudonym_table`'s
        arguments and result); the Spark import passes its own, with the same hash.
    """
    if mode not in MATCH_MODES:
        raise ValueError(f"match mode {mode!r}, expected one of {MATCH_MODES}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lk_ext AS "
        f"SELECT DISTINCT contact_id AS ext FROM {contacts} "
        "WHERE contact_id IS NOT NULL AND contact_id <> ''"
    )
    # an id that is an address is the address; else the one its rows give (trimmed; case is
    # folded with the hash, so "A@x.org " and "a@x.org" are one)
    given = (
        # a cell may list several addresses ("a@x.org, b@y.org"): the first is the person's
        "LEFT JOIN (SELECT contact_id AS ext, min(trim(split_part(email, ',', 1))) AS email "
        f"FROM ({emails}) WHERE contains(email, '@') GROUP BY contact_id) m USING (ext)"
        if emails
        else ""
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lk_mail AS SELECT ext, "
        f"CASE WHEN contains(ext, '@') THEN ext ELSE {'m.email' if emails else 'NULL'} END "
        f"AS email FROM _lk_ext {given}"
    )
    # each hash computed once: an id that is an address is hashed as the id (the same
    # value), and the source's own keys only where a contact may need one
    hasher(con, "SELECT ext FROM _lk_ext", salt, "_lk_pi")
    hasher(
        con,
        "SELECT email AS ext FROM _lk_mail WHERE email IS NOT NULL AND email <> ext",
        salt,
        "_lk_pe",
    )
    sep = _SEP.replace("'", "''")
    sid = source_id.replace("'", "''")
    own = mode in ("none", "email")
    hasher(
        con,
        f"SELECT '{sid}{sep}' || ext AS ext FROM _lk_ext" + ("" if own else " WHERE false"),
        salt,
        "_lk_po",
    )

    keys = _files(others, "keys.parquet")
    ids = _files(others, "contacts.parquet")
    known = []
    if keys:
        known.append(f"SELECT key, contact_id FROM read_parquet({keys})")
    if ids:  # a source from before keys were kept: its pseudonyms are its keys
        known.append(f"SELECT contact_id AS key, contact_id FROM read_parquet({ids})")
    if known:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _lk_known AS SELECT key, min(contact_id) AS contact_id "
            f"FROM ({' UNION ALL '.join(known)}) GROUP BY key"
        )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _lk_known (key VARCHAR, contact_id VARCHAR)")

    use_email = mode in ("auto", "email")
    use_id = mode in ("auto", "id")
    ke = "ke.contact_id" if use_email else "NULL"
    ki = "ki.contact_id" if use_id else "NULL"
    pe = "e.cid" if use_email else "NULL"
    pi = "pi.cid" if use_id else "NULL"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _lk_choice AS
        SELECT x.ext, coalesce({ke}, {ki}, {pe}, {pi}, po.cid) AS cid,
               CASE WHEN {ke} IS NOT NULL THEN 'email' WHEN {ki} IS NOT NULL THEN 'id' END
                   AS matched_on,
               {pe} AS email_key, {pi} AS id_key, e.cid IS NOT NULL AS has_email,
               {ke} IS NOT NULL AND {ki} IS NOT NULL AND {ke} <> {ki} AS conflict,
               {ki} AS id_person
        FROM _lk_ext x
        JOIN _lk_pi pi ON pi.ext = x.ext
        LEFT JOIN _lk_po po ON po.ext = '{sid}{sep}' || x.ext
        LEFT JOIN _lk_mail m ON m.ext = x.ext
        LEFT JOIN _lk_pe pe ON pe.ext = m.email
        -- the address's hash: the id's own when the id is the address
        CROSS JOIN LATERAL (
            SELECT CASE WHEN m.email = x.ext THEN pi.cid ELSE pe.cid END AS cid
        ) e
        LEFT JOIN _lk_known ke ON ke.key = e.cid
        LEFT JOIN _lk_known ki ON ki.key = pi.cid
        """
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _ids AS SELECT ext, cid FROM _lk_choice")
    alias_keys = ""
    if aliases:
        hasher(
            con,
            f"SELECT DISTINCT alias AS ext FROM ({aliases}) WHERE alias IS NOT NULL",
            salt,
            "_lk_pa",
        )
        alias_keys = (
            "UNION ALL SELECT pa.cid, c.cid FROM "
            f"(SELECT DISTINCT contact_id AS ext, alias FROM ({aliases})) a "
            "JOIN _lk_pa pa ON pa.ext = a.alias JOIN _lk_choice c ON c.ext = a.ext"
        )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _keys AS
        SELECT DISTINCT key, cid AS contact_id FROM (
            SELECT email_key AS key, cid FROM _lk_choice WHERE email_key IS NOT NULL
            UNION ALL
            SELECT id_key, cid FROM _lk_choice WHERE id_key IS NOT NULL
            {alias_keys}
        )
        """
    )
    # another source's contact that one of the aliases names, or that this contact's id
    # leads to while its e-mail leads to someone else, is this contact: merge it
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _merge AS SELECT old, min(new) AS new FROM ("
        "SELECT id_person AS old, cid AS new FROM _lk_choice WHERE conflict"
        + (
            " UNION ALL SELECT kn.contact_id, k.contact_id FROM _keys k "
            "JOIN _lk_pa pa ON pa.cid = k.key JOIN _lk_known kn ON kn.key = k.key "
            "WHERE kn.contact_id <> k.contact_id"
            if aliases
            else ""
        )
        + ") GROUP BY old"
    )
    relinked = int(con.execute("SELECT count(*) FROM _merge").fetchall()[0][0])
    row = con.execute(
        """
        SELECT count(*),
               count(*) FILTER (WHERE on_what = 1), count(*) FILTER (WHERE on_what = 2),
               count(*) FILTER (WHERE on_what IS NULL), count(*) FILTER (WHERE mail),
               count(*) FILTER (WHERE clash)
        FROM (
            SELECT cid, min(CASE matched_on WHEN 'email' THEN 1 WHEN 'id' THEN 2 END) AS on_what,
                   bool_or(has_email) AS mail, bool_or(conflict) AS clash
            FROM _lk_choice GROUP BY cid
        )
        """
    ).fetchall()[0]
    for t in ("_lk_ext", "_lk_mail", "_lk_pe", "_lk_pi", "_lk_po", "_lk_known", "_lk_pa"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    c, on_email, on_id, new, mail, clash = (int(v) for v in row)
    return Matched(mode, c, on_email, on_id, new, mail, clash, relinked)


def relink_source(con: Any, source: Path, out: Path) -> dict[str, int] | None:
    """Write a copy of another source in ``out`` with its contacts merged as ``_merge`` says.

    Returns its tables' new row counts, or None when none of its contacts is merged (nothing
    written). Contacts that become one keep the earliest created row; events and deals keep
    every row, under the person's id, in the order the import writes them.
    """
    files = {t: source / f"{t}.parquet" for t in ("contacts", "events", "deals", "keys")}
    path = "'" + str(files["contacts"]).replace("'", "''") + "'"
    hit = con.execute(
        f"SELECT count(*) FROM read_parquet({path}) c JOIN _merge m ON m.old = c.contact_id"
    ).fetchall()[0][0]
    if not hit:
        return None
    out.mkdir(parents=True)
    order = {
        "contacts": "contact_id",
        "events": "contact_id, ts, seq",
        "deals": "contact_id, created_at, deal_id",
        "keys": "key",
    }
    counts: dict[str, int] = {}
    for table, file in files.items():
        if not file.exists():
            continue
        src = "'" + str(file).replace("'", "''") + "'"
        body = (
            f"SELECT t.* REPLACE (coalesce(m.new, t.contact_id) AS contact_id) "
            f"FROM read_parquet({src}) t LEFT JOIN _merge m ON m.old = t.contact_id"
        )
        if table == "contacts":
            body = (
                f"SELECT * FROM ({body}) QUALIFY row_number() OVER "
                "(PARTITION BY contact_id ORDER BY created_at NULLS LAST, source_id) = 1"
            )
        elif table == "keys":
            body = f"SELECT DISTINCT * FROM ({body})"
        target = "'" + str(out / file.name).replace("'", "''") + "'"
        con.execute(
            f"COPY (SELECT * FROM ({body}) ORDER BY {order[table]}) TO {target} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        if table != "keys":
            counts[table] = int(
                con.execute(f"SELECT count(*) FROM read_parquet({target})").fetchall()[0][0]
            )
    return counts


def link_warnings(
    matched: Matched, file: str, others: int, has_email_column: bool
) -> list[Problem]:
    """What to tell the user when the import's people could not be linked."""
    out = []
    if others and matched.mode != "none" and matched.contacts and not matched.matched:
        why = (
            "its contacts have no e-mail address"
            if not matched.with_email
            else "no address or id of it is one another source carries"
        )
        if matched.mode == "email" and not has_email_column:
            why = "--match email was asked for, and the export has no e-mail column"
        out.append(
            Problem(
                f"none of its {matched.contacts:,} people matched anyone already in the "
                f"workspace ({why}); they count as people of their own",
                file=file,
                severity="warning",
                hint="export it with the e-mail column, or name a shared id column "
                "(generic files: `email:` or `match:` in the column map); --match none says "
                "the sources are meant to stay apart",
            )
        )
    if matched.conflicts:
        out.append(
            Problem(
                f"{matched.conflicts:,} people's e-mail and id led to two different people "
                "already in the workspace; each such pair is now one person",
                file=file,
                severity="warning",
                hint="if the two exports' ids are not the same people's, import both "
                "again with --match email",
            )
        )
    return out
