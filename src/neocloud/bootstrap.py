"""The composition root: the one place that builds the store, the catalog, the clock, the id source and the
settings that the server and the use cases run with."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from sqlalchemy import Engine

from neocloud.adapters.slurm.cli import SlurmCli, is_file
from neocloud.adapters.slurm.executor import SlurmExecutor
from neocloud.adapters.specs import load_catalog
from neocloud.adapters.store.database import default_url, is_unavailable, make_engine, migrate, unavailable
from neocloud.adapters.store.ledger import LedgerSnapshots
from neocloud.adapters.store.uow import SqlStore
from neocloud.app.credit import Policy
from neocloud.app.live import LiveEngine, TimedExecutor
from neocloud.app.ports import Executor, UnitOfWork, WorkloadManager
from neocloud.core.catalog import Catalog
from neocloud.core.engine.config import EngineConfig
from neocloud.core.engine.ordering import ORDERINGS
from neocloud.core.errors import InvalidInput, StoreUnavailable


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wall_clock() -> int:
    return int(time.time())


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything an operator can set, each from `NEOCLOUD_<NAME>` in the environment (docs/settings.md).

    The server's limits are per API key: `rate_limit` requests per second with bursts of `rate_burst`, shared
    by the server's `workers` (each worker allows its share), and at most `max_in_flight` requests at once in
    each worker. 0 turns the rate limit off."""

    db_url: str | None = None  # NEOCLOUD_DB_URL; None: a SQLite file in the per-user data directory
    tick: float = 1.0  # seconds between live engine steps in the server; 0: off
    workers: int = 1  # server worker processes (set by `neocloud serve --workers`)
    max_body_bytes: int = 2 * 1024 * 1024
    rate_limit: float = 100.0
    rate_burst: int = 200
    max_in_flight: int = 16
    default_quota_gpus: int | None = 1_024  # GPUs beyond reservations per tenant and pool; -1 in the env: none
    start_grace_s: int = 300  # how far in the past a tenant may start a contract (clock skew)
    store_wait_s: float = 60.0  # how long `serve` waits for its store at boot
    engine_ordering: str = "fifo"  # the live engine's policies (`neocloud simulate policies` lists them)
    engine_placement: str = "bestfit"
    dedicated_nodes: bool = True  # reservations of whole units get nodes of their own (False: pooled)
    slurm_conf: str = ""  # a Slurm cluster's slurm.conf: the server keeps that cluster in step; "": no Slurm
    executor: str = "timed"  # where work runs: "timed" (the stand-in) or "slurm" (the cluster of slurm_conf)
    access_log: bool = True
    traces: str = "../shared/traces"  # where analyses read traces named by relative paths (and only there)
    analysis_worker: bool = True  # the server starts `neocloud analysis work` when analyses are queued
    gc_defaults: bool = False  # keep Python's collector settings in the server (see api/asgi.py)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **given: object) -> Settings:
        """Settings from the environment, with `given` values (command-line flags) winning. A value that is
        not one is refused, naming the variable."""
        values: dict[str, object] = {}
        for f in fields(cls):
            name = f"NEOCLOUD_{f.name.upper()}"
            text = env.get(name)
            if f.name in given and given[f.name] is not None:
                values[f.name] = given[f.name]
            elif text is not None and text != "":
                values[f.name] = _parse(name, text, f.default)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        bounds = {
            "tick": (0, 3600),
            "workers": (1, 64),
            "max_body_bytes": (1024, 1 << 30),
            "rate_limit": (0, 1_000_000),
            "rate_burst": (1, 1_000_000),
            "max_in_flight": (1, 100_000),
            "start_grace_s": (0, 86_400),
            "store_wait_s": (0, 86_400),
        }
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise InvalidInput(f"NEOCLOUD_{name.upper()} must be within {low} and {high}, got {value}")
        try:
            self.engine.check()
        except InvalidInput as exc:
            raise InvalidInput(f"NEOCLOUD_ENGINE_ORDERING / NEOCLOUD_ENGINE_PLACEMENT: {exc.message}") from None
        if ORDERINGS[self.engine_ordering].interleave and self.executor == "slurm":
            raise InvalidInput(
                f"NEOCLOUD_ENGINE_ORDERING: {self.engine_ordering} interleaves work on shared GPUs, which the slurm "
                "executor cannot run (Slurm gives each job its GPUs to itself); use it with the timed executor or "
                "in the simulator"
            )
        if self.executor not in ("timed", "slurm"):
            raise InvalidInput(f"NEOCLOUD_EXECUTOR must be timed or slurm, got {self.executor[:40]!r}")
        if self.executor == "slurm" and not self.slurm_conf:
            raise InvalidInput(
                "the slurm executor needs NEOCLOUD_SLURM_CONF (serve --slurm-conf): the cluster's slurm.conf"
            )
        if self.slurm_conf and not is_file(self.slurm_conf):
            raise InvalidInput(f"NEOCLOUD_SLURM_CONF: no Slurm configuration at {self.slurm_conf[:200]!r}")
        if self.default_quota_gpus is not None and not 0 <= self.default_quota_gpus <= 10_000_000:
            raise InvalidInput("NEOCLOUD_DEFAULT_QUOTA_GPUS must be within 0 and 10000000, or -1 for none")

    @property
    def engine(self) -> EngineConfig:
        return EngineConfig(self.engine_ordering, self.engine_placement)

    @property
    def policy(self) -> Policy:
        return Policy(self.start_grace_s, self.default_quota_gpus, self.dedicated_nodes)


