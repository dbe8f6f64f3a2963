"""Helpers every chart builder shares: column checks, titles, placeholders, stage order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from workbook.exceptions import AnalyticsError, Problem

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

#: Colours used by builders when no theme is applied at build time. Render-time theming
#: (:func:`workbook.charts.render`) replaces the config, not these data colours, so the
#: highlight colours are picked to read on white and to be colour-blind safe.
HIGHLIGHT = "#D55E00"  # Okabe-Ito vermillion: the bottleneck, backward moves, below threshold
BASE = "#0072B2"  # Okabe-Ito blue: everything else
NEUTRAL = "#8C959F"
WORSE = "#B35806"
BETTER = "#08519C"


def frame(
    data: Any, chart: str, columns: Mapping[str, Sequence[str]], optional: Iterable[str] = ()
) -> pd.DataFrame:
    """A copy of ``data`` as a DataFrame with the canonical column names ``columns`` asks for.

    ``columns`` maps each required name to the names it may come under (the analytics and a
    hand-made table may differ: ``reach`` or ``contacts``). A missing column raises an
    :class:`AnalyticsError` naming the chart, the column and what the builder expects.
    """
    import pandas as pd

    df = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    renames: dict[str, str] = {}
    missing: list[str] = []
    for canonical, aliases in columns.items():
        found = next((a for a in (canonical, *aliases) if a in df.columns), None)
        if found is None:
            if canonical not in optional:
                missing.append(canonical)
        elif found != canonical:
            renames[found] = canonical
    if missing:
        expected = ", ".join(columns)
        raise AnalyticsError(
            f"the {chart} chart cannot be drawn from this table",
            [
                Problem(
                    f"column {m!r} is missing"
                    + (f" (also accepted: {', '.join(columns[m])})" if columns[m] else ""),
                    column=m,
                    hint="pass the table the analytics return for this question "
                    f"(columns: {expected})",
                )
                for m in missing
            ],
        )
    return df.rename(columns=renames)


def finish(
    chart: Any, title: str, description: str, subtitle: str | Sequence[str] | None = None
) -> Any:
    """Give a chart its title (with an optional subtitle) and its screen-reader description.

    Vega-Lite's ``description`` becomes the ``aria-label`` of the drawn SVG.
    """
    import altair as alt

    params: dict[str, Any] = {"text": title}
    if subtitle:
        params["subtitle"] = subtitle
    return chart.properties(title=alt.TitleParams(**params), description=description)


def placeholder(title: str, message: str) -> alt.Chart:
    """A chart that says why there is nothing to draw, instead of an error or a blank."""
    import altair as alt
    import pandas as pd

    base = alt.Chart(pd.DataFrame({"message": [message]})).mark_text(
        fontSize=13, color="#57606A", align="center", baseline="middle", limit=600
    )
    chart = base.encode(text="message:N").properties(width=520, height=120)
    return finish(chart, title, f"{title}: {message}")  # type: ignore[no-any-return]


def ordered(values: Iterable[Any], preferred: Sequence[str] | None = None) -> list[str]:
    """Stage (or other) names in the preferred order, then the rest in order of appearance."""
    seen = list(dict.fromkeys(str(v) for v in values if v is not None and v == v))
    if not preferred:
        return seen
    head = [p for p in preferred if p in seen]
    return head + [s for s in seen if s not in head]


def stage_display(
    df: pd.DataFrame, col: str = "stage", index_col: str = "stage_index"
) -> pd.DataFrame:
    """Sort by the stage's position when the table has it, and show the stage's name.

    The analytics return ``stage`` (id), ``stage_name`` and ``stage_index``; a chart reads
    better with names, and the index (not the alphabet) gives the order.
    """
    if index_col in df.columns:
        df = df.sort_values(index_col, kind="stable")
    name_col = f"{col}_name"
    if name_col in df.columns:
        df = df.assign(**{col: df[name_col].where(df[name_col].notna(), df[col])})
    return df.assign(**{col: df[col].astype(str)})


def pct(value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:.0%}"


def is_empty(df: Any) -> bool:
    return df is None or len(df) == 0
