"""Pipedrive deals export: one row per deal, "Deal - ..." columns.

Read: ``Deal - ID``, ``Deal - Stage`` (the deal's current stage), ``Deal - Status`` (open,
won, lost; deleted rows are skipped), ``Deal - Deal created``, ``Deal - Won time``, ``Deal -
Lost time``, ``Deal - Lost reason``, ``Deal - Source channel`` (lead source), ``Deal - Value``
and ``Deal - Currency``. The contact is the deal's person, by id (``Person - ID``, or
``Deal - Contact person ID``); a deal with no person belongs to its organisation, by id
(``Organization - ID``, or ``Deal - Organization ID``). Never a name: two people may share
one, and one person may be written two ways. A file with neither id column is refused, and
a row with neither id is a bad row. A deals export has no stage history: the deal enters its
current stage at ``Deal - Last stage change`` when the export has it, else when it was
created. ``Person - Email`` is read only to link the person with other sources (hashed with
the workspace's salt, never stored).
"""

from __future__ import annotations

from collections.abc import Sequence

from workbook.crm.sources import ReadContext, SourceQueries, cell, header_has, ql, register
from workbook.exceptions import CrmImportError, Problem

__all__ = ["Pipedrive"]

#: The columns that may hold the deal's person's id, and its organisation's, as Pipedrive
#: names them in a deals export with the person's or the organisation's fields added.
PERSON_ID = ("Person - ID", "Deal - Contact person ID", "Deal - Person ID")
ORGANIZATION_ID = (
    "Organization - ID",
    "Deal - Organization ID",
    "Organisation - ID",
    "Deal - Organisation ID",
)


