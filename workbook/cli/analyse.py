"""``workbook analyse``: the headline numbers of a workspace, for people or for scripts."""

from __future__ import annotations

import json
from typing import Any

import click

from workbook.cli import main

__all__ = ["analyse", "format_summary"]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _days(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} days"


def format_summary(s: dict[str, Any]) -> list[str]:
    """The summary (:func:`workbook.analytics.summary`) as lines for a terminal."""
    lines = [
        f"{s['workspace']}: {s['contacts']:,} contacts, {s['events']:,} events, "
        f"{s['deals']:,} deals" + (f", data up to {s['as_of']}" if s["as_of"] else "")
    ]
    lines += [f"note: {n}" for n in s["notes"]]
    lines.append("")
    lines.append(f"Reach (first stage): {s['reach']:,} contacts")
    lines.append("Funnel:")
    width = max((len(r["stage_name"]) for r in s["funnel"]), default=5)
    for r in s["funnel"]:
        nxt = r["conversion_to_next"]
        tail = f"  {_pct(nxt)} go on" if nxt is not None else ""
        lines.append(f"  {r['stage_name']:<{width}}  {r['contacts']:>10,}{tail}")
    b = s["bottleneck"]
    if b:
        lines.append(
            f"Bottleneck: {b['stage_name']}, {_pct(b['conversion_to_next'])} go on to the next "
            f"stage ({b['drop_off']:,} contacts stop there)"
        )
    else:
        lines.append("Bottleneck: none found (no contact has moved between stages yet)")
    c = s["conversions"]
    lines.append(
        f"Conversions: {c['won_contacts']:,} won, {c['lost_contacts']:,} lost, "
        f"{c['open_contacts']:,} open; win rate {_pct(c['win_rate'])}"
    )
    t = s["time_to_close"]
    lines.append(
        f"Time to close: median {_days(t['median_days'])} from deal to win "
        f"(p90 {_days(t['p90_days'])}); median {_days(t['median_days_from_first_contact'])} "
        "from first contact"
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
                f"  {g}: {v['contacts']:,} contacts, {v['won_contacts']:,} won "
                f"(win rate {_pct(v['win_rate'])}), bottleneck {v['bottleneck'] or 'n/a'}, "
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
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
def analyse(workspace: str, by: str | None, as_json: bool) -> None:
    """Print the headline numbers of WORKSPACE: reach, conversions, bottleneck, time to close,
    top touchpoints, attribution leader and experiment decisions."""
    from workbook.analytics import Engine, summary

    with Engine.for_workspace(workspace) as eng:
        result = summary(eng, by=by)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(format_summary(result)))
