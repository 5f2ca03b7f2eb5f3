"""The command tree: each group of commands by name, the module that defines it, and its help. The root
imports a group's module, and turns its commands into click commands, only when the group is used or its
own help is shown: doing both for every group made `neocloud --help` twice as slow as importing Typer."""

from __future__ import annotations

from difflib import get_close_matches
from importlib import import_module
from typing import Any

import typer._click as click
from typer._click.exceptions import UsageError
from typer._click.utils import make_default_short_help
from typer.core import TyperGroup
from typer.main import get_command_from_info, get_group
from typer.models import CommandInfo

# name -> (module, help); the module's group is `<name>_app`, made with args.group(name)
GROUPS = {
    "fleet": ("neocloud.cli.main", "Sites, blocks, nodes and pools."),
    "tenant": ("neocloud.cli.contracts", "Internal teams and external customers."),
    "contract": ("neocloud.cli.contracts", "Reserved, on-demand, spot and internal contracts."),
    "capacity": ("neocloud.cli.capacity", "Free capacity, profiles and earliest starts from the ledger."),
    "maintenance": ("neocloud.cli.capacity", "Take GPUs out of service for a time."),
    "node": (
        "neocloud.cli.nodes",
        "Nodes: their place in the fabric and their state (up, draining, down, maintenance).",
    ),
    "bench": ("neocloud.cli.bench", "Reference experiments from published papers."),
    "simulate": ("neocloud.cli.simulate", "Replay job traces through the scheduling engine on a virtual clock."),
    "usage": ("neocloud.cli.billing", "Metered GPU usage."),
    "invoice": ("neocloud.cli.billing", "Invoices per tenant per calendar month."),
    "incident": ("neocloud.cli.billing", "GPUs out of service by failure: they count against SLA availability."),
    "key": ("neocloud.cli.keys", "API keys (stored hashed; the secret is shown once)."),
    "workload": ("neocloud.cli.workloads", "Work under contracts, placed and run by the live engine."),
    "scenario": (
        "neocloud.cli.scenario",
        "Rent GPU capacity out or keep it: strategies, sensitivity, sweeps and a report.",
    ),
    "analysis": (
        "neocloud.cli.analyses",
        "Scenarios and policy comparisons run by workers, kept with their progress, findings and reports.",
    ),
    "agreement": ("neocloud.cli.commercial", "Terms agreed with a tenant for a pool and kind of contract."),
    "limit": ("neocloud.cli.commercial", "Quotas and credit limits per tenant."),
    "power": ("neocloud.cli.power", "Power as capacity: curtailments, drilled and applied."),
}
# Commands of the root defined elsewhere: name -> (module, short help); the function has the command's name.
COMMANDS = {
    "revenue": ("neocloud.cli.billing", "Invoiced revenue by period, tenant, contract and pool."),
    "serve": ("neocloud.cli.keys", "Run the REST API (OpenAPI at /docs and /openapi.json)."),
}


class Root(TyperGroup):
    """The `neocloud` command: the commands of its own module, and the groups and commands above, loaded
    when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *super().list_commands(ctx), *GROUPS]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and (name in GROUPS or name in COMMANDS):
            self.commands[name] = _load(name)
        return super().get_command(ctx, name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:  # suggest among every command, not only those loaded
            close = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if close and "Did you mean" not in exc.message:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(map(repr, close))}?"
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, _short_help(self.commands.get(name), name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _short_help(command: click.Command | None, name: str, limit: int) -> str:
    if command is not None:
        return command.get_short_help_str(limit)
    return make_default_short_help((GROUPS.get(name) or COMMANDS[name])[1], limit)


def _load(name: str) -> click.Command:
    if name in GROUPS:
        group = get_group(getattr(import_module(GROUPS[name][0]), f"{name}_app"))
        group.name = name
        return group
    module, short = COMMANDS[name]
    callback: Any = getattr(import_module(module), name)
    info = CommandInfo(name, callback=callback, short_help=short)
    return get_command_from_info(info, pretty_exceptions_short=True, rich_markup_mode=None)


def help_of(name: str) -> str:
    return GROUPS[name][1]
