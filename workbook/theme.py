"""One look for every chart and map of a client: colours, font and logo from its branding.

:class:`Theme` turns a client's :class:`~workbook.model.Branding` into

* a Vega-Lite ``config`` (:meth:`Theme.vega_config`), used by every chart renderer and
  registered as the altair theme ``"workbook"`` (:meth:`Theme.register_altair`);
* CSS custom properties (:meth:`Theme.css_variables`) used by the journey map and the pages
  that hold the charts, so the map and the charts read as one document.

Branding colours are the client's, not ours, so they may be too light for text. Text colours
are derived with :func:`ensure_contrast`, which darkens a colour until it meets WCAG AA
(4.5:1) on the page background; :func:`contrast_problems` reports what was adjusted so the
consultant can tell the client. Categorical data uses the Okabe-Ito palette (safe for the
common colour-vision deficiencies); emotion and lift use a blue-orange diverging palette
(also safe: it never relies on telling red from green).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbook.exceptions import Problem, WorkbookError
from workbook.model import Branding

__all__ = [
    "DIVERGING",
    "MACHINE_FONTS",
    "OKABE_ITO",
    "Theme",
    "contrast_problems",
    "contrast_ratio",
    "ensure_contrast",
    "image_type",
    "meets_aa",
    "readable_on",
    "relative_luminance",
    "svg_active_content",
    "svg_font",
]

#: Okabe & Ito (2008), reordered so the first colours differ most in lightness too.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Five steps from worst (-2) to best (+2): orange for struggle, blue for delight.
DIVERGING: tuple[str, ...] = ("#B35806", "#F1A340", "#EDEDED", "#6BAED6", "#08519C")

_WHITE = "#FFFFFF"
_INK = "#1F2328"  # body text: 15.8:1 on white
_MUTED = "#57606A"  # secondary text: 6.2:1 on white


def _rgb(colour: str) -> tuple[float, float, float]:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        raise ValueError(f"not a colour like #1F4E79: {colour!r}")
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02X}" for c in rgb)


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of an ``#RRGGBB`` colour (0 black .. 1 white)."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG contrast ratio between two colours, from 1 (none) to 21 (black on white)."""
    a, b = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def meets_aa(fg: str, bg: str, *, large: bool = False) -> bool:
    """True when ``fg`` text on ``bg`` meets WCAG AA (4.5:1, or 3:1 for large text)."""
    return contrast_ratio(fg, bg) >= (3.0 if large else 4.5)


def readable_on(bg: str) -> str:
    """The text colour (near-black or white) with the better contrast on ``bg``."""
    return _WHITE if contrast_ratio(_WHITE, bg) >= contrast_ratio(_INK, bg) else _INK


def ensure_contrast(colour: str, bg: str = _WHITE, *, ratio: float = 4.5) -> str:
    """``colour``, darkened (or lightened on a dark ``bg``) just enough to reach ``ratio``.

    The hue is kept, so a client's brand colour stays recognisable as text or a line.
    """
    if contrast_ratio(colour, bg) >= ratio:
        return colour
    target = (0.0, 0.0, 0.0) if relative_luminance(bg) > 0.18 else (1.0, 1.0, 1.0)
    rgb = _rgb(colour)
    # Mixing towards black (or white) changes the ratio monotonically: bisect the mix.
    lo, hi = 0.0, 1.0
    for _ in range(24):
        mid = (lo + hi) / 2
        mixed = _hex(tuple(c + (t - c) * mid for c, t in zip(rgb, target, strict=True)))  # type: ignore[arg-type]
        if contrast_ratio(mixed, bg) >= ratio:
            hi = mid
        else:
            lo = mid
    return _hex(tuple(c + (t - c) * hi for c, t in zip(rgb, target, strict=True)))  # type: ignore[arg-type]


def contrast_problems(branding: Branding, *, file: str | None = None) -> list[Problem]:
    """Warnings for brand colours too light (or too dark) to be used as text on white.

    Nothing fails: the theme adjusts the colour for text; the warning says so, so the
    consultant is not surprised that the titles are darker than the brand colour. The
    workbook's own default colours are not the client's choice: no warning for them (a new
    workspace's first report would otherwise start with one).
    """
    problems = []
    for name in ("primary_color", "accent_color"):
        colour = getattr(branding, name)
        if colour.casefold() == str(type(branding).model_fields[name].default).casefold():
            continue
        ratio = contrast_ratio(colour, _WHITE)
        if ratio < 4.5:
            problems.append(
                Problem(
                    f"{colour} has a contrast of {ratio:.1f}:1 on white, below the 4.5:1 "
                    "that WCAG AA asks for text",
                    file=file,
                    field=f"client.branding.{name}",
                    hint=f"text uses {ensure_contrast(colour)} instead; pick a darker colour "
                    "to use the brand colour itself",
                    severity="warning",
                )
            )
    return problems


