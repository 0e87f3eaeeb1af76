"""Web sources: what a page, feed or sitemap source lists.

Feeds and sitemaps are read through the run's frontier (`frontier.Frontier`),
with conditional GETs: on 304 their last body, kept in `http_cache`, is read
again. Parsing is `listings`' (pure), run off the crawl's loop in a worker
process within a CPU budget (`listing_parser`); what goes wrong becomes a
`Problem` of the source, never an exception that ends the run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from newsdesk.tasks.records import Problem, Rejected
from newsdesk.tasks.sources import Source, SourceError
from newsdesk.tasks.store import http_cache
from newsdesk.tasks.web import fetch
from newsdesk.tasks.web.listing_parser import ListingFailed, listing_parsers
from newsdesk.tasks.web.listings import Listing, WebItem
from newsdesk.tasks.web.permits import LISTING

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


async def discover(
    polite: fetch.Politeness, source: Source, engine: Engine, settings: fetch.FetchSettings
) -> Discovery:
    """The article URLs a page, feed or sitemap source lists, read through the
    run's `polite` client (the frontier's). A listing is read for what its body
    is (feed, sitemap, sitemap index, plain-text sitemap, robots.txt with
    `Sitemap:` lines), whatever its Content-Type says; the listings it points
    to are read in turn, up to MAX_SITEMAPS of them, MAX_SITEMAP_DEPTH deep."""
    if source.kind == "page":
        return Discovery(items=[WebItem(url) for url in dict.fromkeys(source.urls)])
    if source.url is None:
        raise SourceError(f"source {source.name!r}: a {source.kind} source needs a url")
    found = Discovery()
    pending, seen = [(source.url, 0)], set()
    while pending:
        url, depth = pending.pop(0)
        if url in seen:
            continue
        seen.add(url)
        if len(seen) > MAX_SITEMAPS or depth > MAX_SITEMAP_DEPTH:
            found.problems.append(Problem(url, "rejected", "discover", "too many nested sitemaps"))
            continue
        # The source's own listing unread is the source failing (it delivers
        # nothing); a sitemap it points to is one bad entry of it.
        unread = "failed" if depth == 0 else "rejected"
        fetched = await _fetch_listing(polite, engine, url, found, unread)
        if fetched is None:
            continue
        body, final_url = fetched
        listing = await _parse(found, url, body, final_url, settings, unread)
        pending.extend((child, depth + 1) for child in listing.children)
    unique: dict[str, WebItem] = {}
    for item in found.items:  # one item per URL, as first listed
        unique.setdefault(item.url, item)
    found.items = list(unique.values())
    return found


async def _fetch_listing(
    polite: fetch.Politeness, engine: Engine, url: str, found: Discovery, unread: str
) -> tuple[bytes, str] | None:
    """The listing's body and the URL it was finally read from (after
    redirects; the configured one when the cached body is read again on 304);
    None when it cannot be read, with a problem of outcome `unread` (`failed`
    also when the fetch failed)."""
    etag, last_modified, body = await asyncio.to_thread(http_cache.cached, engine, url)
    try:
        result = await fetch.fetch(
            polite,
            url,
            accept=fetch.LISTING_TYPES,
            any_type=True,
            priority=LISTING,
            etag=etag if body else None,
            last_modified=last_modified if body else None,
        )
    except Rejected as rejected:
        found.problems.append(Problem(url, unread, "discover", rejected.reason))
        return None
    except fetch.FetchFailed as failed:
        found.problems.append(Problem(url, "failed", "discover", failed.reason))
        return None
    except Exception as exc:  # a bug or a library failure: this listing fails, the run goes on
        found.problems.append(Problem(url, "failed", "discover", f"{type(exc).__name__}: {exc}"))
        return None
    if result.not_modified:
        return (body, url) if body is not None else None
    await asyncio.to_thread(_remember_listing, engine, url, result)
    return result.body, result.final_url


def _remember_listing(engine: Engine, url: str, result: fetch.Fetched) -> None:
    with engine.begin() as conn:
        http_cache.remember(conn, [(url, result.etag, result.last_modified, result.body)])


async def _parse(
    found: Discovery, url: str, body: bytes, final_url: str, settings: fetch.FetchSettings, unread: str
) -> Listing:
    """Read one listing into `found` (parsed off the loop, within
    `settings.listing_cpu_budget`): its items (at most MAX_SITEMAP_URLS), and a
    rejected problem for each entry that names no usable URL; its children are
    returned. A listing that cannot be parsed is a problem of outcome `unread`."""
    try:
        listing = await listing_parsers().parse(
            body, final_url, max_bytes=settings.max_bytes, cpu_budget=settings.listing_cpu_budget
        )
    except Rejected as rejected:
        found.problems.append(Problem(url, unread, "discover", rejected.reason))
        return Listing()
    except ListingFailed as failed:  # a bug or a library failure: this listing fails, the run goes on
        found.problems.append(Problem(url, "failed", "discover", failed.reason))
        return Listing()
    except Exception as exc:  # the worker could not be started or reached: this listing fails
        found.problems.append(Problem(url, "failed", "discover", f"{type(exc).__name__}: {exc}"))
        return Listing()
    items = listing.items
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
    found.problems.extend(Problem(locator, "rejected", "discover", reason) for locator, reason in listing.problems)
    return listing
