"""The ``matcalc serve`` command (registered in :mod:`matcalc.cli`).

Light to import: typer only; Starlette, uvicorn and the engine load when the
command runs.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Annotated

import typer

EPILOG = """Examples:

\b
  matcalc serve                      # then open http://127.0.0.1:8765/
  matcalc serve --port 9000 --open   # another port, and open the page in the browser
  matcalc serve --timeout 60         # allow slow derivations a minute each
  curl -s localhost:8765/api/derive -H 'Content-Type: application/json' \\
       -d '{"symbols": {"x": {"shape": ["n"]}}, "expr": "x @ x"}'
"""

MISSING = ("matcalc serve needs the optional extra: pip install 'matcalc-derive[serve]' "
           "(Starlette, uvicorn, latex2mathml)")


def serve(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="The port (0: any free one; "
                                      "the address is printed).")] = 8765,
    host: Annotated[str, typer.Option("--host", help="The address to listen on. Anything but "
                                      "127.0.0.1/localhost lets other machines use the server.")]
    = "127.0.0.1",
    open_page: Annotated[bool, typer.Option("--open", help="Open the page in the web browser.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, metavar="SECONDS",
                                           help="Time budget of one derivation.")] = 20.0,
    memory: Annotated[int, typer.Option("--memory", min=256, metavar="MIB",
                                        help="Memory budget of one derivation, in MiB.")] = 2048,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                         help="Derivations run at once, each in its own process.")] = 2,
):
    """Serve a page where you type an expression and read its derivation.

    The page (at /) has fields for the expression, its symbols (a YAML mapping,
    as in expr.yaml), the dimensions and the symbols to differentiate; it shows
    the steps and the result as MathML, the LaTeX, the numpy module and the
    check.  POST /api/derive takes an expr.yaml document as JSON and answers
    with the object of `matcalc derive --json` (400 with the error for bad
    input).  Nothing is fetched from the network.  Each derivation runs in its
    own process within --timeout and --memory.  Stop with Ctrl-C.
    """
    try:
        import uvicorn

        from .app import LOCAL_HOSTS, create_app
        from .worker import Budget, MiB, warm_up
    except ImportError:
        sys.stderr.write(f"error: {MISSING}\n")
        raise typer.Exit(2) from None
    try:
        listener = socket.create_server((host, port), family=_family(host), backlog=128)
    except OSError as exc:
        sys.stderr.write(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}\n"
                         + ("hint: another program uses the port: try --port 0 (any free port)\n"
                            if port else ""))
        raise typer.Exit(2) from None
    local = _loopback(listener.getsockname()[0])
    if not local:
        sys.stderr.write(f"warning: listening on {host}: other machines that reach it can use this "
                         "server (it has no login); use --host 127.0.0.1 to keep it to this one\n")
    warm_up()        # the worker processes' fork server imports matcalc once, now
    app = create_app(Budget(timeout, memory * MiB), workers, hosts=LOCAL_HOSTS if local else None)
    url = _url(listener)
    print(f"matcalc serve: {url} (Ctrl-C stops it)", flush=True)
    if open_page:
        import webbrowser
        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[listener])


def _family(host: str) -> socket.AddressFamily:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host.strip("[]")).version == 6 else socket.AF_INET
    except ValueError:      # a name: its first address's family
        try:
            return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][0]
        except OSError:
            return socket.AF_INET


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _url(listener: socket.socket) -> str:
    address, port = listener.getsockname()[:2]
    return f"http://{f'[{address}]' if ':' in address else address}:{port}/"
