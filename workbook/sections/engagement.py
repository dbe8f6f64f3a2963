"""Report sections for the rest of the engagement: who we sell to, what we promise, how we
reach people, how leads are scored, what won deals share, the OKRs and the key processes.

Each section reads the workspace (and, through :class:`~workbook.sections.ReportContext`,
the analytics), keeps the numbers of its tables and charts with ``ctx.table`` (so they reach
the report's spreadsheet, units in the headers), says in one sentence what the numbers mean
for this client, and shows a polite note instead when there is nothing to show.

The definitions, each the standard one:

- **Open, click and reply rates** (``channels``): per contact, as
  :func:`workbook.analytics.channels` counts them: of the contacts sent at least one message
  on a channel, the share who opened (a click or a reply counts as an open), clicked or
  replied at least once. The share that **never saw** a message is ``1 - open rate``; it is
  said in words as the simplest fraction ``n in d`` (halves to sixths, or tenths) within
  three percentage points (:func:`share_in_words`: 75% is "three in four"), else in tenths.
- **ROC AUC** (``scoring``): the probability that a randomly chosen won contact has a
  higher lead score than a randomly chosen lost one, ties counting one half; equal to the
  Mann-Whitney U statistic of the won scores against the lost ones divided by
  ``won x lost`` (computed by :func:`workbook.analytics.score_separation` with
  ``scipy.stats.mannwhitneyu``). 0.5 is a coin toss, 1 a perfect ranking; it is read with
  Hosmer and Lemeshow's bands (below 0.7 poor, 0.7-0.8 acceptable, 0.8-0.9 excellent,
  0.9 and over outstanding).
- **Score deciles** (``scoring``): contacts ranked by score split into ten groups of equal
  size (``ntile``; 10 the highest), except that contacts with the same score share the
  decile where the first of them falls (so with ties some deciles are larger and some
  empty; never decided by a contact's id or the file's order), the **win rate** of each
  being won / (won + lost) contacts in it (:func:`workbook.analytics.score_deciles`).
- **Win rate** (``wins``): won / (won + lost) contacts, a contact's outcome being its best
  deal; **time to close**: the median days from a won deal's creation to its close;
  **share of won / lost contacts** using a touchpoint: those whose journey used it before
  the win (won) or at all (lost), over all won (lost) contacts of the group
  (:mod:`workbook.analytics.wins`). When the data assigns contacts to personas but not to
  ICPs (or segments), an ICP's (a segment's) contacts are those of its personas, and its win
  rate is their won / (won + lost) added up. "Most" and "least" (the group that wins most
  often, the lead source behind the most wins, the commonest lost reason) name every one
  that ties on the top or bottom value, never the first of them in the table.
- **Progress of a key result** (``okrs``): ``(current - baseline) / (target - baseline)``,
  0 at the baseline and 1 (100%) at the target, whichever way the target points; negative
  when the number moved away from the target. The current value is the one the CRM data
  gives when the metric is derivable, else the one typed in the workspace
  (:func:`workbook.analytics.kpis`).
"""

from __future__ import annotations

import html
from fractions import Fraction
from typing import Any

from markupsafe import Markup

from workbook.sections import (
    ReportContext,
    _bar_spec,
    _clean,
    _Col,
    _Missing,
    _records,
    _section,
    _sheet,
    data_frame,
    html_from,
    name_of,
    note,
    svg_chart,
    table,
)

__all__ = ["auc_rating", "key_result_progress", "share_in_words"]

