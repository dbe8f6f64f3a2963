"""What the benchmarks share: a process's own peak memory, and one measurement per child.

Each measurement runs in a fresh child process (``script --child KIND PATH``), so its peak
memory is its own and nothing cached by an earlier measurement helps it.
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def peak_mb() -> float:
    """This process's own peak resident memory, in MB.

    ``ru_maxrss`` of RUSAGE_SELF is not that on Linux: it survives ``exec``, so a child
    reports at least its parent's peak at the time of the fork. ``VmHWM`` belongs to the
    process's current address space, which ``exec`` replaces, so it counts only this program.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB elsewhere


def measure_in_child(script: str, kind: str, path: Path) -> dict[str, Any]:
    """Run ``script --child KIND PATH`` and return the JSON its last output line carries."""
    out = subprocess.run(
        [sys.executable, script, "--child", kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


#: About how many events the CRM generator draws per contact of the demo client. The true
#: rate swings by a fifth from one seed or size to the next, hence the margin below.
EVENTS_PER_CONTACT = 6.9


def generate_events(events: int, workspace: Any, seed: int) -> Any:
    """A generated CRM history of ``events`` events, give or take one contact's.

    Contacts are generated with a margin, then the first of them whose events add up to at
    least ``events`` are kept, with their events and deals (whole histories, never cut).
    """
    import dataclasses

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from workbook.crm.generate import generate

    contacts = max(10, math.ceil(events / EVENTS_PER_CONTACT * 1.3))
    while True:
        sample = generate(workspace, contacts=contacts, seed=seed)
        if sample.events.num_rows >= events:
            break
        contacts *= 2
    ids = sample.contacts.column("contact_id")
    per = pc.value_counts(sample.events.column("contact_id"))
    at = pc.index_in(ids, value_set=per.field("values"))  # null: a contact without events
    counts = pc.fill_null(per.field("counts").take(at), 0).to_numpy()
    keep = ids.slice(0, int(np.searchsorted(np.cumsum(counts), events)) + 1)

    def only(table: pa.Table) -> pa.Table:
        return table.filter(pc.is_in(table.column("contact_id"), value_set=keep))

    return dataclasses.replace(
        sample,
        contacts=only(sample.contacts),
        events=only(sample.events),
        deals=only(sample.deals),
        people=only(sample.people),
    )
