"""Report section for Design and build: the campaign control sheet (``campaign``).

SEO targets, the content planned per stage, persona and channel (with its date, owner,
status and whether it is sent automatically), the social calendar and the channel mix per
persona: the same four tables ``workbook campaign`` exports for the marketing team
(:func:`workbook.exports.campaign_tables`). A channel's **share** is the part of a persona's
effort the consultant gives it (0-100%, typed, not measured).
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from workbook.sections import (
    ReportContext,
    _Col,
    _Missing,
    _section,
    _sheet,
    html_from,
    svg_chart,
    table,
)

__all__ = ["campaign_section", "mix_spec"]


def mix_spec(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The channel mix as stacked bars: one bar per persona, a segment per channel (share)."""
    return {
        "width": 560,
        "height": max(60, 34 * len({r["Persona"] for r in records})),
        "data": {"values": records},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "Persona", "type": "nominal", "sort": None, "title": None},
            "x": {
                "field": "Share (%)",
                "type": "quantitative",
                "title": "Share of the effort (%)",
                "stack": "zero",
            },
            "color": {
                "field": "Channel",
                "type": "nominal",
                "scale": {"scheme": "tableau10"},
                "legend": {"title": None, "orient": "bottom", "columns": 4},
            },
            "order": {"field": "Share (%)", "type": "quantitative", "sort": "descending"},
            "tooltip": [
                {"field": "Persona", "type": "nominal"},
                {"field": "Channel", "type": "nominal"},
                {"field": "Share (%)", "type": "quantitative"},
            ],
        },
    }


def _records(frame: Any) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()})
    return out


@_section("campaign", "Campaign control sheet")
def campaign_section(ws: Any, ctx: ReportContext) -> str:
    """SEO targets, planned content, the social calendar and the channel mix per persona."""
    from workbook.exports import campaign_tables

    data = ctx.data
    sheet = data.campaign
    if not (sheet.seo or sheet.social or sheet.channel_mix or data.content):
        raise _Missing(
            "No campaign has been planned yet: add SEO targets, content, posts and the "
            "channel mix in the Design and build notebook."
        )
    tables = dict(campaign_tables(data))
    # the spreadsheet's sheet names stay within Excel's 31 characters
    short = dict(zip(tables, ("SEO", "plan", "posts", "mix"), strict=True))
    for name, frame in tables.items():
        ctx.table(_sheet("campaign", short[name]), frame)

    def dated(value: Any) -> str:
        # a date stays on one line in a narrow column (no-break spaces)
        return ctx.date(value, "medium").replace(" ", "\u00a0") if value else "not dated"

    parts = dict.fromkeys(("seo", "content", "social", "mix", "mix_chart"), Markup(""))
    # on the page a persona goes by its first name ("Amara"), so narrow columns stay short;
    # the spreadsheet keeps the full names
    short_name = {p.name: p.name.split(",")[0].strip() or p.name for p in data.personas}

    def first_names(records: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
        for r in records:
            names = str(r.get(column) or "").split("; ")
            r[column] = "; ".join(short_name.get(n, n) for n in names if n)
        return records

    seo = first_names(_records(tables["SEO targets"]), "Persona")
    if seo:
        parts["seo"] = Markup(
            table(
                ctx,
                seo,
                [
                    _Col("Keyword", "Keyword"),
                    _Col("Page", "Page"),
                    _Col("Stage", "Stage"),
                    _Col("Persona", "Persona"),
                ],
            )
        )
    content = first_names(_records(tables["Planned content"]), "Personas")
    for c in content:
        c["Date"] = dated(c["Date"])
    if content:
        parts["content"] = Markup(
            table(
                ctx,
                content,
                [
                    _Col("Date", "Date"),
                    _Col("Content", "Content"),
                    _Col("Stage", "Stage"),
                    _Col("Personas", "For"),
                    _Col("Channel", "Channel"),
                    _Col("Owner", "Owner"),
                    _Col("Status", "Status"),
                    _Col("Automated", "Automated"),
                ],
            )
        )
    social = first_names(_records(tables["Social calendar"]), "Persona")
    for p in social:
        p["Date"] = dated(p["Date"])
    if social:
        parts["social"] = Markup(
            table(
                ctx,
                social,
                [
                    _Col("Date", "Date"),
                    _Col("Channel", "Channel"),
                    _Col("Persona", "Persona"),
                    _Col("Post", "Post"),
                    _Col("Owner", "Owner"),
                    _Col("Status", "Status"),
                ],
            )
        )
    mix = first_names(_records(tables["Channel mix"]), "Persona")
    if mix:
        for m in mix:
            m["share"] = None if m["Share (%)"] is None else m["Share (%)"] / 100
        parts["mix"] = Markup(
            table(
                ctx,
                mix,
                [
                    _Col("Persona", "Persona"),
                    _Col("Channel", "Channel"),
                    _Col("share", "Share", "pct"),
                    _Col("Priority", "Priority"),
                    _Col("Note", "Note"),
                ],
            )
        )
        shared = [m for m in mix if m["Share (%)"] is not None]
        if shared:
            parts["mix_chart"] = Markup(
                svg_chart(
                    mix_spec(shared),
                    ctx,
                    alt="Channel mix per persona: "
                    + "; ".join(
                        f"{m['Persona']} {m['Channel']} {m['Share (%)']:g}%" for m in shared
                    ),
                )
            )
    covered = {c.stage for c in data.content}
    missing = [s.name for s in data.stages if s.id not in covered]
    automated = sum(1 for c in data.content if c.automated)
    upcoming = sorted(
        (c for c in data.content if c.date and c.status not in ("published", "dropped")),
        key=lambda c: c.date,
    )
    return html_from(
        "campaign.html.j2",
        parts=parts,
        n_content=len(data.content),
        automated=automated,
        missing=missing,
        next_item=upcoming[0].title if upcoming else "",
        next_date=ctx.date(upcoming[0].date, "medium") if upcoming else "",
        n_seo=len(sheet.seo),
        n_social=len(sheet.social),
    )
