// The journey map, editable in place: the anywidget front end of workbook/forms/mapcanvas.py.
//
// Python sends the map as JSON (the report's MapLayout, its curve, the theme's CSS and the
// nine-step emotion scale); this file draws it with the report map's classes and geometry
// (workbook/templates/map/map.html.j2 and map.css) and reports gestures back as messages.
// It decides nothing: every edit is validated and saved in Python, and the map is redrawn from
// what Python sends back. User text is only ever set as textContent or an attribute.

const TEXT_LANES = ["actions", "thoughts", "pain_points", "opportunities"];
const SVG = "http://www.w3.org/2000/svg";
const PRIORITIES = [["high", "High"], ["medium", "Medium"], ["low", "Low"]];

// Timings a benchmark reads: mouse-up (or key) to the first frame after the redrawn map.
const timings = (globalThis.wbMapCanvasTimings = globalThis.wbMapCanvasTimings || []);

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function scoreWords(score) {
  if (score === null || score === undefined) return "not scored";
  if (score === 0) return "0";
  return (score > 0 ? "+" : "\u2212") + Math.abs(score);
}

function snap(score) {
  // Nearest half point, halves away from zero (as snap_emotion in Python), within -2..+2.
  const d = score * 2;
  const whole = Math.floor(Math.abs(d) + 0.5);
  return Math.max(-2, Math.min(2, (d >= 0 ? whole : -whole) / 2));
}

function curvePaths(emotions, scale) {
  const top = (s) => scale.find((x) => x.score === s).top;
  const paths = [];
  let current = [];
  emotions.forEach((s, i) => {
    if (s === null || s === undefined) {
      if (current.length > 1) paths.push(current.join(" "));
      current = [];
      return;
    }
    current.push((current.length ? "L" : "M") + `${i * 100 + 50},${top(s)}`);
  });
  if (current.length > 1) paths.push(current.join(" "));
  return paths;
}

