"""The deck: a branded PowerPoint file a consultant can present and edit (python-pptx).

One slide each for the cover, the agenda, the executive summary, every persona's journey map,
the funnel, the flow between stages, the biggest loss, the top recommendations with their
owners, the experiments and the next steps. Words are editable text boxes and tables, never
pictures of text; charts and maps are PNG images drawn at twice their size, so they stay
crisp on a projector. Each slide's numbers are in its speaker notes, for the presenter.

The client's colours and logo come from its branding. Titles use the brand's first font;
body text uses Arial, which every machine has, so the deck reads the same anywhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Sequence
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


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _rate(value: Any) -> str:
    """A rate that may be NaN (the last stage goes on to nothing)."""
    return "n/a" if value is None or value != value else f"{value:.1%}"


def build_deck(workspace: Any, *, today: dt.date | None = None) -> Presentation:
    """The deck of one client, as a python-pptx ``Presentation`` (see the module)."""
    from pptx.util import Inches

    from workbook import charts
    from workbook.analytics import Engine, experiment_decisions, funnel, summary, transitions
    from workbook.journeymap import build_layout, render_map_svg
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
    agenda = ["Where we stand: the summary"] + [
        f"{p.name.split(',')[0]}'s journey" for p in personas
    ]
    agenda += [
        "The funnel and the flow",
        "The biggest loss",
        "What we recommend",
        "Experiments",
        "Next steps",
    ]
    s = deck.slide("Agenda")
    deck.text(s, agenda, 0.8, 1.5, 11, 5.2, size=20, bullets=True)

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
