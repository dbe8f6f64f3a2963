"""The editable journey map in a real browser: notebook 06 in JupyterLab, and the workshop app.

Each test drives headless Chromium with the mouse and the keyboard only (a drag with
``page.mouse``, typing into a cell), then reads ``workspace.yaml`` from disk and finds each
change there. Requests to anything but the local server are blocked and recorded.
Screenshots of edit mode and presentation mode go to ``tests/_artifacts/``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    CHROMIUM_FLAGS,
    DEMO,
    ROOT,
    PageLog,
    block_network,
    jupyter_lab,
    kernel_ready,
    require_chromium,
    workshop_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.kernel]

AMARA = "amara-time-poor-londoner"


def _journey(workspace: Path, persona: str = AMARA, icp: str | None = None) -> dict[str, Any]:
    doc = yaml.safe_load((workspace / "workspace.yaml").read_text(encoding="utf-8"))
    return next(
        j for j in doc["journeys"] if j["persona"] == persona and (j.get("icp") or None) == icp
    )


def _wait_on_disk(
    workspace: Path,
    what: str,
    found: Callable[[dict[str, Any]], bool],
    icp: str | None = None,
) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if found(_journey(workspace, icp=icp)):
                return
        except (KeyError, IndexError, StopIteration, yaml.YAMLError):
            pass  # read between two saves (the file is replaced whole: should not happen)
        assert time.monotonic() < deadline, f"{what} never reached workspace.yaml"
        time.sleep(0.2)


@pytest.fixture
def browser_page() -> Iterator[tuple[Any, PageLog, Callable[[str], None]]]:
    exe = require_chromium()
    from playwright.sync_api import sync_playwright

    log = PageLog()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        page.on("pageerror", lambda e: log.page_errors.append(f"{e} {e.stack}"))

        def allow(origin: str) -> None:
            block_network(context, log, (origin, "data:", "blob:", "about:"))

        try:
            yield page, log, allow
        finally:
            context.close()
            browser.close()


def edit_the_map(page: Any, workspace: Path, artifacts: Path, name: str) -> None:
    """Drag, type, add a touchpoint and a recommendation on Amara's map; check the file."""
    canvas = page.locator(".wb-mc").first
    canvas.locator(".wb-map__grid").wait_for(timeout=60_000)

    # 1. Drag the purchase point (+0.5) down to -1.5: 50 + 1.5 x 17.5 = 76.25% of the band.
    point = canvas.locator('.wb-pt[data-stage="purchase"]')
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    band = canvas.locator(".wb-map__curve").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    target = band["y"] + band["height"] * 0.7625
    for k in range(1, 6):
        page.mouse.move(x, y + (target - y) * k / 5)
    # the curve redraws while dragging, before anything is saved
    assert point.inner_text().strip() == "\u22121.5"
    page.mouse.up()
    _wait_on_disk(
        workspace, "the dragged emotion", lambda j: j["stages"]["purchase"]["emotion"] == -1.5
    )
    page.wait_for_function(
        """() => document.querySelector('.wb-mc .wb-pt[data-stage="purchase"]')
                 .getAttribute('aria-label') === 'Amara, Purchase, emotion \u22121.5'"""
    )

    # 2. The keyboard only: focus a cell, Enter, type two lines, Enter saves.
    cell = canvas.locator('.wb-mc__cell[data-lane="pain_points"][data-stage="advocacy"]')
    cell.focus()
    page.keyboard.press("Enter")
    area = canvas.locator(".wb-mc__editor textarea")
    area.wait_for()
    page.keyboard.press("Control+A")
    page.keyboard.type("Forgets her referral code")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Colleagues ask <b>about noise</b>")
    page.keyboard.press("Enter")
    _wait_on_disk(
        workspace,
        "the typed pain points",
        lambda j: (
            j["stages"]["advocacy"]["pain_points"]
            == ["Forgets her referral code", "Colleagues ask <b>about noise</b>"]
        ),
    )
    # typed text is shown as text, never as markup
    cell.get_by_text("Colleagues ask <b>about noise</b>").wait_for()

    # A cell left by a click elsewhere keeps what was typed (saved, as a form field is).
    canvas.locator('.wb-mc__cell[data-lane="actions"][data-stage="retention"]').click()
    area.wait_for()
    page.keyboard.press("End")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Rows on Saturdays too")
    canvas.locator('.wb-mc__cell[data-lane="thoughts"][data-stage="retention"]').click()
    _wait_on_disk(
        workspace,
        "the text typed before clicking elsewhere",
        lambda j: j["stages"]["retention"]["actions"][-1] == "Rows on Saturdays too",
    )
    page.keyboard.press("Escape")  # leaves the thoughts cell as it was
    canvas.locator(".wb-mc__editor").wait_for(state="detached")

    # 3. A touchpoint from the inventory, added to the purchase cell.
    tp_cell = canvas.locator('.wb-mc__cell[data-lane="touchpoints"][data-stage="purchase"]')
    tp_cell.click(position={"x": 20, "y": 10})
    panel = tp_cell.locator(".wb-mc__panel")
    panel.locator("select.wb-mc__tp-pick").select_option("finance-application")
    panel.locator("button.wb-mc__tp-add").click()
    _wait_on_disk(
        workspace,
        "the added touchpoint",
        lambda j: j["stages"]["purchase"]["touchpoints"][-1] == "finance-application",
    )

    # 4. A recommendation next to the checkout, with its priority and owner.
    panel = canvas.locator(".wb-mc__panel")
    panel.locator(".wb-mc__tp", has_text="Finance application").wait_for()
    panel.locator("input.wb-mc__rec-text").fill("Offer Apple Pay at checkout")
    panel.locator("select.wb-mc__rec-tp").select_option("checkout")
    panel.locator("select.wb-mc__rec-priority").select_option("high")
    panel.locator("input.wb-mc__rec-owner").fill("E-commerce Lead")
    panel.locator("button.wb-mc__rec-add").click()
    _wait_on_disk(
        workspace,
        "the recommendation",
        lambda j: any(
            r["text"] == "Offer Apple Pay at checkout"
            and (r["touchpoint"], r["priority"], r["owner"])
            == ("checkout", "high", "E-commerce Lead")
            for r in j["recommendations"]
        ),
    )
    canvas.locator(
        '.wb-tp[data-touchpoint="checkout"] .wb-rec', has_text="Offer Apple Pay"
    ).first.wait_for()
    # A refused edit says why, next to the cell: a recommendation with no text.
    panel.locator("button.wb-mc__rec-add").click()
    tp_cell.locator(".wb-mc__error", has_text="type what to do first").wait_for()
    canvas.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"{name}-edit.png"), full_page=False)

    def has_recommendation(j: dict[str, Any]) -> bool:
        return any(r["text"] == "Offer Apple Pay at checkout" for r in j["recommendations"])

    # Undo takes the recommendation back (the refused edit saved nothing); redo makes it again.
    canvas.locator("button.wb-mc__undo").click()
    _wait_on_disk(workspace, "the undo", lambda j: not has_recommendation(j))
    canvas.locator("button.wb-mc__redo").click()
    _wait_on_disk(workspace, "the redo", has_recommendation)

    # The best moment, moved to the checkout by its star.
    panel.get_by_label("Amara, Purchase, Online checkout: mark as the best moment").click()
    _wait_on_disk(
        workspace,
        "the best moment",
        lambda j: (
            [
                (a["stage"], a.get("touchpoint"))
                for a in j["annotations"]
                if a["kind"] == "best-moment"
            ]
            == [("purchase", "checkout")]
        ),
    )
    panel.get_by_label("Amara, Purchase, Online checkout: unmark as the best moment").wait_for()
    canvas.locator(".wb-mc__panel button.wb-mc__done").focus()
    page.keyboard.press("Escape")
    assert canvas.locator(".wb-mc__panel").count() == 0

    # 5. The keyboard moves a focused point: two steps down from +1 is 0, saved once.
    awareness = canvas.locator('.wb-pt[data-stage="awareness"]')
    awareness.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    _wait_on_disk(
        workspace, "the emotion moved by keys", lambda j: j["stages"]["awareness"]["emotion"] == 0
    )
    page.wait_for_function(
        """() => document.activeElement && document.activeElement.getAttribute('aria-label')
                 === 'Amara, Awareness, emotion 0'"""
    )

    # A stage cleared to "not scored" by the cross beside its point.
    canvas.get_by_label("Amara, Advocacy: clear the emotion (not scored)").click()
    _wait_on_disk(
        workspace, "the cleared emotion", lambda j: j["stages"]["advocacy"].get("emotion") is None
    )
    canvas.get_by_label("Amara, Advocacy, emotion not scored").wait_for()

    # 6. Presentation: P, the arrows switch persona, E comes back.
    awareness.focus()
    page.keyboard.press("p")
    page.wait_for_selector(".wb-mc--present")
    assert canvas.locator(".wb-mc__toolbar").is_hidden()
    # fitted to the window (again once full screen is granted), nothing to scroll
    page.wait_for_function("() => document.querySelector('.wb-mc--present').dataset.fits")
    page.wait_for_timeout(300)
    shown = page.evaluate(_PRESENTED)
    assert shown["fits"] == "true" and shown["box"][3] <= shown["height"], shown
    assert shown["scroll"][0] <= shown["scroll"][1], shown
    page.screenshot(path=str(artifacts / f"{name}-present.png"))
    page.keyboard.press("ArrowRight")
    canvas.locator(".wb-map__head h2", has_text="Graham").wait_for()
    page.keyboard.press("e")
    page.wait_for_selector(".wb-mc--present", state="detached")
    assert canvas.locator(".wb-mc__toolbar").is_visible()
    assert canvas.locator(".wb-mc__error:visible").count() == 0


