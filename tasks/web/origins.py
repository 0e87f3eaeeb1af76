"""One key per web site however its URLs spell it.

`fast.test`, `FAST.test`, `fast.test:80`, `Fast.Test.` and `fast.test`
in IDNA are one host: robots.txt, the spacing of requests, the per-host
limit and the time budget are kept per origin in this form. httpx's URL
parser (RFC 3986, IDNA 2008 through `idna`) lower-cases the scheme and the
host, encodes an international name in IDNA and drops a default port; a
fully qualified name's trailing dot is dropped here.
"""

from __future__ import annotations

from functools import lru_cache

import httpx


# A request asks for its URL's origin several times (robots.txt, its slot, its
# spacing): parsed once.
@lru_cache(maxsize=4096)
def origin(url: str) -> str:
    """`scheme://host[:port]` of `url` in its one form (see the module docstring);
    raises `httpx.InvalidURL` (a ValueError) for a URL httpx cannot read."""
    parsed = httpx.URL(url)
    host = host_key(parsed.raw_host.decode("ascii"))
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{host}{port}"


def host_key(host: str) -> str:
    """A host name as compared: lower case, without a trailing dot or IPv6 brackets."""
    return host.strip("[]").rstrip(".").lower()
