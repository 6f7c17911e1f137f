"""The SSRF guard: a webhook is never sent to an address inside our own network.

Every address the host name resolves to must be public: loopback, private (10/8,
172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 with the cloud metadata service,
fe80::/10), carrier-grade NAT, multicast, reserved and unspecified addresses are refused,
and so is an IPv6 address that maps or embeds one of those. The check runs at every
attempt (DNS answers change), the request is sent to the address that was checked (not
resolved again, so a rebinding name cannot swap it in between), and redirects are never
followed. An admin can allow one endpoint explicitly (a receiver on the same network).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

ALLOWED_SCHEMES = ("http", "https")
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data"})


class Refused(ValueError):
    """The URL may not be called; the message says why (shown to the admin)."""


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = (
            address.ipv4_mapped
            or address.sixtofour
            or (address.teredo[1] if address.teredo else None)
        )
        if embedded is not None and not _public(embedded):
            return False
        if address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 of an IPv4 address
            return _public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
    )


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL an admin may register; Refused otherwise."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ALLOWED_SCHEMES:
        raise Refused("the URL must start with https:// (or http://)")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username or parts.password:
        raise Refused("put no user name or password in the URL; the signature authenticates us")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(url: str, *, allow_private: bool = False) -> str:
    """The address to connect to for ``url`` after the checks; Refused when a name or any
    address it resolves to is internal (unless ``allow_private``)."""
    _scheme, host, port = parse(url)
    if host.rstrip(".").lower() in METADATA_NAMES and not allow_private:
        raise Refused(f"{host} is a cloud metadata service")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"{host} does not resolve ({exc})") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise Refused(f"{host} does not resolve")
    if not allow_private:
        for address in addresses:
            if not _public(address):
                raise Refused(
                    f"{host} resolves to {address}, an internal address; webhooks "
                    "go only to public addresses unless the endpoint allows it"
                )
    return str(addresses[0])
