"""``workbook analyse``: the headline numbers of a workspace, for people or for scripts."""

from __future__ import annotations

import json
from typing import Any

import click

from workbook.cli import main
from workbook.cli._engine import engine_options, use_engine

__all__ = ["analyse", "format_summary", "monitor"]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _days(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} days"


def _stop(n: int) -> str:
    return f"{n:,} contact stops" if n == 1 else f"{n:,} contacts stop"


def format_summary(s: dict[str, Any]) -> list[str]:
    """The summary (:func:`workbook.analytics.summary`) as lines for a terminal."""
    lines = [
        f"{s['workspace']}: {s['contacts']:,} contacts, {s['events']:,} events, "
        f"{s['deals']:,} deals" + (f", data up to {s['as_of']}" if s["as_of"] else "")
    ]
    seen = s.get("people_by_sources") or []
    if len(seen) > 1 or (seen and seen[0]["sources"] > 1):
        people = sum(r["people"] for r in seen)
        parts = [
            f"{r['people']:,} in {r['sources']} source{'s' if r['sources'] != 1 else ''}"
            for r in seen
        ]
        lines.append(f"people: {people:,} across the sources ({', '.join(parts)})")
    lines += [f"note: {n}" for n in s["notes"]]
    lines.append("")
    reach = s["reach"]
    lines.append("Reach (first stage): " + ("no data" if reach is None else f"{reach:,} contacts"))
    history = s.get("stage_history") is not False
    kind = s.get("funnel_kind", "ever reached")
    if not history:
        lines.append("Contacts by their deal's current stage (no stage history, so not a funnel):")
    elif kind == "in order":
        lines.append("Funnel (in order: each stage entered after the one before):")
    else:
        lines.append("Funnel (ever reached: contacts who entered each stage at any time):")
    width = max((len(r["stage_name"]) for r in s["funnel"]), default=5)
    for i, r in enumerate(s["funnel"]):
        count = "no data" if r["contacts"] is None else f"{r['contacts']:,}"
        nxt = r["conversion_to_next"]
        last = i == len(s["funnel"]) - 1
        if not history or last or (r["contacts"] == 0 and nxt is None):
            tail = ""
        elif nxt is None:
            tail = "  no data on the next step"
        else:
            tail = f"  {_pct(nxt)} go on"
        lines.append(f"  {r['stage_name']:<{width}}  {count:>10}{tail}")
    b = s["bottleneck"]
    if b:
        lines.append(
            f"Bottleneck: {b['stage_name']}, {_stop(b['drop_off'])} there "
            f"({_pct(b['conversion_to_next'])} go on to {b['next_stage_name']})"
        )
        w = s.get("weakest_step")
        if w and w["stage"] != b["stage"]:
            lines.append(
                f"Weakest step: {w['stage_name']}, {_pct(w['conversion_to_next'])} go on to "
                f"{w['next_stage_name']} ({_stop(w['drop_off'])} there)"
            )
    elif history:
        lines.append("Bottleneck: none found (no contact has moved between stages yet)")
    c = s["conversions"]
    lines.append(
        f"Deals: {c['won_deals']:,} won, {c['lost_deals']:,} lost, {c['open_deals']:,} open; "
        f"win rate {_pct(c['win_rate'])} (won of decided deals)"
    )
    decided = c["won_contacts"] + c["lost_contacts"]
    lines.append(
        f"Contacts won: {c['won_contacts']:,} ({_pct(c['contacts_won_rate'])} of the "
        f"{decided:,} contacts with a decided deal)"
    )
    t = s["time_to_close"]
    lines.append(
        f"Time to close: median {_days(t['median_days'])} from deal to win "
        f"(p90 {_days(t['p90_days'])}); median {_days(t['median_days_from_first_contact'])} "
        "from first contact"
        + (
            f"; {t['untimed_deals']:,} won deal(s) with no record before the close left out"
            if t["untimed_deals"]
            else ""
        )
    )
    if s["top_touchpoints"]:
        tops = ", ".join(
            f"{r['touchpoint_name']} ({r['contacts']:,} contacts)" for r in s["top_touchpoints"]
        )
        lines.append(f"Top touchpoints: {tops}")
    if s["attribution_leader"]:
        lines.append("Attribution leader:")
        for model, lead in s["attribution_leader"].items():
            lines.append(
                f"  {model.replace('_', ' '):<15} {lead['touchpoint_name']} ({_pct(lead['share'])})"
            )
    if s["experiments"]:
        lines.append("Experiments:")
        for e in s["experiments"]:
            lines.append(f"  {e['experiment_name']}: {e['decision']} - {e['reason']}")
            if e.get("source_reason"):
                lines.append(f"    {e['source_reason']}")
            if e.get("warning"):
                lines.append(f"    warning: {e['warning']}")
    if s.get("groups"):
        lines.append(f"By {s['by']}:")
        for g, v in s["groups"].items():
            lines.append(
                f"  {g}: {v['contacts']:,} contacts, {v['won_contacts']:,} contacts won, "
                f"win rate on deals {_pct(v['win_rate'])}, "
                f"bottleneck {v['bottleneck'] or 'n/a'}, "
                f"time to close {_days(v['median_days_to_close'])}"
            )
    return lines


@main.command()
@click.argument("workspace", type=click.Path())
@click.option(
    "--by",
    type=click.Choice(["persona", "segment", "icp"]),
    default=None,
    help="Also give the main numbers per persona, segment or ICP.",
)
@click.option(
    "--ordered",
    is_flag=True,
    help="Count a contact at a stage only when it entered every stage before it, in order "
    "(default: every contact who ever entered the stage).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@engine_options
def analyse(
    workspace: str,
    by: str | None,
    ordered: bool,
    as_json: bool,
    engine: str | None,
    master: str | None,
) -> None:
    """Print the headline numbers of WORKSPACE: reach, the funnel and its bottleneck (where
    most contacts are lost), the win rate on decided deals, time to close, top touchpoints,
    attribution leader and experiment decisions."""
    from workbook.analytics import Engine, summary

    use_engine(engine, master)

    with Engine.for_workspace(workspace) as eng:
        result = summary(eng, by=by, ordered=ordered)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(format_summary(result)))


@main.command()
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--threshold",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="A KPI moved when it changed by this share of its value before (0.10: a tenth). "
    "Default: the threshold set in the workspace (validation.threshold), else 0.10.",
)
@click.option("--no-record", is_flag=True, help="Compare only; do not keep this measurement.")
def monitor(workspace: str, threshold: float | None, no_record: bool) -> None:
    """Measure every KPI of WORKSPACE the data gives and say which moved since the last import.

    Run it after each import (by hand or from a scheduler): it keeps one measurement per
    state of the data in data/kpi-history.json and exits 1 when a KPI moved by the threshold
    or more, 0 when none did.
    """
    from workbook.monitor import monitor as run

    result = run(workspace, threshold=threshold, record=not no_record)
    click.echo("\n".join(result.lines()))
    if result.moved:
        raise SystemExit(1)
