"""HubSpot contacts export: one row per contact, a "Became a ... Date" column per stage.

Read: ``Record ID`` (the contact), ``Became a <stage> Date`` (one stage entry each, the
standard lifecycle stages and custom ones alike), ``Lifecycle Stage`` (checked against the
stage map), ``Original Source`` (lead source), ``Create Date``, and when present ``Persona``,
``Industry``, ``Number of Employees``, ``Country/Region``. ``Email`` is read only to link the
contact with the same person in other sources (hashed with the workspace's salt, never
stored); names and phone numbers are never read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from workbook.crm.sources import ReadContext, SourceQueries, cell, header_has, qi, register
from workbook.exceptions import CrmImportError, Problem

__all__ = ["HubSpot"]

_BECAME = re.compile(r"^\s*became\s+(?:a|an)\s+(.+?)\s+date\s*$", re.IGNORECASE)
_ID = ("Record ID", "Contact ID", "VID", "hs_object_id")


class HubSpot:
    name = "hubspot"

    def detect(self, header: Sequence[str]) -> bool:
        has_id = any(header_has(header, n) for n in _ID)
        return has_id and (
            header_has(header, "Lifecycle Stage") or any(_BECAME.match(h) for h in header)
        )

    def resembles(self, header: Sequence[str]) -> bool:
        return header_has(header, "Lifecycle Stage") or any(_BECAME.match(h) for h in header)

    def read(self, ctx: ReadContext) -> SourceQueries:
        cols = ctx.require({"id": _ID}, "HubSpot contacts export")
        stage_cols = [(h, _BECAME.match(h).group(1)) for h in ctx.header if _BECAME.match(h)]  # type: ignore[union-attr]
        if not stage_cols:
            ctx.require({"became": ("Became a Lead Date",)}, "HubSpot contacts export")
        optional = {
            "lifecycle": ctx.find("Lifecycle Stage"),
            "source": ctx.find("Original Source", "Original Source Type"),
            "created": ctx.find("Create Date", "Created Date"),
            "persona": ctx.find("Persona"),
            "industry": ctx.find("Industry"),
            "size": ctx.find("Number of Employees", "Company size"),
            "country": ctx.find("Country/Region", "Country"),
            "email": ctx.find("Email", "E-mail", "Email Address"),
        }
        con = ctx.con
        select = [f"{cell(cols['id'])} AS ext_id"]
        mapped: list[tuple[str, str]] = []  # (column alias, stage id)
        for i, (col, name) in enumerate(stage_cols):
            if not ctx.stages.knows(name):
                has_values = con.execute(f"SELECT count({qi(col)}) FROM raw").fetchall()[0][0]
                if has_values:
                    ctx.problem(
                        f"unknown stage {name!r} (from the column {col!r})",
                        column=col,
                        hint="give the stage it belongs to an alias (the data step's form, or "
                        "the stage's `aliases` in workspace.yaml), or map it in a stage map "
                        "(--stage-map stages.yaml): "
                        f"'{name}: <stage id>' with one of {', '.join(ctx.stages.stage_ids)}, "
                        "or null to ignore it",
                    )
                continue
            target = ctx.stages.get(name)
            if target is None:
                continue
            select += [f"{cell(col)} AS raw_s{i}", f"{ctx.ts(cell(col))} AS s{i}"]
            mapped.append((f"s{i}", target))
        for key in ("lifecycle", "source", "persona", "industry", "size", "country", "email"):
            name = optional[key]
            select.append(f"{cell(name)} AS {key}" if name else f"NULL::VARCHAR AS {key}")
        if optional["created"]:
            select += [
                f"{cell(optional['created'])} AS raw_created",
                f"{ctx.ts(cell(optional['created']))} AS created",
            ]
        else:
            select += ["NULL::VARCHAR AS raw_created", "NULL::TIMESTAMPTZ AS created"]
        ctx.stage(", ".join(select))
        _require_dates(ctx, [c for c, _ in stage_cols], mapped, optional["created"])

        ctx.flag(
            "_stg",
            "ext_id IS NULL OR ext_id = ''",
            cols["id"],
            "the contact id is empty",
            "every contact needs its Record ID; export again with that column",
        )
        ctx.check_unique("_stg", "ext_id", cols["id"], "Record ID")
        for alias, _ in mapped:
            col = stage_cols[int(alias[1:])][0]
            ctx.check_ts("_stg", f"raw_{alias}", alias, col)
        if optional["created"]:
            ctx.check_ts("_stg", "raw_created", "created", optional["created"])
        if optional["lifecycle"]:
            lk = ctx.stage_lookup("_stg", "lifecycle")
            ctx.flag_unknown_stages("_stg", "lifecycle", lk, optional["lifecycle"])
        if optional["source"]:
            ctx.flag(
                "_stg",
                "source IS NULL",
                optional["source"],
                "no lead source",
                "these contacts count under 'unknown source' in the lead-source analysis",
                severity="warning",
            )
        persona = "NULL::VARCHAR"
        join = ""
        if optional["persona"]:
            lk = ctx.persona_lookup("_stg", "persona")
            join = f"LEFT JOIN {lk} pl ON pl.raw = s.persona"
            persona = "pl.value"

        first_stage = " , ".join(alias for alias, _ in mapped)
        created = f"coalesce(s.created, least({first_stage}))" if mapped else "s.created"
        contacts = f"""
            SELECT s.__row, s.ext_id AS contact_id, {persona} AS persona,
                   NULL AS segment, NULL AS icp,
                   s.source AS lead_source, s.industry, s.size AS company_size, s.country,
                   {created} AS created_at
            FROM _stg s {join}
        """
        parts = [
            # equal dates: the earlier stage of the workspace comes first
            f"SELECT __row, {ctx.stages.stage_ids.index(stage)} AS __sub, ext_id AS contact_id, "
            f"{alias} AS ts, "
            f"'stage' AS kind, '{stage}' AS stage FROM _stg WHERE {alias} IS NOT NULL"
            for alias, stage in mapped
        ]
        events = (
            " UNION ALL ".join(parts)
            if parts
            else (
                "SELECT NULL::BIGINT AS __row, 0 AS __sub, NULL::VARCHAR AS contact_id, "
                "NULL::TIMESTAMPTZ AS ts, "
                "NULL::VARCHAR AS kind, NULL::VARCHAR AS stage WHERE false"
            )
        )
        deals = (
            "SELECT NULL::BIGINT AS __row, NULL::VARCHAR AS deal_id, "
            "NULL::VARCHAR AS contact_id WHERE false"
        )
        emails = "SELECT ext_id AS contact_id, email FROM _stg" if optional["email"] else None
        return SourceQueries(contacts, events, deals, emails=emails)


def _require_dates(
    ctx: ReadContext, stage_cols: list[str], mapped: list[tuple[str, str]], created: str | None
) -> None:
    """Refuse an export in which no row has a date: no date of a stage the workspace maps,
    and no create date (either column missing or empty). It would import contacts in no
    stage at no time. Rows without any date, in a file that has some, are a warning."""
    dates = [f"raw_{alias}" for alias, _ in mapped] + (["raw_created"] if created else [])
    if dates:
        any_date = f"coalesce({', '.join(dates)}) IS NOT NULL"
        if ctx.con.execute(f"SELECT bool_or({any_date}) FROM _stg").fetchall()[0][0]:
            ctx.flag(
                "_stg",
                f"NOT ({any_date})",
                created or stage_cols[0],
                "the contact has no date (no stage date, no create date)",
                "it counts in no stage; check the contact in HubSpot",
                severity="warning",
            )
            return
    looked = [*stage_cols, created or "Create Date"]
    empty = [*stage_cols, *([created] if created else [])]
    said = []
    if empty:
        said.append(
            f"{', '.join(repr(c) for c in empty)} {'is' if len(empty) == 1 else 'are'} empty"
        )
    if not created:
        said.append("there is no 'Create Date' column")
    raise CrmImportError(
        f"{ctx.file}: not imported, the export has no dates; nothing was changed",
        [
            Problem(
                "no stage date and no create date: " + "; ".join(said),
                file=ctx.file,
                row=0,
                column=looked[0],
                hint="export the contacts again with the lifecycle stage dates "
                "('Became a Lead Date', 'Became a Customer Date'...) and 'Create Date'; "
                "without a date a contact cannot be placed in any stage",
            )
        ],
    )


register(HubSpot())