function render({ model, el }) {
  const root = h("div", { class: "wb-mc", "data-lm-suppress-shortcuts": "true" });
  el.appendChild(root);
  const themeStyle = h("style");
  const personaPick = h("select", { class: "wb-mc__persona", "aria-label": "Persona" });
  // The persona's maps: its general map and one per ICP it has a map for; and an ICP map
  // started from the general map. Shown only when the workspace has ICPs.
  const mapPick = h("select", { class: "wb-mc__map", "aria-label": "Map: general or for an ICP" });
  const startPick = h("select", { class: "wb-mc__start-pick",
    "aria-label": "ICP to start a map for, from the persona's general map" });
  const startBtn = h("button", { class: "wb-mc__start", type: "button", text: "Start ICP map",
    "aria-label": "Start a map for the chosen ICP, from the persona's general map" });
  const mapLabel = h("label", { class: "wb-mc__map-label" }, "Map ", mapPick);
  const startGroup = h("span", { class: "wb-mc__start-group", role: "group", "aria-label": "Start an ICP map" },
    startPick, startBtn);
  const undoBtn = h("button", { class: "wb-mc__undo", type: "button", text: "Undo" });
  const redoBtn = h("button", { class: "wb-mc__redo", type: "button", text: "Redo" });
  const presentBtn = h("button", {
    class: "wb-mc__present", type: "button", text: "Present (P)",
    "aria-label": "Present the map full screen (P); Esc or E comes back to editing",
  });
  const status = h("span", { class: "wb-mc__status", role: "status", "aria-live": "polite" });
  const toolbar = h(
    "div", { class: "wb-mc__toolbar" },
    h("label", {}, "Persona ", personaPick), mapLabel, startGroup, undoBtn, redoBtn, presentBtn, status,
  );
  const help = h("p", {
    class: "wb-mc__help",
    text: "Click a cell (or Tab to it and press Enter) to edit it: one item per line, Enter "
      + "saves, Shift+Enter starts a new line, Esc cancels. Drag an emotion point up or down, "
      + "or focus it and use the arrow keys (Delete: not scored).",
  });
  const generalError = h("div", { class: "wb-mc__error wb-mc__error--general", role: "alert" });
  const host = h("div", { class: "wb-mc__host" });
  const hint = h("div", {
    class: "wb-mc__present-hint", role: "note",
  });
  root.append(themeStyle, toolbar, help, generalError, host, hint);

  let seq = 0;
  let editing = null; // {lane, stage, draft, selStart, selEnd} or {lane: "touchpoints", stage, ...}
  const pending = new Map(); // seq -> performance.now() at the gesture
  let keyTimer = null;

  function send(msg) {
    seq += 1;
    const layout = model.get("map_data");
    // A gesture names the map it was made on (a key held while the persona changes).
    model.send({ persona: layout.persona_id, icp: layout.icp || null, ...msg, seq });
    return seq;
  }

  function stageName(layout, sid) {
    const s = (layout.stages || []).find((x) => x.id === sid);
    return s ? s.name : sid;
  }

  // ---------------------------------------------------------------- toolbar
  personaPick.addEventListener("change", () => {
    editing = null;
    model.set("persona", personaPick.value);
    model.set("icp", null); // another persona: its general map
    model.save_changes();
  });
  mapPick.addEventListener("change", () => {
    editing = null;
    model.set("icp", mapPick.value || null);
    model.save_changes();
  });
  startBtn.addEventListener("click", () => {
    if (!startPick.value) {
      startPick.focus();
      return;
    }
    editing = null;
    send({ op: "map-start", icp: startPick.value, persona: model.get("persona") });
  });
  undoBtn.addEventListener("click", () => send({ op: "undo" }));
  redoBtn.addEventListener("click", () => send({ op: "redo" }));
  presentBtn.addEventListener("click", () => present(true));

  let pickerSig = "";
  function drawToolbar() {
    const personas = model.get("personas") || [];
    const current = model.get("persona");
    const maps = model.get("maps") || [];
    const icps = model.get("icps") || [];
    const icp = model.get("icp") || null;
    const sig = JSON.stringify([personas, current, maps, icps, icp]);
    if (sig !== pickerSig) { // rebuilt only when it changed: an open list stays open
      pickerSig = sig;
      personaPick.replaceChildren(
        ...personas.map((p) => h("option", { value: p.id, selected: p.id === current, text: p.name })),
      );
      personaPick.value = current || "";
      const mine = maps.filter((m) => m.persona === current && m.icp);
      const names = Object.fromEntries(icps.map((i) => [i.id, i.name]));
      mapPick.replaceChildren(
        h("option", { value: "", selected: !icp, text: "General" }),
        ...mine.map((m) => h("option", { value: m.icp, selected: m.icp === icp, text: names[m.icp] || m.icp })),
      );
      mapPick.value = icp || "";
      const have = new Set(mine.map((m) => m.icp));
      const open = icps.filter((i) => !have.has(i.id));
      const chosen = startPick.value;
      startPick.replaceChildren(
        h("option", { value: "", text: "ICP for a new map\u2026" }),
        ...open.map((i) => h("option", { value: i.id, text: i.name })),
      );
      startPick.value = open.some((i) => i.id === chosen) ? chosen : "";
      mapLabel.hidden = !icps.length || !current;
      startGroup.hidden = !open.length || !current;
    }
    undoBtn.disabled = !model.get("can_undo");
    redoBtn.disabled = !model.get("can_redo");
    const said = model.get("status") || "";
    status.textContent = said;
    // the form's status line, in its colours: green when saved, red when not
    status.classList.toggle("wb-mc__status--not-saved", said.startsWith("Not saved"));
  }

  // ---------------------------------------------------------------- presentation mode
  function present(on) {
    if (on === root.classList.contains("wb-mc--present")) return;
    editing = null;
    part = 0;
    root.classList.toggle("wb-mc--present", on);
    if (on) {
      root.setAttribute("tabindex", "-1");
      root.focus({ preventScroll: true });
      if (root.requestFullscreen && !document.fullscreenElement) {
        root.requestFullscreen().catch(() => {}); // refused (no gesture): the CSS still fills the window
      }
    } else if (document.fullscreenElement === root) {
      document.exitFullscreen().catch(() => {});
    }
    draw();
    if (!on) presentBtn.focus({ preventScroll: true });
  }
  const onFullscreen = () => {
    if (!document.fullscreenElement && root.classList.contains("wb-mc--present")) present(false);
    // Full screen is granted after the first fit, and the map's box may change with it (in
    // JupyterLab a contained panel, not the window, held the map until then): fit again.
    else if (document.fullscreenElement === root) fitPresentation();
  };
  document.addEventListener("fullscreenchange", onFullscreen);

  // The whole map on the screen: presentation mode sets the map's unit (--wb-mc-u, one pixel
  // of the report's map; see mapcanvas.css) to the largest size at which the map, header,
  // stage row and legend included, fits the window's height (its width always fits: the
  // stages share it). Smaller type wraps less, so sizes are measured, not taken as ratios.
  // The bounds keep the type readable from the back of the room and in proportion to the
  // screen (a 1920x1080 projector shows what a 1366x768 one does, only sharper): the cells'
  // text (13 units) between 12px and 18px on a 1366x768 screen, times the smaller of width
  // / 1366 and height / 768 on another (16.9px to 25.3px at 1920x1080). Below 12px on a
  // 1366-wide projector a line is about 15mm high on a 2.5m-wide screen: the back row of a
  // meeting room no longer reads it, so a map too tall for one screen at that size is not
  // shrunk further: its lanes are shown in parts (stage headers, header and legend on every
  // part; the emotion curve stays with the thoughts), as few parts as that smallest type
  // allows, each part then in the largest type that fills the screen; the down and up
  // arrows (Page Down, Page Up, Space) go from part to part.
  // Only a single lane taller than the screen at the smallest size scrolls.
  const PRESENT_MIN = 12 / 13;
  const PRESENT_MAX = 18 / 13;
  const KEYS = "\u2190 \u2192 persona \u00b7 Esc or E: back to editing";
  // With ICP maps the arrows go through every map, and the hint first names the one shown.
  const withMaps = () => (model.get("maps") || []).some((m) => m.icp);
  const keys = () => (withMaps() ? "\u2190 \u2192 map \u00b7 Esc or E: back to editing" : KEYS);
  const mapName = () => {
    if (!withMaps()) return "";
    const icp = model.get("icp") || null;
    const shown = (model.get("maps") || []).find((m) => m.persona === model.get("persona") && (m.icp || null) === icp);
    return shown ? `${shown.label} \u00b7 ` : "";
  };
  let part = 0; // the part of the map shown in presentation mode
  let partCount = 1;
  function fitPresentation() {
    const section = host.querySelector("section.wb-map");
    const grid = section && section.querySelector(".wb-map__grid");
    for (const node of host.querySelectorAll(".wb-mc__off")) node.classList.remove("wb-mc__off");
    if (!root.classList.contains("wb-mc--present") || !section) {
      root.style.removeProperty("--wb-mc-u");
      for (const key of ["fitUnit", "fits", "part", "parts"]) delete root.dataset[key];
      hint.textContent = mapName() + keys();
      partCount = 1;
      return;
    }
    const screen = Math.min(root.clientWidth / 1366, root.clientHeight / 768);
    const style = getComputedStyle(root);
    const room = root.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    // The lanes as rows of the grid: the emotion curve goes with the thoughts above it.
    const groups = [];
    for (const head of grid ? grid.querySelectorAll(":scope > .wb-map__lane") : []) {
      if (head.dataset.lane === "emotion" && groups.length) groups[groups.length - 1].push(head);
      else groups.push([head]);
    }
    // One layout per size: a row is as tall as its lane's header cell (stretched to the row).
    const measure = (u) => {
      root.style.setProperty("--wb-mc-u", `${u}px`);
      const heights = groups.map((g) => g.reduce((sum, head) => sum + head.getBoundingClientRect().height, 0));
      const fixed = section.getBoundingClientRect().height - heights.reduce((a, b) => a + b, 0);
      return { fixed, heights };
    };
    // Consecutive lanes, as many as fit on each part; `fits` says whether every part fits
    // (a lane alone taller than the room makes a part of its own that does not).
    const split = ({ fixed, heights }) => {
      const parts = [];
      let current = [];
      let used = fixed;
      let fits = true;
      heights.forEach((height, i) => {
        if (current.length && used + height > room + 0.5) {
          parts.push(current);
          current = [];
          used = fixed;
        }
        current.push(i);
        used += height;
        if (used > room + 0.5) fits = false;
      });
      if (current.length || !parts.length) parts.push(current);
      parts.fits = fits;
      return parts;
    };
    // The same number of parts, cut where the tallest part is least tall: the lanes spread
    // evenly instead of a last part holding one short lane (a few lanes: every cut is tried).
    const balanced = ({ heights }, count) => {
      let best = null;
      let bestTallest = Infinity;
      const walk = (start, left, cuts, tallest) => {
        const end = left === 1 ? heights.length : null;
        for (let stop = end || start + 1; stop <= heights.length - left + 1; stop++) {
          const height = heights.slice(start, stop).reduce((a, b) => a + b, 0);
          const here = [...cuts, Array.from({ length: stop - start }, (_, k) => start + k)];
          if (left === 1) {
            if (Math.max(tallest, height) < bestTallest) [best, bestTallest] = [here, Math.max(tallest, height)];
          } else walk(stop, left - 1, here, Math.max(tallest, height));
        }
      };
      walk(0, count, [], 0);
      best.fits = true;
      return best;
    };
    const largest = PRESENT_MAX * screen;
    let lo = PRESENT_MIN * screen;
    let hi = largest;
    let parts = split(measure(hi));
    if (parts.length > 1 || !parts.fits) {
      // The fewest parts the smallest type needs (one when the whole map fits at some size
      // between the bounds: then the largest such size), cut evenly; each part is then shown
      // in the largest type it fits in (below).
      const least = split(measure(lo));
      if (least.length === 1 && least.fits) {
        for (let k = 0; k < 7; k++) { // to within 0.5% of the range: a tenth of a pixel of text
          const mid = (lo + hi) / 2;
          const trial = split(measure(mid));
          if (trial.length === 1 && trial.fits) lo = mid;
          else hi = mid;
        }
        parts = split(measure(lo));
      } else parts = least.fits ? balanced(measure(lo), least.length) : least;
    } else lo = hi;
    partCount = parts.length;
    part = Math.max(0, Math.min(part, parts.length - 1));
    const shown = new Set(parts[part].flatMap((i) => groups[i].map((head) => head.dataset.lane)));
    let unit = lo;
    if (parts.length > 1) {
      for (const node of grid.querySelectorAll(":scope > [data-lane]")) {
        if (!shown.has(node.dataset.lane)) node.classList.add("wb-mc__off");
      }
      // Each part fills the screen: the largest type it fits in, between the bounds.
      const fitsAt = (u) => {
        root.style.setProperty("--wb-mc-u", `${u}px`);
        return section.getBoundingClientRect().height <= room + 0.5;
      };
      if (fitsAt(lo)) {
        let top = largest;
        if (fitsAt(top)) unit = top;
        else {
          for (let k = 0; k < 7; k++) {
            const mid = (unit + top) / 2;
            if (fitsAt(mid)) unit = mid;
            else top = mid;
          }
        }
      }
      root.style.setProperty("--wb-mc-u", `${unit}px`);
    }
    const fits = section.getBoundingClientRect().height <= room + 0.5 && root.scrollWidth <= root.clientWidth;
    root.dataset.fitUnit = unit.toFixed(4);
    root.dataset.fits = String(fits);
    root.dataset.part = String(part + 1);
    root.dataset.parts = String(parts.length);
    const where = parts.length > 1 ? `Part ${part + 1} of ${parts.length}: \u2191 \u2193 part \u00b7 ` : "";
    hint.textContent = mapName() + where + (fits ? "" : "scroll for the rest \u00b7 ") + keys();
  }
  function switchPart(by) {
    const next = Math.max(0, Math.min(partCount - 1, part + by));
    if (next === part) return;
    part = next;
    fitPresentation();
    root.scrollTop = 0;
  }
  let fitFrame = 0;
  const onResize = () => {
    cancelAnimationFrame(fitFrame);
    fitFrame = requestAnimationFrame(fitPresentation);
  };
  window.addEventListener("resize", onResize);

  function switchPersona(by) {
    // Every map in order: each persona's general map, then its ICP maps.
    const maps = model.get("maps") || [];
    if (!maps.length) return;
    part = 0;
    const icp = model.get("icp") || null;
    const i = maps.findIndex((m) => m.persona === model.get("persona") && (m.icp || null) === icp);
    const next = maps[(i + by + maps.length) % maps.length];
    model.set("persona", next.persona);
    model.set("icp", next.icp || null);
    model.save_changes();
  }

  root.addEventListener("keydown", (ev) => {
    const inField = ev.target.closest("textarea, input, select");
    const plain = !ev.ctrlKey && !ev.metaKey && !ev.altKey;
    if (root.classList.contains("wb-mc--present")) {
      if (plain) ev.stopPropagation(); // nothing typed while presenting reaches the notebook
      if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
        switchPersona(ev.key === "ArrowRight" ? 1 : -1);
      } else if (ev.key === "ArrowDown" || ev.key === "PageDown" || ev.key === " ") {
        switchPart(1);
      } else if (ev.key === "ArrowUp" || ev.key === "PageUp") {
        switchPart(-1);
      } else if (ev.key === "Escape" || ev.key === "e" || ev.key === "E") {
        present(false);
      } else return;
      ev.preventDefault();
      return;
    }
    if (inField) return;
    // A plain key typed on the map is the map's: in JupyterLab it must not reach the
    // notebook's command-mode shortcuts (D D deletes the cell holding the map, M makes it
    // markdown...). Tab still moves the focus; Ctrl and Cmd combinations (save) pass.
    if (plain && ev.key !== "Tab") ev.stopPropagation();
    if ((ev.key === "p" || ev.key === "P") && plain) {
      present(true);
    } else if ((ev.ctrlKey || ev.metaKey) && (ev.key === "z" || ev.key === "Z")) {
      send({ op: ev.shiftKey ? "redo" : "undo" });
    } else if ((ev.ctrlKey || ev.metaKey) && (ev.key === "y" || ev.key === "Y")) {
      send({ op: "redo" });
    } else return;
    ev.preventDefault();
    ev.stopPropagation();
  });

  // ---------------------------------------------------------------- the map
  let drawToken = 0;
  function scheduleDraw() {
    const token = ++drawToken;
    queueMicrotask(() => { if (token === drawToken) draw(); });
  }

  // What was drawn last: the map's structure and, per part (a cell, the curve), a signature
  // of what it shows and its node. A new map of the same structure replaces only the parts
  // whose signature changed (a drag redraws the curve, not the hundred touchpoints above it).
  let built = null;
  const dirty = new Set(); // parts a gesture changed on the page itself: redrawn in any case

  function draw() {
    drawMap();
    fitPresentation();
  }

  function drawMap() {
    drawToken += 1; // a draw already scheduled is not needed any more
    const layout = model.get("map_data") || {};
    const error = model.get("error") || {};
    const presenting = root.classList.contains("wb-mc--present");
    const focused = document.activeElement && root.contains(document.activeElement)
      ? document.activeElement.getAttribute("data-focus-key") : null;
    const css = model.get("theme_css") || "";
    if (themeStyle.textContent !== css) themeStyle.textContent = css;
    const logo = model.get("logo") || "";
    drawToolbar();
    const general = error.message && !error.stage ? error.message : "";
    if (generalError.textContent !== general) generalError.textContent = general;
    const editable = (lane) => !presenting && (TEXT_LANES.includes(lane.id) || lane.id === "touchpoints");
    const asPlaceholder = (lane) => lane.empty && !editable(lane) && !(lane.id === "thoughts" && layout.has_emotions);
    const struct = JSON.stringify([
      presenting, layout.placeholder || null, layout.title, layout.persona_summary, layout.client, logo,
      (layout.stages || []).map((x) => [x.id, x.name, x.selling_action]),
      (layout.lanes || []).map((l) => [l.id, l.title, l.placeholder, asPlaceholder(l)]),
    ]);
    // The parts that can change alone, each with how to draw it and its signature.
    const parts = [];
    for (const lane of layout.placeholder ? [] : layout.lanes || []) {
      if (!asPlaceholder(lane)) {
        for (const cell of lane.cells) {
          const { emotion, ...shown } = cell; // drawn on the curve, not in the cell
          const here = editing && editing.lane === lane.id && editing.stage === cell.stage;
          const err = error.stage === cell.stage && error.lane === lane.id ? [error.message, error.seq] : "";
          parts.push({
            key: `cell:${lane.id}:${cell.stage}`,
            // the touchpoint panel also shows the inventory and the marks: always redrawn
            sig: here && lane.id === "touchpoints" ? NaN
              : JSON.stringify([shown, here, err, layout.short_name, lane.title]),
            make: () => drawCell(layout, lane, cell, editable(lane), error),
          });
        }
      }
      if (lane.id === "thoughts") {
        const err = error.lane === "emotion" ? [error.stage, error.message, error.seq] : "";
        parts.push({
          key: "curve",
          sig: JSON.stringify([layout.emotions, layout.curve, layout.scale, err, layout.short_name]),
          make: () => drawCurve(layout, presenting, error),
        });
      }
    }
    if (built && built.struct === struct && host.firstChild === built.section
        && parts.every((p) => built.parts.has(p.key))) {
      for (const part of parts) {
        const old = built.parts.get(part.key);
        if (old.sig === part.sig && !dirty.has(part.key)) continue; // NaN never equals itself
        const node = part.make();
        old.node.replaceWith(node);
        built.parts.set(part.key, { sig: part.sig, node });
      }
      dirty.clear();
      restoreFocus(focused);
      return;
    }
    dirty.clear();
    const nodes = new Map(parts.map((p) => [p.key, { sig: p.sig, node: p.make() }]));
    const section = h("section", {
      class: "wb-map", "aria-label": layout.title || "Journey map",
      style: layout.stages && layout.stages.length ? `--wb-stages: ${layout.stages.length}` : null,
    });
    built = { struct, section, parts: nodes };
    const head = h("header", { class: "wb-map__head" });
    if (logo) head.append(h("img", { src: logo, alt: `${layout.client} logo` }));
    head.append(h("div", {}, h("h2", { text: layout.title || "" }),
      layout.persona_summary ? h("p", { text: layout.persona_summary }) : null));
    if (layout.client) head.append(h("div", { class: "wb-map__client", text: layout.client }));
    section.append(head);
    if (layout.placeholder) {
      section.append(h("div", { class: "wb-map__empty", role: "note", text: layout.placeholder }));
      host.replaceChildren(section);
      return;
    }
    const grid = h("div", { class: "wb-map__grid", role: "table", "aria-label": layout.title });
    grid.append(h("div", { class: "wb-map__corner", role: "columnheader", text: "Stage" }));
    for (const x of layout.stages) {
      grid.append(h("div", { class: "wb-map__stage", role: "columnheader", "data-stage": x.id },
        x.name, x.selling_action ? h("small", { text: x.selling_action }) : null));
    }
    for (const lane of layout.lanes) {
      grid.append(h("div", { class: "wb-map__lane", role: "rowheader", "data-lane": lane.id, text: lane.title }));
      if (asPlaceholder(lane)) {
        grid.append(h("div", { class: "wb-map__placeholder", role: "cell", "data-lane": lane.id, text: lane.placeholder }));
      } else {
        lane.cells.forEach((cell) => grid.append(nodes.get(`cell:${lane.id}:${cell.stage}`).node));
      }
      if (lane.id === "thoughts") {
        grid.append(h("div", { class: "wb-map__lane", role: "rowheader", "data-lane": "emotion" },
          "Emotion", h("span", { class: "wb-map__scale", text: "+2 delighted to \u22122 frustrated" })));
        grid.append(nodes.get("curve").node);
      }
    }
    section.append(grid);
    section.append(h("div", { class: "wb-map__legend" },
      h("span", {}, h("span", { class: "wb-mark wb-mark--best-moment", text: "\u2605 Best moment" })),
      h("span", {}, h("span", { class: "wb-mark wb-mark--worst-struggle", text: "\u25bc Worst struggle" })),
      h("span", { text: "Orange bar: a recommendation, next to the touchpoint it fixes" }),
      h("span", { text: "Circles: emotion score per stage, \u22122 to +2" })));
    host.replaceChildren(section);
    restoreFocus(focused);
  }

  function restoreFocus(key) {
    if (editing && editing.lane !== "touchpoints") {
      const area = host.querySelector(".wb-mc__editor textarea");
      if (area) {
        area.focus({ preventScroll: true });
        area.setSelectionRange(editing.selStart, editing.selEnd);
        return;
      }
    }
    if (key) {
      const node = root.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
      if (node) node.focus({ preventScroll: true });
    }
  }

  function marksOf(list) {
    const out = [];
    for (const a of list || []) {
      out.push(h("span", { class: `wb-mark wb-mark--${a.kind}`, text: a.label }));
      if (a.note) out.push(h("span", { class: "wb-map__note", text: a.note }));
    }
    return out;
  }

  function recBox(r) {
    return h("div", { class: `wb-rec wb-rec--${r.priority}`, "data-recommendation": r.id },
      r.text, h("span", { class: "wb-rec__meta", text: r.priority_label + (r.owner ? ` \u00b7 ${r.owner}` : "") }));
  }

  function cellContent(cell) {
    const out = [...marksOf(cell.annotations)];
    if (cell.texts.length) out.push(h("ul", {}, cell.texts.map((t) => h("li", { text: t }))));
    for (const tp of cell.touchpoints) {
      out.push(h("div", { class: "wb-tp", "data-touchpoint": tp.id },
        h("span", { class: "wb-tp__name", text: tp.name }),
        h("span", { class: "wb-tp__channel", text: tp.channel_label }),
        ...(tp.annotations || []).flatMap((a) => [" ", ...marksOf([a])]),
        ...(tp.recommendations || []).map(recBox)));
    }
    for (const [label, value] of cell.values) {
      out.push(h("div", { class: "wb-kpi" }, h("span", { text: label }), h("b", { text: value })));
    }
    for (const r of cell.recommendations) out.push(recBox(r));
    if (cell.empty) out.push(h("span", { "aria-label": "nothing recorded", text: "\u2013" }));
    return out;
  }

  function drawCell(layout, lane, cell, editable, error) {
    const key = `cell:${lane.id}:${cell.stage}`;
    const where = `${layout.short_name}, ${stageName(layout, cell.stage)}, ${lane.title}`;
    const node = h("div", {
      class: `wb-map__cell${cell.empty ? " wb-map__cell--empty" : ""}${editable ? " wb-mc__cell" : ""}`,
      role: "cell", "data-lane": lane.id, "data-stage": cell.stage,
    });
    const isEditing = editable && editing && editing.lane === lane.id && editing.stage === cell.stage;
    if (isEditing && lane.id !== "touchpoints") {
      node.append(textEditor(where, lane, cell));
    } else {
      node.append(...cellContent(cell));
      if (editable) {
        const count = lane.id === "touchpoints" ? cell.touchpoints.length : cell.texts.length;
        node.setAttribute("tabindex", "0");
        node.setAttribute("data-focus-key", key);
        // The label replaces the cell's content for a screen reader: it carries the items.
        const items = lane.id === "touchpoints" ? cell.touchpoints.map((t) => t.name) : cell.texts;
        const said = count ? `${items.join("; ")}` : "nothing yet";
        node.setAttribute("aria-label", `${where} (${count} item${count === 1 ? "" : "s"}): ${said}. Press Enter to edit.`);
        const open = () => {
          // Another cell's text still being typed is saved first, never dropped.
          if (editing && editing.draft !== undefined && editing.draft !== editing.original) {
            send({ op: "text", stage: editing.stage, lane: editing.lane, text: editing.draft, persona: editing.persona, icp: editing.icp });
          }
          const original = cell.texts.join("\n");
          if (lane.id === "touchpoints") editing = { lane: lane.id, stage: cell.stage, rec: false };
          else editing = { lane: lane.id, stage: cell.stage, draft: original, original, selStart: 0, selEnd: 0, persona: layout.persona_id, icp: layout.icp || null };
          if (editing.draft !== undefined) editing.selStart = editing.selEnd = editing.draft.length;
          draw();
          // The panel's first control takes the focus (the text box takes it in restoreFocus).
          const first = root.querySelector(".wb-mc__panel select.wb-mc__tp-pick");
          if (first) first.focus({ preventScroll: true });
        };
        node.addEventListener("click", (ev) => {
          if (ev.target.closest(".wb-mc__panel")) return;
          if (!(editing && editing.lane === lane.id && editing.stage === cell.stage)) open();
        });
        node.addEventListener("keydown", (ev) => {
          if (ev.target === node && ev.key === "Enter") {
            ev.preventDefault();
            ev.stopPropagation();
            open();
          }
        });
      }
      if (isEditing) node.append(touchpointPanel(layout, cell, where));
    }
    if (error.message && error.stage === cell.stage && error.lane === lane.id) {
      node.append(h("div", { class: "wb-mc__error", role: "alert", text: error.message }));
    }
    return node;
  }

  function textEditor(where, lane, cell) {
    const { persona, icp } = editing;
    const area = h("textarea", {
      class: "wb-mc__text", rows: Math.max(3, editing.draft.split("\n").length + 1),
      placeholder: `${lane.title}: one item per line`,
      "aria-label": `${where}, one item per line. Enter saves, Shift+Enter new line, Esc cancels.`,
    });
    area.value = editing.draft;
    let closed = false;
    const commit = (refocus) => {
      if (closed) return;
      closed = true;
      const text = area.value;
      editing = null;
      if (text !== cell.texts.join("\n")) {
        send({ op: "text", stage: cell.stage, lane: lane.id, text, persona, icp });
      }
      draw();
      // After Enter the cell has the focus again; after Tab or a click, where it went.
      const back = root.querySelector(`[data-focus-key="cell:${lane.id}:${cell.stage}"]`);
      if (refocus && back) back.focus({ preventScroll: true });
    };
    area.addEventListener("input", () => {
      editing.draft = area.value;
      editing.selStart = area.selectionStart;
      editing.selEnd = area.selectionEnd;
    });
    area.addEventListener("keydown", (ev) => {
      ev.stopPropagation(); // typing is not a notebook shortcut
      if (ev.key === "Enter" && !ev.shiftKey) {
        ev.preventDefault();
        commit(true);
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        closed = true;
        editing = null;
        draw();
        const back = root.querySelector(`[data-focus-key="cell:${lane.id}:${cell.stage}"]`);
        if (back) back.focus({ preventScroll: true });
      }
    });
    // Focus leaving the box saves, as the step forms' fields do (never a silent loss).
    area.addEventListener("blur", () => {
      if (!closed && editing && editing.lane === lane.id && editing.stage === cell.stage
          && document.hasFocus() && area.isConnected) setTimeout(() => {
        if (!closed && area.isConnected && document.activeElement !== area) commit(false);
      }, 0);
    });
    return h("div", { class: "wb-mc__editor" }, area,
      h("span", { class: "wb-mc__keys", text: "Enter saves \u00b7 Shift+Enter new line \u00b7 Esc cancels" }));
  }

  function button(text, label, onclick, extra) {
    // The label is also the tooltip: the symbols (arrows, star, cross) say it to the eye.
    return h("button", { type: "button", class: "wb-mc__btn", "aria-label": label, title: label, text, onclick, ...(extra || {}) });
  }

  function touchpointPanel(layout, cell, where) {
    const sid = cell.stage;
    const sname = stageName(layout, sid);
    const who = layout.short_name;
    const marks = layout.annotations.filter((a) => !a.derived);
    const marked = (kind, tid) => marks.some((a) => a.kind === kind && a.stage === sid && (a.touchpoint || null) === tid);
    const markBtn = (kind, tid, name) => {
      const on = marked(kind, tid);
      const word = kind === "best-moment" ? "best moment" : "worst struggle";
      return button(kind === "best-moment" ? "\u2605" : "\u25bc",
        `${who}, ${sname}, ${name}: ${on ? "unmark" : "mark"} as the ${word}`,
        () => send(on ? { op: "unmark", kind } : { op: "mark", kind, stage: sid, touchpoint: tid, note: noteBox.value || null }),
        { "aria-pressed": on ? "true" : "false", class: `wb-mc__btn wb-mc__mark wb-mc__mark--${kind}` });
    };
    const noteBox = h("input", { type: "text", class: "wb-mc__note", placeholder: "note for the mark (optional)",
      "aria-label": `${who}, ${sname}: note for the best moment or worst struggle` });
    const rows = cell.touchpoints.map((tp, i) => h("li", { class: "wb-mc__tp", "data-touchpoint": tp.id },
      h("span", { class: "wb-mc__tpname", text: `${tp.name} (${tp.channel_label})` }),
      h("span", { class: "wb-mc__tpbtns" },
        button("\u2191", `${who}, ${sname}: move ${tp.name} up`, () => send({ op: "tp-move", stage: sid, touchpoint: tp.id, by: -1 }), { disabled: i === 0 }),
        button("\u2193", `${who}, ${sname}: move ${tp.name} down`, () => send({ op: "tp-move", stage: sid, touchpoint: tp.id, by: 1 }), { disabled: i === cell.touchpoints.length - 1 }),
        button("\u2715", `${who}, ${sname}: remove ${tp.name}`, () => send({ op: "tp-remove", stage: sid, touchpoint: tp.id }), { class: "wb-mc__btn wb-mc__tp-remove" }),
        markBtn("best-moment", tp.id, tp.name), markBtn("worst-struggle", tp.id, tp.name))));
    const shown = new Set(cell.touchpoints.map((t) => t.id));
    const inventory = layout.inventory.filter((t) => !shown.has(t.id));
    // The stage's own touchpoints first, then the rest of the inventory.
    inventory.sort((a, b) => (b.stages.includes(sid) ? 1 : 0) - (a.stages.includes(sid) ? 1 : 0));
    const addPick = h("select", { class: "wb-mc__tp-pick", "aria-label": `${who}, ${sname}: touchpoint to add` },
      h("option", { value: "", text: "add a touchpoint\u2026" }),
      inventory.map((t) => h("option", { value: t.id, text: `${t.name} (${t.channel_label})` })));
    const addBtn = button("Add", `${who}, ${sname}: add the touchpoint`, () => {
      if (addPick.value) send({ op: "tp-add", stage: sid, touchpoint: addPick.value });
    }, { class: "wb-mc__btn wb-mc__tp-add" });
    // A recommendation, next to a touchpoint or for the whole stage.
    const recText = h("input", { type: "text", class: "wb-mc__rec-text", placeholder: "what to do",
      "aria-label": `${who}, ${sname}: recommendation` });
    const recTp = h("select", { class: "wb-mc__rec-tp", "aria-label": "next to touchpoint" },
      cell.touchpoints.map((t) => h("option", { value: t.id, text: t.name })),
      h("option", { value: "", text: "the whole stage" }));
    const recPriority = h("select", { class: "wb-mc__rec-priority", "aria-label": "priority" },
      PRIORITIES.map(([v, t]) => h("option", { value: v, text: t, selected: v === "medium" })));
    const recOwner = h("input", { type: "text", class: "wb-mc__rec-owner", placeholder: "owner", "aria-label": "owner" });
    const recAdd = button("Add recommendation", `${who}, ${sname}: add the recommendation`, () => {
      const id = send({ op: "rec-add", stage: sid, touchpoint: recTp.value || null, text: recText.value,
        priority: recPriority.value, owner: recOwner.value });
      // Emptied once saved; a refused one keeps what was typed, with the reason beside it.
      editing.clearOnAck = { seq: id, keys: [recText, recOwner].map((c) => c.getAttribute("data-focus-key")) };
    }, { class: "wb-mc__btn wb-mc__rec-add" });
    const recs = [
      ...cell.touchpoints.flatMap((t) => t.recommendations.map((r) => [r, t.name])),
      ...(layout.lanes.find((l) => l.cells.some((c) => c.stage === sid && c.recommendations.length)) || { cells: [] })
        .cells.filter((c) => c.stage === sid).flatMap((c) => c.recommendations.map((r) => [r, "whole stage"])),
    ];
    const recRows = recs.map(([r, at]) => h("li", {},
      h("span", { text: `${r.text} (${r.priority_label}${r.owner ? ", " + r.owner : ""}; ${at})` }),
      button("\u2715", `remove the recommendation ${r.text}`, () => send({ op: "rec-remove", id: r.id }), { class: "wb-mc__btn wb-mc__rec-remove" })));
    const done = button("Done", `${where}: close`, () => { editing = null; draw(); focusCell("touchpoints", sid); }, { class: "wb-mc__btn wb-mc__done" });
    const panel = h("div", { class: "wb-mc__panel", role: "group", "aria-label": `${where}: edit` },
      h("div", { class: "wb-mc__panel-title", text: `${sname}: touchpoints, marks and recommendations` }),
      h("ul", { class: "wb-mc__tps" }, rows),
      h("div", { class: "wb-mc__row" }, addPick, addBtn),
      h("div", { class: "wb-mc__row" }, h("span", { text: "Whole stage:" }),
        markBtn("best-moment", null, "whole stage"), markBtn("worst-struggle", null, "whole stage"), noteBox),
      h("fieldset", { class: "wb-mc__rec" }, h("legend", { text: "Recommendation" }),
        recText, h("div", { class: "wb-mc__row" }, recTp), h("div", { class: "wb-mc__row" }, recPriority, recOwner), recAdd),
      recRows.length ? h("ul", { class: "wb-mc__recs" }, recRows) : null,
      done);
    panel.addEventListener("keydown", (ev) => {
      ev.stopPropagation();
      if (ev.key === "Escape") {
        editing = null;
        draw();
        focusCell("touchpoints", sid);
      }
    });
    // Every control keeps its focus and what was typed in it across a redraw (a save here
    // or in another view redraws the whole map while the panel is open).
    const drafts = editing.fields || (editing.fields = {});
    for (const control of panel.querySelectorAll("button, input, select")) {
      const key = `panel:${sid}:${control.className}:${control.getAttribute("aria-label")}`;
      control.setAttribute("data-focus-key", key);
      if (control.tagName === "BUTTON") continue;
      if (key in drafts && [...(control.options || [{ value: drafts[key] }])].some((o) => o.value === drafts[key])) {
        control.value = drafts[key];
      }
      const keep = () => { drafts[key] = control.value; };
      control.addEventListener("input", keep);
      control.addEventListener("change", keep);
    }
    const idx = layout.stages.findIndex((s) => s.id === sid);
    if (idx >= layout.stages.length - 2 && layout.stages.length > 2) panel.classList.add("wb-mc__panel--right");
    return panel;
  }

  function focusCell(lane, sid) {
    const node = root.querySelector(`[data-focus-key="cell:${lane}:${sid}"]`);
    if (node) node.focus({ preventScroll: true });
  }

  // ---------------------------------------------------------------- the emotion curve
  function drawCurve(layout, presenting, error) {
    const n = layout.stages.length;
    const scale = layout.scale;
    const emotions = layout.emotions.slice();
    const band = h("div", { class: "wb-map__curve", role: "group", "data-lane": "emotion",
      "aria-label": `Emotion curve: ${layout.curve.description}` });
    const svg = svgEl("svg", { viewBox: `0 0 ${n * 100} 100`, preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" });
    svg.append(svgEl("line", { x1: 0, x2: n * 100, y1: 50, y2: 50, stroke: "#8C959F", "stroke-dasharray": "4 4", "vector-effect": "non-scaling-stroke" }));
    const pathGroup = svgEl("g", {});
    svg.append(pathGroup);
    const drawPaths = () => {
      pathGroup.replaceChildren(...curvePaths(emotions, scale).map((d) => svgEl("path", {
        d, fill: "none", stroke: "var(--wb-primary)", "stroke-width": 3, "vector-effect": "non-scaling-stroke", "stroke-linejoin": "round",
      })));
    };
    drawPaths();
    band.append(svg);
    layout.curve.points.forEach((p, i) => {
      const stage = layout.stages[i];
      const where = `${layout.short_name}, ${stage.name}`;
      const pt = h("div", { class: `wb-pt${p.score === null ? " wb-pt--none" : ""}`, "data-stage": p.stage, title: p.title });
      const label = h("span", { class: "wb-pt__text" });
      pt.append(label);
      const show = (score) => {
        const step = scale.find((x) => x.score === score);
        pt.classList.toggle("wb-pt--none", score === null);
        pt.style.left = `${p.left}%`;
        pt.style.top = `${score === null ? 50 : step.top}%`;
        pt.style.background = score === null ? "" : step.fill;
        pt.style.color = score === null ? "" : step.ink;
        label.textContent = score === null ? "?" : step.text;
        if (!presenting) {
          pt.setAttribute("aria-valuenow", score === null ? "0" : String(score));
          pt.setAttribute("aria-valuetext", scoreWords(score));
          pt.setAttribute("aria-label", `${where}, emotion ${scoreWords(score)}`);
        }
      };
      for (const m of p.marks) {
        pt.append(h("span", { class: `wb-mark wb-mark--${m.kind} wb-pt__mark wb-pt__mark--${m.side}`,
          text: (m.kind === "best-moment" ? "\u2605 " : "\u25bc ") + m.label }));
      }
      show(p.score);
      band.append(pt);
      if (presenting) return;
      Object.entries({ role: "slider", tabindex: "0", "aria-valuemin": "-2", "aria-valuemax": "2",
        "aria-orientation": "vertical", "data-focus-key": `emotion:${p.stage}` })
        .forEach(([k, v]) => pt.setAttribute(k, v));
      pt.classList.add("wb-mc__pt");
      const commit = (score) => {
        if (score === layout.emotions[i]) return;
        const id = send({ op: "emotion", stage: p.stage, score, persona: layout.persona_id, icp: layout.icp || null });
        return id;
      };
      // Dragging: the point and the curve follow the pointer, snapped to half points.
      pt.addEventListener("pointerdown", (ev) => {
        if (ev.button !== 0) return;
        ev.preventDefault();
        pt.setPointerCapture(ev.pointerId);
        pt.focus({ preventScroll: true });
        pt.classList.add("wb-pt--dragging");
        const box = band.getBoundingClientRect();
        const at = (y) => snap((50 - ((y - box.top) / box.height) * 100) / 17.5);
        const move = (e) => {
          const t0 = performance.now();
          dirty.add("curve");
          emotions[i] = at(e.clientY);
          show(emotions[i]);
          drawPaths();
          requestAnimationFrame(() => timings.push({ kind: "local", ms: performance.now() - t0 }));
        };
        const up = (e) => {
          pt.removeEventListener("pointermove", move);
          pt.removeEventListener("pointerup", up);
          pt.removeEventListener("pointercancel", up);
          pt.classList.remove("wb-pt--dragging");
          const t0 = performance.now();
          awaitingSave = null;
          emotions[i] = at(e.clientY);
          const id = commit(emotions[i]);
          if (id) pending.set(id, t0);
        };
        pt.addEventListener("pointermove", move);
        pt.addEventListener("pointerup", up);
        pt.addEventListener("pointercancel", up);
      });
      pt.addEventListener("keydown", (ev) => {
        let score = emotions[i];
        if (ev.key === "ArrowUp" || ev.key === "ArrowRight") score = score === null ? 0 : Math.min(2, score + 0.5);
        else if (ev.key === "ArrowDown" || ev.key === "ArrowLeft") score = score === null ? 0 : Math.max(-2, score - 0.5);
        else if (ev.key === "Home") score = 2;
        else if (ev.key === "End") score = -2;
        else if (ev.key === "Delete" || ev.key === "Backspace") score = null;
        else return;
        ev.preventDefault();
        ev.stopPropagation();
        dirty.add("curve");
        emotions[i] = score;
        show(score);
        drawPaths();
        // Saved when the keys rest for a moment: one undo step per adjustment, not per press.
        clearTimeout(keyTimer);
        keyTimer = setTimeout(() => commit(score), 450);
      });
      if (p.score !== null) {
        const clear = button("\u2715", `${where}: clear the emotion (not scored)`, () => commit(null),
          { class: "wb-mc__btn wb-mc__clear", "data-stage": p.stage, style: `left: calc(${p.left}% + 22 * var(--wb-mc-u)); top: ${scale.find((x) => x.score === p.score).top}%` });
        band.append(clear);
      }
      if (error.message && error.lane === "emotion" && error.stage === p.stage) {
        band.append(h("div", { class: "wb-mc__error wb-mc__error--emotion", role: "alert", text: error.message,
          style: `left: ${(i / n) * 100}%; width: ${100 / n}%` }));
      }
    });
    return band;
  }

  // ---------------------------------------------------------------- wiring
  const onLayout = () => {
    const ack = (model.get("map_data") || {}).ack;
    const t0 = pending.get(ack);
    const clear = editing && editing.clearOnAck;
    if (clear && clear.seq === ack && !(model.get("error") || {}).message) {
      for (const key of clear.keys) delete editing.fields[key];
      editing.clearOnAck = null;
    }
    draw();
    if (t0 !== undefined) {
      pending.delete(ack);
      awaitingSave = { ack, t0 };
      requestAnimationFrame(() => timings.push({ kind: "roundtrip", ms: performance.now() - t0 }));
    }
  };
  let awaitingSave = null; // the last gesture redrawn, until the status line says it is saved
  const onSaved = () => {
    const status = model.get("status") || "";
    if (awaitingSave && status.startsWith("Saved")) {
      const { t0 } = awaitingSave;
      awaitingSave = null;
      timings.push({ kind: "saved", ms: performance.now() - t0 });
    }
  };
  const listeners = [
    ["change:map_data", onLayout], ["change:error", scheduleDraw], ["change:theme_css", scheduleDraw],
    ["change:logo", scheduleDraw], ["change:personas", drawToolbar], ["change:maps", drawToolbar],
    ["change:icps", drawToolbar], ["change:icp", drawToolbar], ["change:status", drawToolbar],
    ["change:status", onSaved], ["change:can_undo", drawToolbar], ["change:can_redo", drawToolbar],
  ];
  for (const [name, fn] of listeners) model.on(name, fn);
  // Presentation's fit on its own (a test times it).
  root.wbFit = fitPresentation;
  // A full local redraw of the same map, for the benchmark's baseline.
  root.wbRedraw = () => {
    const t0 = performance.now();
    built = null;
    draw();
    return new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now() - t0)));
  };
  draw();
  return () => {
    document.removeEventListener("fullscreenchange", onFullscreen);
    window.removeEventListener("resize", onResize);
    cancelAnimationFrame(fitFrame);
    clearTimeout(keyTimer);
    for (const [name, fn] of listeners) model.off(name, fn);
  };
}

export default { render };
