"""Whether this deployment may serve: closed by default, so local mode (everyone acts as the local user) is for
this machine only, and the network gets the app only with sign-in or an explicit, documented override."""

from __future__ import annotations

import functools
import ipaddress

from core.config import Settings
from core.incidents import LOGGER, ensure_log_handler


def is_loopback(address: str | None) -> bool:
    """Only this machine can reach the address. Empty means every interface (Streamlit's default)."""
    host = (address or "").strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # empty, or a host name, which may resolve to any interface
        return False


def unsafe_exposure(address: str | None, *, sign_in: bool, settings: Settings) -> str | None:
    """Why the app refuses to serve (local mode on an address others can reach), or None when it may serve."""
    if sign_in or is_loopback(address) or settings.allow_unauthenticated_network:
        return None
    where = f"address {address}" if address and address.strip() else "every network interface"
    return (
        f"WABA Fleet will not serve {where} in local mode: anyone who reaches it would act as "
        f"'{settings.local_user}' ({settings.local_role}). Turn on sign-in with an [auth] section in "
        ".streamlit/secrets.toml (see .streamlit/secrets.example.toml), or serve this machine only with "
        'server.address = "127.0.0.1". To serve the network without sign-in anyway (unsafe), set '
        "FLEET_ALLOW_UNAUTHENTICATED_NETWORK=1."
    )


@functools.cache
def log_refusal(reason: str) -> None:
    """Tell the server's log too, once per process: whoever started it reads why it serves nothing."""
    ensure_log_handler()
    LOGGER.error(reason)