def edit_an_icp_map(page: Any, workspace: Path, artifacts: Path) -> None:
    """Start Amara's map for the Home fitness household ICP and type in one of its cells,
    by the keyboard: the text is in that ICP's map in workspace.yaml, Amara's general map
    keeps its cell; presentation's arrows go from her general map to the ICP map."""
    home = "home-fitness-household"
    canvas = page.locator(".wb-mc").first
    canvas.locator(".wb-mc__persona").select_option(AMARA)  # presentation left Graham's
    canvas.locator(".wb-map__head h2", has_text="Amara").wait_for()
    general = _journey(workspace)["stages"]["awareness"]["actions"]
    assert canvas.locator(".wb-mc__map").input_value() == ""  # "General"
    canvas.locator(".wb-mc__start-pick").select_option(home)
    canvas.locator(".wb-mc__start").press("Enter")
    canvas.locator(".wb-map__head h2", has_text="(Home fitness household)").wait_for()
    _wait_on_disk(workspace, "the started ICP map", lambda j: "awareness" in j["stages"], home)
    assert canvas.locator(".wb-mc__map").input_value() == home
    # the ICP started is not offered again
    offered = canvas.locator(".wb-mc__start-pick option").all_inner_texts()
    assert "Home fitness household" not in offered and "Boutique studio partner" in offered
    canvas.locator(".wb-mc__toolbar").scroll_into_view_if_needed()
    canvas.locator(".wb-mc__toolbar").screenshot(path=str(artifacts / "mapcanvas-icp-picker.png"))

    cell = canvas.locator('.wb-mc__cell[data-lane="actions"][data-stage="awareness"]')
    cell.focus()
    page.keyboard.press("Enter")
    canvas.locator(".wb-mc__editor textarea").wait_for()
    page.keyboard.press("Control+A")
    page.keyboard.type("Hears of it from a colleague")
    page.keyboard.press("Enter")
    _wait_on_disk(
        workspace,
        "the text typed on the ICP map",
        lambda j: j["stages"]["awareness"]["actions"] == ["Hears of it from a colleague"],
        home,
    )
    page.screenshot(path=str(artifacts / "mapcanvas-icp-map.png"))
    assert _journey(workspace)["stages"]["awareness"]["actions"] == general

    # the general map again, from the picker: its own cell
    canvas.locator(".wb-mc__map").select_option("")
    canvas.locator(".wb-map__head h2", has_text="(Home fitness household)").wait_for(
        state="detached"
    )
    cell.get_by_text(general[0]).wait_for()
    # presentation: the right arrow goes to Amara's ICP map, the hint names it
    cell.focus()
    page.keyboard.press("p")
    page.wait_for_selector(".wb-mc--present")
    hint = canvas.locator(".wb-mc__present-hint")
    said = hint.inner_text()
    assert said.startswith("Amara \u00b7 ") and "\u2190 \u2192 map \u00b7 Esc" in said, said
    page.keyboard.press("ArrowRight")
    canvas.locator(".wb-map__head h2", has_text="(Home fitness household)").wait_for()
    assert hint.inner_text().startswith("Amara (Home fitness household) \u00b7 ")
    page.keyboard.press("e")
    page.wait_for_selector(".wb-mc--present", state="detached")


