"""Serving the playground: a Bokeh server bound to one address, safe by default.

The server listens on 127.0.0.1 unless told otherwise and accepts websocket
connections only from pages it served itself (its own host and port), so
another web site open in the same browser cannot drive it. BokehJS comes
from the server (``/static/``), from the files installed with Bokeh: the page
fetches nothing from the internet.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import sys
from typing import Any

__all__ = ["serve", "make_server", "websocket_origins", "local_addresses", "DEFAULT_PORT"]

DEFAULT_PORT = 5006  # Bokeh's own default

_MISSING = (
    "the playground needs Bokeh, which fastnn installs only on request: "
    'pip install "fastnn[playground]"'
)


def websocket_origins(host: str, port: int) -> list[str]:
    """The ``host:port`` origins whose pages may open the playground's websocket.

    On the loopback address also ``localhost:port``; on a wildcard address
    (``0.0.0.0``, ``::``) this machine's name and its addresses, so that
    classroom machines reach it by any of them.
    """
    origins = [f"{host}:{port}"]
    if host in ("127.0.0.1", "localhost", "::1"):
        origins += [f"localhost:{port}", f"127.0.0.1:{port}"]
    elif _is_wildcard(host):
        names = {socket.gethostname(), socket.getfqdn(), "localhost", "127.0.0.1"}
        origins += [f"{n}:{port}" for n in names | set(local_addresses())]
    return sorted(set(origins))


def local_addresses() -> list[str]:
    """This machine's IP addresses as other machines reach it (none found: [])."""
    found = set()
    try:
        found |= {str(i[4][0]) for i in socket.getaddrinfo(socket.gethostname(), None)}
    except OSError:
        pass
    # the address of the route out: a UDP socket's connect sends nothing
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            found.add(probe.getsockname()[0])
        except OSError:
            pass
    return sorted(a for a in found if not ipaddress.ip_address(a.split("%")[0]).is_loopback)


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def make_server(port: int = DEFAULT_PORT, host: str = "127.0.0.1", lang: str = "en") -> Any:
    """A started-up (not yet running) Bokeh ``Server`` with the playground at ``/``.

    Parameters
    ----------
    port : int
        TCP port, 1 to 65535.
    host : str
        Address to listen on; ``127.0.0.1`` (default) serves this machine only.
    lang : str
        ``en`` or ``ja``: the page's language when its URL does not say.

    Raises
    ------
    ImportError
        Without Bokeh (the extra ``fastnn[playground]``).
    ValueError
        On a port outside 1..65535 or an unknown language.
    OSError
        When the address cannot be bound (port in use).
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be an integer from 1 to 65535, got {port!r}")
    if lang not in ("en", "ja"):
        raise ValueError(f"lang must be en or ja, got {lang!r}")
    try:
        from bokeh.application import Application
        from bokeh.application.handlers.function import FunctionHandler
        from bokeh.server.server import Server
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    from ._app import make_document

    app = Application(FunctionHandler(functools.partial(make_document, lang=lang)))
    return Server(
        {"/": app},
        port=port,
        address=host,
        allow_websocket_origin=websocket_origins(host, port),
        num_procs=1,
        # a closed tab's session (and its model) is dropped within seconds
        check_unused_sessions_milliseconds=2_000,
        unused_session_lifetime_milliseconds=5_000,
        websocket_max_message_size=1_000_000,
    )


def serve(
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    lang: str = "en",
    open_browser: bool = True,
) -> None:
    """Serve the playground at ``http://host:port/`` until interrupted (Ctrl-C).

    Parameters
    ----------
    port : int
        TCP port (default 5006).
    host : str
        Address to listen on. The default, ``127.0.0.1``, serves this machine
        only. To serve a classroom on the local network, give this machine's
        address on it (or ``0.0.0.0`` for all): then anyone who can reach the
        machine can open the page and make it train, so do so only on a
        network you trust.
    lang : str
        ``en`` or ``ja``, the language of pages whose URL does not say.
    open_browser : bool
        Open the page in the default web browser.

    Raises
    ------
    ImportError, ValueError, OSError
        As :func:`make_server`.
    """
    server = make_server(port, host, lang)
    server.start()
    shown = host
    if _is_wildcard(host):  # a reachable address to print, not 0.0.0.0
        shown = next(iter(local_addresses()), socket.gethostname())
    shown = f"[{shown}]" if ":" in shown else shown
    url = f"http://{shown}:{port}/"
    print(f"fastnn playground: {url}  (Ctrl-C stops it)")
    print(f"  a ready setup: {url}?dataset=xor&lr=0.1&batch=1&optimizer=adam&hidden=4,4&autoplay=1")
    if host in ("127.0.0.1", "localhost", "::1"):
        print(
            "  only this machine can open it; --host ADDR serves the local network "
            "(anyone who reaches ADDR can then use it)"
        )
    else:
        print(f"  served on {host}: anyone who can reach this address can open it and train")
    sys.stdout.flush()
    if open_browser:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        print("fastnn playground: stopped")
    finally:
        server.stop()
