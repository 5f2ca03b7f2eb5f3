"""One line that says what machine a benchmark ran on, printed with every result; and the result shown."""

from __future__ import annotations

import json
import os
import platform
from typing import Any


def describe() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def show(result: dict[str, Any], as_json: bool) -> None:
    """A benchmark's result: as JSON (for benchmarks.all), or one line per figure."""
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for name, value in result.items():
        print(f"{name}: {value:,}" if isinstance(value, int | float) else f"{name}: {value}")