GRAHAM = "graham-returning-athlete"
SOFIA = "sofia-studio-owner"
ALL_LANES = ["actions", "touchpoints", "thoughts", "pain_points", "opportunities", "owners", "kpis"]


def grow_maps(workspace: Path) -> None:
    """Sofia's map made tall: all seven lanes, four or five items in every text cell, three
    touchpoints of her own at each stage (more with those her recommendations name), and an
    owners lane of 5 to 9 entries. Graham's first cell gets 24 actions: a lane that cannot fit
    a 1366x768 screen at the smallest readable type, whatever the split."""
    from workbook.store import open_workspace

    ws = open_workspace(workspace)
    data = ws.data
    sofia = data.journey(SOFIA)
    assert sofia is not None
    sofia.lanes = list(ALL_LANES)  # type: ignore[assignment]
    inventory = [t.id for t in data.touchpoints]
    for i, stage in enumerate(data.stages):
        cell, at = sofia.stages[stage.id], stage.name.lower()
        cell.actions = [
            f"{what} during {at}, between two client sessions"
            for what in ("Compares studio software", "Asks her front-desk team",
                         "Reads the pricing page twice", "Books a call", "Checks the contract")
        ]  # fmt: skip
        cell.thoughts = [
            f"{what} at {at}"
            for what in ("Will my members notice the change", "Is this worth the setup time",
                         "Who answers when it breaks", "I need this before the new term")
        ]  # fmt: skip
        cell.pain_points = [
            f"{what} ({at})"
            for what in ("No price for five instructors", "Demo slots only in class hours",
                         "Import of old bookings unclear", "Too many emails")
        ]  # fmt: skip
        cell.opportunities = [
            f"{what} ({at})"
            for what in ("A studio-size price on the page", "Evening demo slots",
                         "Free import of past bookings", "One weekly summary email")
        ]  # fmt: skip
        cell.touchpoints = inventory[i * 4 : i * 4 + 3]
    graham = data.journey(GRAHAM)
    assert graham is not None
    graham.stages["awareness"].actions = [
        f"Step {n}: reads another review of a rowing machine before he decides anything"
        for n in range(24)
    ]
    ws.save()


