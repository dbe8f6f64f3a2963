"""The course: exercise checks (:mod:`~workbook.course.checks`), the practice client a trainee
works on (:mod:`~workbook.course.case`) and the trainer's view of a cohort
(:mod:`~workbook.course.trainer`).

The notebooks call the checks as ``workbook.course.check_objectives(ws)`` and so on; the
command line's ``workbook course start | solve | progress | hand-in`` calls the rest.
"""

from __future__ import annotations

# The checks' public names, as checks.__all__ lists them: one list to keep, not two. (This
# form of __all__ is the one mypy and pyright follow to see what the package re-exports.)
from workbook.course import checks
from workbook.course.checks import *  # noqa: F403

__all__: list[str] = []
__all__ += checks.__all__
