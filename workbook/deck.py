"""The deck: a branded PowerPoint file a consultant can present and edit (python-pptx).

One slide each for the cover, the agenda, the executive summary, every persona's journey map
(followed by its desired journey, where the persona has a to-be map), the funnel, the flow
between stages, the biggest loss, the top recommendations with their owners, the experiments
and the next steps. Words are editable text boxes and tables, never pictures of text; charts
and maps are PNG images drawn at twice their size, so they stay crisp on a projector. Each
slide's numbers are in its speaker notes, for the presenter.

The desired journey comes right after the persona's map: the audience has just seen how the
persona feels today, so the as-is curve on the next slide needs no flipping back, and each
persona's story (today, then where we want it to be, then what makes it happen) is told in
one go. It shows both emotion curves with the gap shaded (the picture ``workbook map
--compare`` draws), and under it a table whose columns sit under the curve's stages: the
emotion today and desired, the **gap** (to-be minus as-is, the report's definition; none
where either map leaves the stage unscored), and the recommendations the to-be map links at
that stage with their owners. The **largest change** is the stage (or the stages, on a tie)
with the largest absolute gap; its column is marked and the slide's first line names it.

The client's colours and logo come from its branding. Titles use the brand's first font;
body text uses Arial, which every machine has, so the deck reads the same anywhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbook.files import atomic_path
from workbook.sections import name_of, open_recommendations

if TYPE_CHECKING:
    from pptx.presentation import Presentation

__all__ = ["BODY_FONT", "build_deck", "write_deck"]

#: The font of body text: one every machine has.
BODY_FONT = "Arial"
_W, _H = 13.333, 7.5  # inches: 16:9
#: The most agenda items one column holds at 20 pt; more go in two columns.
_AGENDA_ROWS = 12


def _rgb(hex_colour: str) -> Any:
    from pptx.dml.color import RGBColor

    text = hex_colour.lstrip("#")[:6]
    return RGBColor(int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))  # type: ignore[no-untyped-call]


def _logo_png(data_uri: str | None) -> bytes | None:
    """The logo as PNG (or JPEG) bytes python-pptx can place; an SVG logo is rasterised."""
    if not data_uri or "," not in data_uri:
        return None
    head, payload = data_uri.split(",", 1)
    raw = base64.b64decode(payload) if ";base64" in head else payload.encode("utf-8")
    if "svg" in head:
        import vl_convert

        return bytes(vl_convert.svg_to_png(raw.decode("utf-8"), scale=3))
    if "png" in head or "jpeg" in head or "gif" in head:
        return raw
    return None  # WebP: PowerPoint cannot place it; the slide keeps the client's name


class _Deck:
    def __init__(self, ws: Any) -> None:
        from pptx import Presentation as make
        from pptx.util import Emu

        from workbook.theme import Theme

        self.ws = ws
        self.data = ws.data
        self.theme = Theme.from_workspace(ws)
        self.title_font = self.theme.font.split(",")[0].strip() or BODY_FONT
        self.prs: Presentation = make()
        self.prs.slide_width = Emu(12192000)  # 13.333 x 7.5 inches: PowerPoint's 16:9
        self.prs.slide_height = Emu(6858000)
        self.blank = self.prs.slide_layouts[6]
        self.logo = _logo_png(self.theme.logo)

    # -- building blocks

    def slide(self, title: str, notes: Sequence[str] = ()) -> Any:
        from pptx.util import Inches

        s = self.prs.slides.add_slide(self.blank)
        band = s.shapes.add_shape(1, 0, 0, self.prs.slide_width, Inches(0.18))
        band.fill.solid()
        band.fill.fore_color.rgb = _rgb(self.theme.primary)
        band.line.fill.background()
        self.text(s, title, 0.6, 0.4, _W - 2.4, 0.9, size=30, bold=True, title=True)
        if self.logo:  # right-aligned in the title's corner, as large as fits
            self.picture(s, self.logo, _W - 2.8, 0.35, 2.3, 0.7, align="right")
        footer = f"{self.data.client.name}  |  Confidential"
        self.text(s, footer, 0.6, _H - 0.5, 8, 0.3, size=10, colour="#57606A")
        if notes:
            s.notes_slide.notes_text_frame.text = "\n".join(notes)
        return s

    def text(
        self,
        slide: Any,
        text: str | Sequence[str],
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        size: int = 18,
        bold: bool = False,
        title: bool = False,
        colour: str | None = None,
        bullets: bool = False,
    ) -> Any:
        from pptx.util import Inches, Pt

        box = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        frame = box.text_frame
        frame.word_wrap = True
        lines = [text] if isinstance(text, str) else list(text)
        for i, line in enumerate(lines):
            para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            run = para.add_run()
            run.text = ("\u2022  " if bullets else "") + line
            run.font.size = Pt(size)
            run.font.bold = bold
            run.font.name = self.title_font if title else BODY_FONT
            run.font.color.rgb = _rgb(colour or (self.theme.primary if title else "#1F2328"))
            para.space_after = Pt(8 if bullets else 2)
        return box

    def picture(
        self,
        slide: Any,
        png: bytes,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        align: str = "centre",
    ) -> None:
        """Place an image inside the box (x, y, w, h), as large as fits, centred (or against
        the box's right edge)."""
        from PIL import Image
        from pptx.util import Inches

        with Image.open(io.BytesIO(png)) as img:
            iw, ih = img.size
        scale = min(w / iw, h / ih)
        pw, ph = iw * scale, ih * scale
        if align == "right":
            x += w - pw
            w = pw
        slide.shapes.add_picture(
            io.BytesIO(png),
            Inches(x + (w - pw) / 2),
            Inches(y + (h - ph) / 2),
            Inches(pw),
            Inches(ph),
        )

    def table(
        self,
        slide: Any,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        y: float,
        widths: Sequence[float] | None = None,
    ) -> None:
        """An editable table across the slide; ``widths`` are the columns' shares."""
        from pptx.util import Inches, Pt

        shape = slide.shapes.add_table(
            len(rows) + 1,
            len(header),
            Inches(0.6),
            Inches(y),
            Inches(_W - 1.2),
            Inches(0.4 * (len(rows) + 1)),
        )
        grid = shape.table
        if widths:
            total = sum(widths)
            for c, share in enumerate(widths):
                grid.columns[c].width = Inches((_W - 1.2) * share / total)
        for c, name in enumerate(header):
            cell = grid.cell(0, c)
            cell.text = name
            cell.fill.solid()
            cell.fill.fore_color.rgb = _rgb(self.theme.primary)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                grid.cell(r, c).text = str(value)
        for r in range(len(rows) + 1):
            for c in range(len(header)):
                for para in grid.cell(r, c).text_frame.paragraphs:
                    for run in para.runs:
                        run.font.size = Pt(13)
                        run.font.name = BODY_FONT
                        if r == 0:
                            run.font.bold = True
                            run.font.color.rgb = _rgb("#FFFFFF")


def _score(value: float | None) -> str:
    """An emotion score or a gap as the report writes it: signed, with a true minus sign."""
    if value is None:
        return "not scored"
    return "0" if value == 0 else f"{value:+g}".replace("-", "\u2212")


def _points(value: float, *, signed: bool = False) -> str:
    """``+2.5 points``, ``1 point``."""
    text = _score(value) if signed else f"{value:g}"
    return text + " point" + ("" if abs(value) == 1 else "s")


def _names(items: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _tint(hex_colour: str, share: float = 0.85) -> str:
    """The colour mixed with ``share`` of white: a background for a marked table column."""
    text = hex_colour.lstrip("#")[:6]
    rgb = [int(text[i : i + 2], 16) for i in (0, 2, 4)]
    return "#" + "".join(f"{round(c + (255 - c) * share):02X}" for c in rgb)


def _largest_changes(gaps: Sequence[float | None]) -> list[int]:
    """The positions of the stages where the desired journey changes the feeling most: the
    largest absolute gap (to-be minus as-is), every stage that ties for it; none when no stage
    is scored in both maps or no scored stage changes."""
    top = max((abs(g) for g in gaps if g is not None), default=0.0)
    return [i for i, g in enumerate(gaps) if g is not None and top and abs(g) == top]


def _desired_lead(comp: Any, top: Sequence[int]) -> list[str]:
    """Two lines: where the feeling changes most, then how many stages change and whether
    every change has a recommendation behind it."""
    stages, gaps = comp.stages, comp.gaps
    if not top:
        scored = [g for g in gaps if g is not None]
        first = (
            "The desired journey keeps today's feeling at every stage both maps score."
            if scored
            else "The gap appears once both maps score the feeling at the same stage."
        )
    elif len(top) == 1:
        i = top[0]
        first = (
            f"The feeling changes most at {stages[i].name}: from {_score(comp.as_is[i])} today "
            f"to {_score(comp.to_be[i])} ({_points(gaps[i], signed=True)})."
        )
    else:
        values = {gaps[i] for i in top}
        same = values.pop() if len(values) == 1 else None
        each = _points(abs(gaps[top[0]])) if same is None else _points(same, signed=True)
        first = f"The feeling changes most at {_names([stages[i].name for i in top])}: {each} each."
    changed = [s for s in stages if comp.changes_at(s.id)]
    if not changed:
        return [first, "The desired journey is still a copy of the journey today."]
    verb = "changes" if len(changed) == 1 else "change"
    second = f"{len(changed)} of the {len(stages)} stages {verb}; "
    unlinked = [s.name for s in changed if not comp.recommendations.get(s.id)]
    if unlinked:
        second += f"no recommendation is linked yet to the change at {_names(unlinked)}."
    else:
        second += "every change has a recommendation behind it."
    return [first, second]


def _desired_notes(name: str, comp: Any) -> list[str]:
    """The presenter's numbers and the changes stage by stage, with the recommendations' ids."""

    def plain(value: float | None) -> str:
        return _score(value).replace("\u2212", "-")

    notes = [f"{name}: the desired journey against today (gap = to-be minus as-is)"]
    for i, s in enumerate(comp.stages):
        line = (
            f"{s.name}: as-is {plain(comp.as_is[i])}, to-be {plain(comp.to_be[i])}, "
            f"gap {'none' if comp.gaps[i] is None else plain(comp.gaps[i])}"
        )
        changes = [f"{c.kind} '{c.text}'" for c in comp.changes_at(s.id) if c.kind != "emotion"]
        if changes:
            line += "; " + "; ".join(changes)
        recs = comp.recommendations.get(s.id, ())
        if recs:
            line += "; made to happen by " + ", ".join(
                f"{r.id} ({r.owner or 'owner to agree'}, {r.status.replace('-', ' ')})"
                for r in recs
            )
        notes.append(line)
    return notes


#: Left and right inner margin of the desired journey's table cells, inches.
_MARGIN = 0.07
#: Space above the second and later recommendations of one cell, points.
_REC_GAP = 6
#: The recommendations' font sizes, tried largest first: 10 pt is the least a room reads.
_REC_SIZES = (12, 11, 10)


def _lines(text: str, size: float, width: float) -> int:
    """How many lines ``text`` takes at ``size`` points in ``width`` inches, wrapped at words,
    Arial taken as 0.48 em a character on average (a little wider than prose needs, so the
    estimate errs on the tall side)."""
    import textwrap

    per_line = max(1, int(width * 72 / (size * 0.48)))
    return len(textwrap.wrap(text, per_line)) or 1


def _cell_height(cell: Sequence[tuple[str, str]], size: int, width: float) -> float:
    """Inches a cell of recommendations needs: each one's text, then its owner a point
    smaller, with a little space between recommendations; lines are 1.2 em apart."""
    points = _REC_GAP * (len(cell) - 1) + sum(
        _lines(text, size, width) * size
        + (_lines(owner, size - 1, width) * (size - 1) if owner else 0)
        for text, owner in cell
    )
    return points * 1.2 / 72 + 0.12


def _fit_cells(
    cells: Sequence[Sequence[tuple[str, str]]],
    width: float,
    room: float,
    size: int,
    *,
    trim: bool,
) -> tuple[float, list[list[tuple[str, str]]]] | None:
    """The row height and cells of the recommendations' row at ``size`` points, to fit
    ``room`` inches.

    The cells as they are when the tallest fits. Failing that, ``None``; or, with ``trim``, a
    cell keeps as many of its
    recommendations as fit (one at least, its text cut at a word with an ellipsis if even that
    one is too long) and says how many more there are: all of them are in the speaker notes.
    """
    height = max(_cell_height(c, size, width) for c in cells)
    if height <= room:
        return height, [list(c) for c in cells]
    if not trim:
        return None
    trimmed: list[list[tuple[str, str]]] = []
    for cell in cells:
        kept = list(cell)
        if _cell_height(kept, size, width) > room:
            k = len(cell)
            more: list[tuple[str, str]] = []
            while k > 1 and _cell_height([*cell[:k], *more], size, width) > room:
                k -= 1
                more = [(f"and {len(cell) - k} more, in the notes", "")]
            text, owner = cell[k - 1]
            words = text.split()
            while len(words) > 1 and (
                _cell_height(
                    [*cell[: k - 1], (" ".join(words) + "\u2026", owner), *more], size, width
                )
                > room
            ):
                words.pop()
            if len(words) < len(text.split()):
                text = " ".join(words) + "\u2026"
            kept = [*cell[: k - 1], (text, owner), *more]
        trimmed.append(kept)
    return max(_cell_height(c, size, width) for c in trimmed), trimmed


@dataclass(frozen=True)
class _Layout:
    """Where the desired journey's chart and table go (inches), and the table's fonts."""

    px_h: float  # the chart's height in drawing pixels; its width is _CHART_PX
    chart_h: float
    label_w: float
    col_w: float
    head_font: int
    head_h: float
    table_y: float
    rec_font: int
    rec_h: float
    carried: list[list[tuple[str, str]]]


#: The desired journey's chart: its width in drawing pixels, and the heights it may take,
#: tallest first, so that the table under it fits above the footer.
_CHART_PX = 960.0
_CHART_HEIGHTS = (160.0, 140.0, 120.0)
_CHART_Y = 1.9
_ROW_H = 0.32


def _desired_layout(names: Sequence[str], carried: Sequence[Sequence[tuple[str, str]]]) -> _Layout:
    """The largest type, then the tallest chart, with which the table fits above the footer:
    the recommendations are what the room reads, so the chart gives up height first."""
    inch = (_W - 1.2) / _CHART_PX  # inches per pixel of the drawing
    n = len(names)
    for size in _REC_SIZES:
        for px_h in _CHART_HEIGHTS:
            # The drawing's viewBox is 6 px taller than its height: it is drawn scaled by
            # h / (h + 6) and centred across. Its stage columns start 120 px in and leave
            # 16 px on the right (workbook.journeymap.emotion_gap_svg).
            squeeze = px_h / (px_h + 6)
            label_w = (_CHART_PX * (1 - squeeze) / 2 + squeeze * 120) * inch
            col_w = squeeze * (_CHART_PX - 136) / n * inch
            inner = col_w - 2 * _MARGIN
            # Stage names in two lines at most: 13 pt, or 11 pt where the columns are narrow.
            head_font = 13 if max(_lines(x, 13, inner) for x in names) <= 2 else 11
            head_lines = max(_lines(x, head_font, inner) for x in names)
            head_h = max(_ROW_H, head_lines * head_font * 1.2 / 72 + 0.1)
            table_y = _CHART_Y + px_h * inch + 0.08
            room = _H - 0.55 - table_y - head_h - 2 * _ROW_H  # down to the footer
            last = size == _REC_SIZES[-1] and px_h == _CHART_HEIGHTS[-1]
            fit = _fit_cells(carried, inner, room, size, trim=last)
            if fit is not None:
                rec_h, cells = fit
                return _Layout(
                    px_h,
                    px_h * inch,
                    label_w,
                    col_w,
                    head_font,
                    head_h,
                    table_y,
                    size,
                    rec_h,
                    cells,
                )
    raise AssertionError("the smallest type under the shortest chart trims the cells to fit")


def _desired_slide(deck: _Deck, title: str, name: str, comp: Any) -> None:
    """The persona's desired journey: both curves, then the table under the curve's stages."""
    import vl_convert
    from pptx.util import Inches, Pt

    from workbook.journeymap import emotion_gap_svg
    from workbook.theme import readable_on

    stages = comp.stages
    n = len(stages)
    top = _largest_changes(comp.gaps)
    s = deck.slide(title, _desired_notes(name, comp))
    lead = _desired_lead(comp, top)
    box = deck.text(s, lead, 0.6, 1.2, _W - 1.2, 0.7, size=18)
    box.text_frame.paragraphs[1].runs[0].font.size = Pt(14)

    rows = [
        ["Today \u2192 desired"]
        + [f"{_score(a)} \u2192 {_score(b)}" for a, b in zip(comp.as_is, comp.to_be, strict=True)],
        ["Change"] + ["\u2013" if g is None else _score(g) for g in comp.gaps],
    ]
    carried: list[list[tuple[str, str]]] = []
    for st in stages:
        recs = comp.recommendations.get(st.id, ())
        if recs:
            carried.append(
                [
                    (r.text, f"{r.owner or 'owner to agree'}, {r.status.replace('-', ' ')}")
                    for r in recs
                ]
            )
        elif comp.changes_at(st.id):
            carried.append([("No recommendation yet", "")])
        else:
            carried.append([("No change", "")])
    names = [st.name for st in stages]
    lay = _desired_layout(names, carried)

    # The chart, as wide as the slide allows; the table's columns under its stages.
    svg = emotion_gap_svg(
        names, comp.as_is, comp.to_be, deck.theme, width=_CHART_PX, height=lay.px_h
    )
    png = bytes(vl_convert.svg_to_png(svg, scale=2))
    x0 = 0.6
    s.shapes.add_picture(
        io.BytesIO(png), Inches(x0), Inches(_CHART_Y), Inches(_W - 1.2), Inches(lay.chart_h)
    )
    shape = s.shapes.add_table(
        4,
        n + 1,
        Inches(x0),
        Inches(lay.table_y),
        Inches(lay.label_w + n * lay.col_w),
        Inches(lay.head_h + 2 * _ROW_H + lay.rec_h),
    )
    grid = shape.table
    grid.columns[0].width = Inches(lay.label_w)
    for c in range(1, n + 1):
        grid.columns[c].width = Inches(lay.col_w)
    for r, h in enumerate((lay.head_h, _ROW_H, _ROW_H, lay.rec_h)):
        grid.rows[r].height = Inches(h)
    accent_tint = _tint(deck.theme.accent)
    plain = "#FFFFFF"

    def fill(cell: Any, colour: str) -> None:
        cell.fill.solid()
        cell.fill.fore_color.rgb = _rgb(colour)

    def put(cell: Any, paragraphs: Sequence[tuple[str, int, bool, str, int]]) -> None:
        cell.margin_left = cell.margin_right = Inches(_MARGIN)
        frame = cell.text_frame
        frame.word_wrap = True
        for k, (text, size, bold, colour, gap) in enumerate(paragraphs):
            para = frame.paragraphs[0] if k == 0 else frame.add_paragraph()
            para.space_before = Pt(gap)
            run = para.add_run()
            run.text = text
            run.font.size = Pt(size)
            run.font.bold = bold
            run.font.name = BODY_FONT
            run.font.color.rgb = _rgb(colour)

    ink, muted = "#1F2328", "#57606A"
    head = grid.cell(0, 0)
    fill(head, deck.theme.primary)
    put(head, [("Stage", lay.head_font, True, deck.theme.on_primary, 0)])
    for c, st in enumerate(stages, start=1):
        marked = c - 1 in top
        colour = deck.theme.accent if marked else deck.theme.primary
        fill(grid.cell(0, c), colour)
        put(grid.cell(0, c), [(st.name, lay.head_font, True, readable_on(colour), 0)])
    for r, row in enumerate(rows, start=1):
        fill(grid.cell(r, 0), deck.theme.primary_tint)
        put(grid.cell(r, 0), [(row[0], 12, True, ink, 0)])
        for c, value in enumerate(row[1:], start=1):
            marked = c - 1 in top
            fill(grid.cell(r, c), accent_tint if marked else plain)
            put(grid.cell(r, c), [(value, 13, marked and r == 2, ink, 0)])
    fill(grid.cell(3, 0), deck.theme.primary_tint)
    put(grid.cell(3, 0), [("Made to happen by", 12, True, ink, 0)])
    for c, cell in enumerate(lay.carried, start=1):
        fill(grid.cell(3, c), accent_tint if c - 1 in top else plain)
        paragraphs: list[tuple[str, int, bool, str, int]] = []
        for text, owner in cell:
            gap = _REC_GAP if paragraphs else 0
            paragraphs.append((text, lay.rec_font, False, ink if owner else muted, gap))
            if owner:
                paragraphs.append((owner, lay.rec_font - 1, False, muted, 0))
        put(grid.cell(3, c), paragraphs)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _rate(value: Any) -> str:
    """A rate that may be NaN (the last stage goes on to nothing)."""
    return "n/a" if value is None or value != value else f"{value:.1%}"


def _desired_title(data: Any, persona_name: str, icp: str | None) -> str:
    title = f"{persona_name.split(',')[0]}'s desired journey"
    return title + (f" ({name_of(data.icps, icp)})" if icp else "")


def build_deck(workspace: Any, *, today: dt.date | None = None) -> Presentation:
    """The deck of one client, as a python-pptx ``Presentation`` (see the module)."""
    from pptx.util import Inches

    from workbook import charts
    from workbook.analytics import Engine, experiment_decisions, funnel, summary, transitions
    from workbook.journeymap import build_layout, compare_journeys, render_map_svg
    from workbook.store import open_workspace

    ws = workspace if hasattr(workspace, "data") else open_workspace(workspace)
    deck = _Deck(ws)
    data = ws.data
    client = data.client
    when = (today or dt.date.today()).strftime("%-d %B %Y")
    has_data = (Path(ws.path) / "data" / "manifest.json").exists()
    eng = Engine.for_workspace(ws) if has_data else None
    nums = summary(eng) if eng is not None else None

    # cover
    s = deck.prs.slides.add_slide(deck.blank)
    band = s.shapes.add_shape(1, 0, 0, Inches(_W), Inches(_H / 3))
    band.fill.solid()
    band.fill.fore_color.rgb = _rgb(deck.theme.primary)
    band.line.fill.background()
    deck.text(s, "Customer journey report", 0.8, 2.9, 10, 0.5, size=16, colour=deck.theme.accent)
    deck.text(s, client.name, 0.8, 3.4, 11, 1.2, size=44, bold=True, title=True)
    deck.text(s, client.engagement or "Customer journey mapping", 0.8, 4.7, 11, 0.6, size=20)
    deck.text(
        s, [when, client.consultant] if client.consultant else [when], 0.8, 5.6, 8, 0.9, size=14
    )
    if deck.logo:
        deck.picture(s, deck.logo, _W - 3.6, 5.4, 2.8, 1.2)
    s.notes_slide.notes_text_frame.text = f"{client.name}: {client.engagement}. Prepared {when}."

    personas = list(data.personas)
    desired = {
        p.id: [j for j in data.journeys if j.persona == p.id and j.to_be is not None]
        for p in personas
    }
    agenda = ["Where we stand: the summary"]
    for p in personas:
        agenda.append(f"{p.name.split(',')[0]}'s journey")
        agenda += [_desired_title(data, p.name, j.icp) for j in desired[p.id]]
    agenda += [
        "The funnel and the flow",
        "The biggest loss",
        "What we recommend",
        "Experiments",
        "Next steps",
    ]
    s = deck.slide("Agenda")
    if len(agenda) <= _AGENDA_ROWS:
        deck.text(s, agenda, 0.8, 1.5, 11, 5.2, size=20, bullets=True)
    else:  # many personas with desired journeys: two columns, the first one the longer
        half = -(-len(agenda) // 2)
        deck.text(s, agenda[:half], 0.8, 1.5, 5.8, 5.2, size=18, bullets=True)
        deck.text(s, agenda[half:], 6.8, 1.5, 5.8, 5.2, size=18, bullets=True)

    # executive summary
    facts, notes = [], []
    if nums:
        facts.append(f"{nums['contacts']:,} contacts analysed, data up to {nums['as_of']}")
        conv = nums["conversions"]
        if conv.get("win_rate") is not None:
            facts.append(f"Win rate on decided deals: {_pct(conv['win_rate'])}")
        b = nums.get("bottleneck")
        if b:
            facts.append(
                f"Most contacts are lost after {b['stage_name']}: {b['drop_off']:,} stop there, "
                f"{_pct(b['conversion_to_next'])} go on"
            )
        ttc = nums["time_to_close"]
        if ttc.get("median_days_from_first_contact") is not None:
            facts.append(
                f"Median {ttc['median_days_from_first_contact']:.0f} days from first contact "
                "to a win"
            )
        notes = [
            f"contacts {nums['contacts']}",
            f"win rate {conv.get('win_rate')}",
            f"bottleneck {b}",
        ]
    else:
        facts.append("No CRM export imported yet: this deck draws on the workshop material only.")
    recs = open_recommendations(data)
    if recs:
        facts.append(
            f"{len(recs)} recommendations open, "
            f"{sum(r.priority == 'high' for _, r in recs)} of them high priority"
        )
    s = deck.slide("Where we stand", notes)
    deck.text(s, facts, 0.8, 1.5, 11.5, 5.2, size=22, bullets=True)

    # one slide per persona's map
    for p in personas:
        layout = build_layout(ws, p.id, kpis=None)
        svg = render_map_svg(ws, theme=deck.theme, layout=layout)
        import vl_convert

        png = bytes(vl_convert.svg_to_png(svg, scale=2))
        emotions = ", ".join(
            f"{st.name} {e:+g}"
            for st, e in zip(layout.stages, layout.emotions, strict=True)
            if e is not None
        )
        s = deck.slide(f"{p.name.split(',')[0]}'s journey", [p.name, f"emotions: {emotions}"])
        deck.picture(s, png, 0.5, 1.3, _W - 1.0, _H - 1.9)
        for j in desired[p.id]:
            comp = compare_journeys(ws, p.id, icp=j.icp)
            if comp.stages:
                title = _desired_title(data, p.name, j.icp)
                _desired_slide(deck, title, p.name, comp)

    # funnel and flow
    if eng is not None:
        f = funnel(eng)
        funnel_png = charts.render(charts.get("funnel")(f), "png", theme=deck.theme)
        flow_png = charts.render(
            charts.get("flow_diagram")(transitions(eng)), "png", theme=deck.theme
        )
        notes = [
            f"{r.stage_name}: {r.contacts:,} contacts, {_rate(r.conversion_to_next)} go on"
            for r in f.itertuples()
        ]
        s = deck.slide("The funnel and the flow", notes)
        assert isinstance(funnel_png, bytes) and isinstance(flow_png, bytes)
        deck.picture(s, funnel_png, 0.5, 1.3, 6.1, 5.6)
        deck.picture(s, flow_png, 6.8, 1.3, 6.1, 5.6)

    # the biggest loss
    b = (nums or {}).get("bottleneck")
    s = deck.slide("The biggest loss", [str(b)] if b else [])
    if b:
        deck.text(s, f"{b['drop_off']:,}", 0.8, 1.6, 5, 1.6, size=80, bold=True, title=True)
        deck.text(
            s,
            [
                f"contacts stop after {b['stage_name']}",
                f"only {_pct(b['conversion_to_next'])} go on to "
                + (b.get("next_stage_name") or "the next stage"),
            ],
            0.8,
            3.4,
            11,
            2,
            size=24,
        )
    else:
        deck.text(
            s,
            "The bottleneck appears once a CRM export with stage history is imported.",
            0.8,
            1.6,
            11,
            1,
            size=20,
        )

    # recommendations with owners
    s = deck.slide(
        "What we recommend", [f"{r.priority}: {r.text} ({r.owner})" for _, r in recs[:5]]
    )
    if recs:
        rows = [
            [
                r.text,
                name_of(data.personas, j.persona).split(",")[0],
                name_of(data.stages, r.stage),
                r.priority,
                r.owner or "to agree",
            ]
            for j, r in recs[:5]
        ]
        deck.table(
            s,
            ["Recommendation", "Persona", "Stage", "Priority", "Owner"],
            rows,
            1.4,
            widths=[5.5, 1.3, 1.5, 1.1, 2.2],
        )
    else:
        deck.text(s, "No recommendation recorded yet (step 7).", 0.8, 1.6, 11, 1, size=20)

    # experiments
    s = deck.slide("Experiments")
    if eng is not None:
        dec = experiment_decisions(eng)
        if len(dec):
            rows = [
                [str(r.experiment_name), str(r.decision), str(r.reason)] for r in dec.itertuples()
            ]
            deck.table(s, ["Experiment", "Decision", "Why"], rows[:6], 1.4, widths=[3, 1.5, 6])
            s.notes_slide.notes_text_frame.text = "\n".join(" | ".join(r) for r in rows)
        else:
            deck.text(s, "No experiment recorded yet.", 0.8, 1.6, 11, 1, size=20)
    else:
        deck.text(s, "Experiments are judged once CRM data is imported.", 0.8, 1.6, 11, 1, size=20)

    # next steps
    phase = data.cycle.phase if hasattr(data, "cycle") else ""
    steps = [f"{r.text} ({r.owner or 'owner to agree'})" for _, r in recs if r.priority == "high"][
        :4
    ]
    steps.append(
        f"Measure again after the changes go live (now in the {str(phase).replace('-', ' ')} phase)"
    )
    s = deck.slide("Next steps", steps)
    deck.text(s, steps, 0.8, 1.5, 11.5, 5.2, size=20, bullets=True)
    return deck.prs


def write_deck(workspace: Any, path: str | Path, *, today: dt.date | None = None) -> Path:
    """Build the deck and write it to ``path`` (``.pptx``), whole or not at all."""
    path = Path(path)
    prs = build_deck(workspace, today=today)
    with atomic_path(path, keep_suffix=True) as tmp:
        prs.save(str(tmp))
    return path
