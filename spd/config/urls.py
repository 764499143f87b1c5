"""Endpoint URLs: the one check every source of an endpoint goes through, and hiding their passwords.

Used by `spd.config.settings` (`SPD_ENDPOINT_URL`, the settings file, `AWS_ENDPOINT_URL_REKOGNITION`), by the
CLI (`--endpoint-url`, checked before anything else so it is a usage error) and by everything that
prints or logs text that may hold a URL (`spd.daemon.logs`, `spd.daemon.notify`, the CLI's error
lines). botocore only rejects a malformed endpoint deep inside client creation, with a traceback and
the URL verbatim, password included.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

EXPECTED = "expected an http:// or https:// URL with a host, e.g. http://127.0.0.1:4566"

# `scheme://userinfo@`: the userinfo runs to the last `@` of the token (a raw `@` inside a password is
# common), and never past whitespace or a quote, so the rest of a log line or a repr() survives.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s'\"<>]*@")
# A DNS name as botocore accepts it (labels of letters, digits and inner hyphens).
_HOSTNAME = re.compile(r"^((?!-)[a-z\d-]{1,63}(?<!-)\.)*((?!-)[a-z\d-]{1,63}(?<!-))\.?$", re.IGNORECASE)


def is_loopback_host(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1: a webhook over plain HTTP, or the daemon's API without a token,
    may only be on this machine. A name other than localhost may resolve to anything: not loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact_userinfo(text: str) -> str:
    """`text` with the `user:password@` part of every URL in it replaced by `***@`."""
    return _USERINFO.sub(r"\1***@", text)


def endpoint_url_problem(value: str) -> str | None:
    """Why `value` is not a usable endpoint URL (naming it, password hidden), or None when it is."""
    shown = repr(_shown(value))
    with_scheme = "" if "://" in value else "http://" + value
    hint = f"; did you mean {_shown(with_scheme)!r}?" if with_scheme and not _problem(with_scheme) else ""
    return _problem(value, shown, hint)


def _problem(value: str, shown: str = "", hint: str = "") -> str | None:
    """The checks themselves; `shown` and `hint` only dress the message."""
    if not value or any(c.isspace() for c in value):
        return f"{shown}: {EXPECTED}{hint}"
    try:
        parts = urlsplit(value)
        port = parts.port  # ValueError when not a number in 0..65535
    except ValueError:
        return f"{shown}: the port must be a number in 1..65535; {EXPECTED}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{shown}: {EXPECTED}{hint}"
    host = parts.hostname or ""
    if not host:
        return f"{shown}: the URL has no host; {EXPECTED}"
    if not _valid_host(host):
        return f"{shown}: {host!r} is not a valid host name or IP address; {EXPECTED}"
    if "@" in parts.netloc:
        # aiohttp refuses every request whose URL carries credentials next to the SigV4 Authorization
        # header, so such an endpoint could only ever fail, call after call.
        return (
            f"{shown}: an endpoint URL cannot carry a user name or password "
            f"(requests are signed with AWS credentials); {EXPECTED}"
        )
    if port == 0:
        return f"{shown}: the port must be a number in 1..65535; {EXPECTED}"
    if parts.query or parts.fragment:
        return f"{shown}: an endpoint URL takes no query or fragment; {EXPECTED}"
    return None


def _shown(value: str) -> str:
    """`value` fit to print: without a scheme, everything up to the last `@` may be a password."""
    if "://" in value:
        return redact_userinfo(value)
    _, at, rest = value.rpartition("@")
    return f"***@{rest}" if at else value


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOSTNAME.match(host)) and len(host) <= 255
    return True
