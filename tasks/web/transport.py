"""An httpx transport with a connection pool of its own for each origin.

A crawl keeps a connection open to each of the hundreds of hosts it visits
(their next request comes a host delay later). httpcore's one pool looks at
every connection it holds for each request it places (with a readiness check
of the socket of each idle one, and a count of the idle ones inside that
loop), so with one pool for all hosts a request's cost grows with the number
of hosts; through a pool per origin, it looks at that host's one or two. The
pools of the origins least recently used are closed past `max_origins`, once
none of their connections is in use.
"""

from __future__ import annotations

import itertools
import ssl
from collections import OrderedDict

import httpcore
import httpx


class PoolTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over an httpcore pool built here: with a network
    backend of our choosing (httpx takes none) and a shared SSL context."""

    def __init__(
        self,
        limits: httpx.Limits,
        *,
        backend: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ):
        context = ssl_context if ssl_context is not None else httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )

    def in_use(self) -> bool:
        return any(not (connection.is_idle() or connection.is_closed()) for connection in self._pool.connections)


class OriginPools(httpx.AsyncBaseTransport):
    """Routes each request to its origin's `PoolTransport` of `per_origin`
    connections (the per-host limit: more are never open at once)."""

    def __init__(
        self,
        per_origin: int,
        *,
        backend: httpcore.AsyncNetworkBackend | None = None,
        max_origins: int = 256,
        keepalive_expiry: float = 5.0,
    ):
        self._limits = httpx.Limits(
            max_connections=per_origin, max_keepalive_connections=per_origin, keepalive_expiry=keepalive_expiry
        )
        self._backend = backend
        self._ssl_context = httpx.create_ssl_context(trust_env=False)
        self._max_origins = max_origins
        self._pools: OrderedDict[tuple[bytes, bytes, int | None], PoolTransport] = OrderedDict()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        pool = self._pools.pop(key, None)
        if pool is None:
            pool = PoolTransport(self._limits, backend=self._backend, ssl_context=self._ssl_context)
        self._pools[key] = pool  # the most recently used last
        if len(self._pools) > self._max_origins:
            await self._close_least_used()
        return await pool.handle_async_request(request)

    async def _close_least_used(self) -> None:
        surplus = len(self._pools) - self._max_origins
        idle = [key for key, pool in itertools.islice(self._pools.items(), surplus) if not pool.in_use()]
        for key in idle:
            await self._pools.pop(key).aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()

    @property
    def origins(self) -> int:
        """How many origins have a pool open."""
        return len(self._pools)
