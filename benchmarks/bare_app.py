"""The reference for capacity quotes: a bare FastAPI endpoint of the same shape (three query parameters, a
small JSON answer), served with the same uvicorn settings as `neocloud serve` (benchmarks/api_bench.py)."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/v1/capacity/free")
def free(pool: str, start: int, end: int) -> dict[str, object]:
    return {"pool": pool, "start": start, "end": end, "free": 1024}
