"""Salesforce OpportunityContactRole: which person each opportunity belongs to.

An OpportunityHistory export names no person, so on its own each opportunity counts as a
contact of its own. The contact roles export (``OpportunityId``, ``ContactId``, ``IsPrimary``,
and ``Contact.Email`` when the export query takes it) links them: each opportunity belongs
to its primary contact (else the contact whose role was created first, else the smallest
id). The export brings no events and no deals; its people are the opportunities' contacts,
linked to the same people in other exports by e-mail (:mod:`workbook.crm.identity`), and the
opportunities imported before or after it become theirs. Rows with ``IsDeleted`` true are
skipped. An Opportunities export with the contact's e-mail (``OpportunityId`` or ``Id``,
``Contact.Email``) works the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from workbook.crm.sources import ReadContext, SourceQueries, cell, header_has, register

__all__ = ["SalesforceRoles"]

_OPP = ("OpportunityId", "Opportunity.Id")
_CONTACT = ("ContactId", "Contact.Id")
_EMAIL = ("Contact.Email", "Email", "Contact Email")


class SalesforceRoles:
    name = "salesforce-roles"

    def detect(self, header: Sequence[str]) -> bool:
        has_opp = any(header_has(header, n) for n in _OPP)
        has_person = any(header_has(header, n) for n in _CONTACT + _EMAIL)
        return has_opp and has_person and not header_has(header, "StageName")

    def read(self, ctx: ReadContext) -> SourceQueries:
        req = ctx.require({"opp": _OPP}, "Salesforce OpportunityContactRole export")
        opt = {
            "contact": ctx.find(*_CONTACT),
            "email": ctx.find(*_EMAIL),
            "primary": ctx.find("IsPrimary"),
            "created": ctx.find("CreatedDate"),
            "deleted": ctx.find("IsDeleted"),
        }
        if not opt["contact"] and not opt["email"]:
            ctx.require({"contact": _CONTACT}, "Salesforce OpportunityContactRole export")

        def col(key: str) -> str:
            name = opt[key]
            return cell(name) if name else "NULL::VARCHAR"

        deleted = f"lower(coalesce({col('deleted')}, 'false')) IN ('true', '1')"
        ctx.stage(
            f"""{cell(req["opp"])} AS opp,
                   coalesce({col("contact")}, lower({col("email")})) AS contact,
                   {col("email")} AS email,
                   lower(coalesce({col("primary")}, 'false')) IN ('true', '1') AS is_primary,
                   {col("created")} AS raw_created, {ctx.ts(col("created"))} AS created""",
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
            "contact IS NULL",
            opt["contact"] or opt["email"],
            "the role names no contact",
            "every row needs its ContactId (or the contact's e-mail)",
        )
        if opt["created"]:
            ctx.check_ts("_stg", "raw_created", "created", opt["created"])
        # each opportunity's person: its primary contact, else the first role, else the
        # smallest id; never the row's place in the file (the rows set aside left out: the
        # importer makes _rej before it runs these queries)
        roles = """(
            SELECT opp, arg_min(contact, (NOT is_primary, created, contact)) AS contact,
                   min(__row) AS __row, min(created) AS created
            FROM (SELECT * FROM _stg ANTI JOIN _rej USING (__row)) GROUP BY opp
        )"""
        contacts = f"""
            SELECT min(__row) AS __row, contact AS contact_id, min(created) AS created_at
            FROM {roles} GROUP BY contact
        """
        events = (
            "SELECT NULL::BIGINT AS __row, 0 AS __sub, NULL::VARCHAR AS contact_id, "
            "NULL::TIMESTAMPTZ AS ts, NULL::VARCHAR AS kind WHERE false"
        )
        deals = (
            "SELECT NULL::BIGINT AS __row, NULL::VARCHAR AS deal_id, "
            "NULL::VARCHAR AS contact_id WHERE false"
        )
        emails = (
            "SELECT s.contact AS contact_id, s.email FROM _stg s "
            f"SEMI JOIN {roles} r ON r.contact = s.contact"
            if opt["email"]
            else None
        )
        aliases = f"SELECT contact AS contact_id, opp AS alias FROM {roles}"
        return SourceQueries(contacts, events, deals, emails=emails, aliases=aliases)


register(SalesforceRoles())
