"""Page budgets (ARCHITECTURE.md): every page fits in one TCP initial window once compressed
(14 600 bytes) and references at most 3 subresources, so a cold visit on a rural 3G phone
costs at most 4 requests.

The pages are found by walking the routes, so every new public page is measured without
anyone having to list it here.
"""

from __future__ import annotations

import gzip
import re

import pytest

from portal.access import public
from portal.app import route_handlers

PAGE_BUDGET = 14_600
SUBRESOURCE_BUDGET = 3
NOT_PAGES = ("/health", "/static/")
SUBRESOURCE = re.compile(
    r"<(?:script|img|iframe|audio|video|source|embed)\b[^>]*\bsrc=\"(?!data:)[^\"]+\""
    r"|<link\b[^>]*\bhref=\"(?!data:)[^\"]+\"[^>]*>",
    re.I,
)


def public_pages(app) -> list[str]:
    return sorted(
        path
        for path, handler in route_handlers(app)
        if "GET" in handler.http_methods
        and public in handler.resolve_guards()
        and "{" not in path
        and not path.startswith(NOT_PAGES)
    )


async def measure(client, path: str, language: str = "fr") -> tuple[int, list[str]]:
    # gzip, not brotli: browsers only offer brotli over HTTPS, and gzip is the larger one.
    headers = {"accept-encoding": "gzip", "accept-language": language}
    async with client.stream("GET", path, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    # Unknown URLs match no route, so Litestar's compression does not reach them: they are
    # measured as sent.
    compressed = response.headers.get("content-encoding") == "gzip"
    html = gzip.decompress(raw) if compressed else raw
    return len(raw), SUBRESOURCE.findall(html.decode())


async def test_every_public_page_fits_the_budget(app, client):
    pages = [*public_pages(app), "/no-such-page"]
    assert "/" in pages
    for path in pages:
        size, subresources = await measure(client, path)
        assert size <= PAGE_BUDGET, f"{path} is {size} bytes compressed"
        assert len(subresources) <= SUBRESOURCE_BUDGET, f"{path} loads {subresources}"


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_the_home_page_needs_only_its_stylesheet_and_htmx(client, language):
    _size, subresources = await measure(client, "/", language)
    assert len(subresources) == 2
    page = (await client.get("/")).text
    assert '<link rel="icon" href="data:,">' in page  # no favicon request either
