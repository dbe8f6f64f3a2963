"""What the benchmarks share: a process's own peak memory, and one measurement per child.

Each measurement runs in a fresh child process (``script --child KIND PATH``), so its peak
memory is its own and nothing cached by an earlier measurement helps it.
"""

from __future__ import annotations

import json
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
