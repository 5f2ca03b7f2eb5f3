"""Schemathesis against the published OpenAPI document (tests/fuzzing.py), with a tenant's key and the
operator's: every operation alone, then chains of calls along the links it infers. Nothing answers 5xx,
every answer is as documented, and no refused request writes anything. In-process on a SQLite store;
benchmarks/fuzz_api.py runs the same at 20,000 requests and more."""

from __future__ import annotations

from pathlib import Path

from ..fuzzing import fuzz, operations_and_links, served


def test_generated_requests_and_chains_never_fail_the_server(tmp_path: Path) -> None:
    app, ctx, keys = served(f"sqlite:///{tmp_path / 'api.db'}")
    try:
        operations, links = operations_and_links(app)
        assert operations >= 35
        assert links >= 50  # the chains have somewhere to go
        tally = fuzz(app, ctx, keys, examples=4, chains=8, steps=6)
    finally:
        ctx.engine.dispose()
    assert tally.requests >= operations * 2 * 3
    assert not any(status >= 500 for status in tally.statuses), tally.statuses
    assert tally.refused > 0
    assert tally.wrote_when_refused == []
    assert any(200 <= status < 300 for status in tally.statuses)