#: The editable map's type, in px, as the page computes it.
_MAP_TYPE = """() => {
  const mc = document.querySelector('.wb-workshop-step-visualise .wb-mc');
  const size = (sel) => parseFloat(getComputedStyle(mc.querySelector(sel)).fontSize);
  return { app: parseFloat(getComputedStyle(document.querySelector('.wb-workshop')).fontSize),
           cell: size('.wb-map__cell li'), lane: size('.wb-map__lane'),
           stage: size('.wb-map__stage'), point: size('.wb-pt__text'), mark: size('.wb-pt__mark'),
           scale: size('.wb-map__scale') };
}"""

#: Where the points and cells are: a point's centre against its place on the band (left and
#: top percent, from the report's layout), the band's height, and cells that overlap.
_GEOMETRY = """() => {
  const mc = document.querySelector('.wb-workshop-step-visualise .wb-mc');
  const band = mc.querySelector('.wb-map__curve').getBoundingClientRect();
  const points = [...mc.querySelectorAll('.wb-pt')].map((p) => {
    const r = p.getBoundingClientRect();
    const at = (key) => parseFloat(p.style[key]) / 100;
    return { stage: p.dataset.stage, size: r.width,
             dx: r.left + r.width / 2 - band.left - band.width * at('left'),
             dy: r.top + r.height / 2 - band.top - band.height * at('top') };
  });
  const rows = {};
  for (const c of mc.querySelectorAll('.wb-map__cell[data-lane]')) {
    (rows[c.dataset.lane] ||= []).push(c.getBoundingClientRect());
  }
  const overlaps = [];
  const lanes = Object.keys(rows);
  lanes.forEach((lane, i) => {
    const row = rows[lane].sort((a, b) => a.left - b.left);
    row.slice(1).forEach((r, k) => { if (r.left < row[k].right - 0.5) overlaps.push([lane, k]); });
    for (const r of i ? row : []) {
      for (const above of rows[lanes[i - 1]]) {
        if (r.top < above.bottom - 0.5) overlaps.push([lanes[i - 1], lane]);
      }
    }
  });
  return { band: band.height, points, overlaps };
}"""

