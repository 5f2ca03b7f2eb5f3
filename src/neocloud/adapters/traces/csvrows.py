"""CSV reading shared by the trace readers: required columns, a parser per row, and errors that name the
file and line (or, with skip_bad_rows, a list of what was skipped and why)."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from neocloud.core.errors import InvalidInput, InvalidSpec, quoted

T = TypeVar("T")
Row = dict[str, str]
Skipped = list[tuple[int, str]]  # (line, why)


def read_rows(
    path: Path,
    required: list[str],
    parse: Callable[[Row, int], T | None],
    *,
    skip_bad_rows: bool = False,
    delimiter: str = ",",
) -> tuple[list[T], Skipped]:
    """Parse every row; `parse` returns None to leave a row out, or raises ValueError for a bad one."""
    try:
        handle = path.open(newline="")
    except OSError as exc:
        raise InvalidSpec(f"{path}: cannot read: {exc.strerror}", file=str(path)) from None
    items: list[T] = []
    skipped: Skipped = []
    with handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        try:
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                has = reader.fieldnames
                raise InvalidSpec(f"{path}:1: missing columns {missing}; has {has}", file=str(path), line=1)
            for row in reader:
                line = reader.line_num
                try:
                    if None in row or any(v is None for v in row.values()):
                        raise ValueError(f"expected {len(reader.fieldnames or [])} fields")
                    item = parse(row, line)
                except (ValueError, InvalidInput) as exc:  # a bad value, or a job the values make no sense for
                    if not skip_bad_rows or isinstance(exc, UnicodeDecodeError):
                        raise InvalidSpec(f"{path}:{line}: {exc}", file=str(path), line=line) from None
                    skipped.append((line, str(exc)))
                    continue
                if item is not None:
                    items.append(item)
        except (UnicodeDecodeError, csv.Error) as exc:  # not text, or not CSV: the file, not one of its rows
            raise InvalidSpec(f"{path}:{max(1, reader.line_num)}: cannot read: {exc}", file=str(path)) from None
    return items, skipped


def number(row: Row, column: str) -> float:
    """A non-negative number."""
    value = (row.get(column) or "").strip()
    if not value:
        raise ValueError(f"column {quoted(column)} is empty")
    try:
        result = float(value)
    except ValueError:
        raise ValueError(f"column {quoted(column)} is not a number: {quoted(value)}") from None
    if not math.isfinite(result) or result < 0:
        raise ValueError(f"column {quoted(column)} is not a finite non-negative number: {quoted(value)}")
    return result


def integer(row: Row, column: str) -> int:
    """A non-negative whole number written as one, below 2^53 (what a float, or a JSON reader, keeps exactly)."""
    value = (row.get(column) or "").strip()
    if not value:
        raise ValueError(f"column {quoted(column)} is empty")
    try:
        result = int(value)
    except ValueError:
        raise ValueError(f"column {quoted(column)} is not an integer: {quoted(value)}") from None
    if not 0 <= result < 2**53:
        raise ValueError(f"column {quoted(column)} is out of range (0 to 2^53): {quoted(value)}")
    return result
