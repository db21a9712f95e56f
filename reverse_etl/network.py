"""Where a destination may point: no cloud metadata or link-local addresses, no plain HTTP off this machine."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

# Instance-metadata services that are not link-local (AWS IPv6, Alibaba, Oracle) and well-known names.
_METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("192.0.0.192"),
}
_METADATA_HOSTS = {"metadata", "metadata.google.internal", "metadata.goog", "instance-data"}


class UnsafeDestinationURL(ValueError):
    """The URL points somewhere a sync must not send data to."""


def _is_forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_link_local or address in _METADATA_ADDRESSES


def check_destination_host(host: str, port: int, *, allow_link_local: bool = False) -> set:
    """Resolve `host`; refuse metadata names and link-local/metadata addresses. Returns the addresses."""
    host = host.lower().rstrip(".")
    if not allow_link_local and host in _METADATA_HOSTS:
        raise UnsafeDestinationURL(f"destination host {host} is a cloud metadata service")
    try:
        infos = socket.getaddrinfo(host, port)
    except socket.gaierror as error:
        raise UnsafeDestinationURL(f"destination host {host} does not resolve: {error}") from error
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    if not allow_link_local:
        bad = sorted(str(a) for a in addresses if _is_forbidden(a))
        if bad:
            raise UnsafeDestinationURL(
                f"destination host {host} resolves to link-local/metadata address {', '.join(bad)}; "
                "set allow_link_local: true on the destination if this is really intended"
            )
    return addresses


def check_destination_url(url: str, *, allow_link_local: bool = False) -> None:
    """Refuse URLs resolving to link-local or metadata addresses, and plain http to other hosts.

    Checked before the first request; redirects are not followed by the HTTP client, so a destination
    cannot bounce us to an address this check would have refused.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestinationURL(f"destination URL must be http(s)://host/...; got scheme {parts.scheme!r}")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = check_destination_host(host, port, allow_link_local=allow_link_local)
    if parts.scheme == "http" and not all(a.is_loopback for a in addresses):
        raise UnsafeDestinationURL(
            f"destination URL for {host} uses plain http: secrets and personal data would travel "
            "unencrypted; use https (plain http is only accepted for loopback addresses)"
        )