#: Presentation mode as shown: the fit the map chose and where the map is on the screen.
_PRESENTED = """() => {
  const mc = document.querySelector('.wb-mc--present');
  const section = mc.querySelector('section.wb-map');
  const r = section.getBoundingClientRect();
  return { unit: parseFloat(mc.dataset.fitUnit), fits: mc.dataset.fits, part: +mc.dataset.part,
           parts: +mc.dataset.parts, type: parseFloat(getComputedStyle(section).fontSize),
           box: [r.left, r.top, r.right, r.bottom], width: innerWidth, height: innerHeight,
           scroll: [mc.scrollHeight, mc.clientHeight, mc.scrollWidth, mc.clientWidth,
                    document.scrollingElement.scrollHeight],
           lanes: [...mc.querySelectorAll('.wb-map__lane:not(.wb-mc__off)')]
             .map((e) => e.dataset.lane),
           hint: mc.querySelector('.wb-mc__present-hint').textContent,
           ms: (() => {
             const t0 = performance.now();
             mc.wbFit();
             return performance.now() - t0;
           })() };
}"""


def present_every_part(page: Any, artifacts: Path, name: str | None) -> list[dict[str, Any]]:
    """The parts of the map in presentation mode, from the first, by the down arrow; each
    one's state (see _PRESENTED), screenshots in ``artifacts`` unless ``name`` is None."""

    def shoot(part: int) -> None:
        if name is not None:
            page.screenshot(path=str(artifacts / f"{name}-part{part}.png"))

    shown = [page.evaluate(_PRESENTED)]
    assert shown[0]["part"] == 1
    shoot(1)
    while shown[-1]["part"] < shown[-1]["parts"]:
        page.keyboard.press("ArrowDown")
        page.wait_for_function(
            "n => document.querySelector('.wb-mc--present').dataset.part === String(n)",
            arg=shown[-1]["part"] + 1,
        )
        shown.append(page.evaluate(_PRESENTED))
        shoot(shown[-1]["part"])
    page.keyboard.press("ArrowDown")  # past the last part: stays there
    assert page.evaluate(_PRESENTED)["part"] == shown[-1]["parts"]
    return shown


