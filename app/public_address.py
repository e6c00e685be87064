"""The address a shared link and its QR code use: one participants' phones and laptops can open.

The presenter's own browser often reaches the server as http://localhost:8501, an address that means
"this computer" on every device, so a link built from it opens nothing on a participant's phone. The
public address, in this order:

1. the environment variable LAYERSCOPE_PUBLIC_URL, a full address such as http://192.168.1.20:8501 or
   https://scope.example.org/layerscope (the app's root; the page's path is added to it);
2. Streamlit's own `browser.serverAddress` (and `browser.serverPort`) when set in .streamlit/config.toml,
   on the command line (`--browser.serverAddress 192.168.1.20`) or as STREAMLIT_BROWSER_SERVER_ADDRESS;
3. otherwise the address the presenter's browser uses (st.context.url).

The Share panel warns when the address it ends up with is local (localhost, 127.x, ::1, 0.0.0.0).
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

ENV = "LAYERSCOPE_PUBLIC_URL"
LOCAL_NAMES = ("localhost", "0.0.0.0")
LOCAL_WARNING = ("This link points to {host}, which means \"this computer\" on every device: participants' phones "
                 "and laptops cannot open it. Start the server with {env}=http://ADDRESS:8501 (this machine's "
                 "address on the room's network, e.g. from `hostname -I`) or with --browser.serverAddress ADDRESS, "
                 "then open the share panel again. The README's workshop section says more.")


def configured_root(environ: dict[str, str] | None = None, server_address: str | None = None,
                    server_port: int | None = None) -> str | None:
    """The public address of the app's root, or None when none is configured: LAYERSCOPE_PUBLIC_URL, else
    `server_address` (browser.serverAddress, when set by the operator) at `server_port`."""
    environ = os.environ if environ is None else environ
    from_env = environ.get(ENV, "").strip()
    if from_env:
        return from_env if "://" in from_env else f"http://{from_env}"
    if not server_address:
        return None
    if "://" in server_address:
        return server_address
    scheme = "https" if server_port == 443 else "http"
    port = "" if server_port in (None, 80, 443) or ":" in server_address.split("/")[0] else f":{server_port}"
    host, _, path = server_address.partition("/")
    return f"{scheme}://{host}{port}" + (f"/{path}" if path else "")


def public_page_url(page_url: str, root: str | None, base_path: str = "") -> str:
    """`page_url` (the page's address in the presenter's browser, without a query) moved to the public
    `root`: the page's path below the server's `base_path` (server.baseUrlPath) is kept."""
    if not root:
        return page_url
    path = urlsplit(page_url).path.strip("/")
    prefix = base_path.strip("/")
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix):].strip("/")
    return root.rstrip("/") + f"/{path}"  # the root itself as .../ (as browsers write it), never ...:8501?x


def is_local(url: str) -> bool:
    """Whether `url`'s host means "this computer": no other device can open it. (No host at all, as without
    a browser, is not known to be local.)"""
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        return False
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def local_warning(url: str) -> str | None:
    """The Share panel's warning for a local address, in plain words; None for an address others can open."""
    if not is_local(url):
        return None
    return LOCAL_WARNING.format(host=urlsplit(url).hostname, env=ENV)
