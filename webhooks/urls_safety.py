"""Where webhooks may be sent: no SSRF into the OMS's own network.

In production (``OMS_WEBHOOKS_ALLOW_PRIVATE_URLS`` off) a URL must be ``https`` and
every address its host resolves to must be public: private, loopback, link-local,
multicast, reserved and unspecified addresses are refused. The check runs when a
subscription is made or changed and again before each delivery (a host may resolve
elsewhere later), and deliveries never follow redirects.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeUrl(ValueError):
    """A URL the OMS refuses to send webhooks to."""


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def check_url(url: str) -> None:
    """Raise ``UnsafeUrl`` unless webhooks may be sent to ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("The URL must be an absolute http(s) URL.")
    if settings.OMS_WEBHOOKS_ALLOW_PRIVATE_URLS:
        return
    if parts.scheme != "https":
        raise UnsafeUrl("The URL must use https.")
    try:
        port = parts.port or 443
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise UnsafeUrl("The URL's host does not resolve.") from exc
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    if not addresses or any(_refused(address) for address in addresses):
        raise UnsafeUrl("The URL's host must resolve to public addresses only.")