def check_type_and_fit(page: Any, artifacts: Path) -> None:
    """The map's type grows with the app's; presentation fits every map to the screen.

    Edit mode, by hand: the app's type is clamp(15px, 5.1px + 0.72vw, 20px), 15px at 1366
    wide and 18.924px at 1920; the map's unit is that over 15 (1 and 1.2616), so cell text
    is 13 units (13px, the report's, and 16.40px), lane labels 12.5, stage headers 14, the
    points' and marks' labels and the curve's scale 11; the curve band is 150 units high and
    a point 30 wide, its centre on its place (left, top percent of the band) within a pixel.

    Presentation: the screen factor f is min(width / 1366, height / 768) (1 and 1.40625);
    the map's type (13 units) is between 12f and 18f px; every part of the demo's and of
    the tall map lies inside the window with nothing to scroll, and the parts show every
    lane once, in order. Graham's 24-action lane cannot fit at 12f: that part keeps 12f
    exactly and says to scroll.
    """
    canvas = page.locator(".wb-workshop-step-visualise .wb-mc")
    sizes = {}
    for width, height in ((1366, 768), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        canvas.locator(".wb-mc__persona").select_option(AMARA)
        canvas.locator(".wb-map__head h2", has_text="Amara").wait_for()
        page.wait_for_timeout(200)
        app = min(20.0, max(15.0, 5.1 + 0.0072 * width))
        unit = app / 15
        shown = page.evaluate(_MAP_TYPE)
        sizes[width] = shown
        expected = {"app": app, "cell": 13 * unit, "lane": 12.5 * unit, "stage": 14 * unit,
                    "point": 11 * unit, "mark": 11 * unit, "scale": 11 * unit}  # fmt: skip
        assert shown == pytest.approx(expected, abs=0.02), (width, shown)
        geometry = page.evaluate(_GEOMETRY)
        assert geometry["band"] == pytest.approx(150 * unit, abs=0.5)
        assert geometry["overlaps"] == []
        for point in geometry["points"]:
            assert abs(point["dx"]) <= 1 and abs(point["dy"]) <= 1, point
            assert point["size"] == pytest.approx(30 * unit, abs=0.5)
        canvas.locator(".wb-map__grid").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"workshop-map-edit-{width}x{height}.png"))

        factor = min(width / 1366, height / 768)
        canvas.locator('.wb-pt[data-stage="awareness"]').focus()
        page.keyboard.press("p")
        page.wait_for_selector(".wb-mc--present")
        for persona, who in ((AMARA, "Amara"), (GRAHAM, "Graham"), (SOFIA, "Sofia")):
            if persona != AMARA:
                page.keyboard.press("ArrowRight")
                canvas.locator(".wb-map__head h2", has_text=who).wait_for()
            shots = None if persona == GRAHAM else f"workshop-map-present-{who}-{width}x{height}"
            parts = present_every_part(page, artifacts, shots)
            lanes = [lane for p in parts for lane in p["lanes"]]
            expected_lanes = ALL_LANES if persona == SOFIA else ALL_LANES[:5]
            assert lanes == [*expected_lanes[:3], "emotion", *expected_lanes[3:]], (who, lanes)
            for p in parts:
                assert 12 * factor - 0.01 <= p["type"] <= 18 * factor + 0.01, (who, p)
                assert p["type"] == pytest.approx(13 * p["unit"], abs=0.01)
                if persona == GRAHAM and "actions" in p["lanes"]:
                    assert p["fits"] == "false" and "scroll" in p["hint"], p
                    assert p["type"] == pytest.approx(12 * factor, abs=0.01), p
                    continue
                left, top, right, bottom = p["box"]
                assert p["fits"] == "true", (who, p)
                assert left >= 0 and top >= 0, p
                assert right <= p["width"] and bottom <= p["height"], p
                scroll_height, client_height, scroll_width, client_width, page_height = p["scroll"]
                assert scroll_height <= client_height and scroll_width <= client_width, p
                assert page_height <= p["height"], p
                assert "scroll" not in p["hint"]
            print(who, width, [(p["lanes"], round(p["type"], 2), round(p["ms"])) for p in parts])
        page.keyboard.press("ArrowRight")  # back to Amara, the first persona
        canvas.locator(".wb-map__head h2", has_text="Amara").wait_for()
        page.keyboard.press("e")
        page.wait_for_selector(".wb-mc--present", state="detached")
        # back to editing: the app's type again
        assert page.evaluate(_MAP_TYPE)["cell"] == pytest.approx(13 * unit, abs=0.02)
    assert sizes[1920]["cell"] > sizes[1366]["cell"] + 3


