"""``workbook analyse``, driven in process with click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_analytics_hand import build

import workbook.analytics as A
from workbook.cli import main


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("cli"))


def test_analyse_prints_the_headline_numbers(hand: Path) -> None:
    result = CliRunner().invoke(main, ["analyse", str(hand)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "3 contacts" in out
    # retention has no data, so purchase is not "0.0% go on"; consideration loses 1 of 3
    assert "Bottleneck: Consideration, 1 contact stops there (66.7% go on to Purchase)" in out
    assert "2 won, 1 lost" in out and "win rate 66.7%" in out
    assert "median 5.5 days" in out
    assert "markov" in out and "Website (66.7%)" in out
    for cid in ("c1", "c2", "c3"):
        assert cid not in out


def test_analyse_json_agrees_with_the_package(hand: Path) -> None:
    result = CliRunner().invoke(main, ["analyse", str(hand), "--json", "--by", "persona"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == json.loads(json.dumps(A.summary(hand, by="persona")))
    assert data["groups"]["p1"]["won_contacts"] == 2


def test_analyse_by_segment_lists_groups(hand: Path) -> None:
    result = CliRunner().invoke(main, ["analyse", str(hand), "--by", "segment"])
    assert result.exit_code == 0, result.output
    assert (
        "By segment:" in result.output and "s1:" in result.output and "unassigned:" in result.output
    )


def test_analyse_a_missing_workspace_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["analyse", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "no workspace" in result.output
    assert "Traceback" not in result.output


def test_analyse_rejects_an_unknown_split(hand: Path) -> None:
    result = CliRunner().invoke(main, ["analyse", str(hand), "--by", "colour"])
    assert result.exit_code == 2


def test_analyse_an_empty_workspace_explains(tmp_path: Path) -> None:
    from workbook.store import new_workspace

    ws = new_workspace("Empty", directory=tmp_path)
    result = CliRunner().invoke(main, ["analyse", str(ws.path)])
    assert result.exit_code == 0, result.output
    assert "note: No CRM data imported yet" in result.output
