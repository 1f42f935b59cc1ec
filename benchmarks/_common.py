"""Shared helpers of the benchmark scripts: timing, alternation, statistics, the markdown table.

Every benchmark returns a list of :class:`Row`; a row holds all the repeated measurements of one
quantity, and the table prints their median, minimum and maximum. Two sides that are compared
are timed in the same process, alternating (A, B, B, A, A, B, ...), so that a ratio is never
taken against a number from another run or another day; a ratio row holds one ratio per round.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
PYTHON = (
    str(ROOT / ".venv" / "bin" / "python")
    if (ROOT / ".venv" / "bin" / "python").exists()
    else sys.executable
)


@dataclass
class Row:
    """One measured quantity: its repeated values, unit, target and whether the target is met.

    Attributes:
        benchmark: Which benchmark, e.g. ``"training"``.
        what: What was measured, e.g. ``"vae_tutorial.training.train, one epoch"``.
        values: The measurements, one per run (or per round, for ratios).
        unit: ``"s"``, ``"s/image"``, ``"MB"``, ``"x"`` (a ratio), ``"nats"`` ...
        target: The target in words, e.g. ``">= 2"``; empty if none.
        met: Whether the median meets the target (``None`` if there is no target).
        note: A short note (settings, caveats).
    """

    benchmark: str
    what: str
    values: list[float]
    unit: str
    target: str = ""
    met: bool | None = None
    note: str = ""
    digits: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(
    sides: dict[str, Callable[[], float]], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Run each side ``warmup + repeats`` times, alternating; keep the last ``repeats`` results.

    Each callable returns the seconds it measured itself (so that set-up can be left out). The
    order within a round is reversed every other round (A B, B A, A B, ...) so that neither side
    always runs right after the other.
    """
    names = list(sides)
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(warmup + repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            seconds = sides[name]()
            if r >= warmup:
                out[name].append(seconds)
    return out


def ratios(num: list[float], den: list[float]) -> list[float]:
    """Round-by-round ratios ``num[r] / den[r]`` of two sides measured in the same rounds."""
    return [a / b for a, b in zip(num, den, strict=True)]


def machine() -> dict[str, str]:
    """The facts a reader needs to compare a table with their own: cores, torch, load."""
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 0
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {
        "date (UTC)": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "cores": f"{os.cpu_count()} logical, {usable} usable",
        "torch": f"{torch.__version__} (threads: {torch.get_num_threads()})",
        "python": platform.python_version(),
        "cpu": _cpu_name(),
        "load average (1, 5, 15 min)": load,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt(value: float, unit: str, digits: int | None = None) -> str:
    """A value with its unit, rounded for reading (seconds switch to ms below 0.1 s)."""
    if value != value:  # nan
        return "n/a"
    if unit == "s" and abs(value) < 0.1 and digits is None:
        return f"{value * 1000:.1f} ms"
    if unit == "s/image" and abs(value) < 0.1 and digits is None:
        return f"{value * 1000:.1f} ms/image"
    if unit == "x":
        return f"{value:.{2 if digits is None else digits}f}x"
    if digits is None:
        digits = 3 if abs(value) < 10 else (1 if abs(value) < 1000 else 0)
    return f"{value:.{digits}f} {unit}".rstrip()


def table(
    rows: list[Row],
    title: str | None = None,
    notes: list[str] | None = None,
    header: dict[str, str] | None = None,
) -> str:
    """Markdown: one table per benchmark, one line per row with median, range and runs.

    Five columns (measurement, median, min - max, runs, target), so that a table fits a laptop
    screen's text column; a row's note is set in the measurement cell, after its name.
    ``header`` (default: :func:`machine` now) is printed above the tables, one ``key: value``
    list on one line.
    """
    lines = []
    if title:
        lines += [f"**{title}**", ""]
    m = machine() if header is None else header
    lines.append("; ".join(f"{k}: {v}" for k, v in m.items()))
    for bench in dict.fromkeys(row.benchmark for row in rows):
        lines += ["", f"*{bench}*", ""]
        lines.append("| measurement | median | min - max | runs | target |")
        lines.append("|---|---:|---:|---:|---|")
        for row in (r for r in rows if r.benchmark == bench):
            if row.values:
                med = fmt(row.median, row.unit, row.digits)
                lo = fmt(min(row.values), row.unit, row.digits)
                hi = fmt(max(row.values), row.unit, row.digits)
                span = f"{lo} - {hi}"
            else:
                med = span = "n/a"
            target = row.target
            if row.met is not None:
                target = f"{target}: " + ("met" if row.met else "**not met**")
            what = row.what + (f" (*{row.note}*)" if row.note else "")
            cells = [what.replace("|", "\\|"), med, span, str(len(row.values)), target]
            lines.append("| " + " | ".join(cells) + " |")
    if notes:
        lines.append("")
        lines += [f"- {n}" for n in notes]
    return "\n".join(lines)


def print_rows(rows: list[Row], title: str, notes: list[str] | None = None) -> None:
    """Print a table of ``rows`` (used when a benchmark script is run on its own)."""
    print(table(rows, title=title, notes=notes))
