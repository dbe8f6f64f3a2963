"""Salesforce OpportunityHistory, as Data Loader or the Bulk API export it.

One row per stage change of an opportunity (``OpportunityId``, ``StageName``, ``Amount``,
``CreatedDate``), moves back to an earlier stage included. "Closed Won" and "Closed Lost"
close the deal (won or lost) rather than name a stage, unless the stage map maps them; the
last row of an opportunity decides its outcome (a deal reopened after "Closed Lost" is open).
Rows of one opportunity at the same time are ordered by content, never by their place in the
file: the workspace's stage order, a close after the stages, then the other values. The
contact is ``ContactId`` when the export has it, else ``AccountId``, else the opportunity.
Rows with ``IsDeleted`` true are skipped. Data Loader writes upper-case headers; names are
matched without regard to case.
"""

from __future__ import annotations

from collections.abc import Sequence

from workbook.crm.sources import ReadContext, SourceQueries, cell, header_has, ql, register
from workbook.crm.stagemap import normal

__all__ = ["Salesforce"]

_CLOSED = {"closedwon": "won", "closedlost": "lost"}


class Salesforce:
    name = "salesforce"

    def detect(self, header: Sequence[str]) -> bool:
        return header_has(header, "OpportunityId", "StageName")

    def resembles(self, header: Sequence[str]) -> bool:
        return header_has(header, "OpportunityId") or header_has(header, "StageName")

    def read(self, ctx: ReadContext) -> SourceQueries:
        req = ctx.require(
            {
                "opp": ("OpportunityId",),
                "stage": ("StageName",),
                "date": ("CreatedDate", "SystemModstamp"),
            },
            "Salesforce OpportunityHistory export",
        )
        opt = {
            "id": ctx.find("Id"),
            "amount": ctx.find("Amount"),
            "currency": ctx.find("CurrencyIsoCode", "Opportunity.CurrencyIsoCode"),
            "contact": ctx.find(
                "ContactId", "Opportunity.ContactId", "AccountId", "Opportunity.AccountId"
            ),
            "deleted": ctx.find("IsDeleted"),
            "reason": ctx.find("Loss_Reason__c", "Opportunity.Loss_Reason__c", "Lost Reason"),
        }

        def col(key: str, cast: str = "VARCHAR") -> str:
            name = opt[key]
            return cell(name) if name else f"NULL::{cast}"

        deleted = f"lower(coalesce({col('deleted')}, 'false')) IN ('true', '1')"
        ctx.stage(
            f"""{cell(req["opp"])} AS opp, {cell(req["stage"])} AS stage_raw,
                   {cell(req["date"])} AS raw_ts, {ctx.ts(cell(req["date"]))} AS ts,
                   {col("amount")} AS raw_amount, {ctx.amount(col("amount"))} AS amount,
                   {col("currency")} AS currency,
                   coalesce({col("contact")}, {cell(req["opp"])}) AS contact,
                   {col("reason")} AS reason, {col("id")} AS hist_id""",
            where=f"NOT ({deleted})",
        )
        ctx.flag(
            "_stg",
            "opp IS NULL",
            req["opp"],
            "the opportunity id is empty",
            "every row needs its OpportunityId",
        )
        ctx.flag(
            "_stg",
            "stage_raw IS NULL",
            req["stage"],
            "the stage is empty",
            "every row needs its StageName",
        )
        ctx.check_ts("_stg", "raw_ts", "ts", req["date"], required=True)
        ctx.check_amount("_stg", "raw_amount", "amount", opt["amount"] or "Amount")
        if opt["id"]:
            ctx.check_unique("_stg", "hist_id", opt["id"], "history row Id")

        stages = ctx.stages

        def resolve(v: str) -> tuple[str | None, bool]:
            if stages.knows(v):
                return stages.get(v), True
            return None, normal(v) in _CLOSED

        lk = ctx.lookup("_stg", "stage_raw", resolve)
        ctx.flag_unknown_stages("_stg", "stage_raw", lk, req["stage"])
        closed = (
            "CASE lower(regexp_replace(s.stage_raw, '[\\s_\\-]+', '', 'g')) "
            "WHEN 'closedwon' THEN 'won' WHEN 'closedlost' THEN 'lost' END"
        )
        # rows of an opportunity at the same time are ordered by their content, never by
        # their place in the file: the workspace's stage order (a close, which is no stage,
        # after the stages), then the close, the amount and the other values
        rest = (
            "stage_id",
            "closed",
            "amount",
            "currency",
            "contact",
            "reason",
            "stage_raw",
            "hist_id",
        )
        ctx.con.execute(
            "CREATE OR REPLACE TEMP VIEW _sf AS "
            f"SELECT *, {ctx.moment('ts', 'stage_id', 'closed', rest)} AS moment FROM ("
            f"SELECT s.*, l.value AS stage_id, {closed} AS closed "
            f"FROM _stg s LEFT JOIN {lk} l ON l.raw = s.stage_raw)"
        )
        currency = (
            f"coalesce(currency, {ql(ctx.options['currency'])})"
            if ctx.options.get("currency")
            else "currency"
        )
        events = """
            SELECT __row, 1 AS __sub, contact AS contact_id, ts, 'stage' AS kind, stage_id AS stage,
                   opp AS deal_id, amount AS value
            FROM _sf WHERE stage_id IS NOT NULL
            UNION ALL
            SELECT __row, 2 AS __sub, contact, ts, 'deal', NULL, opp, amount
            FROM _sf WHERE closed IS NOT NULL
            UNION ALL
            SELECT __row, 0 AS __sub, contact, ts, 'deal', stage_id, opp, amount FROM (
                SELECT *, row_number() OVER (PARTITION BY opp ORDER BY moment) AS n
                FROM _sf ANTI JOIN _rej USING (__row)) WHERE n = 1
        """
        events = f"""
            SELECT e.*, CASE WHEN e.kind = 'deal' AND e.__sub = 0 THEN 'created'
                             WHEN e.kind = 'deal' THEN f.closed END AS action
            FROM ({events}) e JOIN _sf f USING (__row)
        """
        deals = f"""
            WITH s AS (SELECT * FROM _sf ANTI JOIN _rej USING (__row)),
            d AS (
                SELECT opp,
                       min(__row) AS __row,
                       arg_min(contact, moment) AS contact_id,
                       arg_max(amount, moment) FILTER (WHERE amount IS NOT NULL) AS amount,
                       arg_max({currency}, moment)
                           FILTER (WHERE {currency} IS NOT NULL) AS currency,
                       min(ts) AS created_at,
                       arg_max(coalesce(closed, 'open'), moment) AS last_state,
                       max(ts) AS last_ts,
                       arg_max(stage_id, moment) FILTER (WHERE stage_id IS NOT NULL) AS stage,
                       arg_max(reason, moment) FILTER (WHERE reason IS NOT NULL) AS reason
                FROM s GROUP BY opp
            )
            SELECT __row, opp AS deal_id, contact_id, amount, currency, created_at,
                   CASE WHEN last_state <> 'open' THEN last_ts END AS closed_at,
                   last_state AS outcome,
                   CASE WHEN last_state = 'lost' THEN reason END AS lost_reason, stage
            FROM d
        """
        contacts = """
            SELECT min(__row) AS __row, contact AS contact_id, min(ts) AS created_at
            FROM (SELECT * FROM _sf ANTI JOIN _rej USING (__row)) GROUP BY contact
        """
        return SourceQueries(contacts, events, deals)


register(Salesforce())
