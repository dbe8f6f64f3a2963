"""Journey Workbook: customer-journey mapping workspaces, CRM data, maps and reports.

The public API is small; everything else is reached through its module
(``workbook.analytics``, ``workbook.charts``, ``workbook.journeymap``, ``workbook.report``).
"""

from __future__ import annotations

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
