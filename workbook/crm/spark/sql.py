"""DuckDB SQL in Spark's dialect: one translation for the import's and the analytics' SQL.

The derived tables' rollups (:data:`workbook.crm.derive.ROLLUP_SQL`) and every analytics
question are written once, in DuckDB SQL. :func:`to_spark` translates them with sqlglot
(DuckDB to Spark SQL) and then fixes what sqlglot leaves in DuckDB's words or translates
to something close but not equal:

===========================================  ===============================================
DuckDB                                       Spark
===========================================  ===============================================
``epoch_us(ts)``                             ``unix_micros(ts)``
``FROM t, unnest(t.list) AS u(x) JOIN ...``  ``FROM t, LATERAL explode(t.list) AS u(x) ...``
                                             (sqlglot's ``LATERAL VIEW`` cannot be joined on)
``median(x)``, ``quantile_cont(x, p)``       ``percentile(x, p)``: exact and interpolated,
                                             never ``percentile_approx``
``row_number() OVER ()``                     ``monotonically_increasing_id()`` (an id, no
                                             order asked; Spark requires an ORDER BY)
``x / 86400.0``                              ``x / CAST(86400.0 AS DOUBLE)``: a decimal
                                             literal is DOUBLE arithmetic in DuckDB, rounded
                                             DECIMAL in Spark
``HUGEINT``                                  ``DECIMAL(38, 0)``
===========================================  ===============================================

sqlglot itself handles ``GROUP BY ALL``, ``::`` casts, ``FILTER (cond)``, ``list`` and
``arg_min``/``arg_max`` (``collect_list``, ``min_by``/``max_by``), ``bool_or``,
``any_value``, ``<<`` (``shiftleft``) and list indexing.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from workbook.exceptions import AnalyticsError, Problem

__all__ = ["java_format", "to_spark"]

#: Text rewrites after sqlglot, for what it leaves in DuckDB's words.
_REWRITES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bHUGEINT\b", re.IGNORECASE), "DECIMAL(38, 0)"),
]


@functools.lru_cache(maxsize=1024)
def to_spark(sql: str) -> str:
    """The Spark SQL for one statement of DuckDB SQL (cached: the questions repeat theirs)."""
    import sqlglot

    try:
        out = [
            _fix(tree).sql(dialect="spark")
            for tree in sqlglot.parse(sql, read="duckdb")
            if tree is not None
        ]
    except sqlglot.errors.ParseError as exc:  # a bug here, not the user's: say which SQL
        raise AnalyticsError(
            "the question's SQL could not be translated for Spark",
            [Problem(str(exc).splitlines()[0], hint="report this with the question's name")],
        ) from None
    text = ";\n".join(out)
    for pattern, repl in _REWRITES:
        text = pattern.sub(repl, text)
    return text


def _fix(tree: Any) -> Any:
    """What sqlglot leaves in DuckDB's words, in Spark's."""
    from sqlglot import exp

    def fix(node: Any) -> Any:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us":
            return exp.Anonymous(this="unix_micros", expressions=node.expressions)
        if (
            isinstance(node, exp.Anonymous)
            and node.name.lower() == "try_strptime"
            and len(node.expressions) == 2
            and isinstance(node.expressions[1], exp.Literal)
        ):
            # a date in the export's own format (--date-format): Java's pattern letters
            text, fmt = node.expressions
            return exp.Anonymous(
                this="try_to_timestamp",
                expressions=[text.copy(), exp.Literal.string(java_format(fmt.this))],
            )
        if isinstance(node, exp.Unnest) and isinstance(node.parent, exp.Join | exp.From):
            # unnest in FROM: a lateral explode, which (unlike LATERAL VIEW) may be joined on
            alias = node.args.get("alias")
            return exp.Lateral(
                this=exp.Explode(this=node.expressions[0].copy()),
                alias=alias.copy() if alias is not None else None,
            )
        if (
            isinstance(node, exp.Literal)
            and node.is_number
            and not node.is_int
            and not isinstance(node.parent, exp.Cast)
        ):
            # 86400000000.0: DuckDB divides by it in DOUBLE, Spark in DECIMAL (rounded to a
            # few places); a double literal makes Spark's arithmetic DuckDB's
            return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
        if isinstance(node, exp.Median):
            # exact, interpolated like DuckDB's median (sqlglot may make it approximate)
            return exp.Anonymous(
                this="percentile", expressions=[node.this.copy(), exp.Literal.number(0.5)]
            )
        if isinstance(node, exp.PercentileCont) and node.args.get("expression") is not None:
            return exp.Anonymous(
                this="percentile", expressions=[node.this.copy(), node.expression.copy()]
            )
        if isinstance(node, exp.DateDiff) and str(node.args.get("unit") or "").upper() in (
            "SECOND",
            "'SECOND'",
        ):
            # DuckDB counts the second boundaries crossed; Spark's datediff truncates the
            # difference: whole seconds since the epoch, subtracted, are DuckDB's count
            return exp.Paren(
                this=exp.Sub(
                    this=exp.Anonymous(this="unix_seconds", expressions=[node.this.copy()]),
                    expression=exp.Anonymous(
                        this="unix_seconds", expressions=[node.expression.copy()]
                    ),
                )
            )
        if (
            isinstance(node, exp.Window)
            and isinstance(node.this, exp.RowNumber)
            and not node.args.get("order")
            and not node.args.get("partition_by")
            and not node.args.get("alias")
        ):
            # a number per row with no order asked: any distinct number does
            return exp.Anonymous(this="monotonically_increasing_id", expressions=[])
        if isinstance(node, exp.Union) and node.args.get("by_name"):
            return _by_position(node)
        return node

    # twice: a node made in the first pass (a percentile) has its arguments fixed in the second
    return _inline_windows(tree.transform(fix).transform(fix))


def java_format(fmt: str) -> str:
    """A strptime format (``%d/%m/%Y %H:%M``) as a Spark datetime pattern (``dd/MM/yyyy
    HH:mm``); text between the directives is quoted."""
    from sqlglot.dialects.spark import Spark

    mapping = Spark.INVERSE_TIME_MAPPING
    out: list[str] = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            directive = fmt[i : i + 2]
            if directive == "%%":
                out.append("%")
            elif directive in mapping:
                out.append(mapping[directive])
            else:
                raise ValueError(f"the date format directive {directive} has no Spark pattern")
            i += 2
            continue
        ch = fmt[i]
        out.append(f"'{ch}'" if ch.isalpha() else ("''" if ch == "'" else ch))
        i += 1
    return "".join(out)


def _inline_windows(tree: Any) -> Any:
    """``OVER (w ROWS BETWEEN ...)``, a named window with a frame, is not Spark SQL: write
    the named window's partition and order into every window that names it."""
    from sqlglot import exp

    for select in list(tree.find_all(exp.Select)):
        named = {str(w.this.name): w for w in select.args.get("windows") or []}
        if not named:
            continue
        for node in list(select.find_all(exp.Window)):
            alias = node.args.get("alias")
            if (
                alias is None
                or node.parent is select
                and node in (select.args.get("windows") or [])
            ):
                continue
            base = named.get(str(alias.name))
            if base is None:
                continue
            node.set("alias", None)
            if base.args.get("partition_by"):
                node.set("partition_by", [p.copy() for p in base.args["partition_by"]])
            if base.args.get("order") is not None:
                node.set("order", base.args["order"].copy())
        select.set("windows", None)
    return tree


def _by_position(union: Any) -> Any:
    """``UNION [ALL] BY NAME`` (not in Spark SQL) as a union by position: each side selects
    every name of either side, in the left side's order, a name it lacks as NULL."""
    from sqlglot import exp

    left, right = union.this, union.expression
    if not isinstance(left, exp.Select) or not isinstance(right, exp.Select):
        raise ValueError("UNION BY NAME between two SELECTs only")
    if any(isinstance(e, exp.Star) or e.is_star for e in left.selects + right.selects):
        # SELECT * on both sides of one relation: the same columns in the same order
        union.set("by_name", None)
        return union
    names = [e.alias_or_name for e in left.selects]
    names += [e.alias_or_name for e in right.selects if e.alias_or_name not in names]

    def aligned(side: Any) -> Any:
        have = {e.alias_or_name: e for e in side.selects}
        cols = [have[n].copy() if n in have else exp.alias_(exp.Null(), n) for n in names]
        return side.copy().select(*cols, append=False)

    out = union.copy()
    out.set("this", aligned(left))
    out.set("expression", aligned(right))
    out.set("by_name", None)
    return out
