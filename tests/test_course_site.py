"""The course site: every course notebook run on the demo and rendered as offline HTML pages.

One build per module (about 40 s on two cores: eight notebooks, two kernels at a time), made
through ``workbook course site``, as ``make course-site`` does. The pages are then read as files
(every link resolves, nothing is fetched from the internet, no machine path leaks) and in
headless Chromium, from the contents page along the "next" links to the last step, with every
request that is not a local file aborted and counted.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from workbook import syllabus

#: The only http(s) addresses a page may contain: credits inside comments of JupyterLab's
#: own theme CSS, which nbconvert's lab template inlines, and the XML namespaces of inline SVG
#: (a chart drawn in a form). They are names, never fetched.
DOCUMENTED_URLS = {
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xlink",
    "https://meyerweb.com/eric/tools/color-blend/#546E7A:F4511E:5:hex",
    "https://meyerweb.com/eric/tools/color-blend/#546E7A:1E88E5:5:hex",
    "https://material-components-web.appspot.com/elevation.html",
    "https://github.com/material-components/material-components-web",
    "https://github.com/danlevan/google-material-color",
}

PAGES = ["index", *(x.id for x in syllabus.LESSONS)]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.rel: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("href", "src"):
            if a.get(key):
                self.refs.append(str(a[key]))
        if tag == "a" and a.get("rel") and a.get("href"):
            self.rel.setdefault(str(a["rel"]), str(a["href"]))


def _links(text: str) -> _Links:
    parser = _Links()
    parser.feed(text)
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    from workbook.cli import main

    out = tmp_path_factory.mktemp("course") / "site"
    result = CliRunner().invoke(main, ["course", "site", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == str(out / "index.html")
    assert result.stdout.startswith(f"{len(PAGES)} pages in ")
    return out


# ------------------------------------------------------------------------------ template


def _export(nb: Any) -> str:
    from workbook.course_site import _exporter

    resources = {
        "course": {
            "site_title": "T",
            "notebook": "notebooks/01-objectives.ipynb",
            "position": "Step 1 of 7",
            "minutes": "25",
            "previous": {"href": "00-start-here.html", "title": "Start <here>"},
            "next": None,
            "footer": "f",
        }
    }
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    return str(body)


def test_template_hides_parameters_and_lesson_code_and_shows_forms_as_a_note() -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('workspace = "../data/demo"  # SECRET-PARAM')
    params.metadata["tags"] = ["parameters"]
    lesson = nbformat.v4.new_code_cell('workbook.syllabus.intro("01-objectives")  # LESSON-CODE')
    lesson.metadata["tags"] = ["wb-lesson"]
    lesson.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/html": '<a href="02-personas.ipynb">next</a>'}
        )
    ]
    form = nbformat.v4.new_code_cell("form  # FORM-CODE")
    form.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "application/vnd.jupyter.widget-view+json": {
                    "model_id": "abc",
                    "version_major": 2,
                    "version_minor": 0,
                },
                "text/plain": "VBox(children=...)",
            },
        )
    ]
    text = nbformat.v4.new_markdown_cell(
        "See [step 3](03-touchpoints.ipynb) and [elsewhere](other.ipynb)."
    )
    nb.cells = [params, lesson, form, text]
    page = _export(nb)
    assert "SECRET-PARAM" not in page  # the parameters cell is left out
    assert "LESSON-CODE" not in page and 'href="02-personas.html"' in page  # output kept
    assert "FORM-CODE" in page  # trainees see how the package is called
    flat = " ".join(page.split())
    assert "open <code>notebooks/01-objectives.ipynb</code> in JupyterLab" in flat
    assert "VBox(children" not in page and "widget-view+json" not in page
    assert 'href="03-touchpoints.html"' in page and 'href="other.ipynb"' in page
    assert "Start &lt;here&gt;" in page  # navigation text is escaped
    assert "<script src=" not in page and "cdn" not in page.lower()


def _model(name: str, **state: Any) -> dict[str, Any]:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}


def test_a_form_is_drawn_read_only_from_its_saved_state() -> None:
    state = {
        "root": _model(
            "VBoxModel",
            children=["IPY_MODEL_head", "IPY_MODEL_owner", "IPY_MODEL_kind", "IPY_MODEL_gone"]
            + ["IPY_MODEL_save", "IPY_MODEL_tick", "IPY_MODEL_canvas", "IPY_MODEL_stages"],
        ),
        "head": _model("HTMLModel", value="<h3>Step 3 - Touchpoints</h3>"),
        "owner": _model("TextModel", description="Owner", value='CRM team <img src=x> "q"'),
        "kind": _model(
            "DropdownModel", description="Kind", _options_labels=["Digital", "Physical"], index=1
        ),
        "gone": _model("TextModel", description="Hidden", value="SECRET", layout="IPY_MODEL_l"),
        "l": _model("LayoutModel", display="none"),
        "save": _model("ButtonModel", description="Save"),
        "tick": _model("CheckboxModel", description="Key process", value=True),
        "canvas": _model("AnyModel", value=1),
        "stages": _model(
            "SelectMultipleModel",
            description="Stages",
            _options_labels=["Awareness", "Consideration", "Purchase"],
            index=[0, 2],
        ),
    }
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "version_major": 2,
            "version_minor": 0,
            "state": state,
        }
    }
    cell = nbformat.v4.new_code_cell("form")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "application/vnd.jupyter.widget-view+json": {
                    "model_id": "root",
                    "version_major": 2,
                    "version_minor": 0,
                },
                "text/plain": "VBox()",
            },
        )
    ]
    nb.cells = [cell]
    page = " ".join(_export(nb).split())
    assert "<h3>Step 3 - Touchpoints</h3>" in page
    assert "value='CRM team &lt;img src=x&gt; \"q\"'" in page  # typed text escaped
    assert "<img src=x>" not in page
    assert "Physical" in page and "Digital" not in page  # the choice made, not the options
    assert "Awareness, Purchase" in page and "Consideration" not in page
    assert "SECRET" not in page  # a hidden widget stays hidden
    assert '<button class="wb-static-button" disabled="">Save</button>' in page
    assert "\u2611 Key process" in page
    # the anywidget cannot be drawn: a note stands in for it
    assert page.count('class="wb-form-note"') == 1
    assert page.count('class="wb-form-part-note"') == 1
    assert "widget-state+json" not in page and "version_major" not in page


def test_a_failing_notebook_is_named_with_its_cell(tmp_path: Path) -> None:
    from workbook.course_site import build_site
    from workbook.exceptions import ReportError

    book = tmp_path / "nb"
    book.mkdir()
    for item in syllabus.LESSONS:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
        nb.metadata["language_info"] = {"name": "python"}
        params = nbformat.v4.new_code_cell('workspace = "x"\nmode = "workshop"')
        params.metadata["tags"] = ["parameters"]
        body = "raise ValueError('broken on purpose')" if item.id == "04-stages" else "1 + 1"
        nb.cells = [params, nbformat.v4.new_code_cell(body)]
        nbformat.write(nb, book / item.notebook)
    with pytest.raises(
        ReportError,
        match=r"04-stages.ipynb: the cell starting \"raise ValueError\('broken on purpose'\)\": "
        r"ValueError: broken on purpose",
    ):
        build_site(tmp_path / "out", notebooks=book)
    assert not (tmp_path / "out" / "index.html").exists()  # no half-built site


def test_a_missing_notebook_or_workspace_is_a_clear_error(tmp_path: Path) -> None:
    from workbook.course_site import build_site
    from workbook.exceptions import WorkspaceNotFoundError

    with pytest.raises(WorkspaceNotFoundError, match="no course notebook 00-start-here.ipynb"):
        build_site(tmp_path / "out", notebooks=tmp_path)
    with pytest.raises(WorkspaceNotFoundError):
        build_site(tmp_path / "out", workspace=tmp_path / "nowhere")


# ------------------------------------------------------------------------------ the site


@pytest.mark.slow
@pytest.mark.kernel
def test_every_page_exists_and_every_link_resolves(site: Path) -> None:
    assert sorted(p.name for p in site.iterdir()) == sorted(f"{p}.html" for p in PAGES)
    for name in PAGES:
        page = site / f"{name}.html"
        links = _links(page.read_text(encoding="utf-8"))
        for ref in links.refs:
            parts = urlsplit(ref)
            if parts.scheme == "data" or ref.startswith("#"):
                continue
            assert parts.scheme == "" and not parts.netloc, f"{name}: link leaves the site: {ref}"
            target = site / unquote(parts.path)
            assert target.is_file(), f"{name}: {ref} leads nowhere"


@pytest.mark.slow
@pytest.mark.kernel
def test_no_page_reaches_the_internet_or_shows_a_machine_path(site: Path) -> None:
    for name in PAGES:
        text = (site / f"{name}.html").read_text(encoding="utf-8")
        urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
        assert urls <= DOCUMENTED_URLS, f"{name}: {sorted(urls - DOCUMENTED_URLS)}"
        assert "workbook-course-" not in text and "/tmp/" not in text, name
        assert str(Path.home()) + "/" not in text, name
        assert "<script src=" not in text, name
        assert "injected-parameters" not in text, name


@pytest.mark.slow
@pytest.mark.kernel
def test_pages_walk_the_course_in_order_with_its_objectives(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    assert [m for m in re.findall(r'class="wb-site-lesson-title" href="([^"]+)"', index)] == [
        f"{x.id}.html" for x in syllabus.LESSONS
    ]
    for item in syllabus.LESSONS:
        text = (site / f"{item.id}.html").read_text(encoding="utf-8")
        rel = _links(text).rel
        after = syllabus.next_lesson(item.id)
        assert rel.get("next") == (f"{after.id}.html" if after else None), item.id
        before = syllabus.previous_lesson(item.id)
        assert rel.get("prev") == (f"{before.id}.html" if before else None), item.id
        assert f"<title>{item.title}</title>" in text
        for objective in item.objectives:
            assert objective in html.unescape(text), (item.id, objective)
        assert "wb-lesson-outro" in text and "Traceback" not in text
        if item.step:
            assert f"wb-step-{item.step}" in text and "wb-feedback" in text
            assert "wb-form-note" in text  # at least one form, shown as a note
    start = (site / "00-start-here.html").read_text(encoding="utf-8")
    assert "../data/demo" in start and "checks done" in start
    assert 'mode = "workshop"' not in start  # the parameters cell is not on the site
    assert "After the course" in (site / "07-refine.html").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.browser
def test_a_trainee_reads_the_site_in_order_offline(
    site: Path, offline_page: tuple[Any, Any], artifacts: Path
) -> None:
    page, log = offline_page
    page.goto((site / "index.html").as_uri())
    seen = []
    for n in range(len(PAGES)):
        seen.append(Path(urlsplit(page.url).path).stem)
        page.screenshot(path=str(artifacts / f"course-site-{n:02d}-{seen[-1]}.png"), full_page=True)
        assert page.locator(".wb-site-header").is_visible()
        if n:
            assert page.locator(".wb-lesson-intro").is_visible()
            broken = page.evaluate(
                "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length"
            )
            assert broken == 0, seen[-1]
        nxt = page.locator("nav.wb-site-nav-bottom a.wb-next, nav.wb-site-nav-top a.wb-next")
        if nxt.count() == 0:
            break
        nxt.first.click()
        page.wait_for_load_state()
    assert seen == PAGES
    log.assert_clean()