#: The largest logo embedded: it goes into every report, map and chart page as text.
LOGO_MAX_BYTES = 5_000_000

_SVG_NS = "http://www.w3.org/2000/svg"
#: Images a logo may carry inside it (an SVG embedding a bitmap), as ``data:`` URIs only.
_INNER_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp)[;,]", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)


def _refused(logo: str, why: str, hint: str) -> WorkbookError:
    return WorkbookError(
        f"logo {logo} refused: {why}",
        [Problem(why, file=logo, field="client.branding.logo", hint=hint)],
        hint=hint,
    )


def image_type(data: bytes) -> str | None:
    """The MIME type of an image judged by its content, or ``None`` when it is not one we embed.

    PNG, JPEG, GIF and WebP are known by their first bytes; SVG by parsing it as XML whose
    root is an ``<svg>`` element in the SVG namespace (a browser shows nothing else as an
    image). The file's name plays no part.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    try:
        root = _parse_svg(data)
    except ValueError:
        return None
    return "image/svg+xml" if root.tag == f"{{{_SVG_NS}}}svg" else None


def _parse_svg(data: bytes) -> Any:
    """The XML root of ``data``; no DTD, entity or external reference is ever followed."""
    import defusedxml.ElementTree as DET  # noqa: N812

    try:
        return DET.fromstring(data, forbid_dtd=True)
    except Exception as exc:  # ParseError, DTDForbidden, EntitiesForbidden...
        raise ValueError(str(exc)) from None


def svg_active_content(data: bytes) -> str | None:
    """What in an SVG could run or fetch something, in words; ``None`` when it is inert.

    Refused: ``<script>``, ``<foreignObject>`` (HTML inside), event-handler attributes
    (``onload`` ...), links and ``url(...)`` to anything but a ``#fragment`` of the file
    itself or an embedded bitmap ``data:`` URI, CSS ``@import``, and style-sheet processing
    instructions.
    """
    if b"<?xml-stylesheet" in data:
        return "it links a style sheet"
    root = _parse_svg(data)
    for el in root.iter():
        tag = str(el.tag).rsplit("}", 1)[-1].lower()
        if tag == "script":
            return "it holds a <script>"
        if tag == "foreignobject":
            return "it holds a <foreignObject> (HTML inside the image)"
        if tag == "style" and el.text and _css_refers_out(el.text):
            return "its style refers to another file or address"
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return f"it has an event handler ({local})"
            if local == "href":
                target = value.strip()
                if not (target.startswith("#") or _INNER_IMAGE.match(target)):
                    return f"it refers to another file or address ({target[:60]})"
            elif _css_refers_out(value):
                return f"its {local} attribute refers to another file or address"
    return None


def _css_refers_out(css: str) -> bool:
    if "@import" in css.lower():
        return True
    return any(not (t.startswith("#") or _INNER_IMAGE.match(t)) for t in _CSS_URL.findall(css))


def _logo_data_uri(base_dir: Path, logo: str) -> str | None:
    """The logo as a ``data:`` URI, so pages embed it and never fetch it.

    ``None`` when there is no such file (a warning: the pages go out without a logo).

    Raises
    ------
    WorkbookError
        The path (after following links) leaves the workspace folder, the file is too big,
        is not an image we can tell by its content, or is an SVG that could run or fetch
        something.
    """
    folder = Path(base_dir).resolve()
    try:
        real = (folder / logo).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a dangling or looping link
        return None
    if not real.is_relative_to(folder):
        raise _refused(
            logo,
            "it is a link to a file outside the workspace folder",
            "copy the logo into the workspace folder (assets/) instead of linking to it",
        )
    if not real.is_file():
        raise _refused(logo, "it is not a file", "give the path of an image file")
    if real.stat().st_size > LOGO_MAX_BYTES:
        raise _refused(
            logo,
            f"it is larger than {LOGO_MAX_BYTES // 1_000_000} MB",
            "use a smaller image (a logo rarely needs more than 200 KB)",
        )
    data = real.read_bytes()
    mime = image_type(data)
    if mime is None:
        raise _refused(
            logo,
            "it is not a PNG, JPEG, GIF, WebP or SVG image (judged by its content)",
            "save the logo in one of those formats",
        )
    if mime == "image/svg+xml":
        active = svg_active_content(data)
        if active:
            raise _refused(
                logo,
                f"{active}",
                "export the logo again as a plain SVG (no scripts, links or embedded HTML), "
                "or as a PNG",
            )
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Theme:
    """The colours, font and logo every chart and map of one client shares.

    Build it with :meth:`from_branding` (or :meth:`from_workspace`); the default is the
    workbook's own neutral look.
    """

    primary: str = "#1F4E79"
    accent: str = "#E07A1F"
    font: str = "Source Sans 3, Helvetica, Arial, sans-serif"
    logo: str | None = None  # data URI
    client_name: str = ""
    background: str = _WHITE
    ink: str = _INK
    muted: str = _MUTED
    categorical: tuple[str, ...] = OKABE_ITO
    diverging: tuple[str, ...] = DIVERGING
    problems: tuple[Problem, ...] = field(default=(), compare=False)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_branding(
        cls,
        branding: Branding | None = None,
        *,
        base_dir: str | Path | None = None,
        client_name: str = "",
    ) -> Theme:
        """The theme of a client's branding; ``base_dir`` is where the logo path starts.

        The logo is embedded as a ``data:`` URI that pages show only as an image (``<img>``,
        SVG ``<image>``), where browsers run no script and fetch nothing; an SVG logo that
        holds a script, an event handler, HTML or a link to another file is refused anyway,
        so no renderer (the PNG rasteriser included) ever meets one. A missing logo is a
        warning in :attr:`problems`.

        Raises
        ------
        WorkbookError
            A logo that leaves the workspace folder (through a link too), is larger than
            :data:`LOGO_MAX_BYTES`, or is not a PNG, JPEG, GIF, WebP or inert SVG image by
            its content.
        """
        branding = branding or Branding.model_validate({})
        problems = contrast_problems(branding)
        logo = None
        if branding.logo and base_dir is not None:
            logo = _logo_data_uri(Path(base_dir), branding.logo)
            if logo is None:
                problems.append(
                    Problem(
                        f"logo {branding.logo} not found",
                        field="client.branding.logo",
                        hint="put the file in the workspace folder, or clear the field",
                        severity="warning",
                    )
                )
        return cls(
            primary=branding.primary_color,
            accent=branding.accent_color,
            font=branding.font,
            logo=logo,
            client_name=client_name,
            problems=tuple(problems),
        )

    @classmethod
    def from_workspace(cls, ws: Any) -> Theme:
        """The theme of an :class:`~workbook.store.OpenWorkspace` or a bare model.

        A bare :class:`~workbook.model.Workspace` has no folder, so its logo is left out.
        """
        data = getattr(ws, "data", ws)
        base = getattr(ws, "path", None)
        return cls.from_branding(data.client.branding, base_dir=base, client_name=data.client.name)

    # ------------------------------------------------------------------ derived colours

    @property
    def primary_text(self) -> str:
        """The primary colour, darkened if needed so text in it passes WCAG AA.

        Checked against the primary tint (the lane headers' background), which is darker
        than the page: text that passes there passes on the page too.
        """
        return ensure_contrast(self.primary, self.primary_tint)

    @property
    def accent_text(self) -> str:
        return ensure_contrast(self.accent, self.background)

    @property
    def accent_mark(self) -> str:
        """The accent for marks (bars, points): 3:1 against the background (WCAG 1.4.11)."""
        return ensure_contrast(self.accent, self.background, ratio=3.0)

    @property
    def primary_mark(self) -> str:
        return ensure_contrast(self.primary, self.background, ratio=3.0)

    @property
    def on_primary(self) -> str:
        """Text colour on a primary-coloured header."""
        return readable_on(self.primary)

    @property
    def primary_tint(self) -> str:
        """A very light tint of the primary, for lane headers and bands."""
        r, g, b = _rgb(self.primary)
        return _hex((r + (1 - r) * 0.9, g + (1 - g) * 0.9, b + (1 - b) * 0.9))

    def emotion_colour(self, score: float | None) -> str:
        """The diverging colour for an emotion score from -2 to +2 (grey when unknown)."""
        if score is None:
            return "#BBBBBB"
        index = round(max(-2.0, min(2.0, score))) + 2
        return self.diverging[index]

    # ------------------------------------------------------------------ outputs

    def vega_config(self) -> dict[str, Any]:
        """A Vega-Lite ``config`` object: fonts, colours, axes, legends, titles."""
        # Quoted names: Vega writes the list into SVG and canvas as CSS, where an unquoted
        # "Source Sans 3" is invalid and drops the whole list (text falls back to a serif).
        font = _css_font(self.font)
        return {
            "background": self.background,
            "font": font,
            "padding": 12,
            "view": {"stroke": None, "continuousWidth": 520, "continuousHeight": 300},
            "title": {
                "font": font,
                "fontSize": 16,
                "fontWeight": 600,
                "color": self.primary_text,
                "subtitleColor": self.muted,
                "subtitleFontSize": 12,
                "anchor": "start",
                "offset": 12,
            },
            "axis": {
                "labelFont": font,
                "titleFont": font,
                "labelColor": self.ink,
                "titleColor": self.ink,
                "labelFontSize": 11,
                "titleFontSize": 12,
                "titleFontWeight": 600,
                "gridColor": "#E5E7EB",
                "domainColor": "#8C959F",
                "tickColor": "#8C959F",
                "labelLimit": 220,
            },
            "legend": {
                "labelFont": font,
                "titleFont": font,
                "labelColor": self.ink,
                "titleColor": self.ink,
                "labelFontSize": 11,
                "titleFontSize": 12,
                "orient": "bottom",
                "direction": "horizontal",
            },
            "header": {"labelFont": font, "titleFont": font, "labelColor": self.ink},
            "text": {"font": font, "color": self.ink},
            "mark": {"color": self.primary_mark},
            "bar": {"color": self.primary_mark},
            "line": {"color": self.primary_mark},
            "point": {"color": self.primary_mark, "filled": True, "size": 70},
            "range": {
                "category": list(self.categorical),
                "diverging": list(self.diverging),
                "heatmap": {"scheme": "blues"},
                "ramp": {"scheme": "blues"},
            },
        }

    def register_altair(self, name: str = "workbook") -> str:
        """Register (and enable) this theme in altair under ``name``; returns the name."""
        import altair as alt

        config = self.vega_config()

        def _theme() -> Any:
            return {"config": config}

        alt.theme.register(name, enable=True)(_theme)
        return name

    def css_variables(self, selector: str = ":root") -> str:
        """``:root { --wb-...: ...; }``: the theme for HTML (map, chart pages, reports).

        Give a narrower ``selector`` (``.wb-map``) when the HTML sits inside someone else's
        page (a notebook, a report), so the variables do not leak into it.
        """
        values = {
            "primary": self.primary,
            "primary-text": self.primary_text,
            "primary-tint": self.primary_tint,
            "on-primary": self.on_primary,
            "accent": self.accent,
            "accent-text": self.accent_text,
            "accent-mark": self.accent_mark,
            "ink": self.ink,
            "muted": self.muted,
            "background": self.background,
            "font": _css_font(self.font),
            "best": self.diverging[4],
            "worst": self.diverging[0],
        }
        body = "".join(f"  --wb-{k}: {v};\n" for k, v in values.items())
        return selector + " {\n" + body + "}\n"


#: Sans-serif fonts found on Linux (Liberation, DejaVu), Mac and Windows (Helvetica, Arial).
MACHINE_FONTS = ("Liberation Sans", "DejaVu Sans", "Helvetica", "Arial")


def _css_font(font: str) -> str:
    """A CSS font-family list; names are quoted and stripped of anything but safe characters.

    The font comes from the workspace (user text): only letters, digits, spaces, hyphens and
    commas survive, so it can never close the CSS rule or the style element.
    """
    families = []
    for name in font.split(","):
        clean = re.sub(r"[^A-Za-z0-9 \-]", "", name).strip()
        if not clean:
            continue
        generic = clean in ("serif", "sans-serif", "monospace", "system-ui", "cursive")
        families.append(clean if generic else f'"{clean}"')
    return ", ".join(families + ([] if "sans-serif" in families else ["sans-serif"]))


def svg_font(font: str) -> str:
    """The CSS font list for an SVG shown as an image (report charts, exported maps).

    Such an image sees only the machine's fonts, so fonts every Linux, Mac and Windows machine
    has come before the generic family: text never falls back to a serif.
    """
    families = [f.strip() for f in _css_font(font).split(",") if f.strip() != "sans-serif"]
    families += [f'"{f}"' for f in MACHINE_FONTS if f'"{f}"' not in families]
    return ", ".join([*families, "sans-serif"])
