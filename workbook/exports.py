"""The numbers behind a report's charts and tables, as a spreadsheet and as CSV files.

Each table is a pandas DataFrame with a name (the heading it has in the report) and headers
that carry their unit ("Ever reached (contacts)", "Median days"). :func:`xlsx_bytes` writes
them as one XLSX workbook, one sheet per table; :func:`write_data` puts that workbook on disk
with the same sheets as CSV files in a folder beside it.

Every text cell is made plain first (:func:`workbook.files.plain_frame`: a text starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``), and every text
cell of the workbook is typed as text, so no cell is ever a formula, whatever a client typed
into a persona or touchpoint name.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbook.files import atomic_path, plain_cell, plain_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CAMPAIGN_SHEETS",
    "XLSX_TYPE",
    "campaign_tables",
    "sheet_names",
    "tables_from_xlsx",
    "write_csv",
    "write_data",
    "xlsx_bytes",
]

#: The media type of an XLSX workbook (for a ``data:`` link).
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Excel's longest sheet name.
_MAX = 31
#: Characters Excel refuses in a sheet name.
_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def sheet_names(names: Sequence[str]) -> list[str]:
    """Names Excel accepts for ``names``, in order: forbidden characters become spaces or
    dashes, each is cut to 31 characters, and repeats (Excel ignores case) get a number."""
    out: list[str] = []
    taken: set[str] = set()
    for raw in names:
        name = _FORBIDDEN.sub(lambda m: "-" if m.group() in "/\\" else " ", raw.replace(":", " -"))
        name = re.sub(r"\s+", " ", name).strip().strip("'").strip() or "Table"
        if name.lower() == "history":  # reserved by Excel
            name = "History (table)"
        name = name[:_MAX].rstrip()
        candidate, n = name, 2
        while candidate.lower() in taken:
            tail = f" ({n})"
            candidate = name[: _MAX - len(tail)].rstrip() + tail
            n += 1
        taken.add(candidate.lower())
        out.append(candidate)
    return out


def _cell(value: Any) -> Any:
    """A value openpyxl can write: NaN and pandas' NA become empty, numpy numbers plain."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def xlsx_bytes(tables: Sequence[tuple[str, pd.DataFrame]]) -> bytes:
    """An XLSX workbook with one sheet per ``(name, frame)``, headers in bold.

    Text cells are made plain (:func:`~workbook.files.plain_frame`) and typed as text, so
    none is read as a formula. A workbook with no table has one sheet saying so.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    bold = Font(bold=True)
    names = sheet_names([name for name, _ in tables])
    for name, (_, frame) in zip(names, tables, strict=True):
        sheet = book.create_sheet(name)
        safe = plain_frame(frame)
        rows: list[list[Any]] = [[str(c) for c in safe.columns]]
        rows += [[_cell(v) for v in row] for row in safe.itertuples(index=False, name=None)]
        for r, values in enumerate(rows, start=1):
            for c, value in enumerate(values, start=1):
                cell = sheet.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.value = plain_cell(value)
                    cell.data_type = "s"  # text, never a formula
                if r == 1:
                    cell.font = bold
        for c, header in enumerate(rows[0], start=1):
            longest = max(len(str(row[c - 1] or "")) for row in rows)
            sheet.column_dimensions[sheet.cell(row=1, column=c).column_letter].width = min(
                60, max(10, longest + 2, len(header) + 2)
            )
        sheet.freeze_panes = "A2"
        # printed (or turned into a PDF) each sheet is one page wide, in landscape
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_title_rows = "1:1"
    if not tables:
        sheet = book.create_sheet("No tables")
        cell = sheet.cell(row=1, column=1, value="This report has no chart or table yet.")
        cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def tables_from_xlsx(data: bytes) -> list[tuple[str, list[list[Any]]]]:
    """The sheets of an XLSX workbook as ``(name, rows)``, each row a list of cell values."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        return [
            (sheet.title, [list(row) for row in sheet.iter_rows(values_only=True)])
            for sheet in book.worksheets
        ]
    finally:
        book.close()


def _csv_name(number: int, sheet: str) -> str:
    """``02-funnel-and-flow-moves.csv``: the sheet's place in the workbook, then its name."""
    words = re.findall(r"\w+", sheet.lower())
    return f"{number:02d}-" + ("-".join(words) or "table") + ".csv"