def test_map_canvas_in_notebook_06(tmp_path: Path, browser_page: Any, artifacts: Path) -> None:
    page, log, allow = browser_page
    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "06-journey-map.ipynb", root / "notebooks")
    shutil.copytree(
        DEMO, root / "data" / "demo", ignore=shutil.ignore_patterns("reports", "*.lock")
    )
    workspace = root / "data" / "demo"
    with jupyter_lab(tmp_path, root) as (base, token):
        allow(base)
        page.goto(f"{base}/lab/tree/notebooks/06-journey-map.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        kernel_ready(page, poll=0.5)
        page.evaluate(
            """() => {
                const app = window.jupyterapp;
                app.commands.execute('notebook:clear-all-cell-outputs')
                    .then(() => app.commands.execute('notebook:run-all-cells'));
            }"""
        )
        page.wait_for_selector(".wb-mc .wb-map__grid", timeout=90_000)
        kernel_ready(page, poll=0.5)
        # the static picture the report shows is still there, below the editable map
        assert page.locator(".jp-OutputArea-output section.wb-map").count() >= 2
        # What is edited is what the report shows: every cell's text and every emotion
        # point's place in the editable map equal the static map's (render_map_html); text
        # compared without white space (the template's line breaks between elements).
        shown = """sel => {
            const map = document.querySelectorAll(sel)[0];
            const cells = {};
            for (const c of map.querySelectorAll('.wb-map__cell[data-lane][data-stage]')) {
                cells[c.dataset.lane + ':' + c.dataset.stage] = c.textContent.replace(/\\s+/g, '');
            }
            const points = [...map.querySelectorAll('.wb-pt')].map(
                p => [p.dataset.stage, p.style.left, p.style.top, p.style.background,
                      p.textContent.replace(/\\s+/g, '')]);
            return [cells, points];
        }"""
        editable = page.evaluate(shown, ".wb-mc section.wb-map")
        static = page.evaluate(shown, "section.wb-map:not(.wb-mc *)")
        assert len(static[0]) == 25 and len(static[1]) == 5
        assert editable == static
        # In a notebook the map's unit is 1px: both maps in the report's 13px type (the
        # canvas's own rules do not reach the static map, nor the static map's the canvas).
        type_of = "sel => getComputedStyle(document.querySelector(sel)).fontSize"
        assert page.evaluate(type_of, ".wb-mc .wb-map__cell li") == "13px"
        assert page.evaluate(type_of, "section.wb-map:not(.wb-mc *) .wb-map__cell li") == "13px"
        # Keys typed on the map are the map's: not the notebook's shortcuts (D D deletes a
        # cell, A and B insert one, M makes it markdown).
        cells = page.locator(".jp-Notebook .jp-Cell").count()
        first = page.locator('.wb-mc .wb-mc__cell[data-lane="actions"][data-stage="awareness"]')
        first.focus()
        for key in ("d", "d", "a", "b", "m", "x"):
            page.keyboard.press(key)
        page.wait_for_timeout(300)
        assert page.locator(".jp-Notebook .jp-Cell").count() == cells
        first.focus()
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.outerHTML.slice(0, 300)")
        assert 'data-focus-key="cell:actions:consideration"' in focused  # the next cell
        edit_the_map(page, workspace, artifacts, "lab-mapcanvas")
        edit_an_icp_map(page, workspace, artifacts)
        errors = page.locator(".wb-form-mapcanvas .wb-callback-error").inner_text()
        assert errors == ""
    assert log.blocked_requests == [], f"requests left the machine: {log.blocked_requests}"
    assert log.page_errors == [], f"script errors: {log.page_errors}"


def test_map_canvas_in_the_workshop_app(
    tmp_path: Path, demo_copy: Path, browser_page: Any, artifacts: Path
) -> None:
    """The issue's "done when": ``workbook workshop`` on a copy of the demo, edited by mouse
    and keyboard, every change found in workspace.yaml, nothing asked of another machine,
    no code on the page."""
    import urllib.parse

    page, log, allow = browser_page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    grow_maps(demo_copy)  # Amara's map, the one edited, stays the demo's
    with workshop_app(tmp_path, demo_copy) as (url, _process):
        allow(url.split("/?")[0].rstrip("/"))
        page.set_viewport_size({"width": 1920, "height": 1080})  # edited on the projector
        page.goto(url)
        page.locator("button.wb-nav-visualise").click(timeout=120_000)
        page.locator(".wb-workshop-step-visualise .wb-mc .wb-map__grid").wait_for(timeout=60_000)
        edit_the_map(page, demo_copy, artifacts, "workshop-mapcanvas")
        # one Undo and one Redo, the map's; the form's status line is in the map's toolbar
        step = page.locator(".wb-workshop-step-visualise")
        assert step.locator("button:visible", has_text="Undo").count() == 1
        assert step.locator("button:visible", has_text="Redo").count() == 1
        assert step.locator(".wb-mc__undo").is_visible()
        assert step.locator("button.wb-save:visible").count() == 0
        assert step.locator(".wb-mc__status").inner_text().startswith(("Saved", "Redone"))
        for css in (".jp-InputArea", ".jp-InputArea-editor", ".cm-editor", ".CodeMirror"):
            assert page.locator(css).count() == 0, f"code is visible: {css}"
        assert "import workbook" not in page.inner_text("body")
        assert page.locator(".wb-callback-error pre").count() == 0
        check_type_and_fit(page, artifacts)
    off_machine = [
        u
        for u in requests
        if not u.startswith(("data:", "blob:", "about:"))
        and urllib.parse.urlsplit(u).hostname != "127.0.0.1"
    ]
    assert requests and off_machine == [], off_machine
    assert log.blocked_requests == [], f"requests left the machine: {log.blocked_requests}"
    assert log.page_errors == [], f"script errors: {log.page_errors}"
