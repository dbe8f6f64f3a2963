"""Charts: one altair builder per question, one theme, offline rendering.

Every builder is a pure function ``builder(df, **options) -> altair chart`` taking the
DataFrame the matching analytics function returns (see each builder's docstring for the
columns). Every chart has a title and a ``description`` (the SVG's ``aria-label``, read by
screen readers). Builders do not apply the client's theme; :func:`render` and :func:`page`
do, so one chart object can be drawn for several clients.

Nothing here fetches anything: :func:`render` draws SVG or PNG with vl-convert, and the
interactive mode of :func:`page` inlines the Vega bundle once per page.

::

    from workbook import charts
    chart = charts.get("funnel")(funnel_df)
    svg = charts.render(chart, "svg", theme=Theme.from_workspace(ws))
    html = charts.page([chart, ...], theme, mode="html-inline")
    charts.offline_renderer(theme)   # in a notebook: altair output as SVG, no CDN
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbook.exceptions import Problem, WorkbookError
from workbook.files import write_atomic

if TYPE_CHECKING:
    from workbook.theme import Theme

__all__ = [
    "CHARTS",
    "MODES",
    "export_chart",
    "get",
    "names",
    "offline_renderer",
    "page",
    "register",
    "render",
    "spec",
    "to_html_fragment",
    "vega_bundle",
]

#: Rendering modes: static SVG (small, printable, no script), PNG (slides), or interactive
#: HTML with the Vega bundle inlined (tooltips; about 900 KB once per page).
MODES = ("svg", "png", "html-inline")


class _Lazy:
    """A builder named by ``module:function``, imported on first call (altair is heavy)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def resolve(self) -> Callable[..., Any]:
        module, func = self.target.split(":")
        return getattr(importlib.import_module(f"workbook.charts.{module}"), func)  # type: ignore[no-any-return]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<chart builder workbook.charts.{self.target.replace(':', '.')}>"


#: Chart builders by name, in the order of the method (funnel first, before/after last).
CHARTS: dict[str, Callable[..., Any]] = {
    "funnel": _Lazy("funnel:funnel"),
    "transition_heatmap": _Lazy("flow:transition_heatmap"),
    "flow_diagram": _Lazy("flow:flow_diagram"),
    "time_in_stage": _Lazy("timing:time_in_stage"),
    "touchpoint_heatmap": _Lazy("touchpoints:touchpoint_heatmap"),
    "attribution": _Lazy("touchpoints:attribution"),
    "channel_reach": _Lazy("channels:channel_reach"),
    "score_deciles": _Lazy("scoring:score_deciles"),
    "ab_test": _Lazy("experiments:ab_test"),
    "kpi_progress": _Lazy("kpis:kpi_progress"),
    "before_after": _Lazy("compare:before_after"),
    "gap_t": _Lazy("gaps:gap_t"),
}


def register(name: str, builder: Callable[..., Any]) -> Callable[..., Any]:
    """Add (or replace) a chart builder under ``name``; returns the builder."""
    CHARTS[name] = builder
    return builder


def names() -> list[str]:
    return list(CHARTS)


def get(name: str) -> Callable[..., Any]:
    """The builder registered under ``name``.

    Raises
    ------
    WorkbookError
        For an unknown name; the message lists the known ones.
    """
    try:
        builder = CHARTS[name]
    except KeyError:
        known = ", ".join(CHARTS)
        raise WorkbookError(
            f"no chart called {name!r}",
            [Problem(f"unknown chart {name!r}", hint=f"use one of: {known}")],
        ) from None
    return builder.resolve() if isinstance(builder, _Lazy) else builder


# ------------------------------------------------------------------------------ rendering


def _theme(theme: Theme | None) -> Theme:
    from workbook.theme import Theme

    return theme or Theme()


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            _merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def spec(chart: Any, theme: Theme | None = None) -> dict[str, Any]:
    """The chart's Vega-Lite spec with the theme's config (the chart's own config wins)."""
    d = chart.to_dict() if hasattr(chart, "to_dict") else dict(chart)
    d["config"] = _merge(_theme(theme).vega_config(), d.get("config", {}))
    return d


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise WorkbookError(
            f"unknown chart mode {mode!r}",
            [Problem(f"unknown mode {mode!r}", hint=f"use one of: {', '.join(MODES)}")],
        )


