"""The one error family of the workbook.

Every error a person can cause (a mistyped YAML field, a broken CRM export, a stale save)
is a :class:`WorkbookError`. Each knows *where* the problem is (file, line, row, column or
field path) and *what to do* about it, and renders itself as one readable line per problem.
The CLI prints them and exits non-zero; the forms show them next to the field.

::

    WorkbookError (Exception)
    ├── WorkspaceValidationError (+ ValueError)   workspace.yaml or a model change is invalid
    ├── WorkspaceNotFoundError   (+ FileNotFoundError)
    ├── WorkspaceExistsError     (+ FileExistsError)
    ├── ConflictError            (+ RuntimeError)  a save from a stale copy, a held lock
    ├── SchemaVersionError       (+ ValueError)    a file newer than this package
    ├── CrmImportError           (+ ValueError)    a CRM export that cannot be imported
    ├── AnalyticsError           (+ ValueError)    a question that cannot be answered
    ├── EngineError              (+ RuntimeError)  the chosen engine (Spark) cannot run here
    └── ReportError              (+ RuntimeError)  a report that could not be rendered

All errors are picklable (batch runs cross process boundaries): they keep their structured
attributes and rebuild from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AnalyticsError",
    "ConflictError",
    "CrmImportError",
    "EngineError",
    "Problem",
    "ReportError",
    "SchemaVersionError",
    "WorkbookError",
    "WorkspaceExistsError",
    "WorkspaceNotFoundError",
    "WorkspaceValidationError",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where.

    Parameters
    ----------
    message
        What is wrong, in plain words ("must be between -2 and 2").
    file
        The file it was found in, as the user named it.
    line
        1-based line in a text file (YAML), when known.
    row
        1-based data row in a table (the header is row 0), when known.
    column
        The column name in a table, when known.
    field
        The field path in a document (``personas[2].emotion.consideration``).
    hint
        What to do about it.
    severity
        ``"error"`` stops the operation; ``"warning"`` is reported and the work goes on.
    """

    message: str
    file: str | None = None
    line: int | None = None
    row: int | None = None
    column: str | None = None
    field: str | None = None
    hint: str | None = None
    severity: str = "error"

    @property
    def where(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file + (f":{self.line}" if self.line else ""))
        elif self.line:
            parts.append(f"line {self.line}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        if self.field:
            parts.append(self.field)
        return ", ".join(parts)

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class WorkbookError(Exception):
    """Base of every error the workbook raises on purpose.

    Parameters
    ----------
    message
        The headline, one line.
    problems
        The individual problems behind it, each with its location.
    hint
        What to do, when the headline alone does not say.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        problems: Sequence[Problem] = (),
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.problems = list(problems)
        self.hint = hint
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.problems, self.hint))

    def __str__(self) -> str:
        head = self.message + (f" ({self.hint})" if self.hint else "")
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"  - {p}" for p in self.problems)

    def lines(self) -> list[str]:
        """The error as one line per problem, for a terminal."""
        head = self.message + (f" ({self.hint})" if self.hint else "")
        return [head] + [f"  {p}" for p in self.problems]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def _rebuild(
    cls: type[WorkbookError], message: str, problems: list[Problem], hint: str | None
) -> WorkbookError:
    return cls(message, problems, hint)


class WorkspaceValidationError(WorkbookError, ValueError):
    """A workspace (on disk or in memory) breaks the schema or its cross-references."""

    @classmethod
    def from_problems(cls, source: str, problems: Iterable[Problem]) -> WorkspaceValidationError:
        problems = list(problems)
        n = len(problems)
        return cls(
            f"{source}: {n} problem{'s' if n != 1 else ''} found",
            problems,
            hint="fix each field listed, then run `workbook validate` again",
        )


class WorkspaceNotFoundError(WorkbookError, FileNotFoundError):
    """The folder given is not a workspace."""

    @classmethod
    def from_path(cls, path: str) -> WorkspaceNotFoundError:
        return cls(
            f"no workspace at {path}: workspace.yaml not found",
            hint="check the path, or create one with `workbook new NAME`",
        )


class WorkspaceExistsError(WorkbookError, FileExistsError):
    """A new workspace would overwrite an existing folder."""


#: What to do about a stale copy at the command line: each command reads the file afresh.
RERUN_HINT = (
    "another command or notebook saved it meanwhile; run the command again, it starts from "
    "the saved version"
)


class ConflictError(WorkbookError, RuntimeError):
    """Someone else changed the workspace since this copy was loaded.

    ``hint`` says what to do from Python or a notebook (reload, redo the change);
    ``command_hint``, when set, what to do at the command line, which prints it instead.
    """

    def __init__(
        self,
        message: str,
        problems: Sequence[Problem] = (),
        hint: str | None = None,
        command_hint: str | None = None,
    ) -> None:
        super().__init__(message, problems, hint)
        self.command_hint = command_hint

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_conflict,
            (type(self), self.message, self.problems, self.hint, self.command_hint),
        )

    @classmethod
    def from_revisions(cls, path: str, loaded: int, on_disk: int) -> ConflictError:
        return cls(
            f"{path}: not saved, the workspace changed since you loaded it "
            f"(you have revision {loaded}, the file is at revision {on_disk})",
            hint="reload it (`ws.reload()` or re-run the form cell), redo your change, save again",
            command_hint=RERUN_HINT,
        )


def _rebuild_conflict(
    cls: type[ConflictError],
    message: str,
    problems: list[Problem],
    hint: str | None,
    command_hint: str | None,
) -> ConflictError:
    return cls(message, problems, hint, command_hint)


class SchemaVersionError(WorkbookError, ValueError):
    """The file was written by a newer (or unknown) version of the workbook."""


class CrmImportError(WorkbookError, ValueError):
    """A CRM export could not be imported; nothing in the workspace was changed."""


class AnalyticsError(WorkbookError, ValueError):
    """A question cannot be answered from the data the workspace holds."""


class ReportError(WorkbookError, RuntimeError):
    """A report could not be rendered; no partial file was left under the final name."""


class EngineError(WorkbookError, RuntimeError):
    """The engine asked for cannot run: PySpark or Java missing, a cluster out of reach.

    The message names what to install or configure; nothing was read or written.
    """
