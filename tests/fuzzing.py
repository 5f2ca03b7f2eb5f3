"""Generated requests against the published OpenAPI document, with a tenant's key and the operator's:
every operation alone (stateless), then chains of calls that use what earlier calls returned (stateful,
links inferred by schemathesis). Each answer is checked (never 5xx, always as documented), and each refused
request (4xx) is checked to have written nothing. `tests/test_api_schema.py` runs it small;
`benchmarks/fuzz_api.py` runs it at 20,000 requests and more."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from sqlalchemy import text

from neocloud import bootstrap
from neocloud.adapters.specs import parse_fleet
from neocloud.adapters.store.tables import Base
from neocloud.api.app import create_app
from neocloud.app import auth, services
from neocloud.core.contracts import TenantKind

# No 5xx, nothing outside the schema (bodies, status codes, content types, headers). Not
# "positive_data_acceptance": a request the schema allows may still break a business rule (end after start, a
# known pool, a cursor the list gave out) and is then rightly refused with a 4xx.
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
]
FLEET = """
sites:
  - name: s1
    power_mw: 10
    blocks:
      - {name: b, count: 1, racks: 2, nodes_per_rack: 8, node: {gpu_model: h100-sxm, gpus: 8}}
"""


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    refused: int = 0  # 4xx answers, each checked to have written nothing
    wrote_when_refused: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def digest(ctx: bootstrap.Context) -> str:
    """Every row of every table (but a key's last use, noted when it authenticates whatever follows)."""
    hashed = hashlib.sha256()
    with ctx.engine.connect() as conn:
        for table in sorted(Base.metadata.tables):
            for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1")):
                hashed.update(repr([v for k, v in row._mapping.items() if k != "last_used_at"]).encode())
    return hashed.hexdigest()


def served(url: str) -> tuple[Any, bootstrap.Context, dict[str, str]]:
    """The API in-process on a fresh store with a fleet, two tenants and keys (no rate limit: it would
    answer 429 to the generator, which is documented but tests nothing)."""
    settings = bootstrap.Settings(tick=0, rate_limit=0, max_in_flight=1000, analysis_worker=False)  # no writer beside
    ctx = bootstrap.build(url, settings=settings)
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(FLEET, "fleet.yaml", ctx.catalog), ctx.catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, lambda p: "t-lab")
        services.add_tenant(uow, "research", TenantKind.INTERNAL, lambda p: "t-research")
        keys = {
            "operator": auth.create_key(uow, 0, ctx.new_id)[1],
            "tenant": auth.create_key(uow, 0, ctx.new_id, "lab")[1],
        }
    return create_app(ctx), ctx, keys


def _call(case: Any, ctx: bootstrap.Context, secret: str, tally: Tally) -> None:
    before = digest(ctx)
    response = case.call(headers={"Authorization": f"Bearer {secret}"})
    _count(response, case, ctx, before, tally)
    case.validate_response(response, checks=CHECKS)


def _count(response: Any, case: Any, ctx: bootstrap.Context, before: str, tally: Tally) -> None:
    tally.statuses[response.status_code] += 1
    if 400 <= response.status_code < 500:
        tally.refused += 1
        if digest(ctx) != before:
            tally.wrote_when_refused.append(f"{case.method} {case.formatted_path} -> {response.status_code}")


QUIET = {"deadline": None, "suppress_health_check": list(HealthCheck), "database": None}


def fuzz(app: Any, ctx: bootstrap.Context, keys: dict[str, str], examples: int, chains: int, steps: int) -> Tally:
    """`examples` generated requests per operation and key, then `chains` chains of up to `steps` calls
    per key. Raises at the first answer that fails a check."""
    tally = Tally()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for operation in [result.ok() for result in schema.get_all_operations()]:
        for secret in keys.values():
            _alone(operation, ctx, secret, tally, examples)()
    for secret in keys.values():
        _chained(schema, ctx, secret, tally).run(
            settings=settings(max_examples=chains, stateful_step_count=steps, **QUIET)
        )
    return tally


def _alone(operation: Any, ctx: bootstrap.Context, secret: str, tally: Tally, examples: int) -> Any:
    @given(case=operation.as_strategy())
    @settings(max_examples=examples, phases=[Phase.generate], derandomize=True, **QUIET)
    def one(case: Any) -> None:
        _call(case, ctx, secret, tally)

    return one


def _chained(schema: Any, ctx: bootstrap.Context, secret: str, tally: Tally) -> Any:
    restore = restorer(ctx)

    class Chains(schema.as_state_machine()):  # type: ignore[misc]
        """Each chain starts from the same store: Hypothesis replays the beginnings of chains it has run, and
        their answers (so the links they open) must not depend on what other chains did."""

        def __init__(self) -> None:
            restore()
            super().__init__()

        def before_call(self, case: Any) -> None:
            self._before = digest(ctx)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Bearer {secret}"}}

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            _count(response, case, ctx, self._before, tally)

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    return Chains


def restorer(ctx: bootstrap.Context) -> Any:
    """A function that puts every table back as it is now (and forgets the ledgers kept in memory)."""
    tables = Base.metadata.sorted_tables
    with ctx.engine.connect() as conn:
        rows = {t.name: [dict(r._mapping) for r in conn.execute(t.select())] for t in tables}

    def restore() -> None:
        with ctx.engine.begin() as conn:
            for table in reversed(tables):
                conn.execute(table.delete())
            for table in tables:
                if rows[table.name]:
                    conn.execute(table.insert(), rows[table.name])
        ctx.snapshots.clear()

    return restore


def operations_and_links(app: Any) -> tuple[int, int]:
    """How many operations the document has, and how many links between them schemathesis inferred."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    machine = schema.as_state_machine()
    links = [name for name in dir(machine) if "___" in name]  # one transition rule per link: A___status_link__B
    return len(list(schema.get_all_operations())), len(links)
