"""The hottest read, free capacity, answered without the framework when it plainly can be: a GET of
/v1/capacity/free whose query is exactly a pool, a start and an end in their plainest form, on a pool whose
committed ledger was read within the last moments (a snapshot: no I/O). Everything else, errors included,
goes the documented way through the route (api/routes/fleet.py), which answers the same for these; the
door has authenticated and admitted the request either way. In-process, a quote took 0.47 ms of CPU
through the framework (routing, dependencies, a thread hop: 80 % of it)."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from neocloud import bootstrap
from neocloud.core import bounds

PATH = "/v1/capacity/free"
_POOL = re.compile(bounds.ID)
_TIME = re.compile(r"[0-9]{1,12}")  # unsigned decimal; anything fancier goes the documented way
_FIELDS = frozenset({"pool", "start", "end"})


def free_capacity(ctx: bootstrap.Context, query: bytes) -> bytes | None:
    """The JSON body the route would answer, or None where the route must answer."""
    fields: dict[str, str] = {}
    for part in query.split(b"&"):
        name, equals, value = part.partition(b"=")
        key = name.decode("latin-1")
        if not equals or key not in _FIELDS or key in fields or not value.isascii():
            return None
        fields[key] = value.decode("ascii")
    if len(fields) != len(_FIELDS) or not (_TIME.fullmatch(fields["start"]) and _TIME.fullmatch(fields["end"])):
        return None
    pool, start, end = unquote(fields["pool"]), int(fields["start"]), int(fields["end"])
    if len(pool) > 200 or not _POOL.fullmatch(pool) or not bounds.MIN_TIME <= start < end <= bounds.MAX_TIME:
        return None
    ledger = ctx.snapshots.fresh(pool)
    if ledger is None:
        return None
    free = ledger.free(pool, start, end)
    return json.dumps({"pool": pool, "start": start, "end": end, "free": free}, separators=(",", ":")).encode()