_WORDS = ("none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def share_in_words(share: float) -> str:
    """A share said as people say it: ``0.75`` -> ``"three in four"``.

    The fraction ``n in d`` with ``d`` among 2, 3, 4, 5, 6 and 10 (halves, thirds,
    quarters, fifths, sixths, tenths): the smallest ``d`` within 1.5 percentage
    points of ``share``, else the smallest within 3 points, else the nearest tenth as
    ``"about n in ten"`` (``"fewer than one in ten"``, ``"more than nine in ten"`` at the
    ends). Reduced (2 in 4 is ``"one in two"``); 1 is ``"all"``, 0 ``"none"``.
    """
    if not 0 <= share <= 1 or share != share:
        raise ValueError(f"a share is between 0 and 1, not {share!r}")
    if share >= 0.995:
        return "all"
    if share <= 0.005:
        return "none"
    for tolerance in (0.015, 0.03):
        for d in (2, 3, 4, 5, 6, 10):
            n = round(share * d)
            if 0 < n < d and abs(n / d - share) <= tolerance + 1e-9:
                f = Fraction(n, d)
                return f"{_WORDS[f.numerator]} in {_WORDS[f.denominator]}"
    if share < 0.1:
        return "fewer than one in ten"
    if share > 0.9:
        return "more than nine in ten"
    return f"about {_WORDS[round(share * 10)]} in ten"


def auc_rating(auc: float) -> str:
    """Hosmer and Lemeshow's reading of an ROC AUC: how well a score tells the two apart."""
    if auc >= 0.9:
        return "outstanding"
    if auc >= 0.8:
        return "excellent"
    if auc >= 0.7:
        return "acceptable"
    if auc > 0.5:
        return "poor"
    return "no better than chance"


def key_result_progress(
    baseline: float | None, target: float | None, current: float | None
) -> float | None:
    """``(current - baseline) / (target - baseline)``: 0 at the baseline, 1 at the target,
    either direction; ``None`` when a number is missing or the target equals the baseline."""
    if baseline is None or target is None or current is None or target == baseline:
        return None
    return (current - baseline) / (target - baseline)


def _channel_name(channel: str) -> str:
    from workbook.model import CHANNELS

    return CHANNELS.get(channel, channel)


def _lower_first(text: str) -> str:
    """A name inside a sentence: ``Email`` -> ``email``; ``WhatsApp``, ``SMS`` stay."""
    return text if any(ch.isupper() for ch in text[1:]) else text[:1].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _join(items: list[str]) -> str:
    """``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _ends(
    rows: list[dict[str, Any]], key: str, name: str
) -> tuple[list[str], float, list[str], float]:
    """The names of the rows with the highest ``key`` and of those with the lowest, with the
    two values: every row that ties on the highest (lowest) value is named, in row order,
    so no tie is settled by the order the rows happen to come in."""
    top = max(float(r[key]) for r in rows)
    bottom = min(float(r[key]) for r in rows)
    return (
        [str(r[name]) for r in rows if float(r[key]) == top],
        top,
        [str(r[name]) for r in rows if float(r[key]) == bottom],
        bottom,
    )


def _all(count: int, things: str) -> str:
    """``Both segments`` / ``All 3 segments``."""
    return f"Both {things}" if count == 2 else f"All {count} {things}"


def _verb(names: list[str], one: str, many: str) -> str:
    """``A wins`` / ``A and B win``."""
    return f"{_join(names)} {one if len(names) == 1 else many}"


# ========================================================================= segments and ICP

_KINDS = ("geographic", "demographic", "psychographic", "behavioural")


@_section("segments", "Segments and ICPs")
def segments(ws: Any, ctx: ReportContext) -> str:
    """The market segments by kind (with the personas in each and, from the CRM data, the
    contacts and win rate of each), and every ideal customer profile with its eight
    answers (:data:`workbook.model.ICP_QUESTIONS`).

    A segment's contacts are those the data assigns to it; when the data assigns contacts to
    personas but not to segments, those of the personas that stand for the segment (a
    contact counts in every segment of its persona). Its win rate is won / (won + lost)
    contacts among them."""
    from workbook.model import ICP_QUESTIONS

    data = ctx.data
    if not data.segments and not data.icps:
        raise _Missing("No market segment or ideal customer profile has been described yet.")
    measured: dict[str, dict[str, Any]] = {}
    if data.segments and ctx.has_crm_data():
        try:
            rows = _clean(_records(ctx.analytics("won_summary", "segment")))
        except _Missing:
            rows = []
        measured = {str(r["segment"]): r for r in rows if r.get("segment") != "unassigned"}
    via_persona = False
    if data.segments and data.personas and ctx.has_crm_data() and not measured:
        measured = _segments_through_personas(ctx)
        via_persona = bool(measured)
    seg_rows = []
    for kind in _KINDS:
        for s in data.segments:
            if s.kind != kind:
                continue
            m = measured.get(s.id, {})
            seg_rows.append(
                {
                    "kind": kind.capitalize(),
                    "name": s.name,
                    "description": s.description,
                    "personas": ", ".join(p.name for p in data.personas if s.id in p.segments),
                    "contacts": m.get("contacts"),
                    "win_rate": m.get("win_rate"),
                }
            )
    cols = [_Col("kind", "Kind"), _Col("name", "Segment"), _Col("description", "Description")]
    if data.personas:
        cols.append(_Col("personas", "Personas"))
    if measured:
        cols += [
            _Col("contacts", "Contacts", "int", "through their persona" if via_persona else ""),
            _Col("win_rate", "Win rate", "pct"),
        ]
    parts: list[str] = []
    sentences: list[str] = []
    if seg_rows:
        kinds = sorted({s.kind for s in data.segments}, key=_KINDS.index)
        sentences.append(
            f"{_n(len(seg_rows), 'segment')} describe the market, "
            f"{'all' if len(kinds) == 1 else 'across'} {_join(kinds)}"
            + (" ones." if len(kinds) == 1 else " lines.")
        )
        empty = [r["name"] for r in seg_rows if not r["personas"]]
        if data.personas and empty:
            sentences.append(
                f"No persona stands for {_join(empty)} yet: either a persona is missing or "
                "the segment can go."
            )
        if via_persona:
            sentences.append(
                "The CRM data assigns contacts to personas, not to segments, so each segment "
                "counts the contacts of the personas that stand for it."
            )
        rated_segments = [r for r in seg_rows if r["win_rate"] is not None]
        if measured and len(rated_segments) > 1:
            best, top, worst, bottom = _ends(rated_segments, "win_rate", "name")
            if top == bottom:
                sentences.append(
                    f"{_all(len(rated_segments), 'segments')} win {ctx.percent(top)} of "
                    "decided deals."
                )
            else:
                sentences.append(
                    f"{_verb(best, 'wins', 'win')} most often ({ctx.percent(top)} of "
                    f"decided deals), {_join(worst)} least ({ctx.percent(bottom)})."
                )
            chart_rows = [
                {**r, "label": f"{r['name']} ({r['kind'].lower()})"}
                for r in seg_rows
                if r["win_rate"] is not None
            ]
            if chart_rows:
                spec = _bar_spec(
                    chart_rows,
                    "win_rate",
                    "label",
                    x_title="Win rate of decided deals",
                    fmt=".1%",
                )
                spec["encoding"]["x"]["axis"] = {"format": "%"}
                spec["encoding"]["y"]["axis"] = {"labelLimit": 340}
                parts.append(svg_chart(spec, ctx, alt="Win rate in each market segment"))
        parts.append(table(ctx, seg_rows, cols, name=_sheet("segments", "segments")))
    answers: list[dict[str, Any]] = []
    cards = []
    for icp in data.icps:
        given = icp.answers()
        qa = [
            {"question": ICP_QUESTIONS[k], "answer": v, "open": not v.strip()}
            for k, v in given.items()
        ]
        answers += [{"icp": icp.name, "question": q["question"], "answer": q["answer"]} for q in qa]
        cards.append(
            {
                "name": icp.name,
                "personas": ", ".join(p.name for p in data.personas if p.icp == icp.id),
                "qa": qa,
                "answered": sum(1 for q in qa if not q["open"]),
            }
        )
    if answers:
        ctx.table(
            _sheet("segments", "ICP answers"),
            data_frame(
                answers,
                [
                    _Col("icp", "Ideal customer profile"),
                    _Col("question", "Question"),
                    _Col("answer", "Answer"),
                ],
            ),
        )
        total = len(answers)
        done = sum(c["answered"] for c in cards)
        if done == total:
            sentences.append(
                "All eight questions are answered for "
                + (
                    "the ideal customer profile."
                    if len(cards) == 1
                    else f"each of the {len(cards)} ideal customer profiles."
                )
            )
        else:
            sentences.append(
                f"{total - done} of the {total} ideal-customer answers are still open; "
                "the next workshop should settle them, since the ICP decides whom sales "
                "chases first."
            )
    elif data.segments:
        sentences.append("No ideal customer profile has been written yet.")
    return (
        _p(" ".join(sentences))
        + "".join(parts)
        + (html_from("icps.html.j2", cards=cards) if cards else "")
    )


def _segments_through_personas(ctx: ReportContext) -> dict[str, dict[str, Any]]:
    """Contacts, won and lost per segment from the personas that stand for it."""
    try:
        per = {str(r["persona"]): r for r in _records(ctx.analytics("won_summary", "persona"))}
    except _Missing:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for seg in ctx.data.segments:
        rows = [per[p.id] for p in ctx.data.personas if seg.id in p.segments and p.id in per]
        if not rows:
            continue
        won = sum(int(r["won_contacts"]) for r in rows)
        lost = sum(int(r["lost_contacts"]) for r in rows)
        out[seg.id] = {
            "contacts": sum(int(r["contacts"]) for r in rows),
            "win_rate": won / (won + lost) if won + lost else None,
        }
    return out


# ======================================================================= value proposition


@_section("value", "Value proposition")
def value(ws: Any, ctx: ReportContext) -> str:
    """The value proposition as jobs, pains and gains, beside each persona's own jobs, pains
    and gains (the canvas the consultant checks the promise against)."""
    data = ctx.data
    vp = data.value_proposition
    if not (vp.jobs or vp.pains or vp.gains):
        raise _Missing("The value proposition (jobs, pains and gains) has not been written yet.")
    kinds = (("Jobs", "jobs"), ("Pains", "pains"), ("Gains", "gains"))
    personas = [
        {"name": p.name, "lists": [(label, getattr(p, key)) for label, key in kinds]}
        for p in data.personas
        if p.jobs or p.pains or p.gains
    ]
    rows = [
        {"who": "Value proposition", "kind": label, "item": item}
        for label, key in kinds
        for item in getattr(vp, key)
    ]
    rows += [
        {"who": p["name"], "kind": label, "item": item}
        for p in personas
        for label, items in p["lists"]
        for item in items
    ]
    ctx.table(
        _sheet("value"),
        data_frame(rows, [_Col("who", "Whose"), _Col("kind", "Kind"), _Col("item", "Item")]),
    )
    counts = {key: len(getattr(vp, key)) for _, key in kinds}
    missing = [label.lower() for label, key in kinds if not counts[key]]
    text = (
        f"{data.client.name} promises to help with {_n(counts['jobs'], 'job')}, to relieve "
        f"{_n(counts['pains'], 'pain')} and to bring {_n(counts['gains'], 'gain')}."
    )
    if missing:
        text += f" No {_join(missing)} are written yet."
    unmatched = []
    if personas:
        own = {key: sum(len(getattr(p, key)) for p in data.personas) for _, key in kinds}
        text += (
            f" The personas name {own['jobs']} jobs, {own['pains']} pains and {own['gains']} "
            "gains of their own, set beside the promise below: each pain a persona feels "
            "should meet a pain the proposition relieves, or a recommendation on the map."
        )
        unmatched = [p["name"] for p in personas if not p["lists"][1][1]]
        if unmatched:
            text += f" {_join(unmatched)} {'has' if len(unmatched) == 1 else 'have'} no pain "
            text += "recorded yet."
    return _p(text) + html_from(
        "value.html.j2",
        columns=[(label, getattr(vp, key)) for label, key in kinds],
        personas=personas,
    )


# ================================================================================ channels


def _advice(
    ctx: ReportContext,
    row: dict[str, Any],
    others: list[dict[str, Any]],
    preferred: list[str],
    who: str,
) -> str:
    """The "n in d never saw it" sentence of a flagged channel, with the channel to add."""
    unreached = float(row["unreached_rate"])
    channel = _channel_name(str(row["channel"]))
    sent = (
        f"{who}: of the {ctx.number(row['contacts_sent'])} contacts sent {_lower_first(channel)}, "
    )
    if share_in_words(unreached) == "all":
        text = sent + "none opened one, so those messages never reached them."
    else:
        text = sent + (
            f"{share_in_words(unreached)} ({ctx.percent(unreached, 0)}) never opened one, so "
            "those messages never reached them."
        )
    better = sorted(
        (o for o in others if o["channel"] != row["channel"] and not o["flagged"]),
        key=lambda o: (-float(o["open_rate"]), str(o["channel"])),
    )
    pref = [c for c in preferred if c != row["channel"]]
    if better:
        best = better[0]
        # channels that reach as many name each other: the choice is the client's, not the
        # alphabet's
        tied = [o for o in better if float(o["open_rate"]) == float(best["open_rate"])]
        names = [_lower_first(_channel_name(str(o["channel"]))) for o in tied]
        if len(names) == 1:
            text += (
                f" Add {names[0]}, which "
                f"{ctx.percent(best['open_rate'], 0)} of the contacts it was sent to opened."
            )
        else:
            text += (
                f" Add {', '.join(names[:-1])} or {names[-1]}: each was opened by "
                f"{ctx.percent(best['open_rate'], 0)} of the contacts it was sent to."
            )
    elif pref:
        names = [_lower_first(_channel_name(c)) for c in pref]
        if len(names) == 1:
            text += f" Add {names[0]}, the channel they prefer."
        else:
            text += f" Add {', '.join(names[:-1])} or {names[-1]}, the channels they prefer."
    else:
        text += " Add another channel: a phone call, a visit or a messaging app."
    return text


@_section("channels", "Channels and reach")
def channels(ws: Any, ctx: ReportContext) -> str:
    """Per messaging channel: contacts sent, open, click and reply rates (per contact), and
    for a channel most contacts never open (open rate under 50%) how many in how many never
    saw it and which channel to add (:func:`share_in_words`)."""
    from workbook.analytics.channels import DEFAULT_MIN_REACH

    data = ctx.data
    overall = _clean(_records(ctx.analytics("channels")))
    if not overall:
        raise _Missing(
            "The imported data holds no message sent on any channel, so there are no open "
            "rates to report."
        )
    try:
        per = _clean(_records(ctx.analytics("channels", "persona")))
    except _Missing:
        per = []
    names = {p.id: p.name for p in data.personas}
    per = [r for r in per if r.get("persona") in names]
    cols = [
        _Col("channel_name", "Channel"),
        _Col("contacts_sent", "Contacts sent", "int", "contacts"),
        _Col("messages_sent", "Messages sent", "int", "messages"),
        _Col("open_rate", "Opened", "pct"),
        _Col("click_rate", "Clicked", "pct"),
        _Col("reply_rate", "Replied", "pct"),
        _Col("unreached_rate", "Never opened", "pct"),
    ]
    for r in overall + per:
        r["channel_name"] = _channel_name(str(r["channel"]))
        r["persona_name"] = names.get(str(r.get("persona")), "")
    overall.sort(key=lambda r: -int(r["contacts_sent"]))
    advice = [_advice(ctx, r, overall, [], "All contacts") for r in overall if r["flagged"]]
    for p in data.personas:
        rows = [r for r in per if r["persona"] == p.id]
        advice += [
            _advice(ctx, r, rows, list(p.preferred_channels), p.name) for r in rows if r["flagged"]
        ]
    chart_rows = [
        {
            "who": (f"{r['persona_name']}: " if r.get("persona_name") else "All: ")
            + r["channel_name"],
            "open_rate": r["open_rate"],
            "flagged": bool(r["flagged"]),
        }
        for r in overall
        + sorted(per, key=lambda r: (list(names).index(r["persona"]), r["channel"]))
    ]
    spec = _bar_spec(
        chart_rows,
        "open_rate",
        "who",
        x_title="Contacts who opened a message (share of those sent one)",
        fmt=".0%",
        highlight="flagged",
        colours=(ctx.theme.primary_mark, ctx.theme.diverging[0]),
    )
    spec["encoding"]["x"]["axis"] = {"format": "%"}
    spec["encoding"]["x"]["scale"] = {"domain": [0, 1]}
    spec["layer"].append(
        {
            "data": {"values": [{"x": DEFAULT_MIN_REACH}]},
            "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#57606A"},
            "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {}},
        }
    )
    chart = svg_chart(
        spec,
        ctx,
        alt="Share of contacts who opened a message, per channel and persona; channels "
        "under half are highlighted",
    )
    flagged = [r for r in overall if r["flagged"]]
    if flagged:
        worst = min(flagged, key=lambda r: float(r["open_rate"]))
        lead = (
            f"{_upper_first(share_in_words(float(worst['unreached_rate'])))} contacts sent "
            f"{_lower_first(worst['channel_name'])} never opened one: on its own, "
            f"{_lower_first(worst['channel_name'])} leaves most of them unreached, so the "
            "messages that matter need a second channel."
        )
    else:
        lead = (
            "Every channel that sends messages is opened by at least half of the contacts "
            "it reaches."
        )
    body = _p(lead) + chart
    body += table(ctx, overall, cols, name=_sheet("channels"))
    if per:
        body += "<h3>By persona</h3>" + table(
            ctx,
            per,
            [_Col("persona_name", "Persona"), *cols],
            name=_sheet("channels", "personas"),
        )
    if advice:
        body += "<h3>Where messages go unseen</h3><ul>"
        body += "".join(f"<li>{html.escape(a)}</li>" for a in advice) + "</ul>"
    body += (
        '<p class="wb-meta">Rates per contact: of the contacts sent at least one message on '
        "the channel, the share who opened (a click or reply counts as an open), clicked or "
        "replied at least once. The dashed line marks one in two.</p>"
    )
    return body


# ================================================================================= scoring


def _rule_matches(ctx: ReportContext, rule: Any) -> str:
    data = ctx.data
    parts = []
    if rule.touchpoint:
        parts.append(name_of(data.touchpoints, rule.touchpoint))
    if rule.channel:
        parts.append(_channel_name(rule.channel))
    if rule.action:
        parts.append(str(rule.action))
    if rule.stage:
        stage = name_of(data.stages, rule.stage)
        parts.append(f"in {stage}" if parts else f"entering {stage}")
    return ", ".join(parts) or "nothing (the rule names no touchpoint, channel, action or stage)"


@_section("scoring", "Lead scoring")
def scoring(ws: Any, ctx: ReportContext) -> str:
    """The scoring rules, how well the score separates won from lost contacts (ROC AUC, the
    Mann-Whitney U statistic over won x lost) and the win rate per score decile.

    Beside each rule that names a touchpoint: the share of won contacts who used the
    touchpoint before winning and of lost contacts who used it
    (:func:`workbook.analytics.won_interactions`), so rules that score what lost contacts do
    as often as won ones, and touchpoints that separate the two but score nothing, stand
    out (a difference of at least 5 percentage points counts as separating)."""
    data = ctx.data
    rules = data.measurement.scoring_rules
    if not rules:
        raise _Missing("No lead-scoring rules have been agreed yet.")
    used: dict[str, dict[str, Any]] = {}
    if ctx.has_crm_data():
        try:
            used = {
                str(r["touchpoint"]): r for r in _clean(_records(ctx.analytics("won_interactions")))
            }
        except _Missing:
            used = {}
    rule_rows = [
        {
            "rule": r.description or r.id,
            "matches": _rule_matches(ctx, r),
            "points": r.points,
            "half_life": r.decay_days,
            **{
                k: used.get(r.touchpoint or "", {}).get(k)
                for k in ("won_share", "lost_share", "difference")
            },
        }
        for r in rules
    ]
    advice = _scoring_advice(ctx, rules, rule_rows, used)
    shown_rules = [
        {**r, "half_life": r["half_life"] if r["half_life"] else "never"} for r in rule_rows
    ]
    rule_cols = [
        _Col("rule", "Rule"),
        _Col("matches", "Matches"),
        _Col("points", "Points", "float", "points"),
        _Col("half_life", "Points halve every", "days"),
    ]
    if used:
        rule_cols += [
            _Col("won_share", "Won contacts who used the touchpoint", "pct"),
            _Col("lost_share", "Lost contacts who used it", "pct"),
            _Col("difference", "Difference", "pts"),
        ]
    ctx.table(_sheet("scoring", "rules"), data_frame(rule_rows, rule_cols))
    for r in shown_rules:  # one short cell on the page; the spreadsheet has the three numbers
        r["used"] = (
            f"{ctx.percent(r['won_share'], 0)} / {ctx.percent(r['lost_share'], 0)}"
            if r.get("won_share") is not None and r.get("lost_share") is not None
            else ""
        )
    rules_html = table(
        ctx, shown_rules, rule_cols[:4] + ([_Col("used", "Used by won / lost")] if used else [])
    )
    intro = _p(
        f"{_n(len(rules), 'rule')} give points for what a contact does; points of a rule with "
        "a half-life fade as the action ages. A good score ranks the contacts who go on to "
        "buy above those who do not."
        + (
            " Used by won / lost: the share of won contacts who used the rule's touchpoint "
            "before winning, and of lost contacts who used it."
            if used
            else ""
        )
    )
    if not ctx.has_crm_data():
        return (
            intro
            + rules_html
            + note("Once CRM data is imported, this section shows how well the score works.")
        )
    sep = _clean(_records(ctx.analytics("score_separation")))[0]
    deciles = _clean(_records(ctx.analytics("score_deciles")))
    won, lost = int(sep["won"]), int(sep["lost"])
    auc = sep.get("auc")
    if auc is None:
        verdict = (
            "The data has no "
            + ("won" if not won else "lost")
            + " contact yet, so how well the score separates won from lost cannot be measured."
        )
    else:
        rating = auc_rating(float(auc))
        verdict = (
            f"A won contact outscores a lost one {ctx.percent(auc, 0)} of the time "
            f"(ROC AUC {float(auc):.2f} over {ctx.number(won)} won and {ctx.number(lost)} lost "
            "contacts; 0.50 is a coin toss, 1.00 a perfect ranking). That is "
        )
        if float(auc) < 0.5:
            verdict += (
                "worse than chance: lost contacts tend to score higher, so some rules reward "
                "the wrong actions and need reversing before anyone ranks leads by the score."
            )
        elif rating in ("poor", "no better than chance"):
            verdict += (
                f"{rating} by the usual reading. Sales should not rank leads by this score "
                "yet; the rules need re-weighting towards the actions that won contacts take "
                "and lost ones do not."
            )
        else:
            verdict += f"{rating} by the usual reading, so sales can rank leads by it."
        p = sep.get("p_value")
        if p is not None and float(p) >= 0.05 and float(auc) > 0.5:
            verdict += f" With p = {float(p):.2f}, the difference could be chance."
    summary_rows = [
        {
            "won": won,
            "lost": lost,
            "auc": auc,
            "p": sep.get("p_value"),
            "mean_won": sep.get("mean_score_won"),
            "mean_lost": sep.get("mean_score_lost"),
        }
    ]
    ctx.table(
        _sheet("scoring", "separation"),
        data_frame(
            summary_rows,
            [
                _Col("won", "Won", "int", "contacts"),
                _Col("lost", "Lost", "int", "contacts"),
                _Col("auc", "ROC AUC", "float", "0.5 chance, 1 perfect"),
                _Col("p", "p-value (Mann-Whitney U)", "p"),
                _Col("mean_won", "Mean score, won", "float", "points"),
                _Col("mean_lost", "Mean score, lost", "float", "points"),
            ],
        ),
    )
    for d in deciles:
        d["label"] = f"Decile {d['decile']}"
        d["range"] = (
            f"{ctx.number(d['min_score'], 1)} to {ctx.number(d['max_score'], 1)}"
            if d.get("min_score") is not None
            else ""
        )
        d["closed"] = int(d["won"]) + int(d["lost"])
    chart = ""
    for d in deciles:
        d["bar"] = d.get("win_rate") or 0.0
        d["text"] = ctx.percent(d["win_rate"], 0) if d.get("win_rate") is not None else "–"
    shown = deciles
    present = {int(d["decile"]) for d in deciles}
    # ties share a decile (analytics.scoring._deciles): with ten or more contacts, a decile
    # missing from the table is one that equal scores left empty
    many = sum(int(d["contacts"]) for d in deciles) >= 10
    empty_deciles = [k for k in range(1, 11) if k not in present] if many else []
    undecided = [int(d["decile"]) for d in deciles if d.get("win_rate") is None]
    if any(d.get("win_rate") is not None for d in deciles):
        spec = {
            "data": {"values": shown},
            "width": 560,
            "height": 220,
            "encoding": {
                "x": {
                    "field": "decile",
                    "type": "ordinal",
                    "sort": None,
                    "title": "Score decile (10 = highest scores)",
                    "axis": {"labelAngle": 0},
                },
                "y": {
                    "field": "bar",
                    "type": "quantitative",
                    "title": "Win rate of decided deals",
                    "axis": {"format": "%"},
                },
            },
            "layer": [
                {"mark": {"type": "bar", "color": ctx.theme.primary_mark}},
                {
                    "mark": {"type": "text", "dy": -6, "fontSize": 10},
                    "encoding": {"text": {"field": "text"}},
                },
            ],
        }
        chart = svg_chart(spec, ctx, alt="Win rate of decided deals in each lead-score decile")
    decile_html = table(
        ctx,
        deciles,
        [
            _Col("decile", "Decile", "int"),
            _Col("contacts", "Contacts", "int"),
            _Col("min_score", "Lowest score", "float", "points"),
            _Col("max_score", "Highest score", "float", "points"),
            _Col("won", "Won", "int", "contacts"),
            _Col("lost", "Lost", "int", "contacts"),
            _Col("win_rate", "Win rate", "pct"),
        ],
        name=_sheet("scoring", "deciles"),
    )
    return (
        _p(verdict)
        + (_p(advice) if advice else "")
        + chart
        + "<h3>Win rate by score decile</h3>"
        + _p(
            "Contacts ranked by score and cut into ten groups of equal size; a score that "
            "works shows win rates rising from left to right."
            + (
                " Contacts with the same score stay together, in the decile where the first "
                f"of them falls, so {_n(len(empty_deciles), 'decile')} "
                f"({_join([str(d) for d in empty_deciles])}) hold no contact."
                if empty_deciles
                else ""
            )
            + (
                f" {_n(len(undecided), 'decile')} ({_join([str(d) for d in undecided])}) "
                "hold no decided deal, only contacts without a deal or with one still open, "
                "so they have no win rate (–)."
                if undecided
                else ""
            )
        )
        + decile_html
        + "<h3>The rules</h3>"
        + intro
        + rules_html
    )


def _scoring_advice(
    ctx: ReportContext,
    rules: list[Any],
    rows: list[dict[str, Any]],
    used: dict[str, dict[str, Any]],
) -> str:
    """What to re-weight: rules scoring what won and lost contacts do alike, and touchpoints
    that separate them but score nothing (a difference of 5 points or more)."""
    if not used:
        return ""
    text = ""
    alike = [
        f"{row['rule']} ({ctx.number(row['points'])} points; "
        f"{ctx.percent(row['won_share'], 0)} of won, {ctx.percent(row['lost_share'], 0)} of "
        "lost contacts)"
        for row in rows
        if row.get("difference") is not None
        and float(row["difference"]) < 0.05
        and float(row["points"]) > 0
    ]
    if alike:
        text += (
            "These rules give points for what lost contacts do as often as won ones: "
            + _join(alike[:3])
            + ". "
        )
    # a touchpoint earns points when a rule names it, or names its channel
    scored = {r.touchpoint for r in rules if r.touchpoint}
    channels = {r.channel for r in rules if r.channel and not r.touchpoint}
    missed = sorted(
        (
            u
            for u in used.values()
            if u["touchpoint"] not in scored
            and u.get("channel") not in channels
            and u.get("difference") is not None
            and float(u["difference"]) >= 0.05
        ),
        key=lambda u: -float(u["difference"]),
    )[:3]
    if missed:
        text += (
            "These touchpoints tell won from lost apart but earn no points: "
            + _join(
                [
                    f"{u['touchpoint_name']} ({ctx.percent(u['won_share'], 0)} of won, "
                    f"{ctx.percent(u['lost_share'], 0)} of lost contacts)"
                    for u in missed
                ]
            )
            + "; a rule for each is the first change to try."
        )
    return text.strip()


# ==================================================================================== wins


def _icps_through_personas(ctx: ReportContext, summary: list[dict[str, Any]]) -> str:
    """Won and lost contacts per ICP, adding up the personas that belong to it (the data
    has personas, not ICPs): a sentence and a table (also in the spreadsheet)."""
    data = ctx.data
    rows = []
    for icp in data.icps:
        ids = {p.id for p in data.personas if p.icp == icp.id}
        parts = [r for r in summary if r["persona"] in ids]
        if not parts:
            continue
        won = sum(int(r["won_contacts"]) for r in parts)
        lost = sum(int(r["lost_contacts"]) for r in parts)
        rows.append(
            {
                "icp": icp.name,
                "personas": ", ".join(p.name for p in data.personas if p.id in ids),
                "contacts": sum(int(r["contacts"]) for r in parts),
                "won": won,
                "lost": lost,
                "win_rate": won / (won + lost) if won + lost else None,
                "won_amount": sum(float(r.get("won_amount") or 0) for r in parts),
            }
        )
    if not rows:
        return ""
    text = ""
    rated = [r for r in rows if r["win_rate"] is not None]
    if len(rated) > 1:
        best, top, worst, bottom = _ends(rated, "win_rate", "icp")
        text = (
            f"{_all(len(rated), 'ideal customer profiles')} win {ctx.percent(top)} of decided "
            "deals."
            if top == bottom
            else f"Per ideal customer profile, {_verb(best, 'wins', 'win')} {ctx.percent(top)} "
            f"of decided deals and {_join(worst)} {ctx.percent(bottom)}."
        )
    return _p(text) + table(
        ctx,
        rows,
        [
            _Col("icp", "Ideal customer profile"),
            _Col("personas", "Its personas"),
            _Col("contacts", "Contacts", "int"),
            _Col("won", "Won", "int", "contacts"),
            _Col("lost", "Lost", "int", "contacts"),
            _Col("win_rate", "Win rate", "pct"),
            _Col("won_amount", "Won amount", "int", "currency of the CRM"),
        ],
        name=_sheet("wins", "profiles"),
    )


def _wins_groups(ctx: ReportContext) -> tuple[str, dict[str, str], str]:
    """How to split won deals: by ICP when the data records one, else by persona (each
    named with its ICP). Returns (by, display names, a sentence saying which)."""
    data = ctx.data
    summary = _records(ctx.analytics("won_summary", "icp"))
    icps = {i.id: i.name for i in data.icps}
    if any(r["icp"] != "unassigned" and r["won_contacts"] for r in summary):
        return "icp", icps, ""
    names = {}
    for p in data.personas:
        icp = icps.get(p.icp or "")
        names[p.id] = f"{p.name} ({icp})" if icp else p.name
    why = (
        "The CRM data does not record an ideal customer profile for its contacts, so won "
        "deals are shown per persona, each with the profile it belongs to."
    )
    return "persona", names, why


@_section("wins", "Won deals by ICP")
def wins(ws: Any, ctx: ReportContext) -> str:
    """Per ICP (or persona when the data has no ICP): win rate, time to close, and what won
    contacts did (touchpoints and content used before winning, against lost contacts),
    where they came from and why deals were lost."""
    by, names, why = _wins_groups(ctx)
    summary = _clean(_records(ctx.analytics("won_summary", by)))
    summary = [r for r in summary if r["won_contacts"] or r["lost_contacts"]]
    if not any(r["won_contacts"] for r in summary):
        raise _Missing("No deal has been won in the imported data yet.")
    inter = _clean(_records(ctx.analytics("won_interactions", by)))
    content = _clean(_records(ctx.analytics("won_content", by)))
    sources = _clean(_records(ctx.analytics("lead_sources", by)))
    reasons = _clean(_records(ctx.analytics("lost_reasons", by)))
    order = list(names)

    def key(r: dict[str, Any]) -> tuple[int, str]:
        g = str(r[by])
        return (order.index(g) if g in order else len(order), g)

    summary.sort(key=key)
    for r in summary + inter + content + sources + reasons:
        r["group"] = names.get(str(r[by]), "Not assigned" if r[by] == "unassigned" else r[by])
    label = "Ideal customer profile" if by == "icp" else "Persona"
    sum_cols = [
        _Col("group", label),
        _Col("contacts", "Contacts", "int"),
        _Col("won_contacts", "Won", "int", "contacts"),
        _Col("lost_contacts", "Lost", "int", "contacts"),
        _Col("win_rate", "Win rate", "pct"),
        _Col("median_days_to_close", "Median days to close", "days"),
        _Col("won_amount", "Won amount", "int", "currency of the CRM"),
    ]
    body = _p(why) if why else ""
    groups = []
    for r in summary:
        g = r[by]
        if not r["won_contacts"]:
            continue
        top_i = [i for i in inter if i[by] == g][:5]
        top_c = [i for i in content if i[by] == g][:3]
        all_s = [s for s in sources if s[by] == g and s["won"]]
        all_r = [x for x in reasons if x[by] == g]
        top_s, top_r = all_s[:5], all_r[:5]
        bits = []
        if top_i:
            i = top_i[0]
            bits.append(
                f"{ctx.percent(i['won_share'], 0)} of the won contacts used "
                f"{i['touchpoint_name']}"
                + (
                    f" (against {ctx.percent(i['lost_share'], 0)} of lost ones)"
                    if i.get("lost_share") is not None
                    else ""
                )
            )
        if top_s:
            # every source that ties on the most wins is named, not the first in the table
            most = [str(s["lead_source"]) for s in all_s if s["won"] == all_s[0]["won"]]
            bits.append(
                f"{_join(most)} brought the most wins "
                f"({ctx.percent(top_s[0]['share_of_won'], 0)}"
                + (" each)" if len(most) > 1 else ")")
            )
        if top_r:
            most = [
                f"\u201c{x['lost_reason']}\u201d"
                for x in all_r
                if x["lost_deals"] == all_r[0]["lost_deals"]
            ]
            bits.append(
                f"deals were most often lost for {_join(most)}"
                + (", each as often" if len(most) > 1 else "")
            )
        if r.get("median_days_to_close") is not None:
            bits.append(
                f"a won deal closed in a median of {ctx.number(r['median_days_to_close'], 0)} days"
            )
        groups.append(
            {
                "name": r["group"],
                "summary": _upper_first("; ".join(bits) + ".") if bits else "",
                "inter": Markup(
                    table(
                        ctx,
                        top_i,
                        [
                            _Col("touchpoint_name", "Touchpoint"),
                            _Col("won_share", "Of won contacts", "pct"),
                            _Col("lost_share", "Of lost contacts", "pct"),
                            _Col("difference", "Difference", "pts"),
                        ],
                    )
                )
                if top_i
                else "",
                "content": ", ".join(
                    f"{c['touchpoint_name']} ({ctx.percent(c['won_share'], 0)})" for c in top_c
                ),
                "sources": ", ".join(
                    f"{s['lead_source']} ({ctx.percent(s['share_of_won'], 0)} of wins)"
                    for s in top_s
                ),
                "reasons": ", ".join(
                    f"{x['lost_reason']} ({ctx.percent(x['share'], 0)})" for x in top_r
                ),
            }
        )
    chart_rows = []
    for r in summary:
        if r.get("win_rate") is not None:
            chart_rows.append({"group": r["group"], "win_rate": r["win_rate"]})
    spec = _bar_spec(
        chart_rows, "win_rate", "group", x_title="Win rate of decided deals", fmt=".1%"
    )
    spec["encoding"]["x"]["axis"] = {"format": "%"}
    spec["encoding"]["y"]["axis"] = {"labelLimit": 360}
    chart = svg_chart(spec, ctx, alt=f"Win rate per {label.lower()}")
    lead = ""
    if len(chart_rows) > 1:
        best, top, worst, bottom = _ends(chart_rows, "win_rate", "group")
        if top == bottom:
            things = "ideal customer profiles" if by == "icp" else "personas"
            lead = f"{_all(len(chart_rows), things)} win {ctx.percent(top)} of decided deals."
        else:
            lead = (
                f"{_verb(best, 'wins', 'win')} most often: {ctx.percent(top)} of decided "
                f"deals, against {ctx.percent(bottom)} for {_join(worst)}."
            )
        if bottom > 0 and top / bottom >= 1.5:
            lead += (
                f" At {top / bottom:.1f} times the win rate, "
                + ("it is" if len(best) == 1 else "they are")
                + " where sales time pays back best."
            )
    elif chart_rows:
        lead = f"{ctx.percent(chart_rows[0]['win_rate'])} of decided deals are won."
    body += _p(lead) + chart
    if by == "persona":
        body += _icps_through_personas(ctx, summary)
    body += table(ctx, summary, sum_cols, name=_sheet("wins"))
    body += html_from("wins.html.j2", groups=groups)
    g_col = _Col("group", label)
    ctx.table(
        _sheet("wins", "touchpoints"),
        data_frame(
            inter,
            [
                g_col,
                _Col("touchpoint_name", "Touchpoint"),
                _Col("won_contacts", "Won contacts who used it", "int", "contacts"),
                _Col("won_share", "Of won contacts", "pct"),
                _Col("lost_contacts", "Lost contacts who used it", "int", "contacts"),
                _Col("lost_share", "Of lost contacts", "pct"),
                _Col("difference", "Difference", "pts"),
            ],
        ),
    )
    ctx.table(
        _sheet("wins", "content"),
        data_frame(
            content,
            [
                g_col,
                _Col("touchpoint_name", "Content"),
                _Col("won_contacts", "Won contacts who consumed it", "int", "contacts"),
                _Col("won_share", "Of won contacts", "pct"),
                _Col("lost_share", "Of lost contacts", "pct"),
            ],
        ),
    )
    ctx.table(
        _sheet("wins", "lead sources"),
        data_frame(
            sources,
            [
                g_col,
                _Col("lead_source", "Lead source"),
                _Col("contacts", "Contacts", "int"),
                _Col("won", "Won", "int", "contacts"),
                _Col("lost", "Lost", "int", "contacts"),
                _Col("win_rate", "Win rate", "pct"),
                _Col("share_of_won", "Share of won", "pct"),
            ],
        ),
    )
    ctx.table(
        _sheet("wins", "lost reasons"),
        data_frame(
            reasons,
            [
                g_col,
                _Col("lost_reason", "Reason"),
                _Col("lost_deals", "Lost deals", "int", "deals"),
                _Col("share", "Share of lost deals", "pct"),
            ],
        ),
    )
    return body


# ==================================================================================== OKRs


def _fmt_number(ctx: ReportContext, value: float | None) -> str:
    if value is None:
        return "n/a"
    return ctx.number(value, 0 if float(value).is_integer() else 1)


@_section("okrs", "OKRs and to-dos")
def okrs(ws: Any, ctx: ReportContext) -> str:
    """Each objective with its key results (baseline, target, current, progress) and the
    to-dos under each; the current value from the CRM data where the metric is derivable."""
    data = ctx.data
    okr_list = data.measurement.okrs
    if not okr_list:
        raise _Missing("No OKRs (objectives with key results) have been set yet.")
    measured: dict[str, dict[str, Any]] = {}
    if ctx.has_crm_data():
        try:
            measured = {
                str(r["id"]): r
                for r in _clean(_records(ctx.analytics("kpis")))
                if r["kind"] == "key_result"
            }
        except _Missing:
            measured = {}
    rows: list[dict[str, Any]] = []
    todos: list[dict[str, Any]] = []
    items = []
    for okr in okr_list:
        krs = []
        for kr in okr.key_results:
            m = measured.get(kr.id)
            current = m.get("current") if m and m.get("source") else kr.current
            source = (
                "measured in the CRM data"
                if m and m.get("source") == "data"
                else ("typed in the workspace" if current is not None else "")
            )
            progress = key_result_progress(kr.baseline, kr.target, current)
            row = {
                "okr": okr.objective,
                "text": kr.text,
                "baseline": kr.baseline,
                "target": kr.target,
                "current": current,
                "progress": progress,
                "source": source,
                "todos_done": sum(1 for t in kr.todos if t.done),
                "todos": len(kr.todos),
            }
            rows.append(row)
            krs.append(
                {
                    **row,
                    "baseline_s": _fmt_number(ctx, kr.baseline),
                    "target_s": _fmt_number(ctx, kr.target),
                    "current_s": _fmt_number(ctx, current),
                    "progress_s": ctx.percent(progress, 0) if progress is not None else "n/a",
                    "status": (
                        "not measured"
                        if progress is None
                        else "met"
                        if progress >= 1
                        else "on the way"
                        if progress > 0
                        else "not moving"
                        if progress == 0
                        else "moved away"
                    ),
                    "status_class": (
                        "none" if progress is None else "ok" if progress >= 0.5 else "warn"
                    ),
                    "todo_list": [
                        {"text": t.text, "owner": t.owner, "done": t.done} for t in kr.todos
                    ],
                }
            )
            todos += [
                {
                    "okr": okr.objective,
                    "kr": kr.text,
                    "text": t.text,
                    "owner": t.owner,
                    "done": "yes" if t.done else "no",
                }
                for t in kr.todos
            ]
        items.append({"objective": okr.objective, "krs": krs})
    ctx.table(
        _sheet("okrs"),
        data_frame(
            rows,
            [
                _Col("okr", "Objective"),
                _Col("text", "Key result"),
                _Col("baseline", "Baseline", "float", "in the key result's unit"),
                _Col("target", "Target", "float", "in the key result's unit"),
                _Col("current", "Current", "float", "in the key result's unit"),
                _Col("progress", "Progress from baseline to target", "pct"),
                _Col("source", "Current value from"),
            ],
        ),
    )
    if todos:
        ctx.table(
            _sheet("okrs", "to-dos"),
            data_frame(
                todos,
                [
                    _Col("okr", "Objective"),
                    _Col("kr", "Key result"),
                    _Col("text", "To-do"),
                    _Col("owner", "Owner"),
                    _Col("done", "Done"),
                ],
            ),
        )
    measured_rows = [r for r in rows if r["progress"] is not None]
    text = f"{_n(len(okr_list), 'objective')} with {_n(len(rows), 'key result')}"
    if measured_rows:
        half = sum(1 for r in measured_rows if r["progress"] >= 0.5)
        met = sum(1 for r in measured_rows if r["progress"] >= 1)
        away = [r["text"] for r in measured_rows if r["progress"] < 0]
        still = [r["text"] for r in measured_rows if r["progress"] == 0]
        text += (
            f": {half} of the {len(measured_rows)} measured are at least halfway to target"
            + (f" ({met} met)" if met else "")
            + "."
        )
        if away:
            text += (
                f" Further from target than at the start: {_join(away)}; these need the "
                "to-dos under them done first, or a new plan."
            )
        if still:
            text += f" Not moved from the baseline yet: {_join(still)}."
    else:
        text += "; none has a current value yet."
    if todos:
        done = sum(1 for t in todos if t["done"] == "yes")
        text += f" {done} of {_n(len(todos), 'to-do')} are done."
    chart = ""
    if measured_rows:
        chart_rows = [
            {
                "kr": r["text"] if len(r["text"]) <= 64 else r["text"][:62] + "…",
                "shown": min(max(float(r["progress"]), 0.0), 1.0),
                "label": ctx.percent(r["progress"], 0),
                "good": float(r["progress"]) >= 0.5,
            }
            for r in measured_rows
        ]
        spec = {
            "data": {"values": chart_rows},
            "width": 360,
            "height": max(80, 30 * len(chart_rows)),
            "encoding": {
                "y": {
                    "field": "kr",
                    "type": "nominal",
                    "sort": None,
                    "title": None,
                    "axis": {"labelLimit": 420},
                },
            },
            "layer": [
                {
                    "mark": {"type": "bar", "color": "#E5E7EA"},
                    "encoding": {
                        "x": {"datum": 1, "type": "quantitative"},
                        "x2": {"datum": 0},
                    },
                },
                {
                    "mark": {"type": "bar"},
                    "encoding": {
                        "x": {
                            "field": "shown",
                            "type": "quantitative",
                            "title": "Progress from baseline (0%) to target (100%)",
                            "axis": {"format": "%"},
                            "scale": {"domain": [0, 1]},
                        },
                        "color": {
                            "condition": {"test": "datum.good", "value": ctx.theme.primary_mark},
                            "value": ctx.theme.diverging[0],
                        },
                    },
                },
                {
                    "mark": {"type": "text", "align": "left", "dx": 4},
                    "encoding": {
                        "x": {"field": "shown", "type": "quantitative"},
                        "text": {"field": "label"},
                    },
                },
            ],
        }
        chart = svg_chart(spec, ctx, alt="Progress of each key result from baseline to target")
    return _p(text) + chart + html_from("okrs.html.j2", items=items)


# =============================================================================== processes


@_section("processes", "Key processes")
def processes(ws: Any, ctx: ReportContext) -> str:
    """The customer-facing processes (the key ones first) with their CRM goal, owner,
    service level and touchpoints, and which CRM goals no key process serves yet."""
    from workbook.model import CRM_GOALS

    data = ctx.data
    procs = sorted(data.processes, key=lambda p: not p.key)
    if not procs:
        raise _Missing("No customer-facing process has been audited yet.")
    rows = [
        {
            "name": p.name,
            "key": "yes" if p.key else "",
            "goal": p.crm_goal or "",
            "owner": p.owner or "to be agreed",
            "service_level": p.service_level or "to be agreed",
            "touchpoints": ", ".join(name_of(data.touchpoints, t) for t in p.touchpoints),
        }
        for p in procs
    ]
    tbl = table(
        ctx,
        rows,
        [
            _Col("name", "Process"),
            _Col("key", "Key"),
            _Col("goal", "CRM goal"),
            _Col("owner", "Owner"),
            _Col("service_level", "Service level"),
            _Col("touchpoints", "Touchpoints"),
        ],
        name=_sheet("processes"),
    )
    key = [p for p in procs if p.key]
    counted = key or procs
    goals: list[dict[str, Any]] = [
        {
            "goal": g.capitalize(),
            "processes": sum(1 for p in counted if p.crm_goal == g),
        }
        for g in CRM_GOALS
    ]
    spec = _bar_spec(
        goals,
        "processes",
        "goal",
        x_title="Key processes serving the CRM goal" if key else "Processes serving the CRM goal",
        width=420,
    )
    top = max(int(g["processes"]) for g in goals)
    spec["encoding"]["x"]["axis"] = {"values": list(range(top + 1)), "format": "d"}
    spec["encoding"]["x"]["scale"] = {"domain": [0, max(top, 1)]}
    chart = svg_chart(spec, ctx, alt="How many key processes serve each CRM goal")
    text = (
        f"{_n(len(key), 'process', 'processes')} matter most to customers"
        if key
        else f"{_n(len(procs), 'process', 'processes')} audited, none marked as key yet"
    )
    text += "."
    no_owner = [p.name for p in counted if not p.owner]
    no_sl = [p.name for p in counted if not p.service_level]
    uncovered = [g["goal"].lower() for g in goals if not g["processes"]]
    if not no_owner and not no_sl:
        text += " Each has an owner and an agreed service level."
    elif len(no_owner) == len(no_sl) == len(counted) > 1:
        text += (
            " None of them has an owner or an agreed service level yet: agree both with the "
            "client, since a process nobody owns has nobody to keep its promise."
        )
    else:
        if no_owner:
            text += f" Still without an owner: {_join(no_owner)}."
        if no_sl:
            text += f" No service level agreed yet for {_join(no_sl)}."
    if uncovered:
        others = [
            f"{p.name} ({p.crm_goal})"
            for p in procs
            if key and not p.key and p.crm_goal in uncovered
        ]
        text += (
            f" No {'key ' if key else ''}process serves {_join(uncovered)}"
            + (
                f"; {_join(others)} could, but {'is' if len(others) == 1 else 'are'} not "
                "marked as key"
                if others
                else ""
            )
            + (
                ": is that goal covered elsewhere, or missing?"
                if len(uncovered) == 1
                else ": are those goals covered elsewhere, or missing?"
            )
        )
    return _p(text) + chart + tbl
