"""Any long file of events (CSV, Excel, Parquet) with a column map.

Web analytics events, email tool exports with sends, opens and clicks, survey scores and
interview ratings: one row per event. A column map (YAML) says which column holds which
field; without one, common column names are recognised (``email``, ``timestamp``,
``event``...). Example ``columns.yaml``::

    columns:            # field: column in the file
      contact_id: Recipient
      ts: Opened at
      action: Event
      touchpoint: Campaign
    values:             # fields the file does not have, the same for every row
      kind: touch
      channel: email
    date_format: "%d/%m/%Y %H:%M"   # only when dates are not ISO

``kind`` is one of ``stage``, ``touch``, ``deal``, ``rating``; when neither the file nor the
map gives it, a row with a deal id and a deal action (created, won, lost) is a deal event, a
row with a value but no touchpoint a rating, a row with a touchpoint or channel a touch, a
row with only a stage a stage entry. Deal events
(created, won, lost with the amount in ``value``) also make the deals table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbook.crm.schema import EVENT_KINDS
from workbook.crm.sources import ReadContext, SourceQueries, cell, header_has, ql, register
from workbook.exceptions import CrmImportError, Problem

__all__ = ["FIELDS", "Generic"]

#: Fields of a generic file and the column names recognised for each without a map.
FIELDS: dict[str, tuple[str, ...]] = {
    "contact_id": (
        "contact_id",
        "contact",
        "email",
        "contact_email",
        "user_id",
        "customer_id",
        "person_id",
        "visitor_id",
        "recipient",
        "lead_id",
    ),
    "ts": (
        "ts",
        "timestamp",
        "time",
        "datetime",
        "date",
        "event_time",
        "occurred_at",
        "event_date",
    ),
    "kind": ("kind", "event_kind", "record_type"),
    "stage": ("stage", "lifecycle_stage", "funnel_stage"),
    "touchpoint": ("touchpoint", "touchpoint_name", "page", "campaign"),
    "channel": ("channel", "medium"),
    "action": ("action", "event", "event_type", "activity"),
    "deal_id": ("deal_id", "deal", "opportunity_id", "order_id"),
    "experiment": ("experiment", "test", "ab_test"),
    "variant": ("variant", "version"),
    "value": ("value", "amount", "score", "rating", "amount_or_score"),
    "currency": ("currency",),
    "lost_reason": ("lost_reason",),
    "persona": ("persona",),
    "segment": ("segment",),
    "icp": ("icp",),
    "lead_source": ("lead_source", "source", "original_source"),
    "industry": ("industry",),
    "company_size": ("company_size", "employees"),
    "country": ("country",),
    "event_id": ("event_id", "message_id"),
    # read only to link the contact with other sources (hashed, never stored); needed only
    # when the contact column is not the address itself
    "email": ("email", "e-mail", "email_address", "contact_email"),
}
_CONTACT_FIELDS = (
    "persona",
    "segment",
    "icp",
    "lead_source",
    "industry",
    "company_size",
    "country",
)


class Generic:
    name = "generic"

    def detect(self, header: Sequence[str]) -> bool:
        return any(header_has(header, n) for n in FIELDS["contact_id"]) and any(
            header_has(header, n) for n in FIELDS["ts"]
        )

    def _columns(self, ctx: ReadContext) -> tuple[dict[str, str], dict[str, Any]]:
        cmap = dict(ctx.options.get("column_map") or {})
        file = cmap.pop("__file__", "column map")
        given = cmap.get("columns") or {}
        values = cmap.get("values") or {}
        if cmap.get("date_format") and not ctx.options.get("date_format"):
            ctx.options["date_format"] = str(cmap["date_format"])
        problems = []
        if "match" in cmap:
            from workbook.crm.identity import MATCH_MODES

            if cmap["match"] not in MATCH_MODES:
                problems.append(
                    Problem(
                        f"match: {cmap['match']!r} is not a way to match people",
                        file=file,
                        field="match",
                        hint=f"use one of: {', '.join(MATCH_MODES)}",
                    )
                )
            elif not ctx.options.get("match"):  # --match on the command line comes first
                ctx.options["match"] = str(cmap["match"])
        unknown = [k for k in list(given) + list(values) if k not in FIELDS]
        for k in unknown:
            problems.append(
                Problem(
                    f"{k!r} is not a field",
                    file=file,
                    field=str(k),
                    hint=f"use one of: {', '.join(FIELDS)}",
                )
            )
        cols: dict[str, str] = {}
        for key, names in FIELDS.items():
            if key in given:
                found = ctx.find(str(given[key]))
                if found is None:
                    problems.append(
                        Problem(
                            f"the column {given[key]!r} is not in {ctx.file}",
                            file=file,
                            field=f"columns.{key}",
                            hint="check the spelling against the header",
                        )
                    )
                else:
                    cols[key] = found
            elif key not in values:
                found = ctx.find(*names)
                if found is not None:
                    cols[key] = found
        if problems:
            raise CrmImportError(f"{file}: the column map has problems", problems)
        for key in ("contact_id", "ts"):
            if key not in cols:
                ctx.require({key: FIELDS[key]}, "generic event file (or a column map naming it)")
        return cols, values

    def read(self, ctx: ReadContext) -> SourceQueries:
        cols, values = self._columns(ctx)
        email = cols.pop("email", None)
        if email == cols["contact_id"]:
            email = None  # the contact is its address already

        def field(key: str) -> str:
            if key in cols:
                return cell(cols[key])
            if key in values and values[key] is not None:
                return ql(str(values[key]))
            return "NULL::VARCHAR"

        kind = field("kind")
        inferred = (
            f"CASE WHEN {field('deal_id')} IS NOT NULL "
            f"AND lower({field('action')}) IN ('created', 'won', 'lost') THEN 'deal' "
            f"WHEN {field('touchpoint')} IS NULL AND {field('value')} IS NOT NULL THEN 'rating' "
            f"WHEN {field('touchpoint')} IS NOT NULL OR {field('channel')} IS NOT NULL "
            "THEN 'touch' "
            f"WHEN {field('stage')} IS NOT NULL THEN 'stage' ELSE 'touch' END"
        )
        select = [
            f"{field('contact_id')} AS ext_id",
            # only whether the text was there: the checks need no more, and 10M copies of
            # the text would double the staging table
            f"{field('ts')} IS NOT NULL OR NULL AS raw_ts",
            f"{ctx.ts(field('ts'))} AS ts",
            f"lower(coalesce({kind}, {inferred})) AS kind",
            f"{field('value')} IS NOT NULL OR NULL AS raw_value",
            f"{ctx.amount(field('value'))} AS value",
        ]
        if email:
            select.append(f"{cell(email)} AS email")
        constant: list[str] = []
        for key in (
            "stage",
            "touchpoint",
            "channel",
            "action",
            "deal_id",
            "experiment",
            "variant",
            "currency",
            "lost_reason",
            "event_id",
            *_CONTACT_FIELDS,
        ):
            # a field the file has is staged per row; one it lacks (a null, or the map's one
            # value for every row) is added by the view, so it takes no memory per row
            (select if key in cols else constant).append(f"{field(key)} AS {key}")
        ctx.stage(", ".join(select), name="_stg_file")
        ctx.con.execute(
            "CREATE OR REPLACE TEMP VIEW _stg AS SELECT *"
            + "".join(f", {c}" for c in constant)
            + " FROM _stg_file"
        )
        ctx.rows = int(ctx.con.execute("SELECT count(*) FROM _stg").fetchall()[0][0])
        ccol = cols["contact_id"]
        ctx.flag(
            "_stg", "ext_id IS NULL", ccol, "the contact is empty", "every event needs its contact"
        )
        ctx.check_ts("_stg", "raw_ts", "ts", cols["ts"], required=True)
        kinds = ", ".join(ql(k) for k in EVENT_KINDS)
        ctx.flag(
            "_stg",
            f"kind NOT IN ({kinds})",
            cols.get("kind", "kind"),
            "the kind is not one of " + ", ".join(EVENT_KINDS),
            "fix the value, or the map's values.kind",
        )
        ctx.flag(
            "_stg",
            "raw_value IS NOT NULL AND value IS NULL",
            cols.get("value", "value"),
            "the value is not a number",
            "values must be plain numbers like 1250.50 or 8",
        )
        ctx.flag(
            "_stg",
            "kind = 'deal' AND value < 0",
            cols.get("value", "value"),
            "the amount is negative",
            "amounts cannot be negative; fix or remove the row",
        )
        if "event_id" in cols:
            ctx.check_unique("_stg", "event_id", cols["event_id"], "event id")
        stage_join = tp_join = persona_join = ""
        # every value each column of the events can take (see SourceQueries)
        categories = {
            "kind": "SELECT DISTINCT kind FROM _stg",
            "channel": "SELECT DISTINCT lower(channel) FROM _stg",
            "action": "SELECT DISTINCT lower(action) FROM _stg",
            "experiment": "SELECT DISTINCT experiment FROM _stg",
            "variant": "SELECT DISTINCT variant FROM _stg",
        }
        stage = "NULL::VARCHAR"
        if "stage" in cols or values.get("stage"):
            lk = ctx.stage_lookup("_stg", "stage")
            ctx.flag_unknown_stages("_stg", "stage", lk, cols.get("stage", "stage"))
            stage_join, stage = f"LEFT JOIN {lk} sl ON sl.raw = s.stage", "sl.value"
            categories["stage"] = f"SELECT DISTINCT value FROM {lk}"
        touchpoint = "NULL::VARCHAR"
        if "touchpoint" in cols or values.get("touchpoint"):
            lk = ctx.touchpoint_lookup("_stg", "touchpoint")
            tp_join, touchpoint = f"LEFT JOIN {lk} tl ON tl.raw = s.touchpoint", "tl.value"
            categories["touchpoint"] = f"SELECT DISTINCT value FROM {lk}"
        persona = "NULL::VARCHAR"
        if "persona" in cols or values.get("persona"):
            lk = ctx.persona_lookup("_stg", "persona")
            persona_join, persona = f"LEFT JOIN {lk} pl ON pl.raw = s.persona", "pl.value"
        ctx.con.execute(
            f"""CREATE OR REPLACE TEMP VIEW _gen AS
            SELECT s.* EXCLUDE (stage, touchpoint, persona, action, channel),
                   {stage} AS stage, {touchpoint} AS touchpoint, {persona} AS persona,
                   lower(s.action) AS action, lower(s.channel) AS channel
            FROM _stg s {stage_join} {tp_join} {persona_join}"""
        )
        events = """
            SELECT __row, 0 AS __sub, ext_id AS contact_id, ts, kind,
                   CASE WHEN kind = 'stage' AND stage IS NULL THEN NULL ELSE stage END AS stage,
                   touchpoint, channel, action, deal_id, experiment, variant, value
            FROM _gen WHERE NOT (kind = 'stage' AND stage IS NULL)
        """
        currency = (
            f"coalesce(currency, {ql(ctx.options['currency'])})"
            if ctx.options.get("currency")
            else "currency"
        )
        moment_rest = ["stage", "action", "value", "currency", "lost_reason", "ext_id"]
        deals = f"""
            WITH g0 AS (
                -- only the stage looked up (not the touchpoint or persona)
                SELECT s.__row, s.ext_id, s.ts, s.value, s.deal_id, s.currency, s.lost_reason,
                       {stage} AS stage, lower(s.action) AS action
                FROM _stg s ANTI JOIN _rej r ON r.__row = s.__row {stage_join}
                WHERE s.kind = 'deal' AND s.deal_id IS NOT NULL
            ), g AS (
                -- a deal's rows in order of time, then of content (the workspace's stage
                -- order first), never of their place in the file
                SELECT *, {ctx.moment("ts", "stage", "action", moment_rest)} AS moment
                FROM g0
            ),
            d AS (
                SELECT deal_id, min(__row) AS __row, arg_min(ext_id, moment) AS contact_id,
                       max(value) AS amount,
                       arg_max({currency}, moment)
                           FILTER (WHERE {currency} IS NOT NULL) AS currency,
                       min(ts) AS created_at,
                       arg_max(action, moment)
                           FILTER (WHERE action IN ('won', 'lost')) AS closed,
                       max(ts) FILTER (WHERE action IN ('won', 'lost')) AS closed_at,
                       arg_max(lost_reason, moment)
                           FILTER (WHERE lost_reason IS NOT NULL) AS reason,
                       arg_max(stage, moment) FILTER (WHERE stage IS NOT NULL) AS stage
                FROM g GROUP BY deal_id
            )
            SELECT __row, deal_id, contact_id, amount, currency, created_at,
                   CASE WHEN closed IS NOT NULL THEN closed_at END AS closed_at,
                   coalesce(closed, 'open') AS outcome,
                   CASE WHEN closed = 'lost' THEN reason END AS lost_reason, stage
            FROM d
        """
        extra = ", ".join(
            f"min({persona}) AS persona" if k == "persona" else f"min(s.{k}) AS {k}"
            for k in _CONTACT_FIELDS
        )
        # from the staged rows with only the persona looked up: no stage or touchpoint join
        contacts = f"""
            SELECT min(s.__row) AS __row, s.ext_id AS contact_id, {extra},
                   min(s.ts) AS created_at
            FROM _stg s ANTI JOIN _rej r ON r.__row = s.__row {persona_join}
            GROUP BY s.ext_id
        """
        emails = "SELECT ext_id AS contact_id, email FROM _stg" if email else None
        return SourceQueries(contacts, events, deals, categories, emails=emails)


register(Generic())
