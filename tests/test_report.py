"""The client report: sections (no kernel), the template (in-memory notebooks), the pipeline.

Section tests build workspaces in memory; template tests export hand-made notebooks with
``nbformat.v4``; the pipeline tests run the real notebook on a copy of the demo client (one
kernel each, marked ``kernel`` and ``slow``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from click.testing import CliRunner

from workbook import report, sections
from workbook.cli import main
from workbook.exceptions import ReportError, WorkspaceNotFoundError
from workbook.model import (
    Annotation,
    Client,
    Journey,
    MapCell,
    Objective,
    Persona,
    Recommendation,
    Workspace,
)

EVIL = '<script>window.__xss = 1; alert(1)</script><img src=x onerror="window.__xss=2">{{ 7*7 }}'


def small_workspace(name: str = "Northwind Analytics") -> Workspace:
    return Workspace(
        client=Client(name=name, slug="northwind", engagement="Journey review"),
        objectives=[
            Objective(
                id="conv",
                title="Lift conversion",
                kpi="Demo to trial",
                unit="%",
                baseline=18,
                target=25,
            )
        ],
        personas=[Persona(id="priya", name="Priya the Planner", goals=["Cut manual reporting"])],
        journeys=[
            Journey(
                persona="priya",
                stages={"consideration": MapCell(actions=["Books a demo"], emotion=-1)},
                annotations=[
                    Annotation(kind="worst-struggle", stage="consideration", note="Waits a week")
                ],
                recommendations=[
                    Recommendation(
                        id="r1",
                        text="Self-serve demo booking",
                        stage="consideration",
                        priority="high",
                        owner="Sales ops",
                    ),
                    Recommendation(
                        id="r2", text="Shorter forms", stage="consideration", priority="low"
                    ),
                ],
            )
        ],
    )


def ctx_for(ws: Any, **kw: Any) -> sections.ReportContext:
    return sections.report_context(ws, report_date="2026-03-01", **kw)


# ----------------------------------------------------------------------------- sections


def test_registry_order_and_unknown_section() -> None:
    assert sections.names()[:3] == ["cover", "contents", "summary"]
    assert sections.names()[-1] == "appendix"
    assert set(sections.REPORT_ORDER) == set(sections.names())
    with pytest.raises(KeyError, match="known: cover, contents"):
        sections.get("nope")
    with pytest.raises(ReportError, match="unknown report section"):
        ctx_for(small_workspace(), sections=["summary", "nope"])


def test_cover_and_summary_from_the_workspace() -> None:
    ctx = ctx_for(small_workspace())
    cover = sections.render_section("cover", ctx)
    assert cover is not None and "Northwind Analytics" in cover and "1 March 2026" in cover
    assert "Prepared for Northwind Analytics. Contact-level" in cover
    # a name that ends in a full stop ("Tideway Rowing Co.") gets no second one
    dotted = str(sections.render_section("cover", ctx_for(small_workspace("Tideway Rowing Co."))))
    assert "Prepared for Tideway Rowing Co. Contact-level" in dotted and "Co.." not in dotted
    summary = str(sections.render_section("summary", ctx))
    # the high-priority recommendation comes first, with its owner
    assert summary.index("Self-serve demo booking") < summary.index("Shorter forms")
    assert "owner: Sales ops" in summary
    assert "Waits a week" in summary


def test_missing_data_is_a_polite_note_not_an_error() -> None:
    ctx = ctx_for(small_workspace())  # no folder, no CRM data, no experiments
    for sid in ("funnel", "timing", "touchpoints", "attribution", "experiments", "appendix"):
        html = str(sections.render_section(sid, ctx))
        assert 'class="wb-note"' in html, sid
        assert f'id="{sid}"' in html
    ws = small_workspace()
    ws.personas = []
    ws.journeys = []
    assert "No personas" in str(sections.render_section("personas", ctx_for(ws)))


def test_only_chosen_sections_render_and_numbering_follows() -> None:
    ctx = ctx_for(small_workspace(), sections=["personas"])
    assert sections.render_section("summary", ctx) is None
    assert sections.render_section("cover", ctx) is not None  # always there
    html = str(sections.render_section("personas", ctx))
    assert '<span class="wb-num">1</span>' in html


def test_user_text_is_escaped_everywhere() -> None:
    ws = small_workspace(name=EVIL)
    ws.personas[0].name = EVIL
    ws.journeys[0].recommendations[0].text = EVIL
    ws.objectives[0].title = EVIL
    ctx = ctx_for(ws, sections=["summary", "objectives", "personas"])
    out = "".join(
        str(sections.render_section(s, ctx) or "")
        for s in ("cover", "summary", "objectives", "personas")
    )
    assert "<script>" not in out and "<img src=x" not in out
    assert "&lt;script&gt;" in out
    assert "{{ 7*7 }}" in out and "49" not in out


def test_locale_formats_dates_and_numbers() -> None:
    ctx = sections.report_context(small_workspace(), report_date="2026-03-01", locale="de_DE")
    assert ctx.date(dt.date(2026, 3, 1)) == "1. März 2026"
    assert ctx.number(12345.5, 1) == "12.345,5"
    with pytest.raises(ReportError, match="unknown locale"):
        sections.report_context(small_workspace(), locale="xx_YY")
    with pytest.raises(ReportError, match="YYYY-MM-DD"):
        sections.report_context(small_workspace(), report_date="1 March")


def test_sections_on_the_demo_data() -> None:
    ctx = sections.report_context(
        str(Path(__file__).parent.parent / "data" / "demo"), report_date="2026-03-01"
    )
    funnel = str(sections.render_section("funnel", ctx))
    assert "data:image/svg+xml;base64," in funnel and "bottleneck" in funnel
    summary = str(sections.render_section("summary", ctx))
    assert "biggest drop-off" in summary and "wb-figure-value" in summary
    for sid in ("timing", "touchpoints", "attribution", "experiments", "appendix", "objectives"):
        html = str(sections.render_section(sid, ctx))
        assert 'class="wb-note"' not in html, (sid, re.findall(r'wb-note">([^<]*)', html))
    # the demo's WhatsApp test is planned: no verdict on it, only what it still needs
    exps = str(sections.render_section("experiments", ctx))
    planned = exps[exps.index("WhatsApp trial follow-up") :]
    assert "Not started. Planned, so no decision yet (it plans 400 leads)" in planned
    assert "mark it as running" in planned and "Stop" not in planned
    assert "Roll out" in exps  # the completed test keeps its verdict


def test_each_journey_map_measures_its_own_persona() -> None:
    import pyarrow.parquet as pq

    demo = Path(__file__).parent.parent / "data" / "demo"
    ctx = sections.report_context(str(demo), report_date="2026-03-01")
    html = str(sections.render_section("journeys", ctx))
    paths = pq.read_table(demo / "data" / "derived" / "contact_paths.parquet").to_pandas()
    per_persona = paths.persona.value_counts()
    # the first KPI cell of each map: its persona's contacts at the first stage, all of them
    cells = re.findall(r"Reached</span>\s*<b>([\d,]+)", html)
    reached = [int(n.replace(",", "")) for n in cells]
    for persona in ctx.data.personas:
        assert int(per_persona[persona.id]) in reached, persona.id
    assert len(paths) not in reached  # never everybody's count on one persona's map


# ------------------------------------------------------------------------------ template


def _notebook(*outputs: Any) -> Any:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('workspace = "secret/path"')
    params.metadata["tags"] = ["parameters"]
    cell = nbformat.v4.new_code_cell("render_section('cover', ctx)", outputs=list(outputs))
    nb.cells = [nbformat.v4.new_markdown_cell("# notes"), params, cell]
    return nb


def test_chart_text_never_falls_back_to_a_serif() -> None:
    # A chart embedded as an image sees only the machine's fonts: every text in it, labels on
    # the bars included, names the brand font and ends with sans-serif fallbacks.
    import base64
    import re

    spec = {
        "data": {"values": [{"stage": "Awareness", "n": 3}]},
        "layer": [
            {"mark": "bar", "encoding": {"y": {"field": "stage"}, "x": {"field": "n"}}},
            {
                "mark": {"type": "text", "dx": 4},
                "encoding": {
                    "y": {"field": "stage"},
                    "x": {"field": "n", "type": "quantitative"},
                    "text": {"field": "n"},
                },
            },
        ],
    }
    img = sections.svg_chart(spec, ctx_for(small_workspace()), alt="a chart")
    svg = base64.b64decode(re.search(r"base64,([^\"]+)", img).group(1)).decode()  # type: ignore[union-attr]
    families = re.findall(r'font-family="([^"]*)"', svg)
    # Unquoted, a name like Source Sans 3 is invalid CSS, which drops the whole list.
    for family in families or ["<none>"]:
        names = [n.strip() for n in family.split(",")]
        assert names[-1] == "sans-serif", family
        assert all(n.startswith(("&quot;", "'")) for n in names[:-1]), family


def test_template_has_no_code_prompts_stderr_or_cdn() -> None:
    nb = _notebook(
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: noisy\n"),
        nbformat.v4.new_output(
            "display_data", data={"text/html": '<p class="x">hello</p>', "text/plain": "x"}
        ),
    )
    html = report.export_html(nb, theme_css=":root { --wb-primary: #123456; }", footer="Acme <b>")
    assert '<p class="x">hello</p>' in html
    assert "render_section" not in html and "secret/path" not in html and "# notes" not in html
    assert "noisy" not in html and "In&nbsp;[" not in html
    assert not re.search(r"<script[^>]+src=", html), "a script is fetched from elsewhere"
    assert "cdn" not in html.lower() and "mathjax" not in html.lower()
    assert "--wb-primary: #123456" in html
    assert "Acme &lt;b&gt;" in html
    assert "@media print" in html and "break-before: page" in html


def test_template_refuses_css_that_closes_the_style_element() -> None:
    with pytest.raises(ReportError):
        report.export_html(_notebook(), theme_css="</style><script>x</script>")


def test_report_outputs_paths(tmp_path: Path) -> None:
    o = report.report_outputs(tmp_path / "ws", "acme")
    assert o.html == tmp_path / "ws" / "reports" / "acme-report.html"
    assert (
        o.notebook.name == "acme-report.ipynb"
        and o.fingerprint.name == "acme-report.fingerprint.json"
    )
    assert report.report_outputs(tmp_path, "acme", tmp_path / "x.html").html == tmp_path / "x.html"
    assert (
        report.report_outputs(tmp_path, "acme", tmp_path / "out").html
        == tmp_path / "out" / "acme-report.html"
    )


def test_fingerprint_changes_with_inputs(demo_copy: Path) -> None:
    a = report.inputs_fingerprint(demo_copy, {"locale": "en_GB"})
    assert a == report.inputs_fingerprint(demo_copy, {"locale": "en_GB"})
    assert a != report.inputs_fingerprint(demo_copy, {"locale": "de_DE"})
    (demo_copy / "workspace.yaml").write_text(
        (demo_copy / "workspace.yaml").read_text() + "\n# edit\n"
    )
    assert a != report.inputs_fingerprint(demo_copy, {"locale": "en_GB"})


def test_fingerprint_covers_the_package_templates() -> None:
    # A changed section or map template changes the report, so the batch must not skip it.
    files = report._code_files()
    names = {
        p.relative_to(report._PACKAGE).as_posix() for p in files if report._PACKAGE in p.parents
    }
    assert {
        "sections/__init__.py",
        "templates/sections/summary.html.j2",
        "templates/map/map.html.j2",
    } <= (names)
    assert not [n for n in names if "__pycache__" in n]


def test_report_kernel_is_this_python() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert (
        spec.argv[0] in ("python", "python3") or Path(spec.argv[0]).resolve().parent.name == "bin"
    )


# ------------------------------------------------------------------------------ pipeline


@pytest.mark.kernel
@pytest.mark.slow
def test_render_demo_report(demo_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = report.render_report(demo_copy, out, report_date="2026-03-01")
    html = result.html.read_text(encoding="utf-8")
    assert result.html == out / "tideway-rowing-report.html"
    for sid in sections.names():
        assert f'id="{sid}"' in html, sid
    assert "<title>Tideway Rowing Co.: customer journey report</title>" in html
    assert "render_section" not in html and "report_context" not in html
    assert "injected-parameters" not in html and "stderr" not in html
    assert not re.search(r"<script[^>]+src=", html)
    body = html[html.index("<body") :]
    assert "jp-InputArea" not in body and "jp-InputPrompt" not in body
    # executed notebook kept beside it for audit, fingerprint last; no temporary files left
    executed = nbformat.read(result.notebook, as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert (
        json.loads((out / "tideway-rowing-report.fingerprint.json").read_text())["fingerprint"]
        == result.fingerprint
    )
    assert sorted(p.name for p in out.iterdir()) == [
        ".tideway-rowing-report.html.lock",  # held while a run writes the report
        "tideway-rowing-report.fingerprint.json",
        "tideway-rowing-report.html",
        "tideway-rowing-report.ipynb",
    ]


@pytest.mark.kernel
@pytest.mark.slow
def test_failed_report_leaves_no_html(demo_copy: Path) -> None:
    with pytest.raises(ReportError, match="unknown report section"):
        report.render_report(demo_copy, sections=["no-such-section"])
    reports = demo_copy / "reports"
    assert not list(reports.glob("*.html"))
    assert (reports / "tideway-rowing-report.failed.ipynb").is_file()
    hidden = [p.name for p in reports.iterdir() if p.name.startswith(".")]
    assert hidden == [".tideway-rowing-report.html.lock"]  # no temporary files


def test_report_of_a_missing_workspace_names_it(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFoundError):
        report.render_report(tmp_path / "nowhere")
    res = CliRunner().invoke(main, ["report", str(tmp_path / "nowhere")])
    assert res.exit_code == 1 and "no workspace at" in res.output


@pytest.mark.kernel
@pytest.mark.slow
def test_cli_report_prints_the_path(demo_copy: Path) -> None:
    data = yaml.safe_load((demo_copy / "workspace.yaml").read_text())
    assert data["client"]["slug"] == "tideway-rowing"
    res = CliRunner().invoke(
        main, ["report", str(demo_copy), "--section", "summary", "--locale", "fr_FR"]
    )
    assert res.exit_code == 0, res.output
    path = Path(res.output.strip().splitlines()[-1])
    assert path == demo_copy / "reports" / "tideway-rowing-report.html" and path.is_file()
    html = path.read_text(encoding="utf-8")
    assert 'id="summary"' in html and 'id="funnel"' not in html


@pytest.mark.slow
def test_named_template_alone_gives_a_client_page(tmp_path: Path) -> None:
    # `jupyter nbconvert --template workbook-report` with none of the workbook's own exporter
    # options: the template alone leaves out code, prompts, markdown, stderr and parameters.
    import subprocess
    import sys

    nb = _notebook(
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: noisy\n"),
        nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=["boom"]),
        nbformat.v4.new_output(
            "display_data", data={"text/html": '<p class="x">hello</p>', "text/plain": "x"}
        ),
    )
    src = tmp_path / "r.ipynb"
    nbformat.write(nb, src)
    # This checkout's template under its installed name (an installed copy may be older).
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "workbook-report").symlink_to(report.TEMPLATE_DIR, target_is_directory=True)
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(src),
         "--template", "workbook-report",
         f"--TemplateExporter.extra_template_basedirs={tmp_path / 'tpl'}",
         "--output-dir", str(tmp_path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert '<p class="x">hello</p>' in html and "wb-report" in html
    assert "render_section" not in html and "secret/path" not in html and "# notes" not in html
    assert "noisy" not in html and "boom" not in html and "In&nbsp;[" not in html
    assert "jp-InputArea" not in html
