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
from cloud.platform.texts import text

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(InvalidInput):
    code = "webhook_target_refused"


def check_url(url: str, *, production: bool) -> str:
    """The URL if it is one we can POST to; ``InvalidInput`` saying why not."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(text("error.webhook.url_too_long", max_length=MAX_URL_LENGTH), code="invalid_webhook_url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(text("error.webhook.url_scheme"), code="invalid_webhook_url")
    if production and parts.scheme != "https":
        raise InvalidInput(text("error.webhook.url_https"), code="invalid_webhook_url")
    if parts.username or parts.password:
        raise InvalidInput(text("error.webhook.url_credentials"), code="invalid_webhook_url")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise InvalidInput(text("error.webhook.url_port"), code="invalid_webhook_url") from None
    return url


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse (``TargetRefused``) a URL whose host does not resolve, or resolves to any address
    that is not globally routable, unless private targets are allowed."""
    if not allow_private:
        public_address(url)


def public_address(url: str) -> IPAddress:
    """The address to connect to for ``url``'s host: every address it resolves to must be public
    (a name with one private answer among public ones is refused). The sender connects to this
    address itself, so the host cannot resolve to a public address for the check and to a
    private one for the connection (DNS rebinding)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(text("error.webhook.host_unresolved_why", host=repr(host), why=str(exc))) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    for address in addresses:
        if not is_public(address):
            raise TargetRefused(text("error.webhook.host_private", host=repr(host), address=str(address)))
    if not addresses:
        raise TargetRefused(text("error.webhook.host_unresolved", host=repr(host)))
    return addresses[0]


def is_public(address: IPAddress) -> bool:
    """Globally routable and not multicast (an IPv4-mapped IPv6 address is judged as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast
