"""Schemathesis against the published OpenAPI document: generated requests to every operation, checking
that nothing answers 5xx and every response matches the schema. Runs in-process on a SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from neocloud import bootstrap
from neocloud.adapters.specs import parse_fleet
from neocloud.api.app import create_app
from neocloud.app import auth, services
from neocloud.core.contracts import TenantKind

from .test_services import FLEET


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    path: Path = tmp_path_factory.mktemp("schema") / "api.db"
    ctx = bootstrap.build(f"sqlite:///{path}")
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(FLEET, "fleet.yaml", ctx.catalog), ctx.catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, lambda p: "t-lab")
        _, secret = auth.create_key(uow, 0, ctx.new_id)
    yield create_app(ctx), secret
    ctx.engine.dispose()


# The bar: no 5xx, no response outside the schema (bodies, status codes, content types, headers).
# Not "positive_data_acceptance": a request the schema allows may still break a business rule (end after
# start, a known pool) and is then rightly refused with 4xx.
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
]


def test_no_server_errors_and_responses_match_the_schema(served: tuple[Any, str]) -> None:
    app, secret = served
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)

        check()
