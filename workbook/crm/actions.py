"""Event actions with a meaning of their own, shared by the import and the analytics.

The import rolls events up with these lists (:mod:`workbook.crm.derive`) and the analytics
ask the raw events with the same lists when a rollup is missing, so both must read them from
one place. Plain tuples: importing this module loads nothing else.
"""

from __future__ import annotations

__all__ = ["CONTENT_ACTIONS", "EXPOSURE_ACTIONS"]

#: Actions that show something without being a conversion: an experiment's variant shown,
#: a message sent or delivered, a page viewed or visited.
EXPOSURE_ACTIONS = ("sent", "delivered", "exposed", "exposure", "view", "visit", "impression")
#: Actions that mean a piece of content was consumed.
CONTENT_ACTIONS = ("view", "download", "read", "watch")