def _parse(name: str, text: str, default: object) -> object:
    try:
        if isinstance(default, bool):
            if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("1", "true", "yes")
        if isinstance(default, int) or name == "NEOCLOUD_DEFAULT_QUOTA_GPUS":
            number = int(text)
            return None if name == "NEOCLOUD_DEFAULT_QUOTA_GPUS" and number == -1 else number
        if isinstance(default, float):
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(text)
            return value
        return text
    except ValueError:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise InvalidInput(f"{name} must be a {type(default).__name__}, got {shown!r}") from None


@dataclass
class Context:
    """What the server and the use cases run with: the store (its engine, its sessions and the ledger snapshots
    that its units of work share), the catalog and the settings."""

    url: str
    store: SqlStore
    catalog: Catalog
    settings: Settings = field(default_factory=Settings)

    @property
    def engine(self) -> Engine:
        return self.store.engine

    @property
    def snapshots(self) -> LedgerSnapshots:
        return self.store.snapshots

    def uow(self) -> UnitOfWork:
        return self.store.uow()

    def reader(self) -> UnitOfWork:
        """A unit of work for reads only: capacity snapshots come without a transaction's round trips."""
        return self.store.reader()

    def now(self) -> int:
        return wall_clock()

    def new_id(self, prefix: str) -> str:
        return new_id(prefix)

    def workload_manager(self) -> WorkloadManager | None:
        """The Slurm cluster the settings name, if any."""
        return SlurmCli(Path(self.settings.slurm_conf)) if self.settings.slurm_conf else None

    def executor(self) -> Executor:
        """Where work runs, as the settings say."""
        if self.settings.executor == "slurm":
            return SlurmExecutor(SlurmCli(Path(self.settings.slurm_conf)))
        return TimedExecutor()

    def live_engine(self) -> LiveEngine:
        """The live engine as the settings configure it."""
        s = self.settings
        return LiveEngine(self.catalog, s.engine, self.executor(), policy=s.policy, new_id=self.new_id)


def build(url: str | None = None, catalog_file: Path | None = None, settings: Settings | None = None) -> Context:
    """Connect to the store (migrating it to the newest schema) and load the catalog. A store that cannot be
    reached is StoreUnavailable; a URL that is not one, InvalidInput."""
    settings = settings or Settings.from_env()
    url = url or settings.db_url or default_url()
    catalog = load_catalog(catalog_file)
    engine = make_engine(url)
    try:
        migrate(engine)
    except Exception as exc:
        engine.dispose()
        if is_unavailable(exc):
            raise unavailable(exc, url) from exc
        raise
    return Context(url=url, store=SqlStore(engine, catalog), catalog=catalog, settings=settings)


def build_when_ready(settings: Settings, say: Callable[[str], None], catalog_file: Path | None = None) -> Context:
    """`build`, waiting up to `settings.store_wait_s` for a store that is not up yet (a server that starts
    beside its database), saying once what it waits for; then StoreUnavailable."""
    deadline = time.monotonic() + settings.store_wait_s
    said = False
    while True:
        try:
            return build(settings=settings, catalog_file=catalog_file)
        except StoreUnavailable as exc:
            if time.monotonic() >= deadline:
                raise
            if not said:
                say(f"waiting up to {settings.store_wait_s:g} s for the store: {exc.message}")
                said = True
            time.sleep(1)
