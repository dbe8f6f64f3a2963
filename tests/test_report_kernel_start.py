"""A report whose kernel dies before it answers (a port another kernel took at the same
moment, as happens in ``workbook batch --jobs 2``) is started again; other failures are not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import papermill
import pytest

from workbook import report
from workbook.exceptions import ReportError


def _flaky(monkeypatch: pytest.MonkeyPatch, errors: list[str]) -> list[int]:
    """papermill.execute_notebook raising each of ``errors`` in turn, then succeeding."""
    calls: list[int] = []

    def execute(*_: Any, **__: Any) -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise RuntimeError(errors[len(calls) - 1])
        return "executed"

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    return calls


def _run(tmp_path: Path) -> Any:
    return report._execute(
        {},
        tmp_path / "out.ipynb",
        notebook=report.NOTEBOOK,
        kernel_name="python3",
        run=report._Run(None, None),
        kept=tmp_path / "kept.ipynb",
    )


DIED = "Kernel died before replying to kernel_info"


def test_a_kernel_that_died_at_start_is_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _flaky(monkeypatch, [DIED, DIED])
    assert _run(tmp_path) == "executed"
    assert len(calls) == 3


def test_three_deaths_at_start_are_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _flaky(monkeypatch, [DIED, DIED, DIED])
    with pytest.raises(ReportError, match="the report kernel did not start: Kernel died"):
        _run(tmp_path)
    assert len(calls) == 3


def test_a_kernel_that_does_not_answer_is_not_waited_for_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _flaky(monkeypatch, ["Kernel didn't respond in 60 seconds"])
    with pytest.raises(ReportError, match="did not start: Kernel didn't respond"):
        _run(tmp_path)
    assert len(calls) == 1
