"""Slurm's compressed host lists (`b-000-r00-n[00-01],b-000-r01-n00`) as node names, without a call to
`scontrol show hostnames` per list: accounting gives one list per job, and a pass reads hundreds of jobs.

The forms Slurm writes: names separated by commas, each with any number of bracketed groups of numbers and
ranges (`n[1-3,7]`, `r[0-1]-n[00-03]`), zero-padded to the width written, and nothing after the last group
(22.05 reads `a[0-1]x` as no names at all)."""

from __future__ import annotations

import itertools
import math
import re

_GROUP = re.compile(r"\[([^\[\]]*)\]")
NONE = ("", "(null)", "None assigned")
MAX_RANGE = 1_000_000  # no cluster has more nodes; a longer range is a corrupt list, not a big one


def expand(hostlist: str) -> list[str]:
    """Every name the list stands for, in its order; ValueError for a list Slurm would not write."""
    if hostlist in NONE:
        return []
    return [name for part in _split(hostlist) for name in _expand_one(part)]


def _split(hostlist: str) -> list[str]:
    """The list's names at the top level (commas inside brackets separate numbers, not names)."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(hostlist):
        depth += (c == "[") - (c == "]")
        if depth not in (0, 1):
            raise ValueError(f"unbalanced brackets in host list {hostlist!r}")
        if c == "," and depth == 0:
            parts.append(hostlist[start:i])
            start = i + 1
    if depth:
        raise ValueError(f"unbalanced brackets in host list {hostlist!r}")
    parts.append(hostlist[start:])
    if any(not p for p in parts):
        raise ValueError(f"empty name in host list {hostlist!r}")
    return parts


def _expand_one(name: str) -> list[str]:
    literals = _GROUP.split(name)[::2]
    groups = [_numbers(g, name) for g in _GROUP.findall(name)]
    if any("[" in t or "]" in t for t in literals):
        raise ValueError(f"unbalanced brackets in host list {name!r}")
    if groups and literals[-1]:
        raise ValueError(f"text after the last group in host list {name!r} (Slurm writes none)")
    if math.prod(len(g) for g in groups) > MAX_RANGE:
        raise ValueError(f"more than {MAX_RANGE:,} names in host list {name!r}")
    expanded = []
    for choice in itertools.product(*groups):
        expanded.append("".join(itertools.chain.from_iterable(itertools.zip_longest(literals, choice, fillvalue=""))))
    return expanded


def _numbers(group: str, name: str) -> list[str]:
    numbers: list[str] = []
    for item in group.split(","):
        low, dash, high = item.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"not a range of numbers in host list {name!r}: [{group}]")
        first, last = int(low), int(high or low)
        if not 0 <= last - first < MAX_RANGE:
            raise ValueError(f"a range backwards or beyond {MAX_RANGE:,} in host list {name!r}: [{group}]")
        numbers.extend(str(n).zfill(len(low)) for n in range(first, last + 1))
    return numbers
