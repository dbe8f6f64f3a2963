"""What kind of file a CRM export is: format, encoding, delimiter, header.

Exports reach consultants as UTF-8 with or without a byte-order mark or as Windows-1252;
separated by commas, semicolons or tabs; with CRLF or LF line ends; sometimes as Excel or
Parquet, and sometimes as something that is not a table at all (a PDF, a spreadsheet renamed
to ``.csv``). :func:`sniff` looks at the first bytes and says which, or raises a
:class:`~workbook.exceptions.CrmImportError` that tells the user what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from workbook.exceptions import CrmImportError, Problem

__all__ = ["Sniffed", "sniff"]

_SAMPLE = 1 << 20  # 1 MiB is plenty to see the header and the delimiter
_MAGIC = {
    b"PK\x03\x04": "xlsx",
    b"\xd0\xcf\x11\xe0": "xls",
    b"PAR1": "parquet",
    b"%PDF": "pdf",
    b"\x1f\x8b": "gzip",
}
_DELIMITERS = (",", ";", "\t", "|")


@dataclass
class Sniffed:
    """What :func:`sniff` found."""

    kind: str  # csv, xlsx, xls, parquet
    encoding: str = "utf-8"  # as Python names it; utf-8-sig when there is a BOM
    delimiter: str = ","
    header: list[str] = field(default_factory=list)


def _fail(file: str, message: str, hint: str) -> CrmImportError:
    return CrmImportError(f"{file}: cannot import", [Problem(message, file=file, hint=hint)])


def sniff(path: str | Path) -> Sniffed:
    """Look at a file and tell how to read it.

    Raises
    ------
    CrmImportError
        For an empty file, a binary file, a spreadsheet renamed to ``.csv``, or a header with
        an empty or repeated column name.
    """
    path = Path(path)
    name = path.name
    with path.open("rb") as fh:
        head = fh.read(_SAMPLE)
    suffix = path.suffix.lower()
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            if kind in ("xlsx", "xls") and suffix in (".xlsx", ".xlsm", ".xls"):
                return Sniffed(kind)
            if kind == "parquet" and suffix in (".parquet", ".pq"):
                return Sniffed(kind)
            if kind in ("xlsx", "xls"):
                raise _fail(
                    name,
                    "this is an Excel workbook, not a CSV file",
                    "rename it to .xlsx, or open it in Excel and save it as CSV UTF-8",
                )
            raise _fail(
                name, f"this is a {kind} file, not a CSV file", "export the data again as CSV"
            )
    if suffix in (".xlsx", ".xls", ".parquet"):
        raise _fail(
            name,
            f"the file is named {suffix} but its content is not",
            "check that the export finished",
        )
    stripped = head.removeprefix(codecs.BOM_UTF8).strip()
    if not stripped:
        raise _fail(
            name, "the file is empty", "export the data again; the download may have failed"
        )
    if b"\x00" in head:
        hint = (
            "save it as UTF-8 or Windows-1252 CSV"
            if head[:2] in (b"\xff\xfe", b"\xfe\xff")
            else "export it again as CSV"
        )
        raise _fail(name, "this is not a text file (it holds binary data)", hint)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        try:
            # an incremental decoder does not fail on a character cut at the sample's end
            codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _SAMPLE)
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"  # what Excel on Windows writes; decodes every byte we accept
    text = head.decode(encoding, errors="replace")
    first = text.splitlines()[0] if text.splitlines() else ""
    counts = {d: first.count(d) for d in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: counts[d]) if any(counts.values()) else ","
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    header = [h.strip() for h in header]
    problems = []
    seen: set[str] = set()
    for i, h in enumerate(header, start=1):
        if not h:
            problems.append(
                Problem(
                    f"column {i} of the header has no name",
                    file=name,
                    row=0,
                    hint="give every column a name in the first row",
                )
            )
        elif h.casefold() in seen:
            problems.append(
                Problem(
                    f"the column name {h!r} appears twice",
                    file=name,
                    row=0,
                    column=h,
                    hint="rename or remove one of them",
                )
            )
        seen.add(h.casefold())
    if problems:
        raise CrmImportError(f"{name}: cannot import, the header is not usable", problems)
    return Sniffed("csv", encoding, delimiter, header)