class Pipedrive:
    name = "pipedrive"

    def detect(self, header: Sequence[str]) -> bool:
        return header_has(header, "Deal - ID") or header_has(
            header, "Deal - Stage", "Deal - Status"
        )

    def resembles(self, header: Sequence[str]) -> bool:
        return any(h.lower().startswith("deal - ") for h in header)

    def read(self, ctx: ReadContext) -> SourceQueries:
        req = ctx.require(
            {
                "id": ("Deal - ID",),
                "stage": ("Deal - Stage",),
                "status": ("Deal - Status",),
                "created": ("Deal - Deal created", "Deal - Created", "Deal - Add time"),
            },
            "Pipedrive deals export",
        )
        opt = {
            "value": ctx.find("Deal - Value"),
            "currency": ctx.find("Deal - Currency"),
            "won": ctx.find("Deal - Won time"),
            "lost": ctx.find("Deal - Lost time"),
            "reason": ctx.find("Deal - Lost reason"),
            "source": ctx.find(
                "Deal - Source channel", "Deal - Source origin", "Deal - Lead source"
            ),
            "moved": ctx.find("Deal - Last stage change", "Deal - Stage change time"),
            "person": ctx.find(*PERSON_ID),
            "org": ctx.find(*ORGANIZATION_ID),
            "email": ctx.find("Person - Email", "Deal - Contact person email", "Email"),
        }
        if not opt["person"] and not opt["org"]:
            named = ctx.find("Deal - Contact person", "Person - Name")
            raise CrmImportError(
                f"{ctx.file}: cannot tell whose deals these are",
                [
                    Problem(
                        f"no {PERSON_ID[0]!r} or {ORGANIZATION_ID[0]!r} column"
                        + (f" (only the names in {named!r})" if named else ""),
                        file=ctx.file,
                        row=0,
                        column=PERSON_ID[0],
                        hint="export the deals again with the person's ID and the "
                        "organization's ID added (in Pipedrive's export, pick the Person and "
                        "Organization fields 'ID'); a name cannot tell two people apart",
                    )
                ],
            )

        def col(key: str) -> str:
            name = opt[key]
            return cell(name) if name else "NULL::VARCHAR"

        status = f"lower({cell(req['status'])})"
        ctx.stage(
            f"""{cell(req["id"])} AS deal, {cell(req["stage"])} AS stage_raw,
                   {status} AS status,
                   {cell(req["created"])} AS raw_created, {ctx.ts(cell(req["created"]))} AS created,
                   {col("won")} AS raw_won, {ctx.ts(col("won"))} AS won,
                   {col("lost")} AS raw_lost, {ctx.ts(col("lost"))} AS lost,
                   {col("moved")} AS raw_moved, {ctx.ts(col("moved"))} AS moved,
                   {col("value")} AS raw_value, {ctx.amount(col("value"))} AS value,
                   {col("currency")} AS currency, {col("reason")} AS reason,
                   {col("source")} AS source,
                   coalesce({col("person")}, 'org:' || {col("org")}) AS contact,
                   {col("email")} AS email""",
            where=f"coalesce({status}, '') <> 'deleted'",
        )
        ctx.flag(
            "_stg",
            "deal IS NULL",
            req["id"],
            "the deal id is empty",
            "every row needs its Deal - ID",
        )
        ctx.check_unique("_stg", "deal", req["id"], "Deal - ID")
        ctx.flag(
            "_stg",
            "contact IS NULL",
            opt["person"] or opt["org"],
            "the deal has no person and no organization",
            "link the deal to a person or an organization in Pipedrive and export again, "
            "or set the row aside",
        )
        ctx.flag(
            "_stg",
            "status IS NULL OR status NOT IN ('open', 'won', 'lost')",
            req["status"],
            "the status is not open, won or lost",
            "fix the status, or remove the row",
        )
        ctx.check_ts("_stg", "raw_created", "created", req["created"], required=True)
        for key in ("won", "lost", "moved"):
            if name := opt[key]:
                ctx.check_ts("_stg", f"raw_{key}", key, name)
        ctx.check_amount("_stg", "raw_value", "value", opt["value"] or "Deal - Value")
        if opt["won"]:
            ctx.flag(
                "_stg",
                "status = 'won' AND won IS NULL AND raw_won IS NULL",
                opt["won"],
                "a won deal without a won time",
                "its time to close is unknown",
                severity="warning",
            )
        lk = ctx.stage_lookup("_stg", "stage_raw")
        ctx.flag_unknown_stages("_stg", "stage_raw", lk, req["stage"])
        ctx.con.execute(
            f"CREATE OR REPLACE TEMP VIEW _pd AS SELECT s.*, l.value AS stage_id, "
            f"CASE s.status WHEN 'won' THEN s.won WHEN 'lost' THEN s.lost END AS closed_at "
            f"FROM _stg s LEFT JOIN {lk} l ON l.raw = s.stage_raw"
        )
        currency = (
            f"coalesce(currency, {ql(ctx.options['currency'])})"
            if ctx.options.get("currency")
            else "currency"
        )
        events = """
            SELECT __row, 0 AS __sub, contact AS contact_id, created AS ts, 'deal' AS kind,
                   NULL AS stage, 'created' AS action, deal AS deal_id, value FROM _pd
            UNION ALL
            SELECT __row, 1, contact, coalesce(moved, created), 'stage', stage_id, NULL, deal, NULL
            FROM _pd WHERE stage_id IS NOT NULL
            UNION ALL
            SELECT __row, 2, contact, closed_at, 'deal', stage_id, status, deal, value
            FROM _pd WHERE status IN ('won', 'lost') AND closed_at IS NOT NULL
        """
        deals = f"""
            SELECT __row, deal AS deal_id, contact AS contact_id, value AS amount,
                   {currency} AS currency,
                   created AS created_at, closed_at, status AS outcome,
                   CASE WHEN status = 'lost' THEN reason END AS lost_reason, stage_id AS stage
            FROM _pd
        """
        contacts = """
            SELECT min(__row) AS __row, contact AS contact_id,
                   arg_min(source, (created, source)) AS lead_source,
                   min(created) AS created_at
            FROM (SELECT * FROM _pd ANTI JOIN _rej USING (__row)) GROUP BY contact
        """
        # an organisation's deals carry no person's address
        emails = (
            "SELECT contact AS contact_id, email FROM _pd WHERE NOT starts_with(contact, 'org:')"
            if opt["email"]
            else None
        )
        return SourceQueries(contacts, events, deals, emails=emails)


register(Pipedrive())
