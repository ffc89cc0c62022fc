"""The SSRF guard: which addresses and URLs a webhook may target."""

from __future__ import annotations

import ipaddress

import pytest

from cloud.domain.webhooks.targets import TargetRefused, check_target, is_public, public_address
from cloud.processes.webhook_sender import pinned


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("10.0.0.5", False),
        ("172.16.3.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("fe80::1", False),
        ("fd00::1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:8.8.8.8", True),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x", "http://10.0.0.1/"])
def test_private_targets_refused_unless_allowed(url: str) -> None:
    with pytest.raises(TargetRefused, match="not a public address"):
        check_target(url, allow_private=False)
    check_target(url, allow_private=True)


def test_an_unresolvable_host_is_refused() -> None:
    with pytest.raises(TargetRefused, match="does not resolve"):
        check_target("https://no-such-host.invalid/hook", allow_private=False)


def test_a_resolving_name_gives_its_address_to_connect_to() -> None:
    assert public_address("https://8.8.8.8/hook") == ipaddress.ip_address("8.8.8.8")


@pytest.mark.parametrize(
    ("url", "address", "pinned_url", "headers", "extensions"),
    [
        (
            "https://hooks.example.com/x?a=1",
            "93.184.216.34",
            "https://93.184.216.34/x?a=1",
            {"host": "hooks.example.com"},
            {"sni_hostname": "hooks.example.com"},
        ),
        (
            "https://hooks.example.com:8443/x",
            "2606:4700:4700::1111",
            "https://[2606:4700:4700::1111]:8443/x",
            {"host": "hooks.example.com:8443"},
            {"sni_hostname": "hooks.example.com"},
        ),
        ("http://hooks.example.com/x", "93.184.216.34", "http://93.184.216.34/x", {"host": "hooks.example.com"}, {}),
        (
            "https://bücher.example/x",
            "93.184.216.34",
            "https://93.184.216.34/x",
            {"host": "xn--bcher-kva.example"},
            {"sni_hostname": "xn--bcher-kva.example"},
        ),
    ],
)
def test_the_connection_is_pinned_to_the_checked_address(
    url: str, address: str, pinned_url: str, headers: dict[str, str], extensions: dict[str, str]
) -> None:
    assert pinned(url, ipaddress.ip_address(address)) == (pinned_url, headers, extensions)
