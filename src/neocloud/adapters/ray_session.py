"""A Ray session for the scenario's parallel work (sweeps, possible futures): joined by address, or started
here for the run's own use and stopped after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from neocloud.adapters.extras import require_extra
from neocloud.core.errors import InvalidInput


@contextmanager
def ray_session(what: str, address: str | None = None, cpus: int | None = None) -> Iterator[Any]:
    """The `ray` module, initialised: on the cluster at `address` ("auto" for the one this machine belongs to,
    "ray://HOST:10001" for a remote one), or without one, a Ray of this run's own with `cpus` workers (default:
    all). A session already open is used as it is."""
    require_extra("scenario", what, "ray")
    import ray  # heavy: imported only when parallel work runs

    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
        if address is None:  # a Ray of our own, even where this machine runs a cluster already
            options["num_cpus"] = cpus
        try:
            ray.init(address=address or "local", **options)
        except (ConnectionError, ValueError) as exc:
            raise InvalidInput(f"cannot reach the Ray cluster at {address}: {exc}", ray_address=address) from None
    try:
        yield ray
    finally:
        if started_here:
            ray.shutdown()
