"""The course: exercise checks (:mod:`~workbook.course.checks`), the practice client a trainee
works on (:mod:`~workbook.course.case`) and the trainer's view of a cohort
(:mod:`~workbook.course.trainer`).

The notebooks call the checks as ``workbook.course.check_objectives(ws)`` and so on; the
command line's ``workbook course start | solve | progress | hand-in`` calls the rest.
"""

from __future__ import annotations

from workbook.course.checks import (
    CHECKS,
    LOWER_IS_BETTER,
    OBSERVABLE_WORDS,
    Feedback,
    Progress,
    check,
    check_conversion_rate,
    check_data,
    check_icp,
    check_journey,
    check_objectives,
    check_personas,
    check_refine,
    check_stages,
    check_touchpoints,
    lesson_checks,
    metric_problem,
    observable,
    progress,
)

__all__ = [
    "CHECKS",
    "LOWER_IS_BETTER",
    "OBSERVABLE_WORDS",
    "Feedback",
    "Progress",
    "check",
    "check_conversion_rate",
    "check_data",
    "check_icp",
    "check_journey",
    "check_objectives",
    "check_personas",
    "check_refine",
    "check_stages",
    "check_touchpoints",
    "lesson_checks",
    "metric_problem",
    "observable",
    "progress",
]
