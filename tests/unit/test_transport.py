"""A connection pool per origin, kept alive between requests, on real loopback servers."""

from __future__ import annotations

import asyncio

import httpx

from bench.sites import SimulatedWeb
from newsdesk.tasks.web.transport import OriginPools


def test_each_origin_keeps_its_connection_and_old_origins_are_closed():
    with SimulatedWeb(3, 2, latency=0.0) as web:

        async def scenario():
            transport = OriginPools(2, max_origins=2)
            async with httpx.AsyncClient(transport=transport) as client:
                for site in web.sites[:2]:
                    for path in ("/robots.txt", "/page/0", "/page/1"):
                        assert (await client.get(site.base + path)).status_code == 200
                two = transport.origins
                assert (await client.get(web.sites[2].base + "/page/0")).status_code == 200
                return two, transport.origins

        two, after = asyncio.run(scenario())
        assert (two, after) == (2, 2)  # the least recently used origin's pool was closed
        # Three requests to a site came over one kept-alive connection.
        for site in web.sites[:2]:
            assert len(site.log) == 3
            assert site.connections == 1, site.address
