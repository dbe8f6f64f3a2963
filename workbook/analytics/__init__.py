"""Journey analytics: the Measure and Analyse numbers, computed by DuckDB over a workspace.

Every question is a function of a workspace (a folder path, an ``OpenWorkspace`` from
:mod:`workbook.store`, or an :class:`Engine`) returning a tidy pandas ``DataFrame``; most take
``by=None | "persona" | "segment" | "icp"`` to split the population. Pass one
:class:`Engine` to several questions to open the data once::

    from workbook.analytics import Engine, funnel, attribution
    eng = Engine.for_workspace("data/demo")
    funnel(eng, by="persona")
    attribution(eng)

Every query goes through :meth:`Engine.query`, so another backend is another engine.
``import workbook.analytics`` imports neither pandas nor DuckDB; the questions import them.
"""

from __future__ import annotations

# Eager on purpose: several modules share their function's name (funnel, attribution,
# channels, kpis, summary), and binding the function here keeps `analytics.funnel` the
# function even after the module is imported. The modules import nothing heavy at the top.
from workbook.analytics.attribution import attribution, removal_effects
from workbook.analytics.channels import channels
from workbook.analytics.engine import Engine
from workbook.analytics.experiments import (
    experiment_decisions,
    experiment_variants,
    required_sample_size,
)
from workbook.analytics.funnel import funnel, stage_history
from workbook.analytics.gaps import drill, gap_objective, gaps
from workbook.analytics.kpis import kpis, metric_value
from workbook.analytics.movement import transition_matrix, transitions
from workbook.analytics.people import people_by_source, people_by_sources
from workbook.analytics.scoring import lead_scores, score_deciles, score_separation
from workbook.analytics.summary import summary
from workbook.analytics.timing import time_in_stage, time_to_close
from workbook.analytics.touchpoints import touchpoint_lift, touchpoint_usage
from workbook.analytics.wins import (
    lead_sources,
    lost_reasons,
    won_content,
    won_interactions,
    won_summary,
)

__all__ = [
    "Engine",
    "attribution",
    "channels",
    "drill",
    "experiment_decisions",
    "experiment_variants",
    "funnel",
    "gap_objective",
    "gaps",
    "kpis",
    "lead_scores",
    "lead_sources",
    "lost_reasons",
    "metric_value",
    "people_by_source",
    "people_by_sources",
    "removal_effects",
    "required_sample_size",
    "score_deciles",
    "score_separation",
    "stage_history",
    "summary",
    "time_in_stage",
    "time_to_close",
    "touchpoint_lift",
    "touchpoint_usage",
    "transition_matrix",
    "transitions",
    "won_content",
    "won_interactions",
    "won_summary",
]
