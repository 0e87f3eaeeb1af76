"""Web sources: what a page, feed or sitemap source lists, and fetching a batch of pages.

The I/O half of the web path (the pure halves are `fetch`, `web_sources` and
`prepare.prepare_page`). Feeds and sitemaps are fetched with conditional GETs
too; on 304 their last body, kept in `http_cache`, is read again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy.engine import Engine

from newsdesk.tasks.records import Problem, Rejected
from newsdesk.tasks.sources import Source, SourceError
from newsdesk.tasks.store import http_cache
from newsdesk.tasks.web import fetch
from newsdesk.tasks.web.listings import WebItem, parse_feed, parse_sitemap

# A sitemap index may point at more indexes; past these, the rest is refused.
MAX_SITEMAPS = 200
MAX_SITEMAP_DEPTH = 3
# The sitemap protocol's limit of URLs per sitemap: past it, the rest of one is refused.
MAX_SITEMAP_URLS = 50_000


@dataclass
class Discovery:
    """The article URLs a web source lists, and what went wrong listing them."""

    items: list[WebItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def discover(source: Source, engine: Engine, settings: fetch.FetchSettings) -> Discovery:
    if source.kind == "page":
        return Discovery(items=[WebItem(url) for url in dict.fromkeys(source.urls)])
    return asyncio.run(_discover(source, engine, settings))


async def _discover(source: Source, engine: Engine, settings: fetch.FetchSettings) -> Discovery:
    if source.url is None:
        raise SourceError(f"source {source.name!r}: a {source.kind} source needs a url")
    listing_url = source.url
    found = Discovery()
    async with fetch.client(settings) as client:
        polite = fetch.Politeness(client, settings)
        if source.kind == "feed":
            data = await _fetch_listing(polite, engine, listing_url, fetch.FEED_TYPES, found)
            if data is not None:
                _parse_into(found, listing_url, lambda: parse_feed(data, listing_url, max_bytes=settings.max_bytes))
        else:
            pending, seen = [(listing_url, 0)], set()
            while pending:
                url, depth = pending.pop(0)
                if url in seen:
                    continue
                seen.add(url)
                if len(seen) > MAX_SITEMAPS or depth > MAX_SITEMAP_DEPTH:
                    found.problems.append(Problem(url, "rejected", "discover", "too many nested sitemaps"))
                    continue
                data = await _fetch_listing(polite, engine, url, fetch.SITEMAP_TYPES, found)
                if data is None:
                    continue
                children = _parse_into(
                    found, url, partial(parse_sitemap, data, max_bytes=settings.max_bytes, base_url=url)
                )
                pending.extend((child, depth + 1) for child in children or ())
    unique: dict[str, WebItem] = {}
    for item in found.items:  # one item per URL, as first listed
        unique.setdefault(item.url, item)
    found.items = list(unique.values())
    return found


async def _fetch_listing(polite, engine, url, accept, found: Discovery) -> bytes | None:
    etag, last_modified, body = http_cache.cached(engine, url)
    try:
        result = await fetch.fetch(
            polite, url, accept=accept, etag=etag if body else None, last_modified=last_modified if body else None
        )
    except Rejected as rejected:
        found.problems.append(Problem(url, "rejected", "discover", rejected.reason))
        return None
    except fetch.FetchFailed as failed:
        found.problems.append(Problem(url, "failed", "discover", failed.reason))
        return None
    except Exception as exc:  # a bug or a library failure: this listing fails, the run goes on
        found.problems.append(Problem(url, "failed", "discover", f"{type(exc).__name__}: {exc}"))
        return None
    if result.not_modified:
        return body
    with engine.begin() as conn:
        http_cache.remember(conn, [(url, result.etag, result.last_modified, result.body)])
    return result.body


def _parse_into(found: Discovery, url: str, parse):
    try:
        parsed = parse()
    except Rejected as rejected:
        found.problems.append(Problem(url, "rejected", "discover", rejected.reason))
        return None
    except Exception as exc:  # a bug or a library failure: this listing fails, the run goes on
        found.problems.append(Problem(url, "failed", "discover", f"{type(exc).__name__}: {exc}"))
        return None
    if isinstance(parsed, tuple):  # a sitemap: (items, child sitemaps)
        items, children = parsed
        if len(items) > MAX_SITEMAP_URLS:
            found.problems.append(
                Problem(
                    url,
                    "rejected",
                    "discover",
                    (
                        f"sitemap lists {len(items):,} URLs, over the sitemap protocol's limit of {MAX_SITEMAP_URLS:,}:"
                        f" the first {MAX_SITEMAP_URLS:,} were read"
                    ),
                )
            )
            items = items[:MAX_SITEMAP_URLS]
        found.items.extend(items)
        return children
    found.items.extend(parsed)
    return None


def fetch_pages(
    items: list[WebItem], known: dict[str, tuple[str | None, str | None]], settings: fetch.FetchSettings
) -> list[fetch.Fetched | Rejected | fetch.FetchFailed]:
    """Fetch a batch concurrently within the politeness limits; per URL, the
    response or the exception that ended it."""

    async def run():
        async with fetch.client(settings) as client:
            polite = fetch.Politeness(client, settings)

            async def one(item: WebItem):
                etag, last_modified = known.get(item.url, (None, None))
                try:
                    return await fetch.fetch(polite, item.url, etag=etag, last_modified=last_modified)
                except (Rejected, fetch.FetchFailed) as exc:
                    return exc
                except Exception as exc:  # a bug or a library failure: this page fails, the batch goes on
                    return fetch.FetchFailed(f"{type(exc).__name__}: {exc}")

            return await asyncio.gather(*(one(item) for item in items))

    return asyncio.run(run())
