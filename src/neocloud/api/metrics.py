"""Prometheus metrics: what the server did (requests, latency, signing batches, refusals, store errors) and
what the store holds now (GPUs installed, in maintenance, held and free per pool; workloads by state; nodes
by state).

Several workers: `neocloud serve` gives them one PROMETHEUS_MULTIPROC_DIR, each writes its counters there,
and a scrape of any worker sums them all. The store's figures are read at scrape time, so every worker
answers the same whatever it served.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from neocloud import bootstrap
from neocloud.app import nodes

REQUESTS = Counter("neocloud_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "neocloud_http_request_seconds",
    "Time to answer, by route",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CONTRACTS_SIGNED = Counter("neocloud_contracts_signed_total", "Contracts signed through the API")
SIGNING_BATCH = Histogram("neocloud_signing_batch_size", "Requests per signing batch", buckets=(1, 2, 4, 8, 16, 32, 64))
RATE_LIMITED = Counter("neocloud_rate_limited_total", "Requests refused with 429")
STORE_ERRORS = Counter("neocloud_store_errors_total", "Requests that failed on the store", ["kind"])
SLURM_SYNCED = Gauge(
    "neocloud_slurm_synced_seconds", "When the Slurm cluster was last in step (Unix time)", multiprocess_mode="max"
)
TIME_TO_HEAL = Histogram(
    "neocloud_time_to_heal_seconds",
    "From a reserved node's failure to its replacement in the reservation",
    buckets=(1, 2, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400),
)
INTERNAL_ERRORS = Counter("neocloud_internal_errors_total", "Requests answered 500 (a fault of ours)")


class StoreCollector(Collector):
    """The store's figures at scrape time: capacity per pool now, workloads by pool and state."""

    def __init__(self, ctx: bootstrap.Context) -> None:
        self.ctx = ctx

    def collect(self):  # type: ignore[no-untyped-def]  # prometheus_client's own signature
        gpus = GaugeMetricFamily("neocloud_pool_gpus", "GPUs of a pool now, by state", labels=["pool", "state"])
        work = GaugeMetricFamily("neocloud_workloads", "Workloads by pool and state", labels=["pool", "status"])
        queue = GaugeMetricFamily("neocloud_queue_depth", "Workloads waiting to start, by pool", labels=["pool"])
        machines = GaugeMetricFamily("neocloud_nodes", "Nodes by pool and state", labels=["pool", "state"])
        now = self.ctx.now()
        with self.ctx.reader() as uow:
            pools = uow.fleet.list_pools()
            counts = uow.workloads.count()
            for pool in pools:
                [step] = uow.ledger.load([pool.name], lock=False).profile(pool.name, now, now + 1)
                for state in ("installed", "maintenance", "held", "free"):
                    gpus.add_metric([pool.name, state], getattr(step, state))
                queue.add_metric([pool.name], counts.get((pool.name, "pending"), 0))
            for count in nodes.summary(nodes.inventory(uow, self.ctx.catalog)):
                machines.add_metric([count.pool, count.state.value], count.nodes)
        for (pool_name, status), n in sorted(counts.items()):
            work.add_metric([pool_name, status], n)
        yield from (gpus, work, queue, machines)


def exposition(ctx: bootstrap.Context) -> bytes:
    """The text a scrape gets: every worker's counters (or this process's), and the store's figures."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    store = CollectorRegistry()
    store.register(StoreCollector(ctx))
    return text + generate_latest(store)
