"""Validate: after each import, what moved. Every KPI measured, kept, and compared with the last.

The Validate phase of the method watches the journey once the changes are live. Each time the
data changes (a new import), :func:`monitor` measures every objective, KPI and key result the
workspace can compute (:func:`workbook.analytics.kpis`), keeps the measurement in
``data/kpi-history.json`` (the values only: numbers, no contact), and compares it with the
measurement before: a value that moved by the threshold or more, relative to the value before,
is *moved*. ``workbook monitor WORKSPACE`` prints what moved and exits 1 when something did,
so a scheduler can run it after each import.

A measurement is taken once per state of the data: the sources' hashes in the import manifest
say which data it was measured on, so running the monitor twice on the same data records
nothing new and compares the same two measurements again.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbook.exceptions import Problem, WorkbookError
from workbook.files import write_atomic

__all__ = [
    "DEFAULT_THRESHOLD",
    "HISTORY_FILE",
    "KEEP",
    "Move",
    "MonitorResult",
    "Revisit",
    "monitor",
    "revisit",
    "threshold_of",
    "untested",
]

#: Beside the imported data: the measurements, oldest first.
HISTORY_FILE = "kpi-history.json"
#: How many measurements are kept.
KEEP = 100
#: A value moved when it changed by this share of its value before (or more).
DEFAULT_THRESHOLD = 0.10


@dataclass(frozen=True)
class Move:
    """One KPI that moved: before and after, as measured."""

    id: str
    kind: str
    name: str
    metric: str
    unit: str
    before: float
    after: float

    @property
    def change(self) -> float:
        """The change relative to the value before (+0.25 = up a quarter); inf from 0."""
        if self.before == 0:
            return math.inf if self.after else 0.0
        return (self.after - self.before) / abs(self.before)

    def __str__(self) -> str:
        change = "new from 0" if math.isinf(self.change) else f"{self.change:+.0%}"
        return (
            f"{self.name} ({self.metric}): {_fmt(self.before, self.unit)} -> "
            f"{_fmt(self.after, self.unit)} ({change})"
        )


@dataclass
class MonitorResult:
    """What :func:`monitor` found.

    Attributes
    ----------
    first
        True when there was no measurement before this one (nothing to compare).
    recorded
        True when this run took a new measurement (the data changed since the last).
    moves
        The KPIs that moved past the threshold, largest change first.
    steady
        The KPIs measured both times that did not move past it, in the workspace's order.
    measured_at, compared_with
        When the measurement now and the one before were taken (ISO text; "" for none).
    """

    first: bool = False
    recorded: bool = False
    moves: list[Move] = field(default_factory=list)
    steady: list[Move] = field(default_factory=list)
    measured_at: str = ""
    compared_with: str = ""
    threshold: float = DEFAULT_THRESHOLD

    @property
    def moved(self) -> bool:
        return bool(self.moves)

    def lines(self) -> list[str]:
        if self.first and not self.recorded:
            return [
                f"no import since the first measurement ({self.measured_at[:10]}): "
                "nothing to compare with yet"
            ]
        if self.first:
            return ["first measurement of the KPIs kept; the next import will be compared with it"]
        since = f" since the measurement of {self.compared_with[:10]}"
        if not self.moves:
            return [f"no KPI moved by {self.threshold:.0%} or more{since}"]
        n = len(self.moves)
        return [f"{n} KPI{'s' if n != 1 else ''} moved by {self.threshold:.0%} or more{since}:"] + [
            f"  {m}" for m in self.moves
        ]


def _fmt(value: float, unit: str) -> str:
    return f"{value:.1f}%" if unit == "%" else f"{value:,.4g}{(' ' + unit) if unit else ''}"


def _data_state(workspace: Path) -> dict[str, Any]:
    from workbook.crm.storage import read_manifest

    sources = read_manifest(workspace).get("sources", {})
    return {sid: (e.get("sha256"), e.get("imported_at")) for sid, e in sorted(sources.items())}


def _measure(workspace: Path) -> dict[str, dict[str, Any]]:
    from workbook.analytics import kpis

    frame = kpis(workspace)
    out: dict[str, dict[str, Any]] = {}
    for r in frame.itertuples():
        if r.source != "data" or r.current != r.current:  # only what the data measures
            continue
        out[f"{r.kind}:{r.id}"] = {
            "kind": r.kind,
            "name": r.name,
            "metric": r.metric or "",
            "unit": r.unit or "",
            "value": float(r.current),
        }
    return out


def _history(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except ValueError:
        raise WorkbookError(
            f"{path}: not a KPI history this workbook wrote",
            [Problem("the file cannot be read as JSON", file=str(path))],
            hint="move the file aside; the next run starts a new history",
        ) from None
    return data if isinstance(data, list) else []


def threshold_of(workspace: str | Path) -> float:
    """The threshold the consultant set in the workspace (``validation.threshold``), else
    :data:`DEFAULT_THRESHOLD`."""
    from workbook.store import read_workspace

    return read_workspace(workspace).validation.threshold or DEFAULT_THRESHOLD


def monitor(
    workspace: str | Path, *, threshold: float | None = None, record: bool = True
) -> MonitorResult:
    """Measure every KPI the data gives, keep it, and say what moved since the last time.

    Parameters
    ----------
    threshold
        A KPI moved when ``|after - before| >= threshold x |before|`` (0.10: by a tenth of its
        value); from 0, any change is a move. ``None``: the workspace's own threshold
        (:func:`threshold_of`).
    record
        Keep the measurement when the data changed since the last one (``False``: compare
        only).
    """
    from workbook.crm.storage import recover

    root = Path(workspace)
    if not (root / "workspace.yaml").is_file():
        from workbook.exceptions import WorkspaceNotFoundError

        raise WorkspaceNotFoundError.from_path(str(root))
    recover(root)  # an import cut short is finished first
    if threshold is None:
        threshold = threshold_of(root)
    path = root / "data" / HISTORY_FILE
    history = _history(path)
    state = _data_state(root)
    result = MonitorResult(threshold=threshold)
    if history and history[-1].get("data") == json.loads(json.dumps(state)):
        current = history[-1]
        previous = history[-2] if len(history) > 1 else None
    else:
        current = {
            "at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "data": state,
            "values": _measure(root),
        }
        previous = history[-1] if history else None
        if record:
            (root / "data").mkdir(exist_ok=True)
            write_atomic(path, json.dumps((history + [current])[-KEEP:], indent=1) + "\n")
            result.recorded = True
    result.measured_at = str(current["at"])
    if previous is None:
        result.first = True
        return result
    result.compared_with = str(previous["at"])
    moves = []
    for key, now in current["values"].items():
        before = previous["values"].get(key)
        if before is None:
            continue
        b, a = float(before["value"]), float(now["value"])
        name, metric, unit = now["name"], now["metric"], now["unit"]
        move = Move(key.split(":", 1)[1], now["kind"], name, metric, unit, b, a)
        if (b == 0 and a != 0) or (b != 0 and abs(a - b) >= threshold * abs(b)):
            moves.append(move)
        else:
            result.steady.append(move)
    result.moves = sorted(moves, key=lambda m: -abs(m.change))
    return result


@dataclass(frozen=True)
class Revisit:
    """Where in the DDMADV cycle a moved KPI sends the consultant, and why."""

    phase: str  # a phase id of :data:`workbook.model.PHASES`
    direction: str  # "better", "worse" or "unknown" (no target to tell)
    reason: str


def revisit(move: Move, data: Any) -> Revisit:
    """The cycle phase to go back to for a KPI that moved (the Validate phase's "return to the
    cycle when a number moves").

    Which way is better is read from the item's baseline and target in the workspace
    ``data`` (:class:`~workbook.model.Workspace`): up when the target is above the baseline
    (or, with no baseline, above the value before), down otherwise.

    - worse: **Analyse**, go wide and deep again to find the component that moved it;
    - better and at or past the target: **Design and build**, make the change standard and
      plan the next one;
    - better, short of the target: **Validate**, keep watching, the change works;
    - no target: **Measure**, give it a target so better can be told from worse.
    """
    items: dict[tuple[str, str], Any] = {("objective", o.id): o for o in data.objectives}
    items.update({("kpi", k.id): k for k in data.measurement.kpis})
    items.update(
        {("key_result", kr.id): kr for okr in data.measurement.okrs for kr in okr.key_results}
    )
    item = items.get((move.kind, move.id))
    target = getattr(item, "target", None)
    if target is None:
        return Revisit(
            "measure", "unknown", "it has no target: give it one so better can be told from worse"
        )
    baseline = getattr(item, "baseline", None)
    start = move.before if baseline is None else baseline
    up = target >= start
    better = move.after > move.before if up else move.after < move.before
    if not better:
        return Revisit(
            "analyse",
            "worse",
            "it moved away from its target: go wide and deep again to find what moved it",
        )
    if (move.after >= target) if up else (move.after <= target):
        return Revisit(
            "design",
            "better",
            "it reached its target: make the change standard and design the next one",
        )
    return Revisit(
        "validate", "better", "it moves towards its target but is not there yet: keep watching"
    )


def untested(data: Any) -> tuple[list[str], list[str]]:
    """The key processes (all processes when none is marked key) and the channels of the
    workspace's touchpoints that no launch check covers, by name."""
    from workbook.model import CHANNELS

    checks = data.validation.launch
    tested_processes = {c.process for c in checks if c.process}
    channel_of = {t.id: t.channel for t in data.touchpoints}
    tested_channels = {channel_of.get(c.touchpoint) for c in checks if c.touchpoint}
    # a process check covers the channels of its touchpoints too
    for p in data.processes:
        if p.id in tested_processes:
            tested_channels |= {channel_of.get(t) for t in p.touchpoints}
    key = [p for p in data.processes if p.key] or list(data.processes)
    processes = [p.name for p in key if p.id not in tested_processes]
    channels: list[str] = []
    for t in data.touchpoints:
        name = CHANNELS.get(t.channel, t.channel)
        if t.channel not in tested_channels and name not in channels:
            channels.append(name)
    return processes, channels
