"""Rendering: Rich tables for people, JSON for scripts, errors as `error[code]: message`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import typer

from neocloud.core.errors import NeocloudError

if TYPE_CHECKING:
    from rich.console import Console


# Rich wraps at 80 columns when it cannot see a terminal; pipes and logs read better wider. The consoles are
# made on first use: `--help` needs neither.
@cache
def out() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(_data(value), indent=2) + "\n")


def _data(value: Any) -> Any:
    """JSON data of what the API answered (its models) or of core objects."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _data(v) for k, v in value.items()}
    from neocloud.app.views import plain

    return plain(value)


def span(seconds: int) -> str:
    """A duration as people read it: 45s, 2m, 3h 10m, 2d 4h (two units at most)."""
    parts: list[str] = []
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            amount, seconds = divmod(seconds, size)
            parts.append(f"{amount}{unit}")
        if len(parts) == 2:
            break
    return " ".join(p for p in parts if not p.startswith("0") or len(parts) == 1)


def caps_said(caps: dict[str, Any]) -> str:
    """Static power caps as a replay ran them (adapters/replay_power.capped): each model's cap, speed and draw."""
    said = ", ".join(
        f"{m} at {w} W runs at {float(caps['speed'][m]):.1%} speed, {caps['it_kw_per_gpu'][m]} kW IT per GPU"
        for m, w in caps["caps_w"].items()
    )
    return f"under caps ({caps['kind']} work): {said}"


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.table import Table

    shown = Table(title=title, title_justify="left")
    for column in columns:
        numeric = column.lower() in {"gpus", "free", "held", "maintenance", "capacity", "installed", "nodes", "mw"}
        shown.add_column(column, justify="right" if numeric else "left", overflow="fold")  # wrap, never cut
    for row in rows:
        shown.add_row(*("" if v is None else str(v) for v in row))
    out().print(shown)


@contextmanager
def reported(as_json: bool) -> Iterator[None]:
    """Turn a refusal into a clear message (or a JSON error) and exit code 1."""
    try:
        yield
    except NeocloudError as exc:
        fail(exc.code, exc.message, as_json, exc.details)
        raise typer.Exit(1) from None


def fail(code: str, message: str, as_json: bool, details: dict[str, Any] | None = None) -> None:
    """One error: `error[code]: message` on stderr, or one JSON object on stdout with --json."""
    if as_json:
        error = {"code": code, "message": message, "details": details or {}}
        sys.stdout.write(json.dumps({"error": _data(error)}, indent=2) + "\n")
    else:
        from rich.markup import escape

        err().print(f"[bold red]error\\[{code}][/]: {escape(message)}", highlight=False, soft_wrap=True)


def more(next_cursor: str | None, as_json: bool) -> None:
    """Say how to get the next page, after a table."""
    if next_cursor is not None and not as_json:
        out().print(f"more: --cursor {next_cursor}  (or --all)", highlight=False, soft_wrap=True)


def emit_page(items: Sequence[Any], next_cursor: str | None) -> None:
    emit_json({"items": list(items), "next_cursor": next_cursor})


def each(items: Sequence[Any], render: Callable[[Any], Sequence[Any]]) -> list[Sequence[Any]]:
    return [render(item) for item in items]


def names_of(api: Any) -> dict[str, str]:
    """Tenant names by id, to show names rather than ids: every tenant's for an operator; none for a tenant's
    key (it may not list tenants), whose tables then show ids."""
    from neocloud.client import ApiError

    try:
        return {t.id: t.name for t in api.pages(api.tenants.list, limit=1000)}
    except ApiError as exc:
        if exc.status == 403:
            return {}
        raise
