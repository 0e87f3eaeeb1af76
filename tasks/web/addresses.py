"""Where a fetch may connect: no way into the private network from a URL a feed chose.

A feed, a sitemap or a redirect can name any host. A URL the operator wrote in
sources.toml is trusted as written, and so is its host for the URLs its listing
names; any other host must resolve to public addresses. The check is made on
the address actually connected to: the name is resolved once, every address it
returns is vetted, and the connection goes to a vetted address, so a name that
answers differently on a second lookup (DNS rebinding) gains nothing.
NEWSDESK_ALLOW_NETWORKS opens ranges on purpose (an internal archive).

An IPv6 address that carries an IPv4 one (IPv4-mapped ::ffff:a.b.c.d,
IPv4-compatible ::a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d, NAT64
64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32) is vetted by the IPv4
address it carries; deprecated site-local fec0::/10 is refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore

from newsdesk.tasks.records import Rejected
from newsdesk.tasks.web.origins import host_key

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges no listed URL may reach, with the name a refusal gives; checked in
# order, so the most telling name comes first.
BLOCKED: tuple[tuple[str, IPNetwork], ...] = tuple(
    (name, ipaddress.ip_network(cidr))
    for name, cidr in (
        ("unspecified", "0.0.0.0/8"),
        ("loopback", "127.0.0.0/8"),
        ("private", "10.0.0.0/8"),
        ("private", "172.16.0.0/12"),
        ("private", "192.168.0.0/16"),
        ("link-local", "169.254.0.0/16"),
        ("carrier-grade NAT", "100.64.0.0/10"),
        ("multicast", "224.0.0.0/4"),
        ("reserved", "240.0.0.0/4"),
        ("unspecified", "::/128"),
        ("loopback", "::1/128"),
        ("unique-local", "fc00::/7"),
        ("link-local", "fe80::/10"),
        ("site-local", "fec0::/10"),
        ("NAT64 local-use", "64:ff9b:1::/48"),
        ("multicast", "ff00::/8"),
    )
)


class AddressRefused(Rejected):
    """A connection the policy does not allow: the item is rejected with the reason."""

    def __init__(self, reason: str):
        super().__init__("fetch", f"address not allowed: {reason}")


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a URL that the operator did not configure may reach."""

    allowed: tuple[IPNetwork, ...] = ()

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` may not be connected to, or None when it may."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
        if any(address in network for network in self.allowed if network.version == address.version):
            return None
        if isinstance(address, ipaddress.IPv6Address):
            for form, carried in embedded_ipv4(address):
                reason = self.refusal(carried)
                if reason is not None:
                    return f"{reason} ({form} {address})"
        for name, network in BLOCKED:
            if network.version == address.version and address in network:
                return f"{name} {address}"
        if not address.is_global:
            return f"non-public {address}"
        return None


# IPv6 forms that carry an IPv4 address in their last 32 bits.
_LOW32_FORMS = (
    ("IPv4-compatible", ipaddress.ip_network("::/96")),
    ("IPv4-translated", ipaddress.ip_network("::ffff:0:0:0/96")),
    ("NAT64", ipaddress.ip_network("64:ff9b::/96")),
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 one carries, each with its form's name
    (Teredo carries two: its server's and, obfuscated, its client's)."""
    carried = []
    for form, network in _LOW32_FORMS:
        if address in network and int(address) > 1:  # :: and ::1 are themselves
            carried.append((form, ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)))
    if address.sixtofour is not None:
        carried.append(("6to4", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        carried += [("Teredo", server), ("Teredo", client)]
    return carried


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, as the system resolver answers."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass
class VettingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the policy in front of every connection:
    trusted hosts connect as usual, any other name is resolved here once and
    connected to by the address that was vetted."""

    policy: AddressPolicy
    trusted_hosts: set[str] = field(default_factory=set)
    resolver: Resolver = resolve
    inner: httpcore.AsyncNetworkBackend = field(default_factory=httpcore.AnyIOBackend)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        target = host if host_key(host) in self.trusted_hosts else await self._vetted_address(host, port)
        return await self.inner.connect_tcp(target, port, timeout, local_address, socket_options)

    async def _vetted_address(self, host: str, port: int) -> str:
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            try:
                addresses = [ipaddress.ip_address(a.split("%")[0]) for a in await self.resolver(host, port)]
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        refusals = []
        for address in addresses:
            reason = self.policy.refusal(address)
            if reason is None:
                return str(address)
            refusals.append(reason)
        raise AddressRefused(refusals[0] if refusals else f"{host} has no address")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
