"""The API's documentation page at /docs, working offline: Swagger UI 5 (which renders OpenAPI 3.1, as FastAPI
writes it) from its files in the `fastapi-swagger` package, served by neocloud itself rather than a CDN.
Each file is read and compressed once per process, and kept by browsers for a day."""

from __future__ import annotations

import functools
import gzip
from importlib import resources

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from neocloud.core.errors import NotFound, quoted

ASSETS = {  # what the page loads: name -> (file in the package, media type)
    "swagger-ui-bundle.js": ("swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("swagger-ui.css", "text/css"),
    "favicon.png": ("favicon-32x32.png", "image/png"),
}
PATHS = frozenset({"/docs", *(f"/docs/{name}" for name in ASSETS)})  # public, as the schema itself is

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs_page() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="neocloud API",
        swagger_js_url="/docs/swagger-ui-bundle.js",
        swagger_css_url="/docs/swagger-ui.css",
        swagger_favicon_url="/docs/favicon.png",
    )


@router.get("/docs/{name}")
def docs_asset(name: str, request: Request) -> Response:
    if name not in ASSETS:
        raise NotFound(f"no such file of the docs page: {quoted(name)}", file=name)
    plain, packed = _asset(name)
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", "") and packed is not None:
        return Response(packed, media_type=ASSETS[name][1], headers={**headers, "Content-Encoding": "gzip"})
    return Response(plain, media_type=ASSETS[name][1], headers=headers)


@functools.cache
def _asset(name: str) -> tuple[bytes, bytes | None]:
    """The file, and its gzip (None for what does not compress: the PNG)."""
    data = resources.files("fastapi_swagger.resources").joinpath(ASSETS[name][0]).read_bytes()
    return data, None if name.endswith(".png") else gzip.compress(data, 6, mtime=0)
