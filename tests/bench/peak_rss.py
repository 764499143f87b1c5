"""The peak resident memory of a command, measured apart from the benchmark that runs it.

`os.wait4` on a child started by the benchmark itself reports the benchmark's own resident set as the
child's peak whenever it is larger: the child is spawned with the parent's address space (vfork), and
Linux keeps that space's high-water mark across the exec. A benchmark that has just built a fleet of
30,000 processors holds a few hundred MiB, which was reported as `spd plan`'s. So the command is
started by a small launcher process, and the launcher reports its child's peak (and its CPU time, which
a busy machine disturbs less than wall time).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LAUNCHER = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"exit": done.returncode, "peak_kib": usage.ru_maxrss,
                  "cpu_s": usage.ru_utime + usage.ru_stime, "stderr": done.stderr[-4000:]}))
"""


@dataclass(frozen=True)
class Measured:
    exit: int
    peak_mib: float
    stderr: str
    cpu_s: float
    """User and system CPU seconds of the command."""


def measure(command: Sequence[str], env: Mapping[str, str]) -> Measured:
    """Run `command` (its output discarded, the end of its stderr kept) and report its peak RSS."""
    out = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command], env=dict(env), capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    return Measured(result["exit"], result["peak_kib"] / 1024, result["stderr"], result["cpu_s"])
