"""Where a server's Python time goes, from a sampling profile of the live process.

py-spy samples the server's threads from outside, without slowing it down
much. With ``--gil`` it keeps only samples of the thread holding the GIL,
which is the server's Python time: the resource pandas overhead would
exhaust. Each sample is charged to the innermost frame of ours it passes
through, so the shares below add up to 100%.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Checked innermost first: the first match up the stack takes the sample.
CATEGORIES = (
    ("idc core (pandas, NumPy, indicators)", ("idc_server/core/",)),
    ("idc API layer (validation, protobuf building)", ("idc_server/api/",)),
    ("idc interceptors (auth, metrics, access log)", ("idc_server/interceptors.py", "idc_server/observability.py")),
    ("logging", ("logging/",)),
    ("protobuf (de)serialisation", ("grpc/_common.py",)),
    ("gRPC server (Python layer)", ("grpc/",)),
    ("thread pool hand-off", ("concurrent/futures/", "threading.py")),
)
OTHER = "other"


@dataclass(frozen=True)
class Profile:
    """Samples of the GIL-holding thread, by category, over ``seconds`` of wall time at ``rate`` Hz."""

    seconds: float
    rate: int
    samples: int
    shares: dict[str, float]  # category -> fraction of samples
    top_frames: list[tuple[str, float]]  # innermost frames, with their fraction of samples

    @property
    def gil_busy(self) -> float:
        """The fraction of wall time some thread held the GIL."""
        return self.samples / (self.seconds * self.rate) if self.seconds else 0.0


def executable() -> str | None:
    """py-spy, on the PATH or beside this Python (the bench session installs it)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


def record(pid: int, seconds: float, output: Path, rate: int = 250) -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` for ``seconds``; wait on the process, then ``summarise`` ``output``."""
    command = [executable() or "py-spy", "record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))]
    command += ["--rate", str(rate), "--gil", "--format", "raw", "--output", str(output), "--nonblocking"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)  # py-spy attaches before the measured window starts
    return process


def category(frames: list[str]) -> str:
    """The category of a stack (outermost frame first)."""
    for frame in reversed(frames):
        for name, markers in CATEGORIES:
            if any(marker in frame for marker in markers):
                return name
    return OTHER


def summarise(output: Path, seconds: float, rate: int = 250) -> Profile:
    """Read py-spy's collapsed stacks (``frame;frame;... count`` lines) into shares."""
    by_category: Counter[str] = Counter()
    innermost: Counter[str] = Counter()
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        by_category[category(frames)] += int(count)
        innermost[frames[-1].rsplit(":", 1)[0]] += int(count)
    total = sum(by_category.values())
    if not total:
        return Profile(seconds, rate, 0, {}, [])
    shares = {name: by_category[name] / total for name, _ in (*CATEGORIES, (OTHER, ())) if by_category[name]}
    top = [(frame, count / total) for frame, count in innermost.most_common(8)]
    return Profile(seconds, rate, total, shares, top)