def render(
    chart: Any, mode: str = "svg", *, theme: Theme | None = None, scale: float = 2.0
) -> str | bytes:
    """Draw a chart: ``"svg"`` -> SVG text, ``"png"`` -> PNG bytes, ``"html-inline"`` -> an
    HTML fragment that needs the Vega bundle on its page (use :func:`page`)."""
    _check_mode(mode)
    if mode == "html-inline":
        return to_html_fragment(chart, mode, theme=theme)
    import vl_convert

    s = spec(chart, theme)
    if mode == "svg":
        return _label_svg(vl_convert.vegalite_to_svg(s), s)
    return bytes(vl_convert.vegalite_to_png(s, scale=scale))


def _label_svg(svg: str, s: dict[str, Any]) -> str:
    """Give a static SVG its accessible name: ``role="img"``, ``aria-label``, title, desc.

    Vega sets these on the live view in a browser; the SVG vl-convert writes has none, so a
    screen reader would meet an unlabelled picture in a report.
    """
    from xml.sax.saxutils import escape, quoteattr

    title = s.get("title", "")
    text = title.get("text", "") if isinstance(title, dict) else str(title)
    text = " ".join(text) if isinstance(text, list) else str(text)
    description = str(s.get("description", "")) or text
    head, sep, rest = svg.partition(">")
    if not sep or not head.startswith("<svg"):
        return svg
    return (
        f'{head} role="img" aria-label={quoteattr(description)}>'
        f"<title>{escape(text)}</title><desc>{escape(description)}</desc>{rest}"
    )


def _unique_ids(svg: str, prefix: str) -> str:
    """Prefix every id (clip paths, gradients) so SVGs inlined in one page cannot collide.

    Each SVG from vl-convert numbers its ids on its own (``gradient_0``...); two inline
    charts on one page would otherwise share a legend gradient or a clip path.
    """
    import re

    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', svg)


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: user text in the data cannot close the element."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


_counter = iter(range(1, 1 << 62))


def to_html_fragment(chart: Any, mode: str = "svg", *, theme: Theme | None = None) -> str:
    """The chart as an HTML ``<figure>``: inline SVG, or a div that ``vegaEmbed`` fills.

    The figure carries the chart's description as its ``aria-label``. The interactive form
    needs ``vegaEmbed`` on the page: :func:`page` puts the bundle there once.
    """
    import html as _html

    _check_mode(mode)
    s = spec(chart, theme)
    label = _html.escape(str(s.get("description", "")), quote=True)
    if mode == "svg":
        body = _unique_ids(
            str(render(chart, "svg", theme=theme)), f"wb{os.getpid()}-{next(_counter)}"
        )
        return f'<figure class="wb-chart" role="group" aria-label="{label}">{body}</figure>'
    if mode == "png":
        import base64

        png = render(chart, "png", theme=theme)
        assert isinstance(png, bytes)
        data = base64.b64encode(png).decode("ascii")
        return (
            f'<figure class="wb-chart"><img src="data:image/png;base64,{data}" alt="{label}" '
            f'style="max-width:100%"></figure>'
        )
    element = f"wb-chart-{os.getpid()}-{next(_counter)}"
    return (
        f'<figure class="wb-chart" role="group" aria-label="{label}"><div id="{element}"></div>'
        f'<script>vegaEmbed("#{element}", {_script_json(s)}, '
        '{"actions": false, "renderer": "svg"})'
        ".catch(function (e) { console.error(e); });</script></figure>"
    )


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script (from vl-convert, no download)."""
    import vl_convert

    # The stubs make ``snippet`` required; at run time it defaults to the globals.
    return str(vl_convert.javascript_bundle())  # type: ignore[call-arg]


_PAGE_CSS = """
body { margin: 24px 32px; font-family: var(--wb-font); color: var(--wb-ink);
  background: var(--wb-background); }
.wb-page__head { display: flex; align-items: center; gap: 16px;
  border-bottom: 3px solid var(--wb-primary); padding-bottom: 12px; margin-bottom: 20px; }
.wb-page__head img { max-height: 44px; max-width: 160px; }
.wb-page__head h1 { font-size: 24px; margin: 0; color: var(--wb-primary-text); }
.wb-page__client { margin-left: auto; color: var(--wb-muted); font-size: 13px; }
.wb-chart { margin: 0 0 28px; padding: 16px; border: 1px solid #E5E7EB; border-radius: 6px;
  break-inside: avoid; overflow-x: auto; }
