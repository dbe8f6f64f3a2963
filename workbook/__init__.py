"""Journey Workbook: customer-journey mapping workspaces, CRM data, maps and reports.

The public API is small; everything else is reached through its module
(``workbook.analytics``, ``workbook.charts``, ``workbook.journeymap``, ``workbook.report``).
"""

from __future__ import annotations

import typing

__version__ = "0.1.0"

from workbook.exceptions import (
    AnalyticsError,
    ConflictError,
    CrmImportError,
    Problem,
    ReportError,
    SchemaVersionError,
    WorkbookError,
    WorkspaceExistsError,
    WorkspaceNotFoundError,
    WorkspaceValidationError,
)

if typing.TYPE_CHECKING:
    from workbook.store import OpenWorkspace, new_workspace, open_workspace

__all__ = [
    "AnalyticsError",
    "ConflictError",
    "CrmImportError",
    "OpenWorkspace",
    "Problem",
    "ReportError",
    "SchemaVersionError",
    "WorkbookError",
    "WorkspaceExistsError",
    "WorkspaceNotFoundError",
    "WorkspaceValidationError",
    "__version__",
    "new_workspace",
    "open_workspace",
]


_FROM_STORE = frozenset({"OpenWorkspace", "new_workspace", "open_workspace"})


def __getattr__(name: str) -> typing.Any:
    # The store pulls in pydantic and the model (a few hundred ms); load it on first use so
    # `import workbook` and `workbook --help` stay quick.
    if name in _FROM_STORE:
        from workbook import store

        return getattr(store, name)
    raise AttributeError(f"module 'workbook' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _FROM_STORE)
