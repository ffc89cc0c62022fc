"""Where a webhook may point: the SSRF guard.

A staff account (or a stolen staff token) must not make the server POST into its own
network — the cloud database, a metadata service at 169.254.169.254, an admin port on
localhost. So in production a target's host must resolve only to global addresses; it is
checked when the webhook is made and again before each attempt (DNS can change). Development
(the demo, the tests) allows local receivers; ``KYWASH_WEBHOOK_ALLOW_PRIVATE`` decides either way.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from cloud.platform.errors import InvalidInput

MAX_URL_LENGTH = 2048


class TargetRefused(InvalidInput):
    code = "webhook_target_refused"


def check_url(url: str, *, production: bool) -> str:
    """The URL if it is one we can POST to; ``InvalidInput`` saying why not."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"a webhook URL may be at most {MAX_URL_LENGTH} characters", code="invalid_webhook_url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("a webhook URL must be http:// or https:// with a host", code="invalid_webhook_url")
    if production and parts.scheme != "https":
        raise InvalidInput("a webhook URL must be https:// in production", code="invalid_webhook_url")
    if parts.username or parts.password:
        raise InvalidInput("a webhook URL may not carry a user name or password", code="invalid_webhook_url")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise InvalidInput("the webhook URL has an invalid port", code="invalid_webhook_url") from None
    return url


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse (``TargetRefused``) a URL whose host does not resolve, or resolves to any address
    that is not globally routable, unless private targets are allowed."""
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"the webhook host {host!r} does not resolve ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not is_public(address):
            raise TargetRefused(
                f"the webhook host {host!r} resolves to {address}, which is not a public address; "
                "private, loopback and link-local targets are refused (KYWASH_WEBHOOK_ALLOW_PRIVATE allows them)"
            )


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable and not multicast (an IPv4-mapped IPv6 address is judged as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast
