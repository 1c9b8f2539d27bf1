"""The client's address, for rate limits (fleet.throttle, and django-axes on the admin login).

X-Forwarded-For is anyone's to write, so it counts only when settings.HUB_TRUSTED_PROXIES says
how many proxies of ours append to it: the address the outermost of them saw is the N-th from
the right. Anything that is not an IP address falls back to the socket's peer (REMOTE_ADDR).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    remote = _address(request.META.get("REMOTE_ADDR", "")) or "0.0.0.0"
    proxies = settings.HUB_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < proxies:
        return remote  # not through all our proxies: the peer is the best we know
    return _address(hops[-proxies]) or remote