def write_data(data: bytes, xlsx: Path, folder: Path) -> list[Path]:
    """Write the workbook ``data`` to ``xlsx`` and each of its sheets as a CSV in ``folder``.

    The CSV files (UTF-8 with a byte-order mark, so Excel reads accents right) hold the same
    cells as the sheets, and the CSV files of an earlier run that this one does not write
    are removed. Every file is written whole (:func:`~workbook.files.atomic_path`). Returns
    the files written, the workbook first.
    """
    with atomic_path(xlsx) as tmp:
        tmp.write_bytes(data)
    return [xlsx, *write_csv(data, folder)]


def write_csv(data: bytes, folder: Path) -> list[Path]:
    """Each sheet of the workbook ``data`` as a CSV file in ``folder`` (made if missing), as
    :func:`write_data` writes them; CSV files of an earlier run not written now are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    names: list[str] = []
    for number, (sheet, rows) in enumerate(tables_from_xlsx(data), start=1):
        name = _csv_name(number, sheet)
        names.append(name)
        with (
            atomic_path(folder / name) as tmp,
            tmp.open("w", encoding="utf-8-sig", newline="") as f,
        ):
            writer = csv.writer(f)
            for row in rows:
                writer.writerow(["" if v is None else plain_cell(v) for v in row])
        written.append(folder / name)
    for old in folder.glob("*.csv"):
        if old.name not in names:
            old.unlink()
    return written


# ------------------------------------------------------------ the campaign control sheet

#: The campaign control sheet's parts, in the order of its sheets.
CAMPAIGN_SHEETS = ("SEO targets", "Planned content", "Social calendar", "Channel mix")


def campaign_tables(data: Any) -> list[tuple[str, pd.DataFrame]]:
    """The campaign control sheet of a workspace (:class:`~workbook.model.Workspace`) as
    four tables, one per part (:data:`CAMPAIGN_SHEETS`), for a marketing team.

    Stages, personas and channels are shown by name; dates as dates; the share of a channel
    in per cent. Content and posts are in date order (undated last), the channel mix by
    persona and largest share first.
    """
    import pandas as pd

    from workbook.model import CHANNELS

    stages = {s.id: s.name for s in data.stages}
    order = {s.id: i for i, s in enumerate(data.stages)}
    personas = {p.id: p.name for p in data.personas}
    persona_order = {p.id: i for i, p in enumerate(data.personas)}

    def channel(cid: str | None) -> str:
        return CHANNELS.get(cid, cid) if cid else ""

    def named(names: dict[str, str], key: str | None) -> str:
        return names.get(key, key) if key else ""

    far = 10**6
    seo = pd.DataFrame(
        [
            [t.keyword, t.page, named(stages, t.stage), named(personas, t.persona)]
            for t in data.campaign.seo
        ],
        columns=["Keyword", "Page", "Stage", "Persona"],
    )
    content = sorted(
        data.content, key=lambda c: (c.date is None, c.date or 0, order.get(c.stage, far))
    )
    planned = pd.DataFrame(
        [
            [
                c.title,
                named(stages, c.stage),
                "; ".join(personas.get(p, p) for p in c.personas),
                channel(c.channel),
                c.date,
                c.owner,
                c.status,
                "yes" if c.automated else "no",
            ]
            for c in content
        ],
        columns=[
            "Content",
            "Stage",
            "Personas",
            "Channel",
            "Date",
            "Owner",
            "Status",
            "Automated",
        ],
    )
    posts = sorted(data.campaign.social, key=lambda p: (p.date is None, p.date or 0))
    social = pd.DataFrame(
        [
            [p.date, channel(p.channel), named(personas, p.persona), p.post, p.owner, p.status]
            for p in posts
        ],
        columns=["Date", "Channel", "Persona", "Post", "Owner", "Status"],
    )
    mix_items = sorted(
        data.campaign.channel_mix,
        key=lambda m: (persona_order.get(m.persona, far), -(m.share or 0)),
    )
    mix = pd.DataFrame(
        [
            [
                named(personas, m.persona),
                channel(m.channel),
                None if m.share is None else round(m.share * 100, 6),
                m.priority or "",
                m.note,
            ]
            for m in mix_items
        ],
        columns=["Persona", "Channel", "Share (%)", "Priority", "Note"],
    )
    return list(zip(CAMPAIGN_SHEETS, (seo, planned, social, mix), strict=True))