.wb-chart svg { max-width: 100%; height: auto; }
main > .wb-map { margin: 0 0 32px; }
@page { size: A4 landscape; margin: 12mm; }
"""


def page(
    charts: Iterable[Any],
    theme: Theme | None = None,
    mode: str = "svg",
    *,
    title: str = "Charts",
    extra_html: Sequence[str] = (),
) -> str:
    """A standalone HTML page holding every chart, readable with no network.

    Parameters
    ----------
    charts
        Altair charts, in display order.
    theme
        The client's theme (colours, font, logo); default the workbook's neutral one.
    mode
        ``"svg"`` (static, no script) or ``"html-inline"`` (interactive: the Vega bundle is
        inlined once, in the page head, and every chart is drawn by it).
    extra_html
        Trusted HTML fragments put before the charts (the journey map from
        :func:`workbook.journeymap.render_map_html`, already escaped).
    """
    import jinja2
    from markupsafe import Markup

    _check_mode(mode)
    theme = _theme(theme)
    figures = [to_html_fragment(c, mode, theme=theme) for c in charts]
    env = jinja2.Environment(autoescape=True)
    template = env.from_string(
        """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}{% if theme.client_name %} - {{ theme.client_name }}{% endif %}</title>
<style>{{ css }}</style>
{%- if bundle %}
<script>{{ bundle }}</script>
{%- endif %}
</head>
<body>
<header class="wb-page__head">
{%- if theme.logo %}<img src="{{ theme.logo }}" alt="{{ theme.client_name }} logo">{% endif %}
<h1>{{ title }}</h1>
{%- if theme.client_name %}<div class="wb-page__client">{{ theme.client_name }}</div>{% endif %}
</header>
<main>
{%- for block in extra %}
{{ block }}
{%- endfor %}
{%- for fig in figures %}
{{ fig }}
{%- endfor %}
</main>
</body>
</html>
"""
    )
    return template.render(
        title=title,
        theme=theme,
        css=Markup(theme.css_variables() + _PAGE_CSS),
        bundle=Markup(vega_bundle()) if mode == "html-inline" else None,
        extra=[Markup(x) for x in extra_html],
        figures=[Markup(f) for f in figures],
    )


def export_chart(
    chart: Any, path: str | Path, *, theme: Theme | None = None, mode: str | None = None
) -> Path:
    """Write one chart to ``.svg``, ``.png`` or ``.html`` (a standalone page), atomically.

    ``mode`` picks the HTML flavour (``"svg"`` default, or ``"html-inline"``).
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "svg":
        data = str(render(chart, "svg", theme=theme)).encode("utf-8")
    elif suffix == "png":
        out = render(chart, "png", theme=theme)
        assert isinstance(out, bytes)
        data = out
    elif suffix == "html":
        title = spec(chart, theme).get("title", {})
        text = title.get("text", "Chart") if isinstance(title, dict) else str(title)
        data = page([chart], theme, mode or "svg", title=str(text)).encode("utf-8")
    else:
        raise WorkbookError(
            f"cannot export a chart as {suffix or 'a file with no extension'!r}",
            [
                Problem(
                    "unknown format",
                    file=str(path),
                    hint="end the file name in .svg, .png or .html",
                )
            ],
        )
    write_atomic(path, data)
    return path


def offline_renderer(theme: Theme | None = None, mode: str = "svg") -> str:
    """Make altair output in this notebook render offline, in the client's theme.

    ``"svg"`` (default) draws static SVG through vl-convert: no CDN, deterministic, kept in
    executed notebooks and reports. ``"html-inline"`` is interactive, with the Vega bundle
    inlined in each output (about 900 KB per chart). Returns the renderer's name.
    """
    import altair as alt

    _theme(theme).register_altair()
    if mode == "svg":
        alt.renderers.enable("svg")
        return "svg"
    if mode == "html-inline":
        alt.renderers.enable("html", template="inline", embed_options={"actions": False})
        return "html"
    raise WorkbookError(
        f"unknown notebook chart mode {mode!r}",
        [Problem(f"unknown mode {mode!r}", hint="use 'svg' or 'html-inline'")],
    )
