"""Hardening (issue 14): paths from user input, the logo, CLI path mistakes, CSV formulas.

Every path a user's input builds stays where it belongs or is refused with one clear line;
the logo cannot pull a file from outside the workspace into a deliverable; a broken folder
or Parquet file is a problem to fix, not "a bug in the workbook"; and no file we write hands
a spreadsheet a formula to run.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbook.cli import main
from workbook.exceptions import WorkbookError
from workbook.model import Branding
from workbook.theme import Theme

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
WEBP = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
SVG_OK = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10"/></svg>'
)


def _cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.output  # stdout and stderr, as a terminal shows them


def _one_line_error(code: int, out: str) -> str:
    """The error line of a failed command; fails the test on a traceback."""
    assert code == 1, out
    assert "Traceback" not in out, out
    errors = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, out
    return errors[0]


def _workspace_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "client"
    shutil.copytree(DEMO, dest, ignore=shutil.ignore_patterns("reports", "*.lock"))
    return dest


def _theme(folder: Path, logo: str) -> Theme:
    return Theme.from_branding(Branding(logo=logo), base_dir=folder)


# ------------------------------------------------------------------------------ item 4: logo


def test_a_logo_linked_to_a_file_outside_the_workspace_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    ws = tmp_path / "ws"
    (ws / "assets").mkdir(parents=True)
    (ws / "assets" / "logo.png").symlink_to(secret)
    with pytest.raises(WorkbookError) as info:
        _theme(ws, "assets/logo.png")
    assert "assets/logo.png" in str(info.value)
    assert "outside the workspace" in str(info.value)
    assert info.value.problems[0].field == "client.branding.logo"


def test_a_logo_in_a_linked_folder_outside_the_workspace_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "logo.png").write_bytes(PNG)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "assets").symlink_to(outside, target_is_directory=True)
    with pytest.raises(WorkbookError, match="outside the workspace"):
        _theme(ws, "assets/logo.png")


def test_a_link_that_stays_inside_the_workspace_is_fine(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "brand.png").write_bytes(PNG)
    (tmp_path / "logo.png").symlink_to(tmp_path / "assets" / "brand.png")
    assert _theme(tmp_path, "logo.png").logo == "data:image/png;base64," + base64.b64encode(
        PNG
    ).decode("ascii")


def test_the_map_command_names_the_field_and_file_of_a_refused_logo(tmp_path: Path) -> None:
    ws = _workspace_copy(tmp_path)
    secret = tmp_path / "secret.svg"
    secret.write_bytes(SVG_OK)
    (ws / "assets" / "logo.svg").unlink()
    (ws / "assets" / "logo.svg").symlink_to(secret)
    out = tmp_path / "maps"
    out.mkdir()
    line = _one_line_error(*_cli("map", str(ws), "-o", str(out)))
    assert "logo assets/logo.svg refused" in line
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("logo.gif", GIF, "image/gif"),
        ("logo.webp", WEBP, "image/webp"),
        ("logo.img", PNG, "image/png"),  # the content decides, not the name
        ("logo.png", SVG_OK, "image/svg+xml"),
    ],
    ids=["gif", "webp", "png-named-img", "svg-named-png"],
)
def test_a_logo_is_known_by_its_content(tmp_path: Path, name: str, data: bytes, mime: str) -> None:
    (tmp_path / name).write_bytes(data)
    theme = _theme(tmp_path, name)
    assert theme.logo == f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    assert [p for p in theme.problems if p.field == "client.branding.logo"] == []


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("logo.png", b"just some text, not a picture", "not a PNG, JPEG, GIF, WebP or SVG"),
        ("logo.svg", b"<html><body>hi</body></html>", "not a PNG, JPEG, GIF, WebP or SVG"),
        ("logo.svg", b"<svg><rect/></svg>", "not a PNG, JPEG, GIF, WebP or SVG"),  # no namespace
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "<script>",
        ),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "event handler (onload)",
        ),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
            b'<image x:href="file:///etc/hostname"/></svg>',
            "refers to another file or address",
        ),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><image href="https://example.com/t.png"/>'
            b"</svg>",
            "refers to another file or address",
        ),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import "https://x.test/a.css";'
            b"</style></svg>",
            "style refers to another file",
        ),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill: url(http://x.test/p)"/>'
            b"</svg>",
            "refers to another file or address",
        ),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div xmlns='
            b'"http://www.w3.org/1999/xhtml">x</div></foreignObject></svg>',
            "foreignObject",
        ),
        (
            "logo.svg",
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>',
            "not a PNG, JPEG, GIF, WebP or SVG",
        ),
    ],
    ids=[
        "text",
        "html",
        "svg-without-namespace",
        "script",
        "onload",
        "file-link",
        "web-link",
        "css-import",
        "css-url",
        "foreign-object",
        "entities",
    ],
)
def test_a_logo_that_is_not_an_inert_image_is_refused(
    tmp_path: Path, name: str, data: bytes, why: str
) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(WorkbookError) as info:
        _theme(tmp_path, name)
    assert why in str(info.value)
    problem = info.value.problems[0]
    assert (problem.field, problem.file) == ("client.branding.logo", name)


def test_an_svg_may_point_inside_itself_and_embed_a_bitmap(tmp_path: Path) -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<defs><linearGradient id="g"/></defs><rect fill="url(#g)" width="4" height="4"/>'
        b'<use xlink:href="#g"/><image href="data:image/png;base64,'
        + base64.b64encode(PNG)
        + b'"/>'
        b"</svg>"
    )
    (tmp_path / "logo.svg").write_bytes(svg)
    assert _theme(tmp_path, "logo.svg").logo is not None


def test_a_huge_logo_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with (tmp_path / "logo.png").open("wb") as fh:
        fh.write(PNG)
        fh.truncate(6_000_000)
    with pytest.raises(WorkbookError, match="larger than 5 MB"):
        _theme(tmp_path, "logo.png")


# ------------------------------------------------------------ item 1: paths from user input


def test_map_refuses_an_icp_that_is_a_path_and_writes_nothing(tmp_path: Path) -> None:
    ws = _workspace_copy(tmp_path)
    line = _one_line_error(*_cli("map", str(ws), "--icp", "../../../escaped"))
    assert "no ICP '../../../escaped'" in line
    assert not (ws / "reports").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["client"]


def test_map_refuses_an_unknown_icp_instead_of_drawing_an_empty_map(tmp_path: Path) -> None:
    ws = _workspace_copy(tmp_path)
    line = _one_line_error(*_cli("map", str(ws), "--icp", "no-such-icp"))
    assert "no ICP 'no-such-icp'" in line
    assert not (ws / "reports").exists()


@pytest.mark.parametrize("bad", ["../x", "a/b", "/etc/x", "Upper Case", "a" * 70])
def test_a_map_file_name_is_only_ever_built_from_slugs(bad: str) -> None:
    from workbook.journeymap import map_filename

    with pytest.raises(WorkbookError, match="cannot name a map file"):
        map_filename(bad)
    with pytest.raises(WorkbookError, match="cannot name a map file"):
        map_filename("studio-owner", "svg", bad)
    assert map_filename("studio-owner", "svg", "smb") == "journey-map-studio-owner-smb.svg"


def test_map_output_in_a_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    ws = _workspace_copy(tmp_path)
    line = _one_line_error(*_cli("map", str(ws), "-o", str(tmp_path / "typo" / "m.svg")))
    assert "typo does not exist" in line
    assert not (tmp_path / "typo").exists()


def test_map_output_under_a_file_or_onto_a_file_is_one_line(tmp_path: Path) -> None:
    ws = _workspace_copy(tmp_path)
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    line = _one_line_error(*_cli("map", str(ws), "-o", str(tmp_path / "afile" / "m.svg")))
    assert "is a file, not a folder" in line
    line = _one_line_error(*_cli("map", str(ws), "-o", str(tmp_path / "afile")))
    assert "is a file, not a folder" in line
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "x"


def test_map_output_folder_is_made_when_its_parent_exists(tmp_path: Path) -> None:
    ws = _workspace_copy(tmp_path)
    persona = "sofia-studio-owner"
    code, out = _cli("map", str(ws), "-p", persona, "-o", str(tmp_path / "maps"), "--format", "svg")
    assert code == 0, out
    assert [p.name for p in (tmp_path / "maps").iterdir()] == [f"journey-map-{persona}.svg"]


def test_map_output_that_cannot_be_written_is_refused_before_drawing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    ws = _workspace_copy(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode)
    )
    line = _one_line_error(*_cli("map", str(ws), "-o", str(locked / "m.html")))
    assert f"cannot write in {locked}" in line
    assert list(locked.iterdir()) == []


def test_map_output_name_too_long_is_one_line(tmp_path: Path) -> None:
    ws = _workspace_copy(tmp_path)
    line = _one_line_error(*_cli("map", str(ws), "-o", str(tmp_path / ("m" * 300 + ".svg"))))
    assert "mmmm.svg" in line and "too long" in line


def test_schema_output_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    line = _one_line_error(*_cli("schema", "-o", str(tmp_path / "typo" / "schema.json")))
    assert "typo does not exist" in line
    assert not (tmp_path / "typo").exists()


def test_demo_data_output_in_a_missing_folder_is_refused_before_generating(
    tmp_path: Path,
) -> None:
    out = tmp_path / "typo" / "exports"
    line = _one_line_error(*_cli("demo-data", "--contacts", "5", "-w", str(DEMO), "-o", str(out)))
    assert "typo does not exist" in line
    assert not (tmp_path / "typo").exists()


# ------------------------------------------------------------ item 6: CLI path mistakes


def test_new_with_a_dir_name_too_long_is_one_line(tmp_path: Path) -> None:
    line = _one_line_error(*_cli("new", "Acme", "--dir", str(tmp_path / ("d" * 300))))
    assert "too long" in line


def test_new_with_a_dir_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    line = _one_line_error(*_cli("new", "Acme", "--dir", str(tmp_path / "afile" / "x")))
    assert "Not a directory" in line and "afile" in line


@pytest.mark.parametrize(
    ("code", "words"),
    [("EACCES", "no permission"), ("EROFS", "read-only"), ("ENOSPC", "disk is full")],
)
def test_new_in_a_folder_it_cannot_write_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str, words: str
) -> None:
    import errno
    import os

    target = tmp_path / "shared"
    real_mkdir = os.mkdir

    def mkdir(path: object, *args: object, **kwargs: object) -> None:
        if str(path).startswith(str(target)):
            number = getattr(errno, code)
            raise OSError(number, os.strerror(number), str(path))
        real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    line = _one_line_error(*_cli("new", "Acme", "--dir", str(target)))
    assert str(target) in line and words in line


def test_new_in_a_folder_without_permission_is_one_line(tmp_path: Path) -> None:
    """A real read-only folder where permissions bind (not as root, who may write anywhere:
    there the EACCES case above stands for it, so this never skips in CI)."""
    import os

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, text = _cli("new", "Acme", "--dir", str(locked / "clients"))
    if os.geteuid() == 0:  # root: it simply works
        assert code == 0 and (locked / "clients" / "acme" / "workspace.yaml").is_file(), text
        return
    assert "no permission" in _one_line_error(code, text)


def test_an_os_error_that_names_no_path_stays_a_bug() -> None:
    import errno

    from workbook.cli import os_error_line

    assert os_error_line(OSError(errno.EIO, "Input/output error")) is None
    assert os_error_line(OSError(errno.EACCES, "Permission denied")) is None
    line = os_error_line(OSError(errno.EACCES, "Permission denied", "/srv/x"))
    assert line is not None and line.message == "/srv/x: Permission denied"


def test_a_file_name_near_the_limit_is_still_written_whole(tmp_path: Path) -> None:
    from workbook.files import write_atomic

    final = tmp_path / ("m" * 250 + ".svg")
    write_atomic(final, "<svg/>")
    assert final.read_text(encoding="utf-8") == "<svg/>"
    assert [p.name for p in tmp_path.iterdir()] == [final.name]


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(bytes(data[: len(data) // 3]))
    elif how == "empty":
        path.write_bytes(b"")
    else:  # pages scrambled, footer intact: fails only when the rows are read
        for i in range(1000, min(len(data) - 4096, 300_000), 7):
            data[i] = (data[i] * 31 + 7) % 256
        path.write_bytes(bytes(data))


def _events_file(ws: Path) -> Path:
    return next((ws / "data" / "sources").glob("*/events.parquet"))


@pytest.mark.parametrize("how", ["truncated", "empty", "scrambled"])
def test_analyse_names_a_damaged_parquet_file_in_one_line(tmp_path: Path, how: str) -> None:
    ws = _workspace_copy(tmp_path)
    events = _events_file(ws)
    _damage(events, how)
    line = _one_line_error(*_cli("analyse", str(ws)))
    assert f"{events}: the data file is damaged and cannot be read" in line
    assert "import the CRM export again" in line
    assert "bug" not in line


def test_a_damaged_derived_table_is_named_too(tmp_path: Path) -> None:
    from workbook.analytics import Engine
    from workbook.exceptions import AnalyticsError

    ws = _workspace_copy(tmp_path)
    spells = ws / "data" / "derived" / "stage_spells.parquet"
    _damage(spells, "truncated")
    with pytest.raises(AnalyticsError, match="stage_spells.parquet: the data file is damaged"):
        Engine.for_workspace(ws)


def test_a_wrong_query_is_still_a_duckdb_error_not_a_damaged_file(tmp_path: Path) -> None:
    import duckdb

    from workbook.analytics import Engine

    with Engine.for_workspace(DEMO) as eng, pytest.raises(duckdb.Error):
        eng.query("SELECT no_such_column FROM events")


# ------------------------------------------------------------ item 8: formulas in CSV files


_RISKY = ("=", "+", "-", "@", "\t", "\r")


def _formula_cells(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[str]:
    """Every header or cell of a CSV file a spreadsheet would run as a formula."""
    import csv
    import re

    number = re.compile(r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?")
    found = []
    with path.open(encoding=encoding, newline="") as fh:
        for row in csv.reader(fh, delimiter=delimiter):
            found += [c for c in row if c.startswith(_RISKY) and not number.fullmatch(c)]
    return found


def _hostile_workspace(tmp_path: Path) -> Path:
    """The demo client with a persona, a touchpoint and a stage named like formulas."""
    import re

    ws = tmp_path / "hostile"
    ws.mkdir()
    text = (DEMO / "workspace.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^data_sources:.*\Z", "", text)
    for old, new in (
        ("name: Amara, the time-poor Londoner", """name: '=HYPERLINK("http://x.test","Amara")'"""),
        ("name: Independent video reviews", "name: '@SUM(1+1)*cmd'"),
        ("name: Awareness", "name: '-2+3+cmd'"),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    (ws / "workspace.yaml").write_text(text, encoding="utf-8")
    shutil.copytree(DEMO / "assets", ws / "assets")
    return ws


def test_demo_data_exports_carry_no_formula(tmp_path: Path) -> None:
    ws = _hostile_workspace(tmp_path)
    out = tmp_path / "exports"
    code, text = _cli("demo-data", "--contacts", "300", "-w", str(ws), "-o", str(out))
    assert code == 0, text
    files = sorted(out.glob("*.csv"))
    assert len(files) == 5  # hubspot, salesforce and its contact roles, pipedrive, generic
    for f in files:
        assert _formula_cells(f) == [], f.name
    events = (out / "events.csv").read_text(encoding="utf-8")
    # the names are there, as text a spreadsheet shows as it is
    assert "'@SUM(1+1)*cmd" in events and "'+44 7700 9" in events


def test_a_negative_number_stays_a_number_in_an_export(tmp_path: Path) -> None:
    import pyarrow as pa

    from workbook.crm.generate import _write_csv

    table = pa.table(
        {
            "=total": pa.array([-12.5, 3.5]),
            "note": pa.array(["-12.5", "-Mary"]),
            "id": pa.array([-1, 2]),
        }
    )
    for encoding, newline in (("utf-8", "\n"), ("cp1252", "\r\n")):
        path = tmp_path / f"x-{encoding}.csv"
        _write_csv(table, path, encoding=encoding, delimiter=",", newline=newline, append=False)
        lines = path.read_text(encoding=encoding).splitlines()
        assert [c.strip('"') for c in lines[0].split(",")] == ["'=total", "note", "id"]
        assert [c.strip('"') for c in lines[1].split(",")] == ["-12.5", "-12.5", "-1"]
        assert [c.strip('"') for c in lines[2].split(",")] == ["3.5", "'-Mary", "2"]


def test_the_demo_export_still_imports_and_the_names_round_trip_as_text(tmp_path: Path) -> None:
    ws = _hostile_workspace(tmp_path)
    out = tmp_path / "exports"
    code, text = _cli(
        "demo-data", "--contacts", "300", "--format", "generic", "-w", str(ws), "-o", str(out)
    )
    assert code == 0, text
    code, text = _cli("import", str(ws), str(out / "events.csv"), "--currency", "GBP")
    assert code == 0, text
    assert "set aside 0" in text


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ("=1+1", "'=1+1"),
        ("+44 7700 900001", "'+44 7700 900001"),
        ("-Mary", "'-Mary"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-1+2", "'-1+2"),
        ("-5\n", "'-5\n"),
        ("-12.5", "-12.5"),
        ("+3", "+3"),
        ("-1e-3", "-1e-3"),
        ("Mary", "Mary"),
        ("a=b", "a=b"),
        ("", ""),
        (-12.5, -12.5),
        (None, None),
    ],
)
def test_plain_cell(value: object, plain: object) -> None:
    from workbook.files import plain_cell

    assert plain_cell(value) == plain


def test_plain_frame_and_plain_table_touch_only_text() -> None:
    import pandas as pd
    import pyarrow as pa

    from workbook.files import plain_frame, plain_table

    frame = pd.DataFrame(
        {
            "=h": ["=1", "ok", None],
            "n": [-1.5, 2.0, -3.0],
            "i": [-1, 2, 3],
            "s": pd.Series(["@x", "-4", "y"], dtype="string"),
            "c": pd.Categorical(["+a", "b", "+a"]),
        }
    )
    plain = plain_frame(frame)
    assert list(plain.columns) == ["'=h", "n", "i", "s", "c"]
    assert plain["'=h"].tolist()[:2] == ["'=1", "ok"] and pd.isna(plain["'=h"].iloc[2])
    assert plain["n"].dtype == frame["n"].dtype and plain["n"].tolist() == [-1.5, 2.0, -3.0]
    assert plain["i"].tolist() == [-1, 2, 3]
    assert plain["s"].tolist() == ["'@x", "-4", "y"]
    assert [str(v) for v in plain["c"]] == ["'+a", "b", "'+a"]
    assert frame.columns[0] == "=h" and frame["=h"].iloc[0] == "=1"  # the input is untouched

    table = plain_table(pa.Table.from_pandas(frame, preserve_index=False))
    assert table.column_names == ["'=h", "n", "i", "s", "c"]
    assert table.column("'=h").to_pylist() == ["'=1", "ok", None]
    assert table.column("n").to_pylist() == [-1.5, 2.0, -3.0]
    assert table.column("s").to_pylist() == ["'@x", "-4", "y"]
    assert table.column("c").to_pylist() == ["'+a", "b", "'+a"]
