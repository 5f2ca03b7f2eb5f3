"""Rendering: Rich tables for people, JSON for scripts, errors as `error[code]: message`."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from enum import Enum
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from neocloud.core.errors import NeocloudError

# Rich wraps at 80 columns when it cannot see a terminal; pipes and logs read better wider.
console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def plain(value: Any) -> Any:
    """Core objects as JSON-ready data: dataclasses as dicts, Decimals as strings (exact)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(plain(value), indent=2) + "\n")


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    out = Table(title=title, title_justify="left")
    for column in columns:
        numeric = column.lower() in {"gpus", "free", "held", "maintenance", "capacity", "installed", "nodes", "mw"}
        out.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row))
    console.print(out)


@contextmanager
def reported(as_json: bool) -> Iterator[None]:
    """Turn a refusal into a clear message (or a JSON error) and exit code 1."""
    try:
        yield
    except NeocloudError as exc:
        if as_json:
            sys.stdout.write(json.dumps({"error": plain(exc.to_dict())}, indent=2) + "\n")
        else:
            errors.print(f"[bold red]error\\[{exc.code}][/]: {escape(exc.message)}", highlight=False)
        raise typer.Exit(1) from None


def each(items: Sequence[Any], render: Callable[[Any], Sequence[Any]]) -> list[Sequence[Any]]:
    return [render(item) for item in items]
