"""The address policy: which addresses a URL the operator did not write may reach."""

import ipaddress

import pytest

from newsdesk.tasks.web.addresses import AddressPolicy

POLICY = AddressPolicy()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "link-local 169.254.169.254"),  # cloud instance metadata
        ("127.0.0.1", "loopback 127.0.0.1"),  # the Prefect API on this machine
        ("127.0.0.3", "loopback 127.0.0.3"),
        ("10.1.2.3", "private 10.1.2.3"),
        ("172.16.0.9", "private 172.16.0.9"),
        ("192.168.1.1", "private 192.168.1.1"),
        ("100.64.0.1", "carrier-grade NAT 100.64.0.1"),
        ("224.0.0.251", "multicast 224.0.0.251"),
        ("0.0.0.0", "unspecified 0.0.0.0"),
        ("::1", "loopback ::1"),
        ("::", "unspecified ::"),
        ("fd12:3456::1", "unique-local fd12:3456::1"),
        ("fe80::1", "link-local fe80::1"),
        ("ff02::1", "multicast ff02::1"),
        ("::ffff:10.0.0.1", "private 10.0.0.1"),  # IPv4-mapped: the IPv4 address is what is reached
        ("::ffff:169.254.169.254", "link-local 169.254.169.254"),
        ("192.0.2.10", "non-public 192.0.2.10"),  # documentation range: not globally reachable
    ],
)
def test_private_and_special_addresses_are_refused_with_their_kind(address, reason):
    assert POLICY.refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert POLICY.refusal(ipaddress.ip_address(address)) is None


def test_allowed_networks_open_only_their_range():
    policy = AddressPolicy(allowed=(ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("fd00::/8")))
    assert policy.refusal(ipaddress.ip_address("10.20.3.4")) is None
    assert policy.refusal(ipaddress.ip_address("fd00::5")) is None
    assert policy.refusal(ipaddress.ip_address("10.21.0.1")) == "private 10.21.0.1"
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) == "link-local 169.254.169.254"
